#!/usr/bin/env bash
# Builds local stand-ins for the base images that docker/Dockerfile and docker/compose.yaml name, for
# machines that reach no image registry (CI here): node:20-bookworm-slim from a debootstrapped Debian
# bookworm plus this machine's Node.js, and postgres:16-bookworm / redis:7-bookworm from Debian's
# packages on top of it. Each one is tagged with the official name, so the real Dockerfile and compose
# file run unchanged; a tag that already exists (a real pulled image, or an earlier run) is kept.
#
#   docker/base/build-base.sh            build what is missing
#   docker/base/build-base.sh --force    rebuild all three
#
# Needs root, debootstrap, a running Docker engine, and HTTP access to the Debian mirror (MIRROR).
set -euo pipefail
cd "$(dirname "$0")"

MIRROR="${MIRROR:-http://deb.debian.org/debian}"
NODE_TAG=node:20-bookworm-slim
POSTGRES_TAG=postgres:16-bookworm
REDIS_TAG=redis:7-bookworm
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "build-base: $*" >&2; }
have() { [ "$FORCE" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

build_node_base() {
  if have "$NODE_TAG"; then log "$NODE_TAG exists; keeping it"; return; fi
  local node_bin node_prefix npm_dir version root
  node_bin="$(readlink -f "$(command -v node)")"
  version="$("$node_bin" --version)"
  case "$version" in v20.*) ;; *) log "this machine's node is $version; the stand-in for $NODE_TAG wants Node 20"; exit 1 ;; esac
  node_prefix="$(dirname "$(dirname "$node_bin")")"
  # npm lives in node's prefix (lib/node_modules/npm) for the official tarballs and Debian/NodeSource
  # packages alike; else follow the npm command's symlink (…/npm/bin/npm-cli.js).
  npm_dir="$node_prefix/lib/node_modules/npm"
  [ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/bin/npm-cli.js" ] || { log "cannot find npm next to $node_bin (looked in $npm_dir)"; exit 1; }
  log "building $NODE_TAG: Debian bookworm (minbase) + node $version from $node_bin + npm $("$node_bin" -p "require('$npm_dir/package.json').version") from $npm_dir"

  root="$(mktemp -d /tmp/rewardlab-base.XXXXXX)"
  trap 'rm -rf "$root"' RETURN
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
  rm -f "$root.log"

  # The official image's layout: node, npm and npx under /usr/local, Node's headers in
  # /usr/local/include/node (node-gyp builds native modules against them), a `node` user with uid 1000.
  install -d "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp "$node_bin" "$root/usr/local/bin/node"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  if [ -d "$node_prefix/include/node" ]; then cp -a "$node_prefix/include/node" "$root/usr/local/include/node"; fi
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

  # Where this machine reaches the npm registry through a TLS-intercepting proxy, npm and Node need its
  # CA: carry over the machine's CA bundle and npm's cafile setting (the official image needs neither).
  local cafile
  cafile="$(npm config get cafile 2>/dev/null || true)"
  if [ -n "$cafile" ] && [ "$cafile" != "null" ] && [ "$cafile" != "undefined" ] && [ -f "$cafile" ]; then
    install -d "$root/usr/local/etc" "$root/usr/local/share/rewardlab-base"
    cp "$cafile" "$root/usr/local/share/rewardlab-base/ca.crt"
    printf 'cafile=/usr/local/share/rewardlab-base/ca.crt\n' >"$root/usr/local/etc/npmrc"
    log "carrying over npm's cafile ($cafile)"
  fi

  # apt sources as in the official image, and its slim clean-up.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
    "$root"/tmp/* "$root"/root/.cache

  local ca_env=()
  if [ -f "$root/usr/local/share/rewardlab-base/ca.crt" ]; then
    ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/rewardlab-base/ca.crt')
  fi
  tar -C "$root" --numeric-owner -c . | docker import \
    --change "ENV NODE_VERSION=${version#v}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "${ca_env[@]}" \
    --change 'CMD ["node"]' \
    --message "rewardlab stand-in for $NODE_TAG (debootstrap bookworm minbase + node $version)" \
    - "$NODE_TAG" >/dev/null
  log "tagged $NODE_TAG"
}

# postgres and redis: Debian's packages on the local base, behind entrypoints that honour the official
# images' environment variables. Their apt-get needs the Debian mirror, hence --network host.
build_service() {
  local tag="$1" dockerfile="$2"
  if have "$tag"; then log "$tag exists; keeping it"; return; fi
  log "building $tag from docker/base/$dockerfile"
  docker build --network host -q -f "$dockerfile" -t "$tag" . >/dev/null
  log "tagged $tag"
}

build_node_base
build_service "$POSTGRES_TAG" postgres.Dockerfile
build_service "$REDIS_TAG" redis.Dockerfile
