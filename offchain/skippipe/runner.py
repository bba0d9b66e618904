"""SkipPipe's runner: one worker process per node, a coordinator, torch.distributed (gloo) between the workers.

    coord = Coordinator(RunConfig(...), host="127.0.0.1", port=0, out="out/skippipe/run")
    result = coord.run(spawn=True)             # starts the workers itself; or they join with `worker`
    result.roots                               # {iteration: checkpoint root}, the same for the same config

The coordinator hosts a TCPStore (the rendezvous every worker connects to), publishes the run's config and, per
generation, a plan: the members still alive, the node-to-stage allocation and one path per microbatch. Workers move
activations and gradients point to point along each path (gloo send/recv), exchange per-microbatch gradients inside
their stage (gloo all-gather), and step with RepOps AdamW. Everything a worker computes is a function of the config,
the plan and the iteration: gradients are summed over microbatches in index order, whatever order they arrived in,
so two runs of one plan give the same checkpoint roots.

A node that dies (SIGKILL) is noticed by the peers whose sends or receives fail and by its heartbeat going stale;
the coordinator then aborts the generation, drops the node (and its stage, if it held the stage's last copy: the
paths skip it from then on), re-plans, and every survivor rolls back to the start of the first unfinished iteration
and goes on. Nobody restarts.

Link delays of the geo setting are emulated on the receiving side: a message is used no earlier than its send time
plus latency + bytes / bandwidth (scaled by `delay_scale`; 0 turns emulation off), plus `hop_overhead_s`.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from offchain.commit import commit_checkpoint, keccak256
from offchain.commit.state import training_state
from offchain.model.gpt import RepOpsGPT
from offchain.repops import prims as P
from offchain.repops.optim import AdamW
from offchain.skippipe import schedule as sp
from offchain.skippipe.corpus import Corpus
from offchain.skippipe.geo import Node, link_time, load_links
from offchain.skippipe.model import Shape, Stage, gpt_config
from offchain.skippipe.sim import Schedule, simulate

MODES = ("skippipe", "full", "random")
POLL_S = 0.002  # how often a waiting worker looks at its receives and at the abort flag


@dataclass
class RunConfig:
    nodes: list[dict]  # [{"name", "region", "speed", "memory"}], node i is worker i
    shape: dict = field(default_factory=lambda: asdict(Shape()))
    microbatches: int = 4
    batch: int = 8  # sequences per microbatch
    iterations: int = 10
    lr: float = 3e-3
    weight_decay: float = 0.01
    seed: int = 0
    mode: str = "skippipe"  # skippipe (collision-aware), full (every stage in order), random (random skips)
    skip_ratio: float = 0.25
    reorder: int = 1
    delay_scale: float = 1.0  # emulated link delay = scale * (latency + bytes / bandwidth); 0: none
    hop_overhead_s: float = 0.0
    checkpoint_every: int = 5
    heartbeat_timeout_s: float = 2.0
    pg_timeout_s: float = 60.0
    # A fixed plan instead of the mode's scheduler (e.g. an earlier run's, from its plans.json): the allocation
    # (node ids per stage) and one path per microbatch, checked like any schedule. After a node is lost, its paths
    # move to another node of its stage, or skip the stage if none is left.
    allocation: list[list[int]] | None = None
    paths: list[list[int]] | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if len(self.nodes) < 1:
            raise ValueError("a run needs at least one node")
        for name in ("microbatches", "batch", "iterations", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.delay_scale < 0 or self.hop_overhead_s < 0:
            raise ValueError("delay_scale and hop_overhead_s must be >= 0")
        shape = Shape(**self.shape)
        if (self.allocation is None) != (self.paths is None):
            raise ValueError("a fixed plan needs both the allocation and the paths")
        if self.paths is not None:
            if len(self.allocation) != shape.stages or len(self.paths) != self.microbatches:
                raise ValueError(f"a fixed plan needs {shape.stages} stages and {self.microbatches} paths, got "
                                 f"{len(self.allocation)} and {len(self.paths)}")  # fmt: skip
            Schedule(self.allocation, self.paths).validate(len(self.nodes))

    @property
    def geo(self) -> list[Node]:
        return [Node(n["name"], n["region"], n.get("speed", 1.0), n.get("memory", 3)) for n in self.nodes]

    def dumps(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def loads(cls, s: str) -> RunConfig:
        return cls(**json.loads(s))


class Aborted(Exception):
    """The coordinator aborted this generation (a node died or a peer's transfer failed)."""


# ---------------------------------------------------------------------------------------------------------------
# Plans


def make_schedule(cfg: RunConfig, nodes: Sequence[Node], allocation: list[list[int]], transfer,
                  costs: dict) -> Schedule:  # fmt: skip
    """The mode's schedule over `allocation` (only stages that still have nodes; paths over global node ids)."""
    if cfg.mode == "full":
        return sp.full_pipeline(nodes, allocation, cfg.microbatches)
    if cfg.mode == "random":
        return sp.random_skips(nodes, allocation, cfg.microbatches, cfg.skip_ratio, cfg.seed)
    return sp.schedule(nodes, transfer, allocation, cfg.microbatches, costs["fwd_s"][: len(allocation)],
                       costs["act_bytes"], cfg.skip_ratio, cfg.reorder, backward_factor=costs["backward_factor"],
                       loss_s=costs["loss_s"], hop_overhead_s=cfg.hop_overhead_s, seed=cfg.seed)  # fmt: skip


NOMINAL_FLOPS = 25e9  # RepOps float32 throughput of one Zen 4 core on these shapes (docs/skippipe.md)


def nominal_costs(cfg: RunConfig) -> dict:
    """Task costs the scheduler plans with: FLOP counts of the shape at NOMINAL_FLOPS, so that a plan depends on
    the config alone (a timing measured at start would change the paths, and with them the checkpoint roots,
    from run to run). The simulator's prediction uses `calibrate`'s measured costs instead."""
    sh = Shape(**cfg.shape)
    tokens = cfg.batch * sh.context
    block = 2 * tokens * 12 * sh.width**2 + 4 * tokens * sh.context * sh.width  # matmuls of one block, forward
    vocab = len(Corpus.load().vocab)
    return {"fwd_s": [sh.layers * block / NOMINAL_FLOPS] * sh.stages, "backward_factor": 2.0,
            "loss_s": 3 * 2 * tokens * sh.width * vocab / NOMINAL_FLOPS,
            "act_bytes": tokens * sh.width * 4}  # fmt: skip


def fixed_paths(paths: Sequence[Sequence[int]], original: Sequence[Sequence[int]],
                allocation: Sequence[Sequence[int]]) -> list[list[int]]:  # fmt: skip
    """A fixed plan's paths over what is left of its allocation: a lost node's visits move to the nodes left in its
    stage (round-robin, in path order), or are dropped when the stage has none (the path skips it)."""
    left = {n for ns in allocation for n in ns}
    stage_of = {n: s for s, ns in enumerate(original) for n in ns}
    turn: dict[int, int] = {}
    out = []
    for path in paths:
        new = []
        for n in path[:-1]:
            if n not in left:
                s = stage_of[n]
                alive = [a for a in original[s] if a in left]
                if not alive:
                    continue
                n = alive[turn.get(s, 0) % len(alive)]
                turn[s] = turn.get(s, 0) + 1
            new.append(n)
        out.append(new + [new[0]])
    return out


def geo_transfer(cfg: RunConfig) -> Callable[[Node, Node, float], float]:
    """The emulated link time between two nodes' regions (scaled), hop overhead not included."""
    links = load_links()

    def transfer(a: Node, b: Node, nbytes: float) -> float:
        return cfg.delay_scale * link_time(links[(a.region, b.region)], nbytes)

    return transfer


# ---------------------------------------------------------------------------------------------------------------
# The worker


def _background(work) -> threading.Event:
    """gloo's Work.is_completed() stays False for point-to-point receives until wait() is called, so a thread
    waits and sets an event the worker's loop can poll without blocking on one peer."""
    ev = threading.Event()

    def run() -> None:
        try:
            work.wait()
        except Exception:  # noqa: BLE001 - the failure is seen through the abort flag and heartbeats
            ev.failed = True  # type: ignore[attr-defined]
        ev.set()

    threading.Thread(target=run, daemon=True).start()
    return ev


def _tag(m: int, pos: int, backward: bool, part: int) -> int:
    return ((m * 64 + pos) * 2 + int(backward)) * 2 + part


class Worker:
    def __init__(self, host: str, port: int, node: int, *, echo: Callable[[str], None] = print) -> None:
        self.node, self.echo = node, echo
        self.store = dist.TCPStore(host, port, is_master=False, timeout=timedelta(seconds=120))
        self._hb_store = dist.TCPStore(host, port, is_master=False, timeout=timedelta(seconds=120))
        self._hb_stop = threading.Event()
        threading.Thread(target=self._heartbeat, daemon=True).start()
        self.store.set(f"join/{node}", str(os.getpid()))
        self.cfg = RunConfig.loads(self.store.get("config").decode())
        if not 0 <= node < len(self.cfg.nodes):
            raise ValueError(f"node id {node} is not one of the run's {len(self.cfg.nodes)} nodes")
        self.geo = self.cfg.geo
        self.shape = Shape(**self.cfg.shape)
        self.corpus = Corpus.load()
        self.model = RepOpsGPT(gpt_config(self.shape, len(self.corpus.vocab)), seed=self.cfg.seed)
        self.links = geo_transfer(self.cfg)
        self._old_groups: list = []  # groups of aborted generations stay referenced: their threads may still wait

    def _heartbeat(self) -> None:
        while not self._hb_stop.is_set():
            try:
                self._hb_store.set(f"hb/{self.node}", repr(time.time()))
            except Exception:  # noqa: BLE001 - the coordinator is gone; the main loop will notice
                return
            time.sleep(0.2)

    # --- waiting, always interruptible by the generation's abort flag

    def _check_abort(self) -> None:
        if self.store.check([f"abort/{self.gen}"]):
            raise Aborted(f"generation {self.gen} aborted")

    def _wait_events(self, events: Sequence[threading.Event]) -> None:
        last = 0.0
        while not all(e.is_set() for e in events):
            now = time.monotonic()
            if now - last > 0.02:
                self._check_abort()
                last = now
            time.sleep(POLL_S)
        if any(getattr(e, "failed", False) for e in events):
            raise RuntimeError("a transfer failed")

    def _wait_keys(self, keys: Sequence[str]) -> None:
        while not self.store.check(list(keys)):
            self._check_abort()
            time.sleep(POLL_S)

    # --- the run

    def run(self) -> int:
        self.gen = 0
        self._wait_plan_or_stop(0)
        plan = self._plan(0)
        self.stage = next(s for s, ns in enumerate(plan["allocation"]) if self.node in ns)
        self.st = Stage(self.model, self.stage, self.shape.layers)
        self.names = [n for n, _ in self.st.named_parameters()]
        self.opt = AdamW(self.st.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        self.snaps = {0: self._snapshot()}
        while True:
            if self.store.check(["stop"]) and not self.store.check([f"plan/{self.gen}"]):
                return 0
            plan = self._plan(self.gen)
            if self.node not in plan["members"]:
                self.echo(f"node {self.node}: not in generation {self.gen}'s plan; leaving")
                return 0
            start = plan["start"]
            self._restore(self.snaps[start])
            self.snaps = {start: self.snaps[start]}
            try:
                self._groups(plan)
                for it in range(start, self.cfg.iterations):
                    self._iteration(plan, it)  # leaves snaps[it + 1], the state after its step, beside snaps[it]
                    self.snaps = {it + 1: self.snaps[it + 1]}
                self._hb_stop.set()
                return 0
            except (Aborted, RuntimeError, dist.DistError) as err:
                self.echo(f"node {self.node}: generation {self.gen} ended ({str(err).splitlines()[0][:120]})")
                try:
                    self.store.set(f"abort/{self.gen}", f"node {self.node}")
                except Exception:  # noqa: BLE001
                    return 1
                self.gen += 1
                if not self._wait_plan_or_stop(self.gen):
                    return 0

    def _wait_plan_or_stop(self, gen: int) -> bool:
        while True:
            if self.store.check([f"plan/{gen}"]):
                return True
            if self.store.check(["stop"]):
                return False
            time.sleep(0.01)

    def _plan(self, gen: int) -> dict:
        return json.loads(self.store.get(f"plan/{gen}").decode())

    def _groups(self, plan: dict) -> None:
        members = sorted(plan["members"])
        timeout = timedelta(seconds=self.cfg.pg_timeout_s)
        self.world = dist.ProcessGroupGloo(dist.PrefixStore(f"pg/{self.gen}/w", self.store), members.index(self.node),
                                           len(members), timeout)  # fmt: skip
        self.rank_of = {n: i for i, n in enumerate(members)}
        peers = sorted(plan["allocation"][plan["stage_index"][str(self.stage)]])
        self.peers = peers
        self.stage_pg = None
        if len(peers) > 1:
            self.stage_pg = dist.ProcessGroupGloo(dist.PrefixStore(f"pg/{self.gen}/s{self.stage}", self.store),
                                                  peers.index(self.node), len(peers), timeout)  # fmt: skip
        self._old_groups.append((self.world, self.stage_pg))

    # --- state

    def _snapshot(self) -> dict:
        return {
            "params": [p.detach().clone() for p in self.st.parameters()],
            "opt": {i: {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
                    for i, s in enumerate(self.opt.state[p] for p in self.st.parameters())},
        }  # fmt: skip

    def _restore(self, snap: dict) -> None:
        params = list(self.st.parameters())
        with torch.no_grad():
            for p, v in zip(params, snap["params"], strict=True):
                p.copy_(v)
        for i, p in enumerate(params):
            st = snap["opt"].get(i, {})
            self.opt.state[p] = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in st.items()}
            if not st:
                self.opt.state.pop(p, None)

    # --- one iteration

    def _iteration(self, plan: dict, it: int) -> None:
        cfg, me = self.cfg, self.node
        t0 = time.time()
        paths = plan["paths"]
        inbox: dict[tuple[int, int, bool], tuple] = {}  # (m, pos, backward) -> (events, header, payload, src)
        sends: list[threading.Event] = []
        shape = (cfg.batch, self.shape.context, self.shape.width)

        def post_recv(m: int, pos: int, backward: bool, src: int) -> None:
            header, payload = torch.zeros(1, dtype=torch.float64), torch.zeros(shape)
            evs = [_background(self.world.recv([t], self.rank_of[src], _tag(m, pos, backward, k)))
                   for k, t in enumerate((header, payload))]  # fmt: skip
            inbox[(m, pos, backward)] = (evs, header, payload, src)

        def send(m: int, pos: int, backward: bool, dst: int, x: torch.Tensor) -> None:
            header = torch.tensor([time.time()], dtype=torch.float64)
            x = x.detach().contiguous()
            for k, t in enumerate((header, x)):
                sends.append(_background(self.world.send([t], self.rank_of[dst], _tag(m, pos, backward, k))))

        # Tasks on this node: (m, kind, pos); their inputs are posted as receives now, all at once, so they can
        # arrive in any order. Local inputs (a path that stays on this node) are filled in when produced.
        local: dict[tuple[int, int, bool], tuple[float, torch.Tensor]] = {}
        tasks = []
        for m, path in enumerate(paths):
            k = len(path) - 2  # stages visited after stage 0
            for pos, n in enumerate(path[:-1]):
                if n != me:
                    continue
                if pos == 0:
                    tasks += [(m, "fwd", 0), (m, "loss", k + 1), (m, "bwd", 0)]
                    if k > 0:
                        post_recv(m, k + 1, False, path[k])
                        post_recv(m, 0, True, path[1])
                else:
                    tasks += [(m, "fwd", pos), (m, "bwd", pos)]
                    post_recv(m, pos, False, path[pos - 1])
                    post_recv(m, pos, True, path[pos + 1] if pos < k else path[0])
        grads: dict[int, dict[str, torch.Tensor]] = {}
        kept: dict[tuple[int, int], tuple] = {}
        losses: dict[int, float] = {}
        intervals = []
        batches = {}
        done: set[tuple[int, str, int]] = set()

        def ready(task) -> float | None:
            """The time task's input became usable, or None if it has not yet."""
            m, kind, pos = task
            if kind == "fwd" and pos == 0:
                return t0
            if kind == "loss":
                key = (m, pos, False)
            elif kind == "bwd":
                key = (m, pos, True)
            else:
                key = (m, pos, False)
            if key in local:
                return local[key][0]
            if key not in inbox:
                return None
            evs, header, payload, src = inbox[key]
            if not all(e.is_set() for e in evs):
                return None
            if any(getattr(e, "failed", False) for e in evs):
                raise RuntimeError(f"receive from node {src} failed")
            delay = self.links(self.geo[src], self.geo[me], payload.numel() * 4) + cfg.hop_overhead_s
            return float(header[0]) + delay

        def take(m: int, pos: int, backward: bool) -> torch.Tensor:
            key = (m, pos, backward)
            if key in local:
                return local.pop(key)[1]
            return inbox.pop(key)[2]

        def collect(m: int) -> None:
            g = grads.setdefault(m, {})
            for name, p in self.st.named_parameters():
                if p.grad is not None:
                    g[name] = p.grad
                    p.grad = None

        last_check = 0.0
        while len(done) < len(tasks):
            now = time.time()
            if time.monotonic() - last_check > 0.02:
                self._check_abort()
                last_check = time.monotonic()
            best = None
            for task in tasks:
                if task in done:
                    continue
                r = ready(task)
                if r is not None and r <= now and (best is None or (r, task[0]) < best[0]):
                    best = ((r, task[0]), task)
            if best is None:
                time.sleep(POLL_S)
                continue
            m, kind, pos = task = best[1]
            path, k = paths[m], len(paths[m]) - 2
            start = time.time()
            if kind == "fwd" and pos == 0:
                x, y = self.corpus.batch(seed=cfg.seed, iteration=it, microbatch=m, size=cfg.batch,
                                         context=self.shape.context)  # fmt: skip
                batches[m] = (x, y)
                h = self.st.first(x)
                kept[(m, 0)] = (None, h)
                if k > 0:
                    send(m, 1, False, path[1], h)
                else:
                    local[(m, 1, False)] = (time.time(), h.detach())
            elif kind == "fwd":
                inp = take(m, pos, False).requires_grad_()
                out = self.st.blocks(inp)
                kept[(m, pos)] = (inp, out)
                send(m, pos + 1, False, path[pos + 1] if pos < k else path[0], out)
            elif kind == "loss":
                inp = take(m, pos, False).requires_grad_()
                loss = self.st.loss(inp, batches[m][1])
                loss.backward()
                collect(m)
                losses[m] = float(loss.detach())
                if k > 0:
                    send(m, k, True, path[k], inp.grad)
                else:
                    local[(m, 0, True)] = (time.time(), inp.grad)
            else:
                g = take(m, pos, True)
                inp, out = kept.pop((m, pos))
                out.backward(g)
                collect(m)
                if pos > 0:
                    send(m, pos - 1, True, path[pos - 1], inp.grad)
            done.add(task)
            intervals.append((start, time.time(), m, kind))
        t_tasks = time.time()
        self._wait_events(sends)
        self._step(plan, grads)
        # Kept until every member has finished this iteration: if the generation is aborted in the barrier, the
        # coordinator resumes from it + 1 when every member's record is in, else from it.
        self.snaps[it + 1] = self._snapshot()
        t_step = time.time()
        record = {"t0": t0, "t_tasks": t_tasks, "t_step": t_step, "losses": losses, "intervals": intervals,
                  "stage": self.stage}  # fmt: skip
        if self.node == self.peers[0] and ((it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iterations):
            buf = io.BytesIO()
            np.savez(buf, **{k: np.asarray(v) for k, v in training_state(self.st, self.opt, rng={}).items()})
            self.store.set(f"ckpt/{self.gen}/{it}/{self.stage}", base64.b64encode(buf.getvalue()))
        self.store.set(f"done/{self.gen}/{it}/{me}", json.dumps(record))
        self._wait_keys([f"done/{self.gen}/{it}/{n}" for n in plan["members"]])

    def _step(self, plan: dict, grads: dict[int, dict[str, torch.Tensor]]) -> None:
        """Average the stage's per-microbatch gradients (summed in microbatch order, wherever each ran) and step."""
        m_count = self.cfg.microbatches
        params = list(self.st.parameters())
        sizes = [p.numel() for p in params]
        flat = torch.zeros(m_count, sum(sizes))
        for m, g in grads.items():
            flat[m] = torch.cat([g[n].reshape(-1) if n in g else torch.zeros(p.numel())
                                 for n, p in zip(self.names, params, strict=True)])  # fmt: skip
        owner = {}
        stage_nodes = set(self.peers)
        for m, path in enumerate(plan["paths"]):
            for n in path[:-1]:
                if n in stage_nodes:
                    owner[m] = n
        if not owner:
            return
        if self.stage_pg is not None:
            gathered = [torch.zeros_like(flat) for _ in self.peers]
            self._wait_events([_background(self.stage_pg.allgather([gathered], [flat]))])
            rows = {m: gathered[self.peers.index(n)][m] for m, n in owner.items()}
        else:
            rows = {m: flat[m] for m in owner}
        total = None
        for m in sorted(rows):
            total = rows[m] if total is None else P.add(total, rows[m])
        mean = P.div(total, torch.tensor(float(len(rows))))
        for p, chunk in zip(params, mean.split(sizes), strict=True):
            p.grad = chunk.reshape(p.shape).clone()
        self.opt.step()
        for p in params:
            p.grad = None


# ---------------------------------------------------------------------------------------------------------------
# The coordinator


@dataclass
class RunResult:
    roots: dict[int, str]  # iteration (1-based step) -> checkpoint root hex
    progress: list[dict]
    generations: list[dict]
    state: dict[str, torch.Tensor]  # the final model.* tensors of every stage still held
    dropped_stages: list[int]


def calibrate(cfg: RunConfig, reps: int = 5) -> dict:
    """Seconds per task on this machine for the simulator: stage forward (stage 0 with the embeddings), the loss
    task (head, cross-entropy and its backward) and backward / forward, medians over `reps`, one thread."""
    shape = Shape(**cfg.shape)
    corpus = Corpus.load()
    model = RepOpsGPT(gpt_config(shape, len(corpus.vocab)), seed=cfg.seed)
    st0, st1 = Stage(model, 0, shape.layers), Stage(model, min(1, shape.stages - 1), shape.layers)
    x, y = corpus.batch(seed=cfg.seed, iteration=0, microbatch=0, size=cfg.batch, context=shape.context)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    f0, f1, b1, ls = [], [], [], []
    try:
        for _ in range(reps):
            t = time.perf_counter()
            h = st0.first(x)
            f0.append(time.perf_counter() - t)
            inp = h.detach().requires_grad_()
            t = time.perf_counter()
            out = st1.blocks(inp)
            f1.append(time.perf_counter() - t)
            t = time.perf_counter()
            out.backward(torch.ones_like(out))
            b1.append(time.perf_counter() - t)
            inp2 = out.detach().requires_grad_()
            t = time.perf_counter()
            st0.loss(inp2, y).backward()
            ls.append(time.perf_counter() - t)
            model.zero_grad(set_to_none=True)
    finally:
        torch.set_num_threads(threads)

    def med(v):
        return sorted(v)[len(v) // 2]

    fwd = [med(f0)] + [med(f1)] * (shape.stages - 1)
    return {"fwd_s": fwd, "backward_factor": med(b1) / med(f1), "loss_s": med(ls),
            "act_bytes": cfg.batch * shape.context * shape.width * 4}  # fmt: skip


class Coordinator:
    def __init__(self, cfg: RunConfig, *, host: str = "127.0.0.1", port: int = 0, out: str | Path | None = None,
                 echo: Callable[[str], None] = print) -> None:  # fmt: skip
        self.cfg, self.echo = cfg, echo
        self.store = dist.TCPStore(host, port, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=60))
        self.host, self.port = host, self.store.port
        self.out = Path(out) if out is not None else None
        self.corpus = Corpus.load()
        self.procs: dict[int, subprocess.Popen] = {}
        self.kill_at: tuple[int, int, float] | None = None  # (node, iteration, seconds into it)

    def spawn(self) -> None:
        """Start one worker process per node on this machine (what `worker` does on each machine otherwise)."""
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        for n in range(len(self.cfg.nodes)):
            cmd = [sys.executable, "-m", "offchain.skippipe", "worker", "--coordinator", f"{self.host}:{self.port}",
                   "--node-id", str(n)]  # fmt: skip
            self.procs[n] = subprocess.Popen(cmd, env=env)

    def _alive(self, members: Sequence[int]) -> set[int]:
        """Members whose heartbeat is fresh and whose local process (if we started it) still runs."""
        now = time.time()
        alive = set()
        for n in members:
            if n in self.procs and self.procs[n].poll() is not None:
                continue
            key = f"hb/{n}"
            if self.store.check([key]) and now - float(self.store.get(key)) < self.cfg.heartbeat_timeout_s:
                alive.add(n)
        return alive

    def _settle(self, members: Sequence[int]) -> set[int]:
        """Who is alive once a failure has had time to show: a heartbeat goes stale after heartbeat_timeout_s, but
        when every member is a process of ours, their exit codes say it within half a second."""
        deadline = time.monotonic() + self.cfg.heartbeat_timeout_s + 0.5
        if set(members) <= set(self.procs):
            deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return self._alive(members)

    def run(self, *, spawn: bool = True) -> RunResult:
        cfg = self.cfg
        self.store.set("config", cfg.dumps())
        if spawn:
            self.spawn()
        nodes = cfg.geo
        self.echo(f"coordinator on {self.host}:{self.port}: waiting for {len(nodes)} workers")
        deadline = time.time() + 120
        while not self.store.check([f"join/{n}" for n in range(len(nodes))]):
            if time.time() > deadline or any(p.poll() is not None for p in self.procs.values()):
                self.store.set("stop", "1")
                raise RuntimeError("not every worker joined (a worker exited or 120 s passed)")
            time.sleep(0.05)
        pids = {n: self.store.get(f"join/{n}").decode() for n in range(len(nodes))}
        self.echo("workers joined: " + ", ".join(f"node {n} ({nodes[n].name}) pid {p}" for n, p in pids.items()))
        costs = calibrate(cfg)
        transfer = geo_transfer(cfg)
        shape = Shape(**cfg.shape)
        allocation = [list(a) for a in cfg.allocation] if cfg.allocation else sp.allocate(nodes, shape.stages)
        members = list(range(len(nodes)))
        gen, start = 0, 0
        progress: list[dict] = []
        generations: list[dict] = []
        roots: dict[int, str] = {}
        ckpt_states: dict[int, dict] = {}
        state: dict[str, torch.Tensor] = {}
        dropped: list[int] = []
        try:
            while True:
                plan, sched, predicted = self._publish(gen, start, members, allocation, nodes, transfer, costs)
                generations.append({"gen": gen, "start": start, "members": members, "predicted_s": predicted,
                                    "predicted_intervals": self._predicted_intervals,
                                    **{k: plan[k] for k in ("allocation", "stages", "paths")}})  # fmt: skip
                it = start
                failed = False
                while it < cfg.iterations:
                    rec = self._wait_iteration(gen, it, members)
                    if rec is None:
                        failed = True
                        break
                    row = self._row(gen, it, members, rec, predicted, plan)
                    progress.append(row)
                    self.echo(f"iter {it + 1}/{cfg.iterations}  loss {row['loss']:.4f}  time {row['time_s']:.3f} s"
                              f"  predicted {predicted:.3f} s  nodes {len(members)}  gen {gen}")  # fmt: skip
                    self._checkpoint(gen, it, plan, rec, roots, ckpt_states)
                    it += 1
                    if self.kill_at and self.kill_at[1] == it and self.kill_at[0] in self.procs:
                        time.sleep(self.kill_at[2])
                        pid = self.procs[self.kill_at[0]].pid
                        self.echo(f"killing node {self.kill_at[0]} (pid {pid}) with SIGKILL")
                        os.kill(pid, signal.SIGKILL)
                        self.kill_at = None
                if not failed:
                    break
                # A failure: abort the generation, wait for the dead to be seen as dead, re-plan.
                self.store.set(f"abort/{gen}", "coordinator")
                alive = sorted(self._settle(members))
                lost = sorted(set(members) - set(alive))
                allocation = [[n for n in ns if n in alive] for ns in allocation]
                if not allocation[0]:
                    raise RuntimeError(f"stage 0 lost its last node ({lost}): the embeddings and head are gone")
                newly = [s for s, ns in enumerate(allocation) if not ns and s not in dropped]
                dropped += newly
                self.echo(f"generation {gen} aborted at iteration {it + 1}: lost nodes {lost}"
                          + (f", stages {newly} dropped (paths skip them)" if newly else "")
                          + f"; re-planning over {len(alive)} nodes")  # fmt: skip
                members, gen, start = alive, gen + 1, it
            last = max(ckpt_states)
            state = {k[len("model."):]: torch.from_numpy(np.array(v)) for k, v in ckpt_states[last].items()
                     if k.startswith("model.")}  # fmt: skip
        finally:
            self.store.set("stop", "1")
            for p in self.procs.values():
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        result = RunResult(roots, progress, generations, state, dropped)
        if self.out is not None:
            write_outputs(self.out, cfg, result, costs)
        return result

    def _publish(self, gen, start, members, allocation, nodes, transfer, costs):
        stages = [s for s, ns in enumerate(allocation) if ns]
        alloc = [allocation[s] for s in stages]
        if self.cfg.paths is not None:
            sched = Schedule(alloc, fixed_paths(self.cfg.paths, self.cfg.allocation, alloc))
        else:
            nominal = nominal_costs(self.cfg)
            nominal["fwd_s"] = [nominal["fwd_s"][s] for s in stages]
            sched = make_schedule(self.cfg, nodes, alloc, transfer, nominal)
        sched.validate(len(nodes))
        sim_cfg = {"fwd_s": [costs["fwd_s"][s] for s in stages], "act_bytes": costs["act_bytes"],
                   "backward_factor": costs["backward_factor"], "loss_s": costs["loss_s"],
                   "hop_overhead_s": self.cfg.hop_overhead_s}  # fmt: skip
        sim = simulate(nodes, transfer, sched, **sim_cfg)
        predicted = sim.iteration_s
        self._predicted_intervals = {str(n): [(i.start, i.end, i.microbatch, i.kind) for i in sim.intervals[n]]
                                     for n in members}  # fmt: skip
        plan = {"members": members, "start": start, "allocation": [list(a) for a in sched.allocation],
                "stages": stages, "stage_index": {str(s): i for i, s in enumerate(stages)},
                "paths": [list(p) for p in sched.paths]}  # fmt: skip
        self.store.set(f"plan/{gen}", json.dumps(plan))
        self.echo(f"plan {gen}: stages {stages} on {plan['allocation']}, paths {plan['paths']}, "
                  f"predicted {predicted:.3f} s per iteration")  # fmt: skip
        return plan, sched, predicted

    def _wait_iteration(self, gen: int, it: int, members: Sequence[int]) -> dict | None:
        keys = [f"done/{gen}/{it}/{n}" for n in members]
        last_hb = time.monotonic()
        while True:
            if self.store.check(keys):
                return {n: json.loads(self.store.get(k).decode()) for n, k in zip(members, keys, strict=True)}
            if self.store.check([f"abort/{gen}"]):
                return None
            if time.monotonic() - last_hb > 0.25:
                last_hb = time.monotonic()
                if len(self._alive(members)) < len(members):
                    return None
            time.sleep(0.005)

    def _row(self, gen, it, members, rec, predicted, plan) -> dict:
        t0 = min(r["t0"] for r in rec.values())
        losses = {int(m): v for r in rec.values() for m, v in r["losses"].items()}
        return {
            "iteration": it + 1, "gen": gen, "loss": sum(losses.values()) / len(losses),
            "time_s": max(r["t_tasks"] for r in rec.values()) - t0,
            "step_s": max(r["t_step"] for r in rec.values()) - t0, "predicted_s": predicted,
            "intervals": {str(n): [(a - t0, b - t0, m, k) for a, b, m, k in r["intervals"]] for n, r in rec.items()},
            "members": list(members),
        }  # fmt: skip

    def _checkpoint(self, gen, it, plan, rec, roots, ckpt_states) -> None:
        cfg = self.cfg
        if not ((it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iterations):
            return
        tensors: dict = {}
        for s in plan["stages"]:
            raw = base64.b64decode(self.store.get(f"ckpt/{gen}/{it}/{s}"))
            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                tensors |= {k: z[k] for k in z.files}
        shape = Shape(**cfg.shape)
        batch_hash = keccak256(b"".join(
            self.corpus.batch(seed=cfg.seed, iteration=it, microbatch=m, size=cfg.batch, context=shape.context)[0]
            .numpy().tobytes() for m in range(cfg.microbatches)))  # every microbatch's tokens, in index order
        roots[it + 1] = "0x" + commit_checkpoint(tensors, step=it + 1, batch_hash=batch_hash).root.hex()
        ckpt_states[it + 1] = tensors
        self.echo(f"checkpoint step {it + 1}: root {roots[it + 1]}")


def write_outputs(out: Path, cfg: RunConfig, result: RunResult, costs: dict) -> None:
    """progress.jsonl, roots.json, plans.json, model.pt and the PNGs (Gantt of the last iteration, loss curve)."""
    from offchain.skippipe import plots

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "progress.jsonl", "w") as f:
        for row in result.progress:
            f.write(json.dumps({k: v for k, v in row.items() if k != "intervals"}) + "\n")
    (out / "roots.json").write_text(json.dumps(result.roots, indent=1) + "\n")
    (out / "plans.json").write_text(json.dumps({"config": asdict(cfg), "costs": costs,
                                                "generations": result.generations}, indent=1) + "\n")  # fmt: skip
    torch.save(result.state, out / "model.pt")
    if result.progress:
        last = result.progress[-1]
        names = [n["name"] for n in cfg.nodes]
        rows = sorted(last["intervals"].items(), key=lambda x: int(x[0]))
        plots.gantt_png({f"{names[int(n)]} ({n})": iv for n, iv in rows},
                        out / "gantt-measured.png",
                        f"{cfg.mode}: iteration {last['iteration']} as measured ({last['time_s']:.3f} s; "
                        f"predicted {last['predicted_s']:.3f} s)")  # fmt: skip
        pred = result.generations[-1]
        plots.gantt_png({f"{names[int(n)]} ({n})": iv for n, iv in sorted(pred["predicted_intervals"].items(),
                                                                          key=lambda x: int(x[0]))},
                        out / "gantt-predicted.png",
                        f"{cfg.mode}: generation {pred['gen']}'s plan as the simulator predicts it "
                        f"({pred['predicted_s']:.3f} s)")  # fmt: skip
        plots.loss_png({cfg.mode: [(r["iteration"], r["loss"]) for r in result.progress]}, out / "loss.png")
