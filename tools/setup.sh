#!/usr/bin/env bash
# Idempotent offline set-up: .venv from requirements.lock, npm packages from package-lock.json,
# and the solc 0.8.37 shim where py-solc-x looks for compilers. Run by `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

stamp=.venv/.setup-stamp
want=$(cat requirements.lock package-lock.json pyproject.toml tools/setup.sh tools/solc-shim.js | sha256sum | cut -d' ' -f1)

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x node_modules/.bin/anvil ]; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  echo "setup: installing Python packages from requirements.lock"
  # torch first and pinned: a bare torch requirement could pull a multi-GB CUDA build.
  .venv/bin/pip install -q torch==2.13.0
  # hivemind's sdist cannot build offline; its wheel ships the p2pd daemon.
  .venv/bin/pip install -q --only-binary=hivemind -r requirements.lock
  # pymultihash (via eth-ape's py-cid) and py-multihash both install a top-level `multihash`;
  # hivemind needs py-multihash's, so it must be the one on disk. Guarded by tests/test_toolchain.py.
  .venv/bin/pip install -q --no-deps --force-reinstall py-multihash==3.0.0
  # The project's own packages (offchain/, rollup/), importable from tests and `ape run` scripts.
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  echo "setup: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
fi
# OpenZeppelin's npm package carries 257 JSON build artifacts next to its sources; ape-solidity copies
# the package whole into contracts/.cache, and Ape lists at most 500 files under contracts/, so with them
# our own sources fall out of view after the first compile. Only the .sol sources are needed.
# Ape's own package cache may hold a copy made before this trim.
rm -rf node_modules/@openzeppelin/contracts/build contracts/.cache/openzeppelin/*/build \
  "${APE_DATA_FOLDER:-$HOME/.ape}"/packages/projects/@openzeppelin_contracts/*/build

# The compiler: py-solc-x only looks at solc-v* files in its folder; the shim wraps solc-js.
SOLCX_DIR=${SOLCX_BINARY_PATH:-$HOME/.solcx}
mkdir -p "$SOLCX_DIR"
shim="$SOLCX_DIR/solc-v0.8.37"
tmp=$(mktemp)
sed "s#@@SOLC_MODULE@@#$ROOT/node_modules/solc#" tools/solc-shim.js > "$tmp"
if ! cmp -s "$tmp" "$shim" 2>/dev/null; then
  install -m 0755 "$tmp" "$shim"
  rm -f "$shim.version" "$SOLCX_DIR/.solc-v0.8.37.version"  # old and current version caches
fi
rm -f "$tmp"
echo "$want" > "$stamp"
