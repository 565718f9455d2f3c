"""NINT's NTK-guided scores of the training pool, for the training loop's scoring pass.

`pool_ntk_scores` differentiates only the task's trainable parameters (for a LoRA model the
adapters; the frozen base is closed over as constants) and accepts any output pytree the model
returns (the MAE returns a dict). It hands `ntk.ntk_guided_scores` static arguments that compare
equal from call to call (the task's own apply_fn, its kind's loss function, a by-value `ntk.Paths`
filter), so the scoring function compiles once per run, not once per epoch.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from attent_jax import ntk
from attent_jax import tasks as tasks_lib


def trainable_filter(task: tasks_lib.Task, trainable: Any, frozen: Any) -> ntk.Paths | None:
  """The param filter selecting the trainable leaves of task.combine(trainable, frozen); None when
  nothing is frozen (every leaf trains)."""
  if not jax.tree.leaves(frozen):
    return None
  marks = task.combine(jax.tree.map(lambda _: True, trainable),
                       jax.tree.map(lambda _: False, frozen))
  return ntk.Paths.of_marked(marks)


def pool_ntk_scores(task: tasks_lib.Task, trainable: Any, frozen: Any, features: dict,
                    chunk_size: int | None) -> np.ndarray:
  """f32[N] scores ||(K r)_i|| of every example of `features` (a pool batch whose "mask" is all
  True), K the NTK over the trainable parameters of the deterministic model (task.apply_fn with its
  defaults, train=False, as `Task.outputs`), r = d(sum of the kind's losses)/d(outputs). Host array."""
  scores = ntk.ntk_guided_scores(task.apply_fn, task.combine(trainable, frozen), features,
                                 task.kind.losses,
                                 param_filter=trainable_filter(task, trainable, frozen),
                                 chunk_size=chunk_size)
  return np.asarray(scores)
