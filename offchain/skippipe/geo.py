"""The geo-distributed setting of SkipPipe: 12 cloud regions, the links between them, and nodes placed over them.

The figures are SkipPipe's own (data/geo-links.csv, MIT, gensyn-ai/skippipe; data/README.md has the source and
how its one suspicious figure is treated). Bandwidths are in bytes per second here, with GiB = 1024^3 bytes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3
DEFAULT_LINKS = Path(__file__).resolve().parent / "data" / "geo-links.csv"

# The source's value inside one region (schedulers/communication_costs.py): 1 ms, 2.0 GiB/s.
INTRA_REGION_LATENCY_S = 0.001
INTRA_REGION_BANDWIDTH_GIB_S = 2.0

# The published NL-London bandwidth is exactly 0.2425 / 1024 GiB/s, the nearby European pairs' 0.2425 divided by
# 1024 once too often; data/README.md.
TYPO_PAIR = ("NL", "London")
TYPO_PUBLISHED_GIB_S = 0.00023681640625
TYPO_CORRECTED_GIB_S = 0.2425


@dataclass(frozen=True)
class Link:
    """One direction of a link: fixed latency in seconds, bandwidth in bytes per second."""

    latency_s: float
    bandwidth_Bps: float


INTRA_REGION = Link(INTRA_REGION_LATENCY_S, INTRA_REGION_BANDWIDTH_GIB_S * GIB)


def link_time(link: Link, nbytes: float) -> float:
    """Seconds to send `nbytes` over `link`: latency + nbytes / bandwidth, as the source computes it."""
    return link.latency_s + nbytes / link.bandwidth_Bps


def load_links(path: str | Path = DEFAULT_LINKS, fix_typo: bool = True) -> dict[tuple[str, str], Link]:
    """Every ordered pair of regions -> its Link, both directions equal, and (r, r) -> INTRA_REGION for each region.

    `fix_typo=True` replaces the published NL-London bandwidth (0.00023681640625 GiB/s) by 0.2425 GiB/s; it touches
    the pair only where it holds exactly the published figure. `fix_typo=False` loads the file as published.
    """
    links: dict[tuple[str, str], Link] = {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        a, b = row["region_a"].strip(), row["region_b"].strip()
        if a == b:
            raise ValueError(f"{path}: a row joins {a} to itself; links inside a region are not in the file")
        if (a, b) in links:
            raise ValueError(f"{path}: the pair {a}-{b} appears twice")
        latency_ms = float(row["latency_ms"])
        gib_s = float(row["bandwidth_gib_s"])
        if fix_typo and {a, b} == set(TYPO_PAIR) and gib_s == TYPO_PUBLISHED_GIB_S:
            gib_s = TYPO_CORRECTED_GIB_S
        if latency_ms < 0 or gib_s <= 0:
            raise ValueError(f"{path}: {a}-{b} has latency {latency_ms} ms and bandwidth {gib_s} GiB/s")
        link = Link(latency_ms / 1000, gib_s * GIB)
        links[(a, b)] = link
        links[(b, a)] = link
    for region in {r for pair in links for r in pair}:
        links[(region, region)] = INTRA_REGION
    return links


def regions(links: dict[tuple[str, str], Link]) -> list[str]:
    """The regions of `links`, sorted by name so that placement does not depend on the file's row order."""
    return sorted({a for a, _ in links})


@dataclass(frozen=True)
class Node:
    """A training node: `speed` divides every compute time (2.0 is twice as fast); `memory` is how many
    microbatches' activations it can hold at once (the source's setting is 3). The simulator records but does not
    enforce `memory`; the scheduler is what keeps to it."""

    name: str
    region: str
    speed: float = 1.0
    memory: int = 3

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"node {self.name}: speed must be positive, got {self.speed}")
        if self.memory < 1:
            raise ValueError(f"node {self.name}: memory must be at least 1 microbatch, got {self.memory}")


def place_nodes(n: int, region_names: Sequence[str], speed: float = 1.0, memory: int = 3) -> list[Node]:
    """`n` nodes dealt round-robin over `region_names` in the order given: node i sits in region i mod R and is
    named "<region>-<i // R>", so several nodes share a region once n > R and the same n gives the same nodes."""
    if n < 1:
        raise ValueError(f"need at least one node, got {n}")
    if not region_names:
        raise ValueError("need at least one region")
    r = len(region_names)
    return [Node(f"{region_names[i % r]}-{i // r}", region_names[i % r], speed, memory) for i in range(n)]


def region_transfer(links: dict[tuple[str, str], Link]) -> Callable[[Node, Node, float], float]:
    """The simulator's transfer function for `links`: seconds to send nbytes from one node to another."""

    def transfer(src: Node, dst: Node, nbytes: float) -> float:
        try:
            link = links[(src.region, dst.region)]
        except KeyError:
            raise ValueError(f"no link between regions {src.region} and {dst.region}") from None
        return link_time(link, nbytes)

    return transfer
