# syntax=docker/dockerfile:1
# BridgeOS in a container. With Compose (the env file, a data volume, the port on 127.0.0.1):
#   docker compose -f packaging/compose.yaml up -d --build
# By hand:
#   docker build -t bridgeos .
#   docker run -d --name bridgeos --init --stop-timeout 60 --env-file packaging/bridgeos.env -e BRIDGEOS_HTTP_ADDRESS=0.0.0.0:8080 \
#     -v bridgeos-data:/var/lib/bridgeos -p 127.0.0.1:8080:8080 --restart unless-stopped bridgeos
# (-e BRIDGEOS_HTTP_ADDRESS after --env-file: the example's 127.0.0.1 would be unreachable from outside the
# container.) Not built by CI: the .deb (packaging/build-deb.sh) is what CI checks.

# The Swift this project is built and tested with (Package.swift needs 6.1 or newer).
ARG SWIFT_VERSION=6.3.1

# --- Build: the official Swift image, the Swift runtime linked statically ---------------------------------
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache keeps fetched dependencies and objects between builds; the binary is copied out of it.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product bridgeos --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --product bridgeos --static-swift-stdlib --show-bin-path)/bridgeos" /out/bridgeos \
    && strip --strip-unneeded --remove-section=.comment /out/bridgeos

# --- Run: Debian 12 slim with the system SQLite -----------------------------------------------------------
FROM debian:bookworm-slim
# curl only for the health check.
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libsqlite3-0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system bridgeos \
    && useradd --system --gid bridgeos --home-dir /var/lib/bridgeos --no-create-home --shell /usr/sbin/nologin bridgeos \
    && install -d -o bridgeos -g bridgeos -m 0700 /var/lib/bridgeos
COPY --from=build /out/bridgeos /usr/bin/bridgeos
ENV BRIDGEOS_DATA_DIR=/var/lib/bridgeos \
    BRIDGEOS_HTTP_ADDRESS=0.0.0.0:8080
USER bridgeos
WORKDIR /var/lib/bridgeos
VOLUME ["/var/lib/bridgeos"]
EXPOSE 8080
# /healthz: the process answers and the database reads. The start period covers a migration (and the backup
# before it) after an upgrade.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5m --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
# serve stops gracefully on SIGTERM; it backs the database up and migrates it itself at start.
STOPSIGNAL SIGTERM
ENTRYPOINT ["bridgeos"]
CMD ["serve"]
