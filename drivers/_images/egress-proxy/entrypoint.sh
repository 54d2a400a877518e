#!/bin/sh
# mc's egress proxy. The policy is MC_EGRESS_POLICY (JSON: open, domains). Each argument "PORT"
# also forwards that port of this container to the session (MC_EGRESS_SESSION): a session on an
# internal network publishes its ports here.
set -eu
[ -n "${MC_EGRESS_POLICY:-}" ] || { echo "mc-egress: no policy (MC_EGRESS_POLICY)" >&2; exit 1; }
for port in "$@"; do
    shift
    set -- "$@" --mode "reverse:tcp://$MC_EGRESS_SESSION:$port@$port"
done
# the servers behind intercepted connections are checked against the usual roots, the CAs the image
# was built with and the ones mc gave (upstream-ca.pem)
upstream=/var/lib/mc-egress/upstream.pem
cat /opt/mc-egress/roots.pem >"$upstream"
for extra in "${SSL_CERT_FILE:-}" /run/mc-egress/upstream-ca.pem; do
    if [ -n "$extra" ] && [ -r "$extra" ]; then cat "$extra" >>"$upstream"; fi
done
exec /opt/mitmproxy/bin/mitmdump --quiet --mode regular@3128 "$@" \
    --set ssl_verify_upstream_trusted_ca="$upstream" \
    --set connection_strategy=lazy --set block_global=false --set termlog_verbosity=warn \
    --set confdir=/var/lib/mc-egress/.mitmproxy \
    -s /opt/mc-egress/mc_egress.py
