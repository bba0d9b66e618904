"""Our L2 node against the Ethereum JSON-RPC conformance suite that hive's `rpc-compat` runs on every execution client.

    make bench-rpc           # or: .venv/bin/python benchmarks/bench_rpc.py [--verbose] [-k eth_get] [--url URL]

Starts `python -m rollup.node --genesis tests/vectors/execution-apis/genesis.json --import-chain .../chain.rlp
--no-sequencer --host 127.0.0.1 --port 0` (in-memory database; transactions the suite sends stay pending, as in hive
where no consensus client drives the node), waits up to 120 s for its `rollup node: serving http://...` line, then
replays the suite's cases (tests/vectors/execution-apis/tests, from ethereum/execution-apis, CC0) one by one in
hive's order, 5 s per request, against that one node. With `--url` it judges a node that is already running and has
imported the chain itself.

Judged as hive judges (rollup/conformance.py, docs/conformance.md): each response equal to the recorded one as JSON,
numbers as numbers, error messages left out where both sides have an error object; a `speconly` case's non-error
responses validated against the method's OpenRPC result schema (tests/vectors/execution-apis/result-schemas.json).

Prints one line per method (`method pass/total`, by name; with --verbose each failing case and its first
difference), then a table, and writes the table to out/bench-rpc.json. Last line:
`rpc: pass=<n> total=<m> methods_full=<k>` (methods_full: methods all of whose cases pass).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rollup.conformance import (  # noqa: E402
    VECTORS,
    HttpPoster,
    NodeProcess,
    NodeStartError,
    Verdict,
    load_cases,
    load_result_schemas,
    run_case,
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def replay(url: str, cases, schemas, verbose: bool) -> dict[str, list[tuple[str, Verdict, float]]]:
    post = HttpPoster(url)
    results: dict[str, list[tuple[str, Verdict, float]]] = defaultdict(list)
    for case in cases:
        t0 = time.perf_counter()
        verdict = run_case(case, post, schemas)
        results[case.method].append((case.name, verdict, time.perf_counter() - t0))
        if verbose:
            log(f"  {'ok  ' if verdict.ok else 'FAIL'} {case.name}")
    return results


def report(results: dict[str, list[tuple[str, Verdict, float]]], verbose: bool, out: Path) -> str:
    table = {}
    for method in sorted(results):
        rows = results[method]
        passed = sum(v.ok for _, v, _ in rows)
        table[method] = {
            "pass": passed,
            "total": len(rows),
            "seconds": round(sum(s for *_, s in rows), 3),
            "failed": {name: str(v) for name, v, _ in rows if not v.ok},
        }
        print(f"{method} {passed}/{len(rows)}")
        if verbose:
            for name, v, _ in rows:
                if not v.ok:
                    print(f"    FAIL {name}: {v}")
    total = sum(t["total"] for t in table.values())
    passed = sum(t["pass"] for t in table.values())
    full = sum(t["pass"] == t["total"] for t in table.values())

    width = max([len(m) for m in table] + [6])
    print()
    print(f"{'method':<{width}}{'pass':>6}{'total':>7}{'seconds':>9}  first failure")
    for method, t in table.items():
        first = next(iter(t["failed"].items()), None)
        note = f"{first[0].split('/', 1)[1]}: {first[1]}" if first else ""
        print(f"{method:<{width}}{t['pass']:>6}{t['total']:>7}{t['seconds']:>9.2f}  {note[:110]}")

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"pass": passed, "total": total, "methods_full": full, "methods": table}, indent=1))
    return f"rpc: pass={passed} total={total} methods_full={full}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="judge this running node (which imported the chain itself) instead of starting one")
    p.add_argument("-k", dest="select", help="only the cases whose name (method/case) contains this substring")
    p.add_argument("--verbose", "-v", action="store_true", help="each case as it runs, and every failure's diff")
    p.add_argument("--cases", type=Path, default=VECTORS / "tests")
    p.add_argument("--schemas", type=Path, default=VECTORS / "result-schemas.json")
    p.add_argument("--json", type=Path, default=ROOT / "out" / "bench-rpc.json")
    args = p.parse_args()

    cases = load_cases(args.cases, args.select)
    if not cases:
        log(f"no case matches {args.select!r}")
        return 2
    schemas = load_result_schemas(args.schemas)
    log(f"{len(cases)} cases, {len({c.method for c in cases})} methods")

    node = None
    try:
        if args.url:
            url = args.url
        else:
            t0 = time.perf_counter()
            node = NodeProcess.start()
            url = node.url
            log(f"node pid {node.proc.pid} serving {url} after {time.perf_counter() - t0:.1f} s (chain imported)")
        results = replay(url, cases, schemas, args.verbose)
        if node is not None and node.proc.poll() is not None:
            log(f"the node {node.exit_status()} during the run\n{node.stderr_tail()}")
    except NodeStartError as e:
        log(str(e))
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if node is not None:
            node.close()
    print(report(results, args.verbose, args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
