# The mcd image: the standalone daemon and a docker client, to run next to a host's Docker engine
# (sessions are siblings of this container). Build after scripts/build-binaries.sh:
#   docker build -f build/mcd.Dockerfile -t mcd .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* \
 && rm -f /usr/sbin/dockerd /usr/bin/containerd* /usr/sbin/runc /usr/bin/runc
COPY dist/mcd /usr/local/bin/mcd
VOLUME ["/var/lib/mcd", "/run/mcd"]
ENTRYPOINT ["mcd", "serve"]
CMD ["--config", "/etc/mcd/mc-service.yaml"]
