"""One epoch's plan, and the fixed-shape batches that walk it.

Convention: everything in a plan is in training order. `indices[i]` is the i-th example the epoch
trains on and `weights[i]` its loss weight, for i < count; entries from `count` on are the examples the
epoch skips (their weights are meaningless). Consume a plan with `plan.batches(batch_size)`, which
hides the layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import jax
import numpy as np


class Plan(NamedTuple):
  """One epoch's plan (a pytree of arrays, as `Teacher.next_epoch` returns it).

  indices     int32[N]: the pool in training order; the epoch trains on indices[:count].
  weights     f32[N]: loss weight of indices[i] (1, except InfoBatch's 1 / (1 - prune)).
  count       int32[]: how many examples the epoch trains on.
  reselected  bool[]: a new subset was chosen this epoch (GraNT raises the LR back to a floor then).
  epoch       int32[]: the epoch planned.
  """
  indices: jax.Array
  weights: jax.Array
  count: jax.Array
  reselected: jax.Array
  epoch: jax.Array

  def num_batches(self, batch_size: int) -> int:
    """How many batches of `batch_size` `batches` yields (host int)."""
    return -(-int(self.count) // _positive(batch_size))

  def batches(self, batch_size: int, start: int = 0
              ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The epoch as fixed-shape host batches `(indices int32[B], mask bool[B], weights f32[B])`, from
    batch `start` on (to resume inside an epoch).

    Together the batches hold every kept example exactly once, in training order; only the last may
    be short, its padding rows having mask False, weight 0 and index 0 (a valid id, so gathers by
    index need no special case). Multiply each example's loss by its weight and average over the
    mask's True rows.
    """
    batch_size = _positive(batch_size)
    count = int(self.count)
    indices = np.asarray(jax.device_get(self.indices), np.int32)[:count]
    weights = np.asarray(jax.device_get(self.weights), np.float32)[:count]
    for first in range(start * batch_size, count, batch_size):
      rows = min(batch_size, count - first)
      batch_indices = np.zeros(batch_size, np.int32)
      batch_weights = np.zeros(batch_size, np.float32)
      batch_indices[:rows] = indices[first:first + rows]
      batch_weights[:rows] = weights[first:first + rows]
      yield batch_indices, np.arange(batch_size) < rows, batch_weights


def _positive(batch_size) -> int:
  if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
    raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
  return int(batch_size)
