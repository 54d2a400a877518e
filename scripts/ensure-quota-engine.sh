#!/usr/bin/env bash
# A second Docker engine whose storage can enforce a container's size (`docker create --storage-opt
# size=`): Docker's btrfs storage driver (quota groups) on a btrfs file system in a loop file. For
# the tests of session storage limits; the main engine (overlay2 on ext4) cannot, and mc says so.
# (overlay2 on XFS with project quotas would do as well, where the kernel has XFS quotas.)
# Idempotent: quick when it already answers. Prints its address (unix:///...) on stdout.
#   MC_QUOTA_ROOT   where the file system is mounted (default /var/lib/mc-quota)
#   MC_QUOTA_SIZE   the size of its loop file (default 4G; sparse)
set -euo pipefail

ROOT="${MC_QUOTA_ROOT:-/var/lib/mc-quota}"
SIZE="${MC_QUOTA_SIZE:-4G}"
SOCK=/run/mc-quota-docker.sock
LOG=/var/log/mc-quota-dockerd.log

say() { echo "ensure-quota-engine: $*" >&2; }
up() { docker -H "unix://$SOCK" info >/dev/null 2>&1; }

if up; then
    echo "unix://$SOCK"
    exit 0
fi
[ "$(id -u)" = 0 ] || { say "needs root (a loop mount and a second dockerd)"; exit 1; }
if ! command -v mkfs.btrfs >/dev/null 2>&1; then
    say "installing btrfs-progs"
    compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends btrfs-progs >/dev/null
fi
mkdir -p "$ROOT"
if ! mountpoint -q "$ROOT"; then
    if [ ! -f "$ROOT.img" ]; then
        truncate -s "$SIZE" "$ROOT.img"
        mkfs.btrfs -q "$ROOT.img" >/dev/null
    fi
    mount -o loop "$ROOT.img" "$ROOT"
fi
btrfs quota enable "$ROOT"
pid=/run/mc-quota-docker.pid
if [ -f "$pid" ] && ! kill -0 "$(cat "$pid")" 2>/dev/null; then
    rm -f "$pid"
fi
if [ ! -f "$pid" ]; then
    say "starting a second dockerd on $ROOT, storage driver btrfs (log: $LOG)"
    # its own data, exec root, socket, containerd namespace and default bridge (never docker0, which
    # a dockerd without a bridge of its own would remove from under the main engine); no iptables
    # rules of its own (the main engine owns those). No --default-address-pool either: Docker 20.10,
    # given one, deletes the interface named docker0 whenever its own store holds a "bridge" network
    # from an earlier start, which takes the main engine's bridge away from under it.
    if ! ip link show mc-quota0 >/dev/null 2>&1; then
        ip link add mc-quota0 type bridge
        ip addr add 10.215.0.1/24 dev mc-quota0
        ip link set mc-quota0 up
    fi
    nohup dockerd --data-root "$ROOT/docker" --exec-root /run/mc-quota-docker --pidfile "$pid" \
        -H "unix://$SOCK" --storage-driver btrfs \
        --containerd-namespace mc-quota --containerd-plugins-namespace mc-quota-plugins \
        --bridge=mc-quota0 --iptables=false --ip-masq=false \
        >"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 1 120); do
    if up; then
        echo "unix://$SOCK"
        exit 0
    fi
    sleep 0.5
done
say "the second dockerd did not become ready; last log lines:"
tail -n 20 "$LOG" >&2 || true
exit 1
