"""SkipPipe's scheduler: nodes to stages, then one path per microbatch, collision-aware, and three baselines.

The constraints a schedule of S stages and M microbatches must meet (`validate` checks each, docs/skippipe.md
says the same):

* **Memory.** Node n lies on the paths of at most `nodes[n].memory` microbatches (a node holds a microbatch's
  activations from its forward to its backward, and every microbatch is in flight during the iteration).
* **Stage load.** Stage s is visited by at most the sum of its nodes' memories (implied by memory; checked on its
  own so the error names the stage).
* **Skip ratio r.** Every path visits exactly V = S - skips(r, S) stages, skips = floor(r * S + 0.5), stage 0 never
  skipped (the loss is computed there). SkipPipe's setting, 6 stages at 33%, visits 4; r must leave skips <= S - 1.
* **Reordering bound k.** Listing a path's visited stages in path order, the stage at position i has position j
  among the same stages sorted ascending, and |i - j| <= k. k = 0 allows ascending order only; stage 0 is always
  first.
* **Collisions (slot model).** Forward passes advance in slots: microbatch m starts at slot t0 = how many earlier
  microbatches start on the same stage-0 node (a node runs one forward at a time) and is at its i-th path position
  in slot t0 + i. A collision is two microbatches at one node in the same slot. The simulator serialises such
  meetings as queueing; the slot model makes them countable and checkable from the schedule alone.

`schedule(..., aware=True)` searches within these constraints, judged by the simulator (sim.simulate) itself:

1. Starts. (a) The slot-model greedy: microbatch by microbatch, over every stage-0 node with memory left and every
   valid stage sequence, each position takes the node of that stage with memory left and no other microbatch in
   that slot that adds the least transfer + compute; the cheapest complete path (the start slot's wait on the
   stage-0 node included) wins. (b) The same greedy with the simulator in the loop: the `shortlist` candidate paths
   of least slot cost are each simulated appended to the paths so far, and the one giving the least (iteration
   time, sum of microbatch finish times) wins. (c) The no-collision-awareness baseline's paths, where they happen
   to keep the slot model. The best start by the simulator is kept.
2. Local search, at most `budget` simulations. First, microbatches from the latest-finishing, each moved to its
   best re-route (every stage-0 node with memory, every stage sequence, nodes of each stage cheapest or least used
   among those with memory and a free slot) while that lowers the score; then random moves (seeded) with what is
   left: one node of a microbatch moved to another node of its stage or exchanged with another microbatch's, one
   microbatch re-routed at random, two microbatches exchanging their order. A move is kept only if memory and the
   slot model still hold and the simulated score drops, so the result is never worse than its best start.

The slot model stays a hard constraint (validate checks it): it is what the issue's "no two microbatches on one
node at once" is made countable by, and it does block schedules the simulator would like (two microbatches
meeting at a node in one slot cost the simulator only a short forward wait). With no collision-free path left for
some microbatch in both greedy starts it refuses rather than return a colliding schedule, so it may refuse a
setting where a collision-free schedule exists.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import combinations, permutations

from offchain.skippipe.geo import Node
from offchain.skippipe.sim import Schedule, Transfer, simulate


def skips(skip_ratio: float, n_stages: int) -> int:
    """How many stages each path skips; refuses a ratio outside [0, 1) or one that would skip stage 0."""
    if not 0 <= skip_ratio < 1:
        raise ValueError(f"skip ratio must be in [0, 1), got {skip_ratio}")
    k = math.floor(skip_ratio * n_stages + 0.5)
    if k > n_stages - 1:
        raise ValueError(f"skip ratio {skip_ratio} skips {k} of {n_stages} stages: no valid path keeps stage 0")
    return k


def _within_bound(seq: Sequence[int], reorder: int) -> bool:
    ranked = {s: j for j, s in enumerate(sorted(seq))}
    return all(abs(i - ranked[s]) <= reorder for i, s in enumerate(seq))


def stage_sequences(n_stages: int, skip_ratio: float, reorder: int) -> list[tuple[int, ...]]:
    """Every valid visiting order of stages after stage 0 (stage 0 is first and not listed)."""
    if reorder < 0:
        raise ValueError(f"reordering bound must be >= 0, got {reorder}")
    visit = n_stages - skips(skip_ratio, n_stages)
    out = []
    for subset in combinations(range(1, n_stages), visit - 1):
        orders = [subset] if reorder == 0 else permutations(subset)
        out.extend(seq for seq in orders if _within_bound((0, *seq), reorder))
    return out


def allocate(nodes: Sequence[Node], n_stages: int) -> list[list[int]]:
    """Nodes sorted by (region, -speed, index) cut into S contiguous runs, so a stage's nodes share or neighbour a
    region; every stage gets n // S nodes and stage 0, which every microbatch visits, the remainder (SkipPipe's
    20 nodes in 6 stages: 5,3,3,3,3,3)."""
    if n_stages < 1:
        raise ValueError(f"need at least one stage, got {n_stages}")
    if len(nodes) < n_stages:
        raise ValueError(f"{len(nodes)} nodes cannot hold {n_stages} stages: a stage with no node")
    order = sorted(range(len(nodes)), key=lambda n: (nodes[n].region, -nodes[n].speed, n))
    base, extra = divmod(len(nodes), n_stages)
    sizes = [base + extra] + [base] * (n_stages - 1)
    out, i = [], 0
    for size in sizes:
        out.append(sorted(order[i : i + size]))
        i += size
    return out


def _check_capacity(nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int, visit: int) -> None:
    if microbatches < 1:
        raise ValueError(f"need at least one microbatch, got {microbatches}")
    mem0 = sum(nodes[n].memory for n in allocation[0])
    if mem0 < microbatches:
        raise ValueError(f"stage 0 holds {mem0} microbatches in memory, fewer than the {microbatches} that visit it")
    rest = sum(nodes[n].memory for s in allocation[1:] for n in s)
    if rest < microbatches * (visit - 1):
        raise ValueError(
            f"stages 1.. hold {rest} microbatches in memory, fewer than the {microbatches * (visit - 1)} visits"
        )


def start_slots(paths: Sequence[Sequence[int]]) -> list[int]:
    """Each microbatch's first slot: how many earlier microbatches start on the same stage-0 node."""
    seen: dict[int, int] = {}
    out = []
    for p in paths:
        out.append(seen.get(p[0], 0))
        seen[p[0]] = out[-1] + 1
    return out


def _busy_except(paths: Sequence[Sequence[int]], slots: Sequence[int], m: int) -> set[tuple[int, int]]:
    """The (node, slot) pairs the slot model gives every microbatch but m."""
    return {
        (n, t0 + i)
        for m2, (p, t0) in enumerate(zip(paths, slots, strict=True))
        if m2 != m
        for i, n in enumerate(p[:-1])
    }


def collisions(paths: Sequence[Sequence[int]]) -> list[tuple[int, int, int, int]]:
    """(node, slot, earlier microbatch, later microbatch) for every pair meeting at a node in one forward slot."""
    held: dict[tuple[int, int], int] = {}
    out = []
    for m, (p, t0) in enumerate(zip(paths, start_slots(paths), strict=True)):
        for i, n in enumerate(p[:-1]):
            key = (n, t0 + i)
            if key in held:
                out.append((n, t0 + i, held[key], m))
            else:
                held[key] = m
    return out


def validate(
    sched: Schedule,
    nodes: Sequence[Node],
    n_stages: int,
    skip_ratio: float = 0.0,
    reorder: int = 0,
    check_collisions: bool = True,
) -> None:
    """Raises ValueError naming the first violated constraint (of the module docstring) of `sched`."""
    sched.validate(len(nodes))
    if len(sched.allocation) != n_stages:
        raise ValueError(f"allocation has {len(sched.allocation)} stages, expected {n_stages}")
    stage_of = sched.stage_of()
    visit = n_stages - skips(skip_ratio, n_stages)
    load = [0] * len(nodes)
    for m, p in enumerate(sched.paths):
        for n in p[:-1]:
            load[n] += 1
        stages = [stage_of[n] for n in p[:-1]]
        if len(stages) != visit:
            raise ValueError(f"skip ratio: microbatch {m} visits {len(stages)} stages, expected {visit}")
        if not _within_bound(stages, reorder):
            raise ValueError(f"reordering bound: microbatch {m} visits stages {stages}, more than {reorder} off")
    for n, used in enumerate(load):
        if used > nodes[n].memory:
            raise ValueError(f"memory: node {n} is on {used} paths, its memory holds {nodes[n].memory}")
    for s, members in enumerate(sched.allocation):
        used, cap = sum(load[n] for n in members), sum(nodes[n].memory for n in members)
        if used > cap:
            raise ValueError(f"stage load: stage {s} has {used} visits, its nodes hold {cap}")
    if check_collisions and (hit := collisions(sched.paths)):
        n, slot, a, b = hit[0]
        raise ValueError(f"collision: microbatches {a} and {b} are both at node {n} in slot {slot}")


def _greedy(
    nodes: Sequence[Node],
    transfer: Transfer,
    allocation: Sequence[Sequence[int]],
    microbatches: int,
    fwd_s: Sequence[float],
    act_bytes: float,
    seqs: Sequence[tuple[int, ...]],
    aware: bool,
    judge=None,
    top: int = 0,
) -> list[list[int]]:
    """The greedy of the module docstring, microbatch by microbatch. With `judge` (paths -> a comparable score, the
    simulator's), the `top` candidate paths of least slot-model cost (all when `top` is 0) are each judged appended
    to the paths so far, and the best judged one is taken; without it, the least slot-model cost wins."""
    stage_of = {n: s for s, ns in enumerate(allocation) for n in ns}
    used = [0] * len(nodes)
    busy: set[tuple[int, int]] = set()
    starts: dict[int, int] = {}
    # Memo of hop + compute per (previous node, next node); the transfer function can be slow (dict lookups, floats).
    step_cost: dict[tuple[int, int], float] = {}

    def cost(a: int, b: int) -> float:
        if (a, b) not in step_cost:
            hop = 0.0 if a == b else transfer(nodes[a], nodes[b], act_bytes)
            step_cost[(a, b)] = hop + fwd_s[stage_of[b]] / nodes[b].speed
        return step_cost[(a, b)]

    paths: list[list[int]] = []
    for m in range(microbatches):
        cands: list[tuple[float, list[int]]] = []
        for n0 in allocation[0]:
            if used[n0] >= nodes[n0].memory:
                continue
            t0 = starts.get(n0, 0)
            base = t0 * fwd_s[0] / nodes[n0].speed if aware else 0.0
            for seq in seqs:
                path, total = [n0], base + fwd_s[0] / nodes[n0].speed
                for i, s in enumerate(seq, start=1):
                    free = [
                        n for n in allocation[s] if used[n] < nodes[n].memory and not (aware and (n, t0 + i) in busy)
                    ]
                    if not free:
                        break
                    nxt = min(free, key=lambda n: (cost(path[-1], n), n))
                    total += cost(path[-1], nxt)
                    path.append(nxt)
                else:
                    total += 0.0 if path[-1] == n0 else transfer(nodes[path[-1]], nodes[n0], act_bytes)
                    cands.append((total, path))
        if not cands:
            what = "collision-free path" if aware else "path within memory"
            raise ValueError(f"no {what} left for microbatch {m} of {microbatches}")
        if judge is None:
            path = min(cands, key=lambda c: c[0])[1]  # the first of least cost, as before
        else:
            cands.sort(key=lambda c: c[0])  # stable: ties keep the enumeration order
            shortlist = cands[:top] if top > 0 else cands
            path = min(shortlist, key=lambda c: (judge([*paths, [*c[1], c[1][0]]]), c[0]))[1]
        t0 = starts.get(path[0], 0)
        starts[path[0]] = t0 + 1
        for i, n in enumerate(path):
            used[n] += 1
            busy.add((n, t0 + i))
        paths.append(path + [path[0]])
    return paths


def _memo_transfer(transfer: Transfer) -> Transfer:
    """`transfer` remembered per (source, destination, size): the search calls the simulator thousands of times."""
    memo: dict[tuple[int, int, float], float] = {}

    def cached(src: Node, dst: Node, nbytes: float) -> float:
        key = (id(src), id(dst), nbytes)
        if key not in memo:
            memo[key] = transfer(src, dst, nbytes)
        return memo[key]

    return cached


def _improve(
    paths: list[list[int]],
    nodes: Sequence[Node],
    allocation: Sequence[Sequence[int]],
    seqs: Sequence[tuple[int, ...]],
    judge,
    budget: int,
    seed: int,
    hop,
) -> list[list[int]]:
    """Local search from `paths`: random moves (one microbatch's node of a stage moved or exchanged with another
    microbatch's, one microbatch's stage sequence changed, two microbatches' order exchanged), each kept only if
    memory and the slot model still hold and the judged score (iteration time, then the sum of microbatch finish
    times) drops. At most `budget` judged moves; deterministic for a given `seed`."""
    rng = random.Random(seed)
    stage_of = {n: s for s, ns in enumerate(allocation) for n in ns}
    cur = [list(p) for p in paths]
    best = judge(cur)

    def pick() -> int:  # half the moves touch a microbatch finishing last or close to it
        if rng.random() < 0.5:
            finish = best[2]
            late = sorted(range(m_count), key=lambda m: -finish[m])[: max(1, m_count // 4)]
            return rng.choice(late)
        return rng.randrange(m_count)

    load = [0] * len(nodes)
    for p in cur:
        for n in p[:-1]:
            load[n] += 1
    m_count = len(cur)
    tries = 0
    evals = 0

    def reinserted(paths: list[list[int]], m: int) -> list[list[list[int]]]:
        """Every re-route of microbatch m (each stage-0 node with memory, each stage sequence; at each position the
        cheapest, or the least used, node of the stage with memory left and a free slot), others unchanged."""
        used = [0] * len(nodes)
        for m2, p in enumerate(paths):
            if m2 != m:
                for n in p[:-1]:
                    used[n] += 1
        out = []
        for n0 in allocation[0]:
            if used[n0] >= nodes[n0].memory:
                continue
            trial = [*paths[:m], [n0, n0], *paths[m + 1 :]]
            slots = start_slots(trial)
            busy = _busy_except(trial, slots, m)
            for seq in seqs:
                for spread in (False, True):
                    body = [n0]
                    for i, st in enumerate(seq, start=1):
                        slot = slots[m] + i
                        free = [n for n in allocation[st] if used[n] < nodes[n].memory and (n, slot) not in busy]
                        if not free:
                            break
                        body.append(min(free, key=lambda n: (used[n] if spread else 0, hop(body[-1], n), n)))
                    else:
                        cand = [*paths[:m], body + [n0], *paths[m + 1 :]]
                        if cand != paths and cand not in out and not collisions(cand):
                            out.append(cand)
        return out

    # Phase 1: the latest-finishing microbatches, one at a time, moved to their best re-route while that helps.
    improved = True
    while improved and evals < budget:
        improved = False
        finish = best[2]
        for m in sorted(range(m_count), key=lambda m: (-finish[m], m)):
            top = None
            for cand in reinserted(cur, m):
                if evals >= budget:
                    break
                evals += 1
                score = judge(cand)
                if score < best and (top is None or score < top[0]):
                    top = (score, cand)
            if top is not None:
                best, cur, improved = top[0], top[1], True
            if improved or evals >= budget:
                break
    load = [0] * len(nodes)
    for p in cur:
        for n in p[:-1]:
            load[n] += 1
    # Phase 2: random moves with what is left of the budget.
    while evals < budget and tries < 20 * budget:
        tries += 1
        new = [list(p) for p in cur]
        move = rng.random()
        if move < 0.45:  # a node of one stage: to a node with memory left, or exchanged with another microbatch
            m = pick()
            i = rng.randrange(len(new[m]) - 1)
            old = new[m][i]
            s = stage_of[old]
            others = [n for n in allocation[s] if n != old]
            if not others:
                continue
            x = rng.choice(others)
            if load[x] < nodes[x].memory:
                pass
            else:
                holders = [m2 for m2 in range(m_count) if m2 != m and x in new[m2][:-1] and old not in new[m2][:-1]]
                if not holders:
                    continue
                m2 = rng.choice(holders)
                j = new[m2].index(x)
                new[m2][j] = old
                if j == 0:
                    new[m2][-1] = old
            new[m][i] = x
            if i == 0:
                new[m][-1] = x
        elif move < 0.8:  # one microbatch re-routed: stage-0 node, stage sequence and nodes, keeping its slots free
            m = pick()
            old_body = new[m][:-1]
            for n in old_body:
                load[n] -= 1
            try:  # `load` without m's own path while it is re-routed
                firsts = [n for n in allocation[0] if load[n] < nodes[n].memory]
                if not firsts:
                    continue
                n0 = rng.choice(firsts)
                new[m] = [n0, n0]
                slots = start_slots(new)
                busy = _busy_except(new, slots, m)
                body = [n0]
                cheapest = rng.random() < 0.5
                for i, st in enumerate(rng.choice(seqs), start=1):
                    free = [n for n in allocation[st] if load[n] < nodes[n].memory and (n, slots[m] + i) not in busy]
                    if not free:
                        break
                    body.append(min(free, key=lambda n: (hop(body[-1], n), n)) if cheapest else rng.choice(free))
                else:
                    if body == old_body:
                        continue
                    new[m] = body + [n0]
                    if rng.random() < 0.3:  # and sometimes moved last (its start slot changes with it)
                        new.append(new.pop(m))
                if len(body) != len(old_body):
                    continue
            finally:
                for n in old_body:
                    load[n] += 1
        else:  # two microbatches exchange their order (start slots and the simulator's ties)
            if m_count < 2:
                continue
            a = pick()
            b = rng.choice([x for x in range(m_count) if x != a])
            new[a], new[b] = new[b], new[a]
        new_load = [0] * len(nodes)
        for p in new:
            for n in p[:-1]:
                new_load[n] += 1
        if any(u > nodes[n].memory for n, u in enumerate(new_load)) or collisions(new):
            continue
        evals += 1
        score = judge(new)
        if score < best:
            cur, best, load = new, score, new_load
    return cur


def schedule(
    nodes: Sequence[Node],
    transfer: Transfer,
    allocation: Sequence[Sequence[int]],
    microbatches: int,
    fwd_s: Sequence[float],
    act_bytes: float,
    skip_ratio: float = 0.0,
    reorder: int = 0,
    aware: bool = True,
    *,
    backward_factor: float = 2.0,
    loss_s: float = 0.0,
    hop_overhead_s: float = 0.0,
    shortlist: int = 48,
    budget: int = 2000,
    seed: int = 0,
) -> Schedule:
    """The collision-aware scheduler of the module docstring; `aware=False` is the no-collision-awareness baseline
    (the plain greedy, each microbatch choosing as though it were alone: no slot occupancy, no start wait, no
    simulator, no search).

    `backward_factor`, `loss_s` and `hop_overhead_s` are the simulator's (sim.simulate), which judges the candidate
    schedules: pass the figures the schedule will be simulated or run with. `shortlist`: how many candidate paths of
    least slot-model cost the simulator judges per microbatch in the greedy (0: all). `budget`: how many judged moves
    the local search may make (0: none). `seed`: the local search's moves. The same inputs give the same schedule."""
    n_stages = len(allocation)
    seqs = stage_sequences(n_stages, skip_ratio, reorder)
    _check_capacity(nodes, allocation, microbatches, n_stages - skips(skip_ratio, n_stages))
    if not aware:
        return Schedule(allocation, _greedy(nodes, transfer, allocation, microbatches, fwd_s, act_bytes, seqs, False))
    if shortlist < 0 or budget < 0:
        raise ValueError(f"shortlist and budget must be >= 0, got {shortlist} and {budget}")
    sim_transfer = _memo_transfer(transfer)
    memo: dict[tuple[tuple[int, ...], ...], tuple[float, float]] = {}

    def judge(paths: Sequence[Sequence[int]]) -> tuple[float, float]:
        key = tuple(tuple(p) for p in paths)
        if key not in memo:
            res = simulate(nodes, sim_transfer, Schedule(allocation, key), fwd_s, act_bytes, backward_factor,
                           loss_s, hop_overhead_s)  # fmt: skip
            memo[key] = (res.iteration_s, sum(res.finish_s), tuple(res.finish_s))
        return memo[key]

    starts: list[list[list[int]]] = []
    refusal: ValueError | None = None
    for kw in ({}, {"judge": judge, "top": shortlist}):
        try:
            starts.append(_greedy(nodes, transfer, allocation, microbatches, fwd_s, act_bytes, seqs, True, **kw))
        except ValueError as e:
            refusal = refusal or e
    try:  # the baseline's own paths, where they happen to keep the slot model
        unaware = _greedy(nodes, transfer, allocation, microbatches, fwd_s, act_bytes, seqs, False)
        if not collisions(unaware):
            starts.append(unaware)
    except ValueError:
        pass
    if not starts:
        assert refusal is not None
        raise refusal
    best = min(starts, key=judge)
    if budget:

        def hop(a: int, b: int) -> float:
            return 0.0 if a == b else sim_transfer(nodes[a], nodes[b], act_bytes)

        best = _improve(best, nodes, allocation, seqs, judge, budget, seed, hop)
    return Schedule(allocation, best)


def no_collision_awareness(*args, **kw) -> Schedule:
    """Baseline: `schedule` with `aware=False`."""
    return schedule(*args, **{**kw, "aware": False})


def _round_robin(nodes: Sequence[Node], allocation, microbatches: int, seq_for) -> Schedule:
    used = [0] * len(nodes)
    paths = []
    for m in range(microbatches):
        path = []
        for s in (0, *seq_for(m)):
            free = [n for n in allocation[s] if used[n] < nodes[n].memory]
            if not free:
                raise ValueError(f"memory: stage {s} has no node with memory left for microbatch {m}")
            n = min(free, key=lambda n: (used[n], n))
            used[n] += 1
            path.append(n)
        paths.append(path + [path[0]])
    return Schedule(allocation, paths)


def full_pipeline(nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int) -> Schedule:
    """Baseline (DT-FM's setting): every microbatch visits every stage in order, nodes of a stage taken round-robin
    (least used first)."""
    _check_capacity(nodes, allocation, microbatches, len(allocation))
    rest = tuple(range(1, len(allocation)))
    return _round_robin(nodes, allocation, microbatches, lambda m: rest)


def random_skips(
    nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int, skip_ratio: float, seed: int
) -> Schedule:
    """Baseline: the full pipeline with each microbatch skipping skips(r, S) stages drawn at random (stage 0 kept),
    the rest in ascending order."""
    n_stages = len(allocation)
    k = skips(skip_ratio, n_stages)
    _check_capacity(nodes, allocation, microbatches, n_stages - k)
    rng = random.Random(seed)
    return _round_robin(
        nodes, allocation, microbatches, lambda m: tuple(sorted(rng.sample(range(1, n_stages), n_stages - 1 - k)))
    )
