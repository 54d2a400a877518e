#!/bin/sh
# mc's egress proxy. The policy is MC_EGRESS_POLICY (JSON: open, domains). Each argument "PORT"
# also forwards that port of this container to the session (MC_EGRESS_SESSION): a session on an
# internal network publishes its ports here.
set -eu
[ -n "${MC_EGRESS_POLICY:-}" ] || [ -r /run/mc-egress/policy.json ] || { echo "mc-egress: no policy" >&2; exit 1; }
for port in "$@"; do
    shift
    set -- "$@" --mode "reverse:tcp://$MC_EGRESS_SESSION:$port@$port"
done
exec /opt/mitmproxy/bin/mitmdump --quiet --mode regular@3128 "$@" \
    --set connection_strategy=lazy --set block_global=false --set termlog_verbosity=warn \
    --set confdir=/var/lib/mc-egress/.mitmproxy \
    -s /opt/mc-egress/mc_egress.py
