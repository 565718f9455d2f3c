"""NINT's NTK-guided scores of the training pool, for the training loop's scoring pass.

`NTKScorer(task, chunk_size)` is built once per run. It differentiates only the task's trainable
parameters (for a LoRA model the adapters; the frozen base is closed over as constants), accepts any
output pytree the task's model returns (the MAE returns a dict), and hands `ntk.ntk_guided_scores`
the same static callables and filter on every call, so the scoring function compiles once per run,
not once per epoch.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from attent_jax import ntk
from attent_jax import tasks as tasks_lib


class NTKScorer:
  """Scores f32[N] = ||(K r)_i|| over the trainable parameters of `task` (see ntk_guided_scores).

  Its `outputs` and `losses` methods are what jit sees as static arguments: bound methods of this
  one object compare equal from call to call, so a second call with new parameter values reuses the
  compiled function.
  """

  def __init__(self, task: tasks_lib.Task, chunk_size: int | None):
    self.task = task
    self.chunk_size = chunk_size
    self._filter: ntk.Paths | None = None
    self._filter_ready = False

  def outputs(self, params: Any, batch: dict) -> Any:
    return self.task.outputs(params, batch)

  def losses(self, outputs: Any, batch: dict) -> jax.Array:
    return self.task.losses_from_outputs(outputs, batch)

  def param_filter(self, trainable: Any, frozen: Any) -> ntk.Paths | None:
    """The combined tree's trainable leaves (None when nothing is frozen: every leaf)."""
    if not self._filter_ready:
      if jax.tree.leaves(frozen):
        marks = self.task.combine(jax.tree.map(lambda _: True, trainable),
                                  jax.tree.map(lambda _: False, frozen))
        self._filter = ntk.Paths.of_marked(marks)
      self._filter_ready = True
    return self._filter

  def __call__(self, trainable: Any, frozen: Any, features: dict) -> np.ndarray:
    """Scores of every example of `features` (a pool batch whose "mask" is all True), host f32[N]."""
    params = self.task.combine(trainable, frozen)
    scores = ntk.ntk_guided_scores(self.outputs, params, features, self.losses,
                                   param_filter=self.param_filter(trainable, frozen),
                                   chunk_size=self.chunk_size)
    return np.asarray(scores)
