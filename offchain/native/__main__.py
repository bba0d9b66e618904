"""`python -m offchain.native [NAME ...]`: build the compiled kernels (what `make setup` runs); exit 1 if one fails.

The modules build side by side (one compiler process each): each is a single translation unit, so ninja alone
would compile them one after the other.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from offchain.native import BUILD_DIR, MODULES, build


def _build(name: str) -> tuple[str, float, Exception | None]:
    t0 = time.monotonic()
    try:
        build(name)
    except Exception as err:  # every module is reported, then the exit status says whether one failed
        return name, time.monotonic() - t0, err
    return name, time.monotonic() - t0, None


names = sys.argv[1:] or list(MODULES)
with ThreadPoolExecutor(len(names)) as pool:
    results = list(pool.map(_build, names))
for name, seconds, err in results:
    if err is None:
        print(f"native: {name} built in {BUILD_DIR / name} ({seconds:.0f} s)")
    else:
        print(f"native: {name} failed to build: {type(err).__name__}: {err}", file=sys.stderr)
sys.exit(1 if any(err for *_, err in results) else 0)
