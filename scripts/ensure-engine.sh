#!/usr/bin/env bash
# Make sure a Docker engine is usable and the base image exists.
# Idempotent: quick when the engine is already up and the image present.
#   - `docker info` works            -> use that engine
#   - otherwise (Debian, root)       -> install docker.io, clear a stale pid file, start dockerd
#   - debian:bookworm-slim missing   -> pull it, or build it with debootstrap + docker import
set -euo pipefail

BASE_IMAGE="${MC_BASE_IMAGE:-debian:bookworm-slim}"
LOG="${MC_DOCKERD_LOG:-/var/log/mc-dockerd.log}"

say() { echo "ensure-engine: $*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        say "need root to install $*; install them yourself"; exit 1
    fi
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then  # no package lists yet
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

start_engine() {
    if ! command -v dockerd >/dev/null 2>&1; then
        say "installing docker.io"
        apt_install docker.io iptables ca-certificates
    fi
    # A dockerd killed earlier leaves its pid file behind and the next one refuses to start. (Not
    # `pgrep dockerd`: a second engine on this host, the tests' quota engine, is not this one.)
    if ! { [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }; then
        rm -f /var/run/docker.pid /run/docker.pid
        # containerd may be stale too
        rm -f /run/docker/containerd/containerd.pid 2>/dev/null || true
        say "starting dockerd (log: $LOG)"
        # room for many networks: mcd gives each user's sessions a network of their own, and the
        # default pools allow about 30
        nohup dockerd --default-address-pool base=10.213.0.0/16,size=24 >"$LOG" 2>&1 </dev/null &
    fi
    for _ in $(seq 1 120); do
        engine_up && return 0
        sleep 0.5
    done
    say "dockerd did not become ready; last log lines:"
    tail -n 20 "$LOG" >&2 || true
    exit 1
}

build_base_image() {
    say "building $BASE_IMAGE with debootstrap (no registry reachable)"
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    local dir
    dir="$(mktemp -d /var/tmp/mc-rootfs.XXXXXX)"
    trap 'rm -rf "$dir"' RETURN
    debootstrap --variant=minbase bookworm "$dir" >/dev/null
    # Slim it the way the official slim image is: no apt lists, caches, docs, locales.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/usr/share/doc/* \
           "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* \
           "$dir"/var/log/*.log "$dir"/tmp/*
    tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    say "built $BASE_IMAGE"
}

# An engine whose default bridge interface was deleted under it (another dockerd on this host, given
# --default-address-pool, deletes the one named docker0 when it starts) fails every container on the
# default network until it is restarted, which recreates the interface.
bridge_lost() {
    local name
    name="$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null)" || return 1
    [ -n "$name" ] && [ -d /sys/class/net ] && [ ! -e "/sys/class/net/$name" ]
}

if engine_up && bridge_lost && [ "$(id -u)" = 0 ] && [ -f /var/run/docker.pid ]; then
    say "the engine's bridge interface is gone; restarting dockerd"
    pid="$(cat /var/run/docker.pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
fi
engine_up || start_engine

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if ! timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        build_base_image
    fi
fi
say "engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null)), $BASE_IMAGE present"
