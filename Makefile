# One entry point for set-up, tests, the demo and the benchmarks. Everything runs offline
# except the package registries; `make test` and `make demo` set themselves up first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
APE := $(BIN)/ape
ANVIL := node_modules/.bin/anvil
ANVIL_PORT ?= 8545

.PHONY: setup test demo chain bench-gas lint clean

setup:
	@tools/setup.sh

test: setup
	$(APE) test tests -q -p no:cacheprovider -m "not slow"

.PHONY: test-slow
# The exhaustive variants (e.g. a real Verde game for every opcode of the GPT step); minutes more.
test-slow: setup
	$(APE) test tests -q -p no:cacheprovider -m slow
	FUZZ_EXAMPLES=60 $(APE) test tests/market/test_job_market_fuzz.py tests/crowdfund/test_crowdfund_fuzz.py -q -p no:cacheprovider

demo: setup
	$(APE) run demo

# A local L1 for several processes at once; Ape reaches it with `--network ethereum:local:node`. It mines a
# block every second even when idle: the swarm's stages are read from the latest block's time, so a chain that
# mines only on transactions would stop a lone node's clock after its first stage.
BLOCK_TIME ?= 1
chain: setup
	$(ANVIL) --host 127.0.0.1 --port $(ANVIL_PORT) --chain-id 1337 --hardfork prague --block-time $(BLOCK_TIME)

# Our own L2 (rollup/node.py) on 127.0.0.1:$(L2_PORT), kept in $(L2_DATADIR); Ape reaches it with
# `--network ethereum:l2:node`. L2_BLOCK_TIME=0 seals a block per transaction.
L2_PORT ?= 9545
L2_DATADIR ?= .l2
L2_BLOCK_TIME ?= 2
.PHONY: l2
l2: setup
	$(BIN)/python -m rollup.node --datadir $(L2_DATADIR) --port $(L2_PORT) --block-time $(L2_BLOCK_TIME) -v

bench-gas: setup
	$(BIN)/python benchmarks/bench_gas.py

.PHONY: bench-commit
# Checkpoint commit speed (offchain/commit) against plain keccak of the same bytes; not part of `make test`.
bench-commit: setup
	$(BIN)/python benchmarks/bench_commit.py

# ruff, and import-linter's layer contracts in pyproject.toml (docs/architecture.md); tests/test_architecture.py
# runs the same contracts in `make test`.
lint: setup
	$(BIN)/ruff check offchain scripts tests benchmarks rollup plugins tools
	$(BIN)/lint-imports

clean:
	rm -rf .build contracts/.cache

.PHONY: swarm
# A local RL Swarm: anvil, the contracts, NODES node processes for ROUNDS rounds, and what the chain recorded.
# Each node's folder (progress.jsonl, curves.png) stays in out/swarm/nodes/node<i>/ until the next run.
# MIXED=1: a heterogeneous swarm (per-node family warm-ups of widths 32/64 and task mixes, cached in out/swarm/).
NODES ?= 4
ROUNDS ?= 3
MIXED ?=
swarm: setup
	$(BIN)/python -m offchain.swarm.local --nodes $(NODES) --rounds $(ROUNDS)$(if $(MIXED), --mixed)

.PHONY: bench-float32
# Float32.sol: 1,000,000 vectors per op against numpy float32 on anvil, throughput and gas per op.
bench-float32: setup
	$(BIN)/python benchmarks/bench_float32.py

.PHONY: bench-ulp
# exp/log/tanh recipes over all 2^32 float32 inputs: max error in ulps and where (~5 min on 2 cores; docs/float32.md).
bench-ulp: setup
	$(BIN)/python tools/sweep_ulp.py

.PHONY: bench-repops
# RepOps against native torch (training step and heavy ops) plus Float32 gas when wired; not part of `make test`.
bench-repops: setup
	$(BIN)/python benchmarks/bench_repops.py

.PHONY: bench-verde
# Verde disputes for jobs of T = 16..1024 steps (moves, gas, wall time) against re-running the training.
bench-verde: setup
	$(BIN)/python benchmarks/bench_verde.py

.PHONY: bench-swarm
# RL Swarm: SAPO 8/0, 6/2, 4/4, 2/6 (local/external) and the critique/vote-weighted best, homogeneous and heterogeneous
# (task family, two widths, per-node mixes), 3 seeds, 100 rounds (long: `--rounds 40` is ~10 min); not part of `make test`.
bench-swarm: setup
	$(BIN)/python benchmarks/bench_swarm.py

.PHONY: bench-skippipe skippipe
# SkipPipe: the paper-scale simulation (20 nodes, 12 regions, 6 stages), measured against predicted iteration time on
# loopback workers with emulated link delays, and held-out perplexity of SkipPipe against the full pipeline with 0, 25
# and 50% of the stages dropped (docs/skippipe.md; ~10 min on 2 cores); not part of `make test`.
bench-skippipe: setup
	$(BIN)/python benchmarks/bench_skippipe.py

# A local SkipPipe run: a coordinator and SKIPPIPE_NODES worker processes on 127.0.0.1 (docs/skippipe.md).
SKIPPIPE_NODES ?= 5
skippipe: setup
	$(BIN)/python -m offchain.skippipe run --nodes $(SKIPPIPE_NODES)

.PHONY: bench-l2
# Our L2 node against anvil, one client sending transfers and SwarmCoordinator vote commits as fast as it can;
# block re-execution speed of a second node and database size per 1,000 blocks. Plot: out/bench-l2.png.
bench-l2: setup
	$(BIN)/python benchmarks/bench_l2.py

.PHONY: bench-rpc
# Our L2 node (python -m rollup.node) against the Ethereum JSON-RPC conformance suite hive's rpc-compat runs on every
# execution client (docs/conformance.md); pass/total per method, table in out/bench-rpc.json; not part of `make test`.
bench-rpc: setup
	$(BIN)/python benchmarks/bench_rpc.py

.PHONY: bench-rollup
# Settling the L2 on L1 (anvil, real contracts, real node processes): L1 gas per L2 transaction posted against the same
# transactions executed on L1, deposit latency, the 1,024-block output dispute's moves and gas, and how soon the
# verifier disputes a wrong output (docs/rollup.md, Measurements). out/bench-rollup.json and .png; about 1.5 minutes.
bench-rollup: setup
	$(BIN)/python benchmarks/bench_rollup.py
