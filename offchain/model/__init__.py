"""A small decoder-only transformer built only from RepOps ops, its native-torch twin, and an addition task.

    from offchain.model import GPTConfig, RepOpsGPT, NativeGPT, AdditionTask
    python -m offchain.model.train --steps 1500      # prints progress, writes training_curve.png
"""

from offchain.model.gpt import GPTConfig, NativeGPT, RepOpsGPT, init_params
from offchain.model.task import AdditionTask

__all__ = ["AdditionTask", "GPTConfig", "NativeGPT", "RepOpsGPT", "init_params"]
