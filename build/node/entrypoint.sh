#!/usr/bin/env bash
# Starts this node's own dockerd (options: DOCKERD_ARGS), waits until it answers, then runs the
# command given (mcd, in mcd's DinD form) and stops the engine after it; with no command the node
# is just the engine (a Swarm node). SIGTERM ends the command first, then the engine.
set -euo pipefail

# A container gets the cgroup v1 hierarchies read-only; the inner engine must write them. On
# cgroup v2 the inner engine needs the controllers delegated to a child group instead.
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
    sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control
else
    for dir in /sys/fs/cgroup/*/; do
        mount -o remount,bind,rw "$dir"
    done
fi
# a node restarted after a kill finds its engine's pid files from before
rm -f /var/run/docker.pid /run/docker/containerd/containerd.pid /var/run/docker/containerd/containerd.pid

read -r -a dockerd_args <<<"${DOCKERD_ARGS:-}"
dockerd "${dockerd_args[@]}" >>/var/log/dockerd.log 2>&1 &
engine=$!
app=""
# shellcheck disable=SC2317 # (called by the trap)
stop() {
    if [ -n "$app" ]; then
        kill -TERM "$app" 2>/dev/null || true
        wait "$app" || true
    fi
    kill -TERM "$engine" 2>/dev/null || true
    wait "$engine" || true
}
trap 'stop; exit 143' TERM INT

for _ in $(seq 1 300); do
    docker version >/dev/null 2>&1 && break
    if ! kill -0 "$engine" 2>/dev/null; then
        echo "mc-node: dockerd did not start:" >&2
        tail -n 20 /var/log/dockerd.log >&2
        exit 1
    fi
    sleep 0.2
done
echo "mc-node: engine ready" >&2

if [ $# -eq 0 ]; then
    wait "$engine"
    exit $?
fi
"$@" &
app=$!
rc=0
wait "$app" || rc=$?
app=""
stop
exit "$rc"
