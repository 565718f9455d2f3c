"""Batch pytrees for the kernel tools: size, padding to a chunk multiple, chunk views, one example.

A batch is any pytree whose leaves share a leading dim N (e.g. {"inputs": int32[N, L]}). Pure jax.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

Batch = Any


def batch_size(batch: Batch) -> int:
  """The shared leading dim N of every leaf. Raises ValueError if leaves disagree or none exist."""
  sizes = {leaf.shape[0] for leaf in jax.tree.leaves(batch) if jnp.ndim(leaf) > 0}
  if len(sizes) != 1:
    raise ValueError(f"batch leaves must share one leading dim, got sizes {sorted(sizes)}")
  return sizes.pop()


def pad_batch(batch: Batch, multiple: int, *, zeros: bool = False) -> Batch:
  """Pads the leading dim up to a multiple of `multiple`.

  Padding repeats the last example (so padded inputs stay valid, e.g. in-vocabulary tokens), or
  is zeros when `zeros` (for cotangent / vector inputs, so padded rows contribute nothing).
  """
  n = batch_size(batch)
  extra = -n % multiple
  if extra == 0:
    return batch
  mode = "constant" if zeros else "edge"
  return jax.tree.map(
      lambda a: jnp.pad(a, [(0, extra)] + [(0, 0)] * (a.ndim - 1), mode=mode), batch)


def to_chunks(batch: Batch, chunk_size: int) -> Batch:
  """[N, ...] -> [N / chunk_size, chunk_size, ...] for every leaf (N must be a multiple)."""
  return jax.tree.map(lambda a: a.reshape(-1, chunk_size, *a.shape[1:]), batch)


def from_chunks(array: jax.Array, n: int) -> jax.Array:
  """[C, chunk, ...] -> [n, ...]: merges the chunk axis back and drops the padded tail."""
  return array.reshape(-1, *array.shape[2:])[:n]


def take_rows(batch: Batch, start: int, stop: int) -> Batch:
  """Rows [start, stop) of every leaf."""
  return jax.tree.map(lambda a: a[start:stop], batch)


def as_batch_of_one(example: Batch) -> Batch:
  """One example (leaves without the batch dim) as a batch of size 1."""
  return jax.tree.map(lambda a: a[None], example)
