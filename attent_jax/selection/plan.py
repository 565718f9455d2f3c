"""One epoch's plan, and the fixed-shape batches that walk it.

Convention: a plan is in the teacher's layout (`selection.layout`: L logical shards) and in training
order. Row s lists shard s's examples: `indices[s, t]` is the t-th example of shard s the epoch trains
on and `weights[s, t]` its loss weight, for t < counts[s]; entries from counts[s] on are the examples
the epoch skips (their weights are meaningless). A global batch of B rows takes B / L consecutive
entries of every row (rows of the batch ordered by shard), so with the plan sharded over devices by
shard, each device's rows of every batch are its own shards' entries. Consume a plan with
`plan.batches(batch_size)`, which hides the layout.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import NamedTuple

import jax
import numpy as np


class Plan(NamedTuple):
  """One epoch's plan (a pytree of arrays, as `Teacher.next_epoch` returns it).

  indices     int32[L, M]: each logical shard's examples in training order; row s trains on
              indices[s, :counts[s]].
  weights     f32[L, M]: loss weight of indices[s, t] (1, except InfoBatch's 1 / (1 - prune)).
  counts      int32[L]: how many examples of each shard the epoch trains on (`count`: their sum).
  reselected  bool[]: a new subset was chosen this epoch (GraNT raises the LR back to a floor then).
  epoch       int32[]: the epoch planned.
  """
  indices: jax.Array
  weights: jax.Array
  counts: jax.Array
  reselected: jax.Array
  epoch: jax.Array

  @property
  def count(self) -> jax.Array:
    """int32[]: how many examples the epoch trains on."""
    return self.counts.sum()

  def examples(self) -> tuple[np.ndarray, np.ndarray]:
    """Host (indices int32[count], weights f32[count]): the examples the epoch trains on, shard by
    shard, each shard's in its training order (with one logical shard: the epoch's training order)."""
    indices, weights, counts = (_host(x) for x in (self.indices, self.weights, self.counts))
    kept = np.arange(indices.shape[1])[None, :] < counts[:, None]
    return indices[kept].astype(np.int32), weights[kept].astype(np.float32)

  def crc32(self) -> int:
    """A fingerprint of the epoch: zlib.crc32 of the L per-shard crc32s of each shard's trained ids
    in training order. The same on any number of devices or processes (each computes the crcs of
    the shards it holds; only those L integers are exchanged)."""
    shards = self.indices.shape[0]
    counts = _host(self.counts)
    crcs = np.zeros(shards, np.uint32)
    for first, rows in _held_rows(self.indices):
      for shard, row in enumerate(rows, start=first):
        crcs[shard] = zlib.crc32(np.ascontiguousarray(row[:counts[shard]], np.int32).tobytes())
    if jax.process_count() > 1:  # every shard is held by some process: combine (max over processes)
      from jax.experimental import multihost_utils
      crcs = np.max(multihost_utils.process_allgather(crcs), axis=0).astype(np.uint32)
    return zlib.crc32(crcs.tobytes())

  def num_batches(self, batch_size: int) -> int:
    """How many batches of `batch_size` `batches` yields (host int): enough for the shard with the
    most kept examples, at batch_size / L rows of each shard per batch."""
    per_shard = _rows_per_shard(batch_size, self.indices.shape[0])
    return -(-int(np.max(_host(self.counts))) // per_shard)

  def batches(self, batch_size: int, start: int = 0, rows: slice | None = None
              ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The epoch as fixed-shape host batches `(indices int32[R], mask bool[R], weights f32[R])`, from
    batch `start` on (to resume inside an epoch); R = batch_size, or the length of `rows`.

    Together the batches hold every kept example exactly once. Batch b takes entries
    [b * r, (b + 1) * r) of every shard's row (r = batch_size / L), shard 0's first; entries past a
    shard's count are padding: mask False, weight 0 and index 0 (a valid id, so gathers by index need
    no special case). With L = 1 this is the kept examples in training order, only the last batch
    short. Multiply each example's loss by its weight and average over the mask's True rows.

    rows: only these rows of every global batch, e.g. the rows this process's devices hold. When both
    ends are multiples of r, only the shards they come from are read, and a plan sharded over several
    processes is never gathered; otherwise the plan must be replicated (L smaller than the devices).
    """
    shards = self.indices.shape[0]
    per_shard = _rows_per_shard(batch_size, shards)
    rows = slice(0, batch_size) if rows is None else rows
    if not 0 <= rows.start < rows.stop <= batch_size:
      raise ValueError(f"rows {rows} must lie within [0, {batch_size})")
    if rows.start % per_shard or rows.stop % per_shard:  # rows inside a shard: read it whole
      for batch in self.batches(batch_size, start):
        yield tuple(part[rows] for part in batch)
      return
    first, last = rows.start // per_shard, rows.stop // per_shard
    counts = _host(self.counts)[first:last]
    indices = _host(self.indices, first, last)
    weights = _host(self.weights, first, last)
    for batch in range(start, self.num_batches(batch_size)):
      position = batch * per_shard + np.arange(per_shard)
      mask = position[None, :] < counts[:, None]
      taken = np.minimum(position, indices.shape[1] - 1)
      yield (np.where(mask, indices[:, taken], 0).reshape(-1).astype(np.int32), mask.reshape(-1),
             np.where(mask, weights[:, taken], 0.0).reshape(-1).astype(np.float32))


def _rows_per_shard(batch_size, shards: int) -> int:
  if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
    raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
  if batch_size % shards:
    raise ValueError(f"batch_size ({batch_size}) must be a multiple of the teacher's "
                     f"logical_shards ({shards}): every batch takes the same number of rows from "
                     "each logical shard")
  return int(batch_size) // shards


def _held_rows(array) -> list[tuple[int, np.ndarray]]:
  """(first row, rows) of each block of `array` that this process holds (all of it if addressable)."""
  if not isinstance(array, jax.Array) or array.is_fully_addressable or array.is_fully_replicated:
    return [(0, np.asarray(jax.device_get(array)))]
  blocks = {}
  for shard in array.addressable_shards:
    start, _, _ = shard.index[0].indices(array.shape[0])
    blocks.setdefault(start, np.asarray(shard.data))
  return sorted(blocks.items(), key=lambda item: item[0])


def _host(array, first: int = 0, last: int | None = None) -> np.ndarray:
  """Rows [first, last) of `array` on the host, read from this process's shards of it when the
  array is not fully addressable (only rows that they hold may be asked for)."""
  if not isinstance(array, jax.Array) or array.is_fully_addressable or array.is_fully_replicated:
    return np.asarray(jax.device_get(array))[first:last]
  last = array.shape[0] if last is None else last
  out = np.empty((last - first, *array.shape[1:]), array.dtype)
  filled = np.zeros(last - first, bool)
  for shard in array.addressable_shards:
    start, stop, _ = shard.index[0].indices(array.shape[0])
    lo, hi = max(start, first), min(stop, last)
    if lo < hi:
      out[lo - first:hi - first] = np.asarray(shard.data)[lo - start:hi - start]
      filled[lo - first:hi - first] = True
  if not filled.all():
    raise ValueError(f"rows [{first}, {last}) of the plan are not all held by this process")
  return out
