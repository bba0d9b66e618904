#!/usr/bin/env node
// A stand-in for the native `solc` binary, built on solc-js, for what py-solc-x and
// ape-solidity call: `--version` and `--standard-json [--base-path D] [--include-path D]...`.
// Why: no native solc can be installed offline here, and solcjs's own CLI differs from solc
// (it prints a banner before the JSON and rejects flags py-solc-x passes). See docs/toolchain.md.
'use strict';
const fs = require('fs');
const path = require('path');

// The installer rewrites this line to the project's node_modules/solc.
const SOLC_MODULE = process.env.SOLC_JS_MODULE || '@@SOLC_MODULE@@';
// Loading soljson costs ~0.7 s; `--version` is asked often, so it is answered from a cache file.
// The cache is a dotfile: py-solc-x parses every `solc-v*` name in this folder as a version, and
// `solc-v0.8.37.version` made it raise InvalidVersion on every compile.
const VERSION_CACHE = path.join(path.dirname(__filename), '.' + path.basename(__filename) + '.version');

function loadSolc() {
  return require(SOLC_MODULE);
}

function version() {
  try {
    return fs.readFileSync(VERSION_CACHE, 'utf8').trim();
  } catch (_) {
    const v = loadSolc().version();
    try { fs.writeFileSync(VERSION_CACHE, v + '\n'); } catch (_) { /* read-only folder: no cache */ }
    return v;
  }
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function main(argv) {
  if (argv.includes('--version')) {
    process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + version() + '\n');
    return 0;
  }
  if (!argv.includes('--standard-json')) {
    process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
    return 1;
  }
  const roots = [];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '--base-path' || argv[i] === '--include-path') && i + 1 < argv.length) {
      roots.push(path.resolve(argv[++i]));
    } else if (argv[i].startsWith('--base-path=') || argv[i].startsWith('--include-path=')) {
      roots.push(path.resolve(argv[i].split('=').slice(1).join('=')));
    }
  }
  if (roots.length === 0) roots.push(process.cwd());

  // Import callback: resolve like native solc against base and include paths.
  function findImports(p) {
    const candidates = path.isAbsolute(p) ? [p] : roots.map((r) => path.join(r, p));
    for (const c of candidates) {
      try {
        return { contents: fs.readFileSync(c, 'utf8') };
      } catch (_) { /* try the next root */ }
    }
    return { error: 'File not found: ' + p };
  }

  const input = readStdin();
  const solc = loadSolc();
  // Native solc exits 0 with errors inside the JSON; so does this.
  process.stdout.write(solc.compile(input, { import: findImports }));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
