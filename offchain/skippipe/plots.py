"""SkipPipe's pictures: a schedule or a measured iteration as a Gantt chart per node, and loss curves.

Both write a PNG with matplotlib's Agg backend (no display needed) and return its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def gantt_png(
    intervals_by_node: Mapping[str, Sequence[tuple[float, float, int, str]]], path: str | Path, title: str
) -> Path:
    """A Gantt chart: one row per node (in the mapping's order, first at the top), a bar per (start, end,
    microbatch, kind) coloured by microbatch; forward solid, backward hatched and lighter, the loss a thin dark bar.
    Writes a PNG to `path` (its folder made if needed) and returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = list(intervals_by_node)
    mbs = sorted({iv[2] for ivs in intervals_by_node.values() for iv in ivs})
    cmap = plt.get_cmap("tab20" if len(mbs) > 10 else "tab10")
    colour = {m: cmap(i % cmap.N) for i, m in enumerate(mbs)}
    fig, ax = plt.subplots(figsize=(14, max(3.0, 0.35 * len(labels) + 1.5)))
    end = 0.0
    for row, label in enumerate(labels):
        y = len(labels) - 1 - row
        for start, stop, m, kind in intervals_by_node[label]:
            end = max(end, stop)
            if kind == "loss":
                ax.broken_barh([(start, max(stop - start, end * 0.002))], (y - 0.4, 0.8), facecolors="black")
                continue
            bwd = kind == "bwd"
            ax.broken_barh(
                [(start, stop - start)],
                (y - 0.4, 0.8),
                facecolors=colour[m],
                alpha=0.55 if bwd else 1.0,
                hatch="//" if bwd else None,
                edgecolor="black",
                linewidth=0.4,
            )
            if stop - start > end * 0.012 or stop - start > 1.0:
                ax.text((start + stop) / 2, y, str(m), ha="center", va="center", fontsize=6)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(list(reversed(labels)), fontsize=7)
    ax.set_xlabel("time (s)")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0, end * 1.01 if end else 1)
    handles = [Patch(facecolor=colour[m], label=f"mb {m}") for m in mbs]
    handles += [
        Patch(facecolor="grey", label="fwd"),
        Patch(facecolor="grey", alpha=0.55, hatch="//", label="bwd"),
        Patch(facecolor="black", label="loss"),
    ]
    ax.legend(handles=handles, fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def loss_png(curves: Mapping[str, Sequence[tuple[float, float]]], path: str | Path, *, title: str = "training loss",
             xlabel: str = "iteration") -> Path:  # fmt: skip
    """One line per named curve of (x, loss) points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
