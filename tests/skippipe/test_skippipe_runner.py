"""SkipPipe's runner: real worker processes on 127.0.0.1 talking gloo, RepOps training on the Devil's Dictionary.

The runs are small (4 nodes, one block per stage, width 32, 2 or 3 iterations) so that each takes a few seconds.
"""

from __future__ import annotations

import math

import pytest
import torch

from offchain.model.gpt import param_shapes
from offchain.skippipe.corpus import Corpus
from offchain.skippipe.geo import place_nodes
from offchain.skippipe.model import Shape, Stage, gpt_config, perplexity, stage_names
from offchain.skippipe.runner import Coordinator, RunConfig, fixed_paths, nominal_costs

EUROPE = ["Belgium", "Germany", "London", "NL"]  # 5-10 ms apart: emulated delays that cost little test time
SHAPE = {"stages": 4, "layers": 1, "width": 32, "n_head": 4, "context": 32}
# Skips (each path visits 3 of 4 stages) and reordering (2 before 1, 3 before 1), every stage visited.
ALLOCATION = [[0], [1], [2], [3]]
PATHS = [[0, 1, 2, 0], [0, 2, 1, 0], [0, 3, 1, 0], [0, 2, 3, 0]]


def config(**kw) -> RunConfig:
    nodes = [{"name": n.name, "region": n.region, "speed": 1.0, "memory": 4} for n in place_nodes(4, EUROPE)]
    base = {"nodes": nodes, "shape": SHAPE, "microbatches": 4, "batch": 4, "iterations": 2, "checkpoint_every": 2,
            "lr": 1e-2, "allocation": ALLOCATION, "paths": PATHS}  # fmt: skip
    return RunConfig(**(base | kw))


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.load()


def test_corpus_batches_are_a_function_of_their_coordinates_and_held_out_is_apart(corpus):
    a = corpus.batch(seed=0, iteration=3, microbatch=1, size=4, context=16)
    assert all(torch.equal(x, y) for x, y in zip(a, corpus.batch(seed=0, iteration=3, microbatch=1, size=4,
                                                                  context=16), strict=True))  # fmt: skip
    assert not torch.equal(a[0], corpus.batch(seed=0, iteration=3, microbatch=2, size=4, context=16)[0])
    assert torch.equal(a[0][:, 1:], a[1][:, :-1])  # targets are the next characters
    x, y = corpus.held_out(context=16)
    assert len(corpus.train) + len(corpus.held) > 300_000 and len(corpus.held) * 9 < len(corpus.train) * 1.2
    assert corpus.decode(x[0, :4]) == corpus.decode(corpus.held[:4])
    with pytest.raises(ValueError, match="does not fit"):
        corpus.batch(seed=0, iteration=0, microbatch=0, size=1, context=len(corpus.train))


def test_stages_hold_every_parameter_once_and_in_order_compute_the_whole_model(corpus):
    from offchain.model.gpt import RepOpsGPT

    shape = Shape(**SHAPE)
    cfg = gpt_config(shape, len(corpus.vocab))
    held = [n for s in range(shape.stages) for n in stage_names(cfg, s, shape.layers)]
    assert sorted(held) == sorted(param_shapes(cfg)) and len(held) == len(set(held))
    model = RepOpsGPT(cfg, seed=1)
    x, y = corpus.batch(seed=0, iteration=0, microbatch=0, size=2, context=shape.context)
    stages = [Stage(model, s, shape.layers) for s in range(shape.stages)]
    h = stages[0].first(x)
    for st in stages[1:]:
        h = st.blocks(h)
    assert torch.equal(model.head(h), model(x))
    full = perplexity(model, corpus, layers=1, stages=[0, 1, 2, 3], limit=8)
    assert math.isfinite(full) and full != perplexity(model, corpus, layers=1, stages=[0, 2], limit=8)
    with pytest.raises(ValueError, match="stage 0"):
        perplexity(model, corpus, layers=1, stages=[1, 2])


def test_a_lost_nodes_visits_move_within_its_stage_or_skip_it():
    original = [[0, 1], [2], [3, 4]]
    paths = [[0, 2, 3, 0], [1, 3, 2, 1], [1, 4, 1]]
    # node 2 (stage 1's only node) and node 3 lost: stage 1 is skipped, 3's visits go to 4
    assert fixed_paths(paths, original, [[0, 1], [4]]) == [[0, 4, 0], [1, 4, 1], [1, 4, 1]]
    assert fixed_paths(paths, original, [[1], [2], [3, 4]]) == [[1, 2, 3, 1], [1, 3, 2, 1], [1, 4, 1]]


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="mode"):
        config(mode="fastest")
    with pytest.raises(ValueError, match="both"):
        config(paths=None)
    with pytest.raises(ValueError, match="4 paths"):
        config(paths=PATHS[:3])
    with pytest.raises(ValueError):
        config(paths=[[0, 1, 1, 0]] + PATHS[1:])  # a stage visited twice
    assert nominal_costs(config()) == nominal_costs(config())


@pytest.fixture(scope="module")
def twin_runs():
    return [Coordinator(config(), echo=lambda s: None).run() for _ in range(2)]


def test_four_processes_train_with_skips_and_reordering(twin_runs):
    result = twin_runs[0]
    losses = [r["loss"] for r in result.progress]
    assert [r["iteration"] for r in result.progress] == [1, 2]
    assert losses[-1] < losses[0]
    assert result.generations[0]["paths"] == PATHS
    assert set(result.state) == set(param_shapes(gpt_config(Shape(**SHAPE), len(Corpus.load().vocab))))
    for row in result.progress:  # every node ran its tasks: 3 per path at node 0, 2 per visit elsewhere
        assert sorted(len(v) for v in row["intervals"].values()) == [4, 6, 6, 12]


def test_two_runs_of_one_plan_give_the_same_checkpoint_roots(twin_runs):
    a, b = twin_runs
    assert list(a.roots) == [2] and a.roots == b.roots
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)


def test_a_killed_worker_is_planned_around_and_training_goes_on(tmp_path):
    coord = Coordinator(config(iterations=3, checkpoint_every=2), out=tmp_path, echo=lambda s: None)
    coord.kill_at = (3, 1, 0.02)  # node 3 (stage 3's only node) dies just after iteration 1
    result = coord.run()
    assert [r["iteration"] for r in result.progress] == [1, 2, 3]
    assert sorted(result.roots) == [2, 3]
    assert len(result.generations) == 2 and result.dropped_stages == [3]
    assert result.generations[1]["members"] == [0, 1, 2]
    assert result.generations[1]["paths"] == [[0, 1, 2, 0], [0, 2, 1, 0], [0, 1, 0], [0, 2, 0]]
    assert result.progress[-1]["loss"] < result.progress[0]["loss"]
    assert not any(k.startswith("h3_") for k in result.state)  # stage 3's weights died with its node
    for name in ("progress.jsonl", "roots.json", "plans.json", "gantt-measured.png", "loss.png", "model.pt"):
        assert (tmp_path / name).stat().st_size > 0
