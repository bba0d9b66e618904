#!/usr/bin/env bash
# Idempotent offline set-up: .venv from requirements.lock, npm packages from package-lock.json,
# and the solc 0.8.37 shim where py-solc-x looks for compilers. Run by `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

stamp=.venv/.setup-stamp
want=$(cat requirements.lock package-lock.json pyproject.toml plugins/ape-verde/pyproject.toml tools/setup.sh \
  tools/solc-shim.js | sha256sum | cut -d' ' -f1)

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
  # Our Ape plugin (plugins/ape-verde): the provider `verde` on the network ethereum:l2, for `ape test` on the L2
  # (docs/rollup.md). Ape finds plugins as installed ape-* distributions; --no-deps keeps pip off eth-ape's pins.
  .venv/bin/pip install -q --no-deps --no-build-isolation -e plugins/ape-verde
  echo "setup: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
fi
# The compiled kernels (offchain/native: keccak for commitments, RepOps): torch rebuilds one only when its sources
# change. A machine that cannot build them runs the pure paths (same bits, slower); its tests need VERDE_NATIVE=0.
.venv/bin/python -m offchain.native || echo "setup: compiled kernels not built; set VERDE_NATIVE=0 to run on the pure paths"
# OpenZeppelin's npm package carries 257 JSON build artifacts next to its sources; ape-solidity copies
# the package whole into contracts/.cache, and Ape lists at most 500 files under contracts/, so with them
# our own sources fall out of view after the first compile. Only the .sol sources are needed.
# Ape's own package cache may hold a copy made before this trim.
rm -rf node_modules/@openzeppelin/contracts/build contracts/.cache/openzeppelin/*/build \
  "${APE_DATA_FOLDER:-$HOME/.ape}"/packages/projects/@openzeppelin_contracts/*/build
# OP's contracts-bedrock npm package: 683 files (124 MB of forge artifacts and every OP contract); the L1 rollup
# contracts use only its src/libraries (trie and RLP proofs, Hashing, Types, SafeCall). Everything else goes, and
# so do the four libraries that import outside src/libraries (solmate, solady, src/L1) or are unused with an
# exact old pragma. RLPErrors.sol and SafeCall.sol pin `pragma solidity 0.8.15;` in this, the last npm release;
# OP relaxed both to ^0.8.0 upstream soon after (ethereum-optimism/optimism#10819); the same relaxation here
# lets solc 0.8.37 compile them, and their code is untouched. Ape's copies of the package are trimmed alike.
trim_bedrock() {
  local pkg
  for pkg in "$@"; do
    [ -d "$pkg/src/libraries" ] || continue
    find "$pkg" -mindepth 1 -maxdepth 1 ! -name src ! -name LICENSE ! -name package.json -exec rm -rf {} +
    find "$pkg/src" -mindepth 1 -maxdepth 1 ! -name libraries -exec rm -rf {} +
    rm -f "$pkg"/src/libraries/{Arithmetic,Burn,Constants,GasPayingToken}.sol
    sed -i 's/^pragma solidity 0\.8\.15;/pragma solidity ^0.8.15;/' "$pkg"/src/libraries/rlp/RLPErrors.sol \
      "$pkg"/src/libraries/SafeCall.sol
  done
}
trim_bedrock node_modules/@eth-optimism/contracts-bedrock contracts/.cache/contracts-bedrock/* \
  "${APE_DATA_FOLDER:-$HOME/.ape}"/packages/projects/@eth-optimism_contracts-bedrock/*

# The compiler: py-solc-x only looks at solc-v* files in its folder; the shim wraps solc-js. That folder is
# shared by every checkout (~/.solcx), so the shim must not load solc-js from inside one: it pointed at the
# checkout that ran set-up last, and deleting that checkout broke compiles in all the others. solc-js and
# its dependencies are copied beside the shim, into a folder named after their content (a dotted name:
# py-solc-x reads every solc-v* name there as a version), so checkouts with the same lock share one copy.
SOLCX_DIR=${SOLCX_BINARY_PATH:-$HOME/.solcx}
mkdir -p "$SOLCX_DIR"
shim="$SOLCX_DIR/solc-v0.8.37"
# solc's runtime dependencies, as package-lock.json resolves them (all hoisted to node_modules/).
pkgs=$(node -e '
  const p = require("./package-lock.json").packages, seen = new Set();
  (function walk(n) { if (seen.has(n)) return; seen.add(n); Object.keys(p["node_modules/" + n].dependencies || {}).forEach(walk); })("solc");
  console.log([...seen].sort().join(" "));')
digest=$(cd node_modules && find $pkgs -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
solcjs="$SOLCX_DIR/.solc-js-0.8.37-$digest"
if [ ! -f "$solcjs/.complete" ]; then
  rm -rf "$solcjs"  # no marker: not a copy this script finished (it renames whole ones into place)
  part=$(mktemp -d "$SOLCX_DIR/.solc-js-part.XXXXXX")
  for p in $pkgs; do
    mkdir -p "$(dirname "$part/node_modules/$p")"
    cp -R "node_modules/$p" "$part/node_modules/$p"
  done
  touch "$part/.complete"
  chmod 0755 "$part"  # mktemp's 0700 would hide it from other users of a shared SOLCX_BINARY_PATH
  # Renamed into place whole; if another checkout's set-up got there first, its copy is the same bytes.
  mv -T "$part" "$solcjs" 2>/dev/null || rm -rf "$part"
fi
tmp=$(mktemp)
sed "s#@@SOLC_MODULE@@#$solcjs/node_modules/solc#" tools/solc-shim.js > "$tmp"
if ! cmp -s "$tmp" "$shim" 2>/dev/null; then
  install -m 0755 "$tmp" "$shim"
  rm -f "$shim.version" "$SOLCX_DIR/.solc-v0.8.37.version"  # old and current version caches
fi
rm -f "$tmp"
echo "$want" > "$stamp"
