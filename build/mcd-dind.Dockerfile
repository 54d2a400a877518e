# mcd's Docker-in-Docker form: one container holding its own Docker engine and mcd; sessions run
# inside it, the host's engine holds only this container. Build the node image, then this one,
# after scripts/build-binaries.sh:
#   docker build -t mc-node build/node
#   docker build -f build/mcd-dind.Dockerfile -t mcd-dind .
# and run it with build/docker-compose.dind.yml (the options the inner engine needs).
ARG NODE_IMAGE=mc-node
FROM ${NODE_IMAGE}
COPY dist/mcd /usr/local/bin/mcd
VOLUME ["/var/lib/mcd", "/run/mcd"]
CMD ["mcd", "serve", "--config", "/etc/mcd/mc-service.yaml"]
