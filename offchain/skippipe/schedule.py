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
* **Stage balance** (`balance=True`, the default; not kept by `random_skips`). Every stage s >= 1 is visited by
  floor or ceil of M (V - 1) / (S - 1) microbatches (balance_bounds), so every stage's layers learn: without it,
  with link delays far above compute, the simulator's best schedule can send every microbatch along one cheap path
  and leave a stage unvisited. A setting whose stage memories cannot hold balanced counts is refused. With balance
  the schedulers also prefer, at equal cost, the least used node of a stage (data parallelism, never forced).
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
   slot model (and stage balance) still hold and the simulated score drops, so the result is never worse than its
   best start. With balance, the greedy starts only take stage sequences after which balanced counts stay
   reachable, re-routes only sequences keeping balance, and two microbatches exchanging one stage each (counts
   unchanged) is a further move, tried for the latest microbatches in the first phase too.

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


def balance_bounds(microbatches: int, n_stages: int, visit: int) -> tuple[int, int]:
    """(floor, ceil) of M (V - 1) / (S - 1): how many microbatches each stage s >= 1 of a balanced schedule is visited
    by (stage 0 is visited by all M). (0, 0) with a single stage."""
    if n_stages < 2:
        return 0, 0
    total = microbatches * (visit - 1)
    return total // (n_stages - 1), -(-total // (n_stages - 1))


class _Balance:
    """The stage-balance constraint for M microbatches of V visits over S stages with the allocation's memory: can
    the stages' visit counts so far, with `remaining` microbatches still to route, end within balance_bounds?

    Exact for memory alone: the final counts f_s must lie in [max(lo, c_s), min(hi, cap_s, c_s + remaining)] (cap_s
    the sum of stage s's nodes' memories) and sum to M (V - 1); any such residue f - c, each entry at most
    `remaining`, splits into `remaining` sets of V - 1 distinct stages, and every set is a valid stage sequence in
    ascending order. The slot model is not part of it (the greedy may still find no collision-free path)."""

    def __init__(self, nodes: Sequence[Node], allocation: Sequence[Sequence[int]], microbatches: int, visit: int):
        self.n_stages, self.microbatches, self.per = len(allocation), microbatches, visit - 1
        self.lo, self.hi = balance_bounds(microbatches, self.n_stages, visit)
        self.cap = [sum(nodes[n].memory for n in ns) for ns in allocation]

    def ok(self, counts: Sequence[int]) -> bool:
        """Every stage s >= 1 within [lo, hi] (a complete schedule)."""
        return all(self.lo <= counts[s] <= self.hi for s in range(1, self.n_stages))

    def feasible(self, counts: Sequence[int], remaining: int) -> bool:
        lower = upper = 0
        for s in range(1, self.n_stages):
            a, b = max(self.lo, counts[s]), min(self.hi, self.cap[s], counts[s] + remaining)
            if a > b:
                return False
            lower, upper = lower + a, upper + b
        return lower <= self.microbatches * self.per <= upper

    def check(self) -> None:
        """Refuses a setting where no schedule is balanced within the stages' memories."""
        m, per, n = self.microbatches, self.per, self.n_stages - 1
        why = f"{m} microbatches x {per} visits over {n} stages: every stage 1..{n} needs {self.lo} to {self.hi}"
        for s in range(1, self.n_stages):
            if self.cap[s] < self.lo:
                raise ValueError(f"stage balance with memory: stage {s} holds {self.cap[s]} microbatches, {why}")
        if not self.feasible([0] * self.n_stages, m):
            need = m * per - self.lo * n
            full = [s for s in range(1, self.n_stages) if self.cap[s] >= self.hi]
            raise ValueError(
                f"stage balance with memory: {why}, {need} of them {self.hi}, but only stages {full} hold {self.hi}"
            )


def stage_counts(paths: Sequence[Sequence[int]], allocation: Sequence[Sequence[int]]) -> list[int]:
    """How many microbatches visit each stage."""
    stage_of = {n: s for s, ns in enumerate(allocation) for n in ns}
    counts = [0] * len(allocation)
    for p in paths:
        for s in {stage_of[n] for n in p[:-1]}:
            counts[s] += 1
    return counts


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
    balance: bool = True,
) -> None:
    """Raises ValueError naming the first violated constraint (of the module docstring) of `sched`; `balance=False`
    leaves out the stage-balance check (random_skips' baseline does not keep it)."""
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
    if balance:
        m_count = len(sched.paths)
        lo, hi = balance_bounds(m_count, n_stages, visit)
        counts = stage_counts(sched.paths, sched.allocation)
        # An under-visited stage first (its layers learn least; the point of the check), then an over-visited one.
        for s, c in [*((s, c) for s, c in enumerate(counts) if s and c < lo), *enumerate(counts)]:
            if s and not lo <= c <= hi:
                raise ValueError(
                    f"stage balance: stage {s} is visited by {c} microbatches, expected {lo} to {hi} "
                    f"({m_count} microbatches x {visit - 1} visits over {n_stages - 1} stages)"
                )
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
    bal: _Balance | None = None,
) -> list[list[int]]:
    """The greedy of the module docstring, microbatch by microbatch. With `judge` (paths -> a comparable score, the
    simulator's), the `top` candidate paths of least slot-model cost (all when `top` is 0) are each judged appended
    to the paths so far, and the best judged one is taken; without it, the least slot-model cost wins. With `bal`,
    only stage sequences after which the stage counts can still end balanced are tried, and of the nodes of a stage
    at equal cost the least used is taken (spreading a stage's load over its nodes, never at a cost)."""
    stage_of = {n: s for s, ns in enumerate(allocation) for n in ns}
    used = [0] * len(nodes)
    counts = [0] * len(allocation)
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
        allowed = seqs
        if bal is not None:
            keep: dict[frozenset[int], bool] = {}
            for seq in seqs:
                if (key := frozenset(seq)) not in keep:
                    after = [c + (st in key) for st, c in enumerate(counts)]
                    keep[key] = bal.feasible(after, microbatches - m - 1)
            allowed = [seq for seq in seqs if keep[frozenset(seq)]]
        for n0 in allocation[0]:
            if used[n0] >= nodes[n0].memory:
                continue
            t0 = starts.get(n0, 0)
            base = t0 * fwd_s[0] / nodes[n0].speed if aware else 0.0
            for seq in allowed:
                path, total = [n0], base + fwd_s[0] / nodes[n0].speed
                for i, s in enumerate(seq, start=1):
                    free = [
                        n for n in allocation[s] if used[n] < nodes[n].memory and not (aware and (n, t0 + i) in busy)
                    ]
                    if not free:
                        break
                    nxt = min(free, key=lambda n: (cost(path[-1], n), 0 if bal is None else used[n], n))
                    total += cost(path[-1], nxt)
                    path.append(nxt)
                else:
                    total += 0.0 if path[-1] == n0 else transfer(nodes[path[-1]], nodes[n0], act_bytes)
                    cands.append((total, path))
        if not cands:
            what = "collision-free path" if aware else "path within memory"
            kept = " (keeping stage balance)" if bal is not None else ""
            raise ValueError(f"no {what} left for microbatch {m} of {microbatches}{kept}")
        if judge is None:
            # the first of least cost, as before; with balance, of equal cost the least used stage-0 node
            path = min(cands, key=lambda c: (c[0], 0 if bal is None else used[c[1][0]]))[1]
        else:
            cands.sort(key=lambda c: c[0])  # stable: ties keep the enumeration order
            shortlist = cands[:top] if top > 0 else cands
            path = min(shortlist, key=lambda c: (judge([*paths, [*c[1], c[1][0]]]), c[0]))[1]
        t0 = starts.get(path[0], 0)
        starts[path[0]] = t0 + 1
        for i, n in enumerate(path):
            used[n] += 1
            counts[stage_of[n]] += 1
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
    bal: _Balance | None = None,
) -> list[list[int]]:
    """Local search from `paths`: random moves (one microbatch's node of a stage moved or exchanged with another
    microbatch's, one microbatch's stage sequence changed, two microbatches' order exchanged), each kept only if
    memory and the slot model still hold and the judged score (iteration time, then the sum of microbatch finish
    times, ...; its last entry the finish times) drops. With `bal`, stage balance must hold too: a re-route only
    takes a stage sequence that keeps it, and a further move re-routes two microbatches together (the first to a
    new stage set, the second to one restoring balance), since with M (V - 1) divisible by S - 1 no single
    re-route to another stage set keeps it. At most `budget` judged moves; deterministic for a given `seed`; with
    `bal` None, the moves (and random draws) of the search before stage balance."""
    rng = random.Random(seed)
    stage_of = {n: s for s, ns in enumerate(allocation) for n in ns}
    cur = [list(p) for p in paths]
    best = judge(cur)

    def pick() -> int:  # half the moves touch a microbatch finishing last or close to it
        if rng.random() < 0.5:
            finish = best[-1]
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

    def balanced_seqs(paths: list[list[int]], skip: Sequence[int]) -> list[tuple[int, ...]]:
        """The stage sequences keeping balance for one microbatch re-routed, given every microbatch but `skip`'s
        (when `skip` holds two, the second is still to come: those keeping the counts completable)."""
        if bal is None:
            return list(seqs)
        counts = stage_counts([p for m2, p in enumerate(paths) if m2 not in skip], allocation)
        out = []
        for seq in seqs:
            after = [c + (st in seq) for st, c in enumerate(counts)]
            if bal.ok(after) if len(skip) == 1 else bal.feasible(after, len(skip) - 1):
                out.append(seq)
        return out

    def reinserted(paths: list[list[int]], m: int) -> list[list[list[int]]]:
        """Every re-route of microbatch m (each stage-0 node with memory, each stage sequence; at each position the
        cheapest, or the least used, node of the stage with memory left and a free slot), others unchanged."""
        used = [0] * len(nodes)
        for m2, p in enumerate(paths):
            if m2 != m:
                for n in p[:-1]:
                    used[n] += 1
        out = []
        pool = balanced_seqs(paths, (m,))
        for n0 in allocation[0]:
            if used[n0] >= nodes[n0].memory:
                continue
            trial = [*paths[:m], [n0, n0], *paths[m + 1 :]]
            slots = start_slots(trial)
            busy = _busy_except(trial, slots, m)
            for seq in pool:
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

    valid = set(seqs)

    def exchanges(paths: list[list[int]], a: int, b: int) -> list[tuple[int, int]]:
        """(x, y): a stage x of microbatch a's path that b skips and a stage y of b's that a skips."""
        sa, sb = [stage_of[n] for n in paths[a][1:-1]], [stage_of[n] for n in paths[b][1:-1]]
        return [(x, y) for x in sa if x not in sb for y in sb if y not in sa]

    def exchanged(paths: list[list[int]], a: int, b: int, x: int, y: int, swap: bool) -> list[list[int]] | None:
        """a visits y where it visited x and b x where it visited y (stage counts unchanged, so balance kept): with
        `swap` each takes the other's node, else the node of least hop in and out with memory left; None if a
        reordering bound breaks or no node has memory. The slot model is left to the caller."""
        pa, pb = list(paths[a]), list(paths[b])
        i = next(i for i in range(1, len(pa) - 1) if stage_of[pa[i]] == x)
        j = next(j for j in range(1, len(pb) - 1) if stage_of[pb[j]] == y)
        if (
            tuple(stage_of[n] if k != i else y for k, n in enumerate(pa[1:-1], 1)) not in valid
            or tuple(stage_of[n] if k != j else x for k, n in enumerate(pb[1:-1], 1)) not in valid
        ):
            return None
        if swap:
            pa[i], pb[j] = pb[j], pa[i]
        else:
            left = [0] * len(nodes)
            for p in paths:
                for n in p[:-1]:
                    left[n] += 1
            left[pa[i]] -= 1
            left[pb[j]] -= 1
            for p, k, st in ((pa, i, y), (pb, j, x)):
                room = [n for n in allocation[st] if left[n] < nodes[n].memory]
                if not room:
                    return None
                p[k] = min(room, key=lambda n: (hop(p[k - 1], n) + hop(n, p[k + 1]), left[n], n))
                left[p[k]] += 1
        out = [list(p) for p in paths]
        out[a], out[b] = pa, pb
        return out

    # Phase 1: the latest-finishing microbatches, one at a time, moved to their best re-route while that helps
    # (with balance, also every exchange of one stage with another microbatch).
    improved = True
    while improved and evals < budget:
        improved = False
        finish = best[-1]
        for m in sorted(range(m_count), key=lambda m: (-finish[m], m)):
            top = None
            cands = reinserted(cur, m)
            if bal is not None:
                for b in range(m_count):
                    for x, y in exchanges(cur, m, b) if b != m else ():
                        for swap in (True, False):
                            got = exchanged(cur, m, b, x, y, swap)
                            if got is not None and got not in cands and not collisions(got):
                                cands.append(got)
            for cand in cands:
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
        elif move < 0.8 and (bal is None or move < 0.65):  # one microbatch re-routed: stage-0 node, stage sequence
            m = pick()  # and nodes, keeping its slots free
            pool = balanced_seqs(new, (m,))
            if not pool:
                continue
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
                for i, st in enumerate(rng.choice(pool), start=1):
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
        elif move < 0.8:  # (balance) two microbatches exchange one stage each, counts unchanged
            if m_count < 2:
                continue
            a = pick()
            b = rng.choice([x for x in range(m_count) if x != a])
            opts = exchanges(new, a, b)
            if not opts:
                continue
            x, y = rng.choice(opts)
            got = exchanged(new, a, b, x, y, rng.random() < 0.5)
            if got is None:
                continue
            new = got
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
        if bal is not None and not bal.ok(stage_counts(new, allocation)):
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
    balance: bool = True,
) -> Schedule:
    """The collision-aware scheduler of the module docstring; `aware=False` is the no-collision-awareness baseline
    (the plain greedy, each microbatch choosing as though it were alone: no slot occupancy, no start wait, no
    simulator, no search).

    `backward_factor`, `loss_s` and `hop_overhead_s` are the simulator's (sim.simulate), which judges the candidate
    schedules: pass the figures the schedule will be simulated or run with. `shortlist`: how many candidate paths of
    least slot-model cost the simulator judges per microbatch in the greedy (0: all). `budget`: how many judged moves
    the local search may make (0: none). `seed`: the local search's moves. The same inputs give the same schedule.

    `balance` (both arms): every stage s >= 1 is visited by balance_bounds(M, S, V) microbatches, floor or ceil of
    M (V - 1) / (S - 1), so that every stage's layers learn (without it, cheap links can send every microbatch
    along one path and leave a stage unvisited); a setting whose memory cannot hold a balanced schedule is refused.
    It also prefers, at equal cost and equal simulated time, the least used node of a stage (spreading a stage's
    microbatches over its nodes, data parallel, never at a cost). `balance=False` is the scheduler before it."""
    n_stages = len(allocation)
    seqs = stage_sequences(n_stages, skip_ratio, reorder)
    visit = n_stages - skips(skip_ratio, n_stages)
    _check_capacity(nodes, allocation, microbatches, visit)
    bal = _Balance(nodes, allocation, microbatches, visit) if balance else None
    if bal is not None:
        bal.check()
    if not aware:
        paths = _greedy(nodes, transfer, allocation, microbatches, fwd_s, act_bytes, seqs, False, bal=bal)
        return Schedule(allocation, paths)
    if shortlist < 0 or budget < 0:
        raise ValueError(f"shortlist and budget must be >= 0, got {shortlist} and {budget}")
    sim_transfer = _memo_transfer(transfer)
    memo: dict[tuple[tuple[int, ...], ...], tuple] = {}

    def judge(paths: Sequence[Sequence[int]]) -> tuple:
        """(iteration time, sum of finish times, spread, finish times); spread, with balance, the sum of squared
        node loads (lower: a stage's microbatches spread over more of its nodes), else 0."""
        key = tuple(tuple(p) for p in paths)
        if key not in memo:
            res = simulate(nodes, sim_transfer, Schedule(allocation, key), fwd_s, act_bytes, backward_factor,
                           loss_s, hop_overhead_s)  # fmt: skip
            spread = 0
            if bal is not None:
                load: dict[int, int] = {}
                for p in key:
                    for n in p[:-1]:
                        load[n] = load.get(n, 0) + 1
                spread = sum(v * v for v in load.values())
            memo[key] = (res.iteration_s, sum(res.finish_s), spread, tuple(res.finish_s))
        return memo[key]

    starts: list[list[list[int]]] = []
    refusal: ValueError | None = None
    for kw in ({}, {"judge": judge, "top": shortlist}):
        try:
            starts.append(
                _greedy(nodes, transfer, allocation, microbatches, fwd_s, act_bytes, seqs, True, bal=bal, **kw)
            )
        except ValueError as e:
            refusal = refusal or e
    try:  # the baseline's own paths, where they happen to keep the slot model
        unaware = _greedy(nodes, transfer, allocation, microbatches, fwd_s, act_bytes, seqs, False, bal=bal)
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

        best = _improve(best, nodes, allocation, seqs, judge, budget, seed, hop, bal)
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
