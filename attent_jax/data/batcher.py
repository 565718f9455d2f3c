"""The batcher: lists of example indices in, fixed-shape (sharded) model batches out.

Every batch has exactly `batch_size` rows. A short tail is padded with copies of row 0 whose `mask` is False
(and `weight` 0), so the jitted step never sees a new shape. Batches are dicts:

  image pools:  image f32[B, H, W, C] in [0, 1], label int32[B]
  token pools:  inputs int32[B, L], targets int32[B, L], loss_mask bool[B, L] (False on padding, and
                on prompt targets of prompt/response pools: only response tokens and eos count)
  always:       index int32[B], mask bool[B], weight f32[B]

With a sharding, each process gathers only the rows its devices hold and the global array is assembled with
`jax.make_array_from_process_local_data`, so multi-host input needs no extra code.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np

from attent_jax.data.sources import Pool


def model_features(pool: Pool, rows: np.ndarray) -> dict[str, np.ndarray]:
  """Model inputs of the examples at `rows` (numpy, host side)."""
  arrays = pool.arrays
  if pool.kind == "image":
    image = arrays["image"][rows].astype(np.float32) / np.float32(pool.image_scale)
    return {"image": image, "label": arrays["label"][rows].astype(np.int32)}
  tokens = arrays["tokens"][rows].astype(np.int32)
  if "response_mask" in arrays:  # Prompt/response data: only targets inside the response count.
    loss_mask = arrays["response_mask"][rows][:, 1:]
  elif "token_mask" in arrays:
    valid = arrays["token_mask"][rows]
    loss_mask = valid[:, 1:] & valid[:, :-1]
  else:
    loss_mask = np.ones(tokens[:, 1:].shape, bool)
  return {"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "loss_mask": loss_mask}


def _local_rows(sharding: jax.sharding.Sharding, batch_size: int) -> slice:
  """The contiguous block of batch rows held by this process's devices."""
  starts, stops = [], []
  for index in sharding.addressable_devices_indices_map((batch_size,)).values():
    row_slice = index[0]
    starts.append(row_slice.start or 0)
    stops.append(batch_size if row_slice.stop is None else row_slice.stop)
  return slice(min(starts), max(stops))


class Batcher:
  """Gathers examples of `pool` by index into batches of `batch_size` rows placed with `sharding`.

  `columns`: per-example f32[N] arrays of the run (not of the dataset) that every batch carries under
  their names, e.g. "irreducible" (`attent_jax.train.irreducible`); `set_column` fills one in place
  once its values are known, so the batch's structure, and the steps compiled for it, never change."""

  def __init__(self, pool: Pool, batch_size: int, sharding: jax.sharding.Sharding | None = None,
               columns: tuple[str, ...] = ()):
    if batch_size <= 0:
      raise ValueError(f"batch_size must be positive, got {batch_size}")
    if sharding is not None and batch_size % sharding.num_devices:
      raise ValueError(
          f"batch_size {batch_size} is not divisible by the {sharding.num_devices} devices of the mesh")
    self.pool, self.batch_size, self.sharding = pool, batch_size, sharding
    self._rows = slice(0, batch_size) if sharding is None else _local_rows(sharding, batch_size)
    self._columns = {name: np.zeros(pool.size, np.float32) for name in columns}

  def set_column(self, name: str, values: np.ndarray) -> None:
    """Sets the column `name` (one of `columns`) to f32[N] `values`."""
    if name not in self._columns:
      raise KeyError(f"no column {name!r}; this batcher carries {sorted(self._columns)}")
    values = np.asarray(values, np.float32)
    if values.shape != (self.pool.size,):
      raise ValueError(f"column {name!r} needs {self.pool.size} values, got shape {values.shape}")
    self._columns[name][:] = values

  @property
  def local_rows(self) -> slice:
    """The rows of every batch that this process's devices hold (all rows on one process)."""
    return self._rows

  def num_batches(self, count: int) -> int:
    return -(-count // self.batch_size)

  def batch(self, indices: np.ndarray, weights: np.ndarray | None = None,
            mask: np.ndarray | None = None, *, local: bool = False) -> dict[str, jax.Array]:
    """One batch of the examples `indices` (at most batch_size of them), padded to batch_size rows.

    With `mask` (bool, as `selection.Plan.batches` yields it), `indices`, `weights` and `mask` are
    already batch_size long and the rows where `mask` is False are padding (their weight becomes 0);
    with `local` too, they hold only this process's rows (`local_rows`, as `Plan.batches(...,
    rows=batcher.local_rows)` yields them). Only this process's rows are gathered from the pool.
    """
    indices = np.asarray(indices, np.int32)
    rows = self._rows.stop - self._rows.start if local else self.batch_size
    if local and mask is None:
      raise ValueError("local=True needs the mask of the rows (as selection.Plan.batches yields it)")
    if mask is not None:
      mask = np.asarray(mask, bool)
      if not len(indices) == len(mask) == rows:
        raise ValueError(f"indices and mask must hold {rows} rows"
                         f"{' (this process)' if local else ''}, got {len(indices)} and "
                         f"{len(mask)}")
      count, padded = int(mask.sum()), indices
      weight = np.where(mask, 1.0 if weights is None else np.asarray(weights, np.float32), 0.0)
      weight = weight.astype(np.float32)
      real = indices[mask]
    else:
      count = len(indices)
      if count > self.batch_size:
        raise ValueError(f"{count} indices do not fit a batch of {self.batch_size}")
      padded = np.zeros(self.batch_size, np.int32)
      padded[:count] = indices
      mask = np.arange(self.batch_size) < count
      weight = np.zeros(self.batch_size, np.float32)
      weight[:count] = 1.0 if weights is None else np.asarray(weights, np.float32)
      real = indices
    if len(real) and (real.min() < 0 or real.max() >= self.pool.size):
      raise IndexError(f"example indices must lie in [0, {self.pool.size})")
    padded = np.where(mask, padded, 0).astype(np.int32)
    mine = slice(None) if local else self._rows
    host = model_features(self.pool, padded[mine])
    host.update(index=padded[mine], mask=mask[mine], weight=weight[mine],
                **{name: column[padded[mine]] for name, column in self._columns.items()})
    if self.sharding is None:
      return {key: jax.numpy.asarray(value) for key, value in host.items()}
    return {key: jax.make_array_from_process_local_data(
                self.sharding, value, (self.batch_size, *value.shape[1:]))
            for key, value in host.items()}

  def batches(self, indices: np.ndarray, weights: np.ndarray | None = None) -> Iterator[dict]:
    """The batches of `indices` in order; the last one padded."""
    for start in range(0, len(indices), self.batch_size):
      stop = start + self.batch_size
      yield self.batch(indices[start:stop], None if weights is None else weights[start:stop])
