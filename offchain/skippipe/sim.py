"""A deterministic discrete-event simulator of one SkipPipe training iteration: given nodes, links and a schedule,
when does the last backward pass finish?

The model (docs/skippipe.md says the same):

* A `Schedule` allocates nodes to stages (each node to at most one stage) and gives each microbatch a path of node
  indices. A path starts and ends at the same stage-0 node and visits each stage at most once in between, in any
  order (stages may be skipped and reordered); a node's stage is the one it is allocated to.
* Microbatch m with path [n0, n1, ..., nk, n0] runs these tasks, each one after the previous:
  forward on n0, n1, ..., nk; the loss on n0; backward on nk, ..., n1; backward on n0.
  Forward on a node of stage s takes `fwd_s[s] / speed`, backward `backward_factor * fwd_s[s] / speed`, the loss
  `loss_s / speed` (the speed of the node that runs it).
* Between two tasks on different nodes the output (activations forward, gradients backward, the same
  `act_bytes` both ways) is sent: it leaves when the producing task ends and arrives `transfer(src, dst, act_bytes)
  + hop_overhead_s` later. Links are not contended: any number of transfers run at once at full speed, and a node
  sends and receives while it computes. Between two tasks on the same node nothing is sent and no time passes.
* A task is ready when its input has arrived. Each node runs one task at a time, to its end (non-preemptive), and
  never idles while a task is ready for it. When it picks, it takes the ready task with the earliest ready time,
  ties broken by the lower microbatch index (a microbatch has at most one task outstanding, so this is a total
  order).
* The iteration time is the time the last backward task ends. The gradient all-reduce within a stage and the
  optimiser step are not modelled (they would add the same time after it for a given allocation); memory limits are
  not enforced here.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from offchain.skippipe.geo import Node

FWD, LOSS, BWD = "fwd", "loss", "bwd"

Transfer = Callable[[Node, Node, float], float]


@dataclass(frozen=True, init=False)
class Schedule:
    """`allocation[s]`: the indices (into the node list) of the nodes holding stage s. `paths[m]`: microbatch m's
    node indices, the first and last the same stage-0 node."""

    allocation: tuple[tuple[int, ...], ...]
    paths: tuple[tuple[int, ...], ...]

    def __init__(self, allocation: Sequence[Sequence[int]], paths: Sequence[Sequence[int]]) -> None:
        object.__setattr__(self, "allocation", tuple(tuple(s) for s in allocation))
        object.__setattr__(self, "paths", tuple(tuple(p) for p in paths))

    def stage_of(self) -> dict[int, int]:
        """Node index -> its stage."""
        return {n: s for s, nodes in enumerate(self.allocation) for n in nodes}

    def validate(self, n_nodes: int) -> None:
        """Raises ValueError, naming the stage, microbatch or node at fault, for a schedule the model cannot run."""
        if not self.allocation:
            raise ValueError("the allocation has no stages")
        seen: dict[int, int] = {}
        for s, nodes in enumerate(self.allocation):
            if not nodes:
                raise ValueError(f"stage {s} has no nodes")
            for n in nodes:
                if not 0 <= n < n_nodes:
                    raise ValueError(f"stage {s}: node {n} does not exist (there are {n_nodes} nodes)")
                if n in seen:
                    raise ValueError(f"node {n} is allocated to stage {seen[n]} and to stage {s}")
                seen[n] = s
        if not self.paths:
            raise ValueError("the schedule has no microbatches")
        for m, path in enumerate(self.paths):
            if not path:
                raise ValueError(f"microbatch {m}: the path is empty")
            if len(path) < 2 or path[0] != path[-1]:
                raise ValueError(f"microbatch {m}: the path {list(path)} must start and end at the same node")
            for n in path:
                if not 0 <= n < n_nodes:
                    raise ValueError(f"microbatch {m}: node {n} does not exist (there are {n_nodes} nodes)")
                if n not in seen:
                    raise ValueError(f"microbatch {m}: node {n} is not allocated to any stage")
            if seen[path[0]] != 0:
                raise ValueError(
                    f"microbatch {m}: the path starts and ends at node {path[0]}, which holds stage "
                    f"{seen[path[0]]}, not stage 0"
                )
            stages = [seen[n] for n in path[:-1]]
            for i, s in enumerate(stages):
                if s in stages[:i]:
                    raise ValueError(f"microbatch {m}: the path {list(path)} visits stage {s} twice")


@dataclass(frozen=True)
class Interval:
    """One task as it ran: on node `node` from `start` to `end` seconds, microbatch `microbatch`, of `kind`
    "fwd", "loss" or "bwd", for `stage`."""

    node: int
    start: float
    end: float
    microbatch: int
    kind: str
    stage: int


@dataclass
class SimResult:
    """`iteration_s`: the end of the last backward task. `intervals[n]`: node n's tasks in the order it ran them
    (an empty list for an idle node). `finish_s[m]`: when microbatch m's last backward task ended. `tasks`: how many
    tasks ran (every microbatch's, to the end: a check that none was lost)."""

    iteration_s: float
    intervals: list[list[Interval]]
    finish_s: list[float]
    tasks: int


def _tasks(path: Sequence[int]) -> list[tuple[int, str]]:
    """The (node, kind) sequence of one microbatch's path [n0, ..., nk, n0]."""
    body = list(path[:-1])
    return [(n, FWD) for n in body] + [(path[-1], LOSS)] + [(n, BWD) for n in reversed(body)]


def simulate(
    nodes: Sequence[Node],
    transfer: Transfer,
    schedule: Schedule,
    fwd_s: Sequence[float],
    act_bytes: float,
    backward_factor: float = 2.0,
    loss_s: float = 0.0,
    hop_overhead_s: float = 0.0,
) -> SimResult:
    """Runs `schedule` under the model of this module's docstring and returns its timeline.

    `fwd_s[s]`: seconds of one microbatch's forward pass through stage s on a node of speed 1 (one entry per stage).
    `transfer(src, dst, nbytes)`: seconds to send nbytes between two distinct nodes (e.g. geo.region_transfer).
    `hop_overhead_s` is added to every transfer between distinct nodes (SkipPipe's source uses 0.35 s for the
    CPU-GPU copies).
    """
    schedule.validate(len(nodes))
    if len(fwd_s) != len(schedule.allocation):
        raise ValueError(f"fwd_s has {len(fwd_s)} entries for {len(schedule.allocation)} stages")
    checked = {"act_bytes": act_bytes, "loss_s": loss_s, "hop_overhead_s": hop_overhead_s,
               "backward_factor": backward_factor, **{f"fwd_s[{s}]": v for s, v in enumerate(fwd_s)}}  # fmt: skip
    for name, value in checked.items():
        if not value >= 0:
            raise ValueError(f"{name} must be a non-negative number, got {value}")
    stage_of = schedule.stage_of()
    plans = [_tasks(p) for p in schedule.paths]

    def duration(node: int, kind: str) -> float:
        speed = nodes[node].speed
        if kind == LOSS:
            return loss_s / speed
        base = fwd_s[stage_of[node]]
        return (base if kind == FWD else backward_factor * base) / speed

    # Events are (time, order, kind, microbatch, step): arrivals make task `step` of microbatch m ready; completions
    # free the node. `order` only keeps the heap's comparisons total; all events at one time are applied before any
    # node picks, so a task that arrives at the instant a node frees is a candidate for it.
    events: list[tuple[float, int, str, int, int]] = []
    order = 0

    def push(t: float, what: str, m: int, step: int) -> None:
        nonlocal order
        heapq.heappush(events, (t, order, what, m, step))
        order += 1

    for m in range(len(plans)):
        push(0.0, "ready", m, 0)
    queues: list[list[tuple[float, int, int]]] = [[] for _ in nodes]  # (ready time, microbatch, step)
    busy = [False] * len(nodes)
    intervals: list[list[Interval]] = [[] for _ in nodes]
    finish = [0.0] * len(plans)
    done = 0
    while events:
        now = events[0][0]
        touched: set[int] = set()
        while events and events[0][0] == now:
            _, _, what, m, step = heapq.heappop(events)
            node, kind = plans[m][step]
            if what == "ready":
                heapq.heappush(queues[node], (now, m, step))
                touched.add(node)
                continue
            busy[node] = False
            touched.add(node)
            done += 1
            if step + 1 == len(plans[m]):
                finish[m] = now
                continue
            nxt = plans[m][step + 1][0]
            hop = 0.0 if nxt == node else transfer(nodes[node], nodes[nxt], act_bytes) + hop_overhead_s
            if not hop >= 0:
                raise ValueError(f"transfer from node {node} to node {nxt} took {hop} s")
            push(now + hop, "ready", m, step + 1)
        for node in sorted(touched):
            if busy[node] or not queues[node]:
                continue
            _, m, step = heapq.heappop(queues[node])
            _, kind = plans[m][step]
            end = now + duration(node, kind)
            intervals[node].append(Interval(node, now, end, m, kind, stage_of[node]))
            busy[node] = True
            push(end, "done", m, step)
    return SimResult(max(finish), intervals, finish, done)
