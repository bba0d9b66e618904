"""A short RepOps training run learns 1-digit addition far above chance, and the task is well formed."""

from __future__ import annotations

import torch

from offchain.model.task import EQUALS, PLUS, AdditionTask
from offchain.model.train import TrainConfig, train


def test_task_encode_reversed_answer_tokens() -> None:
    """"12+34=" is followed by the reversed zero-padded sum 640 and only the answer is in the loss mask."""
    task = AdditionTask(digits=2)
    assert task.encode(torch.tensor([1234])).tolist() == [[1, 2, PLUS, 3, 4, EQUALS, 6, 4, 0]]
    x, y, mask = task.tensors(torch.tensor([1234]))
    assert mask[0].tolist() == [False] * 5 + [True] * 3


def test_task_split_held_out_disjoint() -> None:
    """Training batches never contain a held-out pair."""
    task = AdditionTask(digits=1)
    test = set(task.test_pairs().tolist())
    x, _, _ = task.batch(0, 500)
    seen = {int(r[0]) * 10 + int(r[2]) for r in x}
    assert not seen & test


def test_train_short_run_accuracy_above_chance() -> None:
    """400 RepOps steps on 1-digit addition reach >= 25% exact-match on held-out pairs (chance ~1%)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the result is the same bits for any count; one thread is faster on busy cores
    try:
        curve = train(TrainConfig(digits=1, steps=400, batch_size=32, lr=3e-3, eval_every=400), log=False)
    finally:
        torch.set_num_threads(threads)
    assert curve["acc"][0] < 0.1
    assert curve["acc"][-1] >= 0.25, curve
    assert curve["loss"][-1] < 0.5 * curve["loss"][0]
