"""SkipPipe's geo setting (offchain/skippipe/geo.py): the 12 regions' links as published, the NL-London correction
both ways, the link inside a region, and node placement."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from offchain.skippipe.geo import DEFAULT_LINKS, GIB, INTRA_REGION, Link, link_time, load_links, place_nodes, regions

REGIONS = ["Australia", "Belgium", "Canada", "Germany", "Iowa", "Japan", "LA", "London", "NL", "Oregon", "Singapore",
           "Taiwan"]  # fmt: skip


def test_the_file_has_66_unordered_pairs_of_12_regions():
    with open(DEFAULT_LINKS, newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = {frozenset((r["region_a"], r["region_b"])) for r in rows}
    assert len(rows) == 66 and len(pairs) == 66  # 12 * 11 / 2, none twice
    links = load_links()
    assert regions(links) == REGIONS
    assert len(links) == 66 * 2 + 12


def test_links_are_symmetric_and_as_published():
    links = load_links()
    for (a, b), link in links.items():
        assert links[(b, a)] == link
    assert links[("Australia", "Belgium")] == Link(0.129, 0.00982666015625 * GIB)
    assert links[("Taiwan", "Singapore")] == Link(23.2 / 1000, 0.0618896484375 * GIB)


def test_inside_a_region_the_link_is_1_ms_and_2_gib_s():
    links = load_links()
    assert INTRA_REGION == Link(0.001, 2 * 1024**3)
    for r in REGIONS:
        assert links[(r, r)] == INTRA_REGION
    # 1 GiB inside a region: 1 ms + half a second
    assert link_time(INTRA_REGION, GIB) == 0.001 + 0.5


def test_the_nl_london_typo_both_ways():
    fixed, published = load_links(), load_links(fix_typo=False)
    assert fixed[("NL", "London")] == fixed[("London", "NL")] == Link(4.8 / 1000, 0.2425 * GIB)
    assert published[("NL", "London")] == published[("London", "NL")] == Link(4.8 / 1000, 0.00023681640625 * GIB)
    assert 0.00023681640625 * 1024 == 0.2425  # the published figure is the corrected one over 1024, exactly
    assert {k for k in fixed if fixed[k] != published[k]} == {("NL", "London"), ("London", "NL")}


def test_a_figure_other_than_the_published_one_is_loaded_as_it_stands(tmp_path):
    path = tmp_path / "links.csv"
    path.write_text("region_a,region_b,latency_ms,bandwidth_gib_s\nNL,London,4.8,0.5\n")
    assert load_links(path)[("London", "NL")] == Link(0.0048, 0.5 * GIB)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("NL,NL,1,1\n", "joins NL to itself"),
        ("NL,London,1,1\nNL,London,2,2\n", "appears twice"),
        ("NL,London,1,0\n", "bandwidth 0.0 GiB/s"),
    ],
)
def test_bad_files_are_refused(tmp_path, body, message):
    path = tmp_path / "links.csv"
    path.write_text("region_a,region_b,latency_ms,bandwidth_gib_s\n" + body)
    with pytest.raises(ValueError, match=message):
        load_links(path)


def test_place_nodes_deals_round_robin():
    nodes = place_nodes(20, REGIONS)
    assert nodes == place_nodes(20, REGIONS)
    assert Counter(n.region for n in nodes) == Counter({r: 2 if i < 8 else 1 for i, r in enumerate(REGIONS)})
    assert [n.name for n in nodes[:2]] + [n.name for n in nodes[12:14]] == [
        "Australia-0", "Belgium-0", "Australia-1", "Belgium-1",
    ]  # fmt: skip
    assert len({n.name for n in nodes}) == 20
    assert all(n.speed == 1.0 and n.memory == 3 for n in nodes)
    with pytest.raises(ValueError, match="speed must be positive"):
        place_nodes(1, REGIONS, speed=0.0)
