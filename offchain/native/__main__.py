"""`python -m offchain.native [NAME ...]`: build the compiled kernels (what `make setup` runs); exit 1 if one fails."""

import sys
import time

from offchain.native import BUILD_DIR, MODULES, build

failed = []
for name in sys.argv[1:] or list(MODULES):
    t0 = time.monotonic()
    try:
        build(name)
    except Exception as err:  # report every module, then fail
        failed.append(name)
        print(f"native: {name} failed to build: {type(err).__name__}: {err}", file=sys.stderr)
    else:
        print(f"native: {name} built in {BUILD_DIR / name} ({time.monotonic() - t0:.0f} s)")
sys.exit(1 if failed else 0)
