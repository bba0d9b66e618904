"""The SkipPipe iteration simulator (offchain/skippipe/sim.py): a timeline worked by hand, the geo setting's sum of
computes and hops where nothing queues, and the schedules it refuses."""

from __future__ import annotations

import math

import pytest

from offchain.skippipe.geo import Link, Node, link_time, load_links, place_nodes, region_transfer, regions
from offchain.skippipe.sim import BWD, FWD, LOSS, Interval, Schedule, simulate

# Every hop between distinct nodes: latency 0.125 s + 1 byte at 8 B/s = 0.25 s, plus the fixed 0.25 s overhead.
HAND_LINK = Link(0.125, 8.0)


def hand_transfer(src: Node, dst: Node, nbytes: float) -> float:
    return link_time(HAND_LINK, nbytes)


HAND_NODES = [Node("a", "X"), Node("b", "X"), Node("c", "X", speed=2.0)]


def run_hand(**kw):
    schedule = Schedule(allocation=[[0], [1, 2]], paths=[[0, 1, 0], [0, 2, 0]])
    args = dict(fwd_s=[1.0, 2.0], act_bytes=1, backward_factor=2.0, loss_s=0.5, hop_overhead_s=0.25)
    return simulate(HAND_NODES, hand_transfer, schedule, **{**args, **kw})


def test_hand_worked_timeline():
    """Two stages: node 0 holds stage 0, nodes 1 and 2 stage 1 (node 2 twice as fast). Microbatch 0 goes
    0 -> 1 -> 0, microbatch 1 goes 0 -> 2 -> 0. Forward 1 s (stage 0), 2 s (stage 1); backward twice that; the loss
    0.5 s; every hop 0.125 + 1/8 + 0.25 = 0.5 s. All figures are dyadic, so every sum below is exact.

      node 0: F mb0 [0, 1]; F mb1 ready at 0 but node 0 busy -> [1, 2]                     (queueing 1)
      node 1: F mb0 arrives 1 + 0.5 = 1.5 -> [1.5, 3.5]; output reaches node 0 at 4.0
      node 2: F mb1 arrives 2 + 0.5 = 2.5, 2 s / speed 2 = 1 s -> [2.5, 3.5]; reaches node 0 at 4.0
      node 0: both losses ready at 4.0; the tie goes to mb0 -> L mb0 [4.0, 4.5], L mb1 [4.5, 5.0]   (queueing 2)
      node 1: B mb0 arrives 4.5 + 0.5 = 5.0, 4 s -> [5.0, 9.0]; reaches node 0 at 9.5
      node 2: B mb1 arrives 5.0 + 0.5 = 5.5, 4 s / 2 = 2 s -> [5.5, 7.5]; reaches node 0 at 8.0
      node 0: B mb1 ready 8.0, 2 s -> [8.0, 10.0]; B mb0 ready 9.5, busy until 10 -> [10.0, 12.0]   (queueing 3)

    Iteration time 12.0 s, against 1 + 0.5 + 2 + 0.5 + 0.5 + 0.5 + 4 + 0.5 + 2 = 11.5 s for microbatch 0 alone.
    """
    result = run_hand()
    assert result.iteration_s == 12.0
    assert result.finish_s == [12.0, 10.0]
    assert result.tasks == 10
    assert result.intervals[0] == [
        Interval(0, 0.0, 1.0, 0, FWD, 0),
        Interval(0, 1.0, 2.0, 1, FWD, 0),
        Interval(0, 4.0, 4.5, 0, LOSS, 0),
        Interval(0, 4.5, 5.0, 1, LOSS, 0),
        Interval(0, 8.0, 10.0, 1, BWD, 0),
        Interval(0, 10.0, 12.0, 0, BWD, 0),
    ]
    assert result.intervals[1] == [Interval(1, 1.5, 3.5, 0, FWD, 1), Interval(1, 5.0, 9.0, 0, BWD, 1)]
    assert result.intervals[2] == [Interval(2, 2.5, 3.5, 1, FWD, 1), Interval(2, 5.5, 7.5, 1, BWD, 1)]


def test_hand_worked_alone_and_without_overhead():
    """Microbatch 0 alone is the 11.5 s sum of the docstring above: nothing queues. Without the 0.25 s overhead each
    of the 4 hops is 0.25 s shorter: 11.5 - 1.0 = 10.5 s."""
    alone = simulate(HAND_NODES, hand_transfer, Schedule([[0], [1, 2]], [[0, 1, 0]]), [1.0, 2.0], 1,
                     loss_s=0.5, hop_overhead_s=0.25)  # fmt: skip
    assert alone.iteration_s == 11.5
    bare = simulate(HAND_NODES, hand_transfer, Schedule([[0], [1, 2]], [[0, 1, 0]]), [1.0, 2.0], 1, loss_s=0.5)
    assert bare.iteration_s == 10.5


def test_a_path_that_stays_on_stage_zero_sends_nothing():
    """Path [0, 0]: forward 1 s, loss 0.5 s, backward 2 s on one node, no hop: 3.5 s."""
    one = simulate(HAND_NODES, hand_transfer, Schedule([[0], [1, 2]], [[0, 0]]), [1.0, 2.0], 1, loss_s=0.5,
                   hop_overhead_s=0.25)  # fmt: skip
    assert one.iteration_s == 3.5


def test_geo_path_without_queueing_is_the_sum_of_computes_and_hops():
    """One microbatch over four regions, stages reordered (0 -> 2 -> 1 -> 0): nothing else runs, so the iteration
    is the sum of its computes and of its hops' link times, each hop computed here from the CSV's figures."""
    links = load_links()
    nodes = place_nodes(12, regions(links))  # sorted regions: Australia, Belgium, Canada, Germany, ...
    by_region = {n.region: i for i, n in enumerate(nodes)}
    a, b, c = by_region["Germany"], by_region["NL"], by_region["London"]
    schedule = Schedule(allocation=[[a], [c], [b]], paths=[[a, b, c, a]])
    act = 8 * 1024 * 1024 * 4  # 8 samples x 1024 tokens x 1024 dims x float32
    result = simulate(nodes, region_transfer(links), schedule, [0.2, 0.3, 0.4], act, hop_overhead_s=0.35)
    gib = 1024**3
    hop = {  # latency_ms / 1000 + bytes / (GiB/s * 1024^3) + 0.35, from geo-links.csv (NL-London corrected)
        ("Germany", "NL"): 3.5 / 1000 + act / (0.2425 * gib) + 0.35,
        ("NL", "London"): 4.8 / 1000 + act / (0.2425 * gib) + 0.35,
        ("London", "Germany"): 6.6 / 1000 + act / (0.18875 * gib) + 0.35,
    }
    compute = (0.2 + 0.4 + 0.3) * 3  # forward once, backward twice as long; the loss is free by default
    expected = compute + 2 * sum(hop.values())
    assert math.isclose(result.iteration_s, expected, rel_tol=1e-12), (result.iteration_s, expected)
    published = simulate(nodes, region_transfer(load_links(fix_typo=False)), schedule, [0.2, 0.3, 0.4], act,
                         hop_overhead_s=0.35)  # fmt: skip
    slow = act / (0.00023681640625 * gib) - act / (0.2425 * gib)  # the typo's extra seconds, per NL-London hop
    assert math.isclose(published.iteration_s, expected + 2 * slow, rel_tol=1e-12)


def test_ties_go_to_the_lower_microbatch():
    """Two microbatches on the same path, both ready on node 0 at time 0: microbatch 0 goes first, and so stays
    first at every later step (its loss and backward inputs arrive first)."""
    result = simulate(HAND_NODES, hand_transfer, Schedule([[0], [1]], [[0, 1, 0], [0, 1, 0]]), [1.0, 1.0], 1)
    assert [(i.microbatch, i.kind) for i in result.intervals[0]] == [
        (0, FWD), (1, FWD), (0, LOSS), (1, LOSS), (0, BWD), (1, BWD),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("allocation", "paths", "message"),
    [
        ([[0], [1, 2]], [[]], "microbatch 0: the path is empty"),
        ([[0], [1, 2]], [[0, 1, 2, 0]], "visits stage 1 twice"),
        ([[0], [1, 2]], [[0, 1, 0, 0]], "visits stage 0 twice"),
        ([[0], [1, 2]], [[0, 1]], "must start and end at the same node"),
        ([[0], [1, 2]], [[0]], "must start and end at the same node"),
        ([[0], [1, 2]], [[1, 0, 1]], "holds stage 1, not stage 0"),
        ([[0], [1]], [[0, 2, 0]], "node 2 is not allocated to any stage"),
        ([[0], [1, 2]], [[0, 3, 0]], "node 3 does not exist"),
        ([[0], [0, 1]], [[0, 1, 0]], "node 0 is allocated to stage 0 and to stage 1"),
        ([[0], []], [[0, 0]], "stage 1 has no nodes"),
        ([[0], [1]], [], "no microbatches"),
    ],
)
def test_invalid_schedules_are_refused(allocation, paths, message):
    with pytest.raises(ValueError, match=message):
        simulate(HAND_NODES, hand_transfer, Schedule(allocation, paths), [1.0, 1.0], 1)


def test_wrong_stage_times_are_refused():
    with pytest.raises(ValueError, match="fwd_s has 1 entries for 2 stages"):
        simulate(HAND_NODES, hand_transfer, Schedule([[0], [1]], [[0, 1, 0]]), [1.0], 1)
    with pytest.raises(ValueError, match=r"fwd_s\[1\] must be a non-negative number"):
        simulate(HAND_NODES, hand_transfer, Schedule([[0], [1]], [[0, 1, 0]]), [1.0, -1.0], 1)
