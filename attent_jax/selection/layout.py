"""Where the teacher keeps a pool of N examples: L logical shards of M = ceil(N / L) slots.

Example i lives at (i % L, i // L): every pool-sized array of the teacher (its state, the epoch's
randomness, the plan) is an [L, M] array, and entry (s, j) belongs to example j * L + s. Entries whose
id is N or more (the last slot of the trailing shards when L does not divide N) are padding: never
kept, never trained on.

Why logical shards. Sharding the teacher over a mesh axis splits dim 0, so each device holds whole
logical shards (the number of devices must divide L) and everything the teacher computes per example
stays on the device that holds the example. The epoch's shuffle is within each shard, and a global batch
of B rows takes B / L rows from every shard (`Plan.batches`), so for a fixed L the training data are the
same on any number of devices that divides it. Membership is strided, not in contiguous blocks of ids,
so a pool sorted by class, length or difficulty still spreads evenly over the shards. L = 1 is one
uniform shuffle of the whole pool.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from attent_jax.checks import require_int


@dataclasses.dataclass(frozen=True)
class Layout:
  """A pool of `pool_size` examples in `shards` logical shards of `slots` entries each."""
  pool_size: int
  shards: int = 1

  def __post_init__(self):
    require_int("pool_size", self.pool_size, 1)
    require_int("logical_shards", self.shards, 1)
    if self.shards > self.pool_size:
      raise ValueError(f"logical_shards ({self.shards}) must be at most pool_size "
                       f"({self.pool_size})")

  @property
  def slots(self) -> int:
    return -(-self.pool_size // self.shards)

  @property
  def shape(self) -> tuple[int, int]:
    return self.shards, self.slots

  def ids(self) -> np.ndarray:
    """int32[L, M]: the example id of every entry (N or more: padding). Host side."""
    shards, slots = self.shape
    return (np.arange(slots, dtype=np.int32)[None, :] * shards
            + np.arange(shards, dtype=np.int32)[:, None])

  def place(self, values_N, fill=0) -> np.ndarray:
    """Host array [L, M] of per-example values `values_N` [N] (padding entries: `fill`)."""
    values_N = np.asarray(values_N)
    padded = np.full(self.shards * self.slots, fill, values_N.dtype)
    padded[:self.pool_size] = values_N
    return padded.reshape(self.slots, self.shards).T.copy()

  def by_example(self, values_LM) -> np.ndarray:
    """Host array [N]: `values_LM` [L, M] (e.g. `state.scores["loss"]`) indexed by example id."""
    values_LM = np.asarray(values_LM)
    if values_LM.shape != self.shape:
      raise ValueError(f"expected an array of the layout's shape {self.shape}, got "
                       f"{values_LM.shape}")
    return values_LM.T.reshape(-1)[:self.pool_size]

  def check_batch_size(self, batch_size: int) -> int:
    """`batch_size` as an int, or ValueError unless it is a positive multiple of L (a batch takes
    B / L rows from every logical shard)."""
    batch_size = require_int("batch_size", batch_size, 1)
    if batch_size % self.shards:
      raise ValueError(f"batch_size ({batch_size}) must be a multiple of the teacher's "
                       f"logical_shards ({self.shards}): every batch takes the same number of rows "
                       "from each logical shard")
    return batch_size
