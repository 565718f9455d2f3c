"""Checkpoints: the one place that talks to orbax.

A checkpoint is a pytree (params, optimizer state, teacher state, rng, the current epoch's plan) plus a
JSON record (epoch, position in the epoch, a fingerprint of the model config). Writes are atomic (orbax
commits a finished step directory), so a run killed while saving leaves the previous checkpoint intact.
Restore walks back from the newest step: one that fails to read is moved aside with a warning and the
previous good one is used. Nothing non-finite is ever written.
"""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging


class NonFiniteError(FloatingPointError):
  """Raised instead of writing a checkpoint that holds NaN or inf."""


class IncompatibleCheckpointError(ValueError):
  """The workdir holds a checkpoint of a different model or task."""


def _is_finite(leaf) -> bool:
  if not jax.dtypes.issubdtype(leaf.dtype, np.floating):
    return True
  if isinstance(leaf, jax.Array):  # Check this process's shards: works on multi-host arrays too.
    return all(bool(np.isfinite(np.asarray(shard.data)).all()) for shard in leaf.addressable_shards)
  return bool(np.isfinite(np.asarray(leaf)).all())


def _non_finite_leaves(tree) -> list[str]:
  return [jax.tree_util.keystr(path) for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
          if not _is_finite(leaf)]


def _directory(workdir: str | pathlib.Path) -> pathlib.Path:
  """Where a run's checkpoints live: `workdir/checkpoints`, absolute (as orbax wants)."""
  return pathlib.Path(workdir).absolute() / "checkpoints"


class Checkpointer:
  """Saves and restores training checkpoints under `workdir/checkpoints`.

  `fingerprint` describes what the checkpoint belongs to (model and task config); restoring a checkpoint
  with a different fingerprint raises IncompatibleCheckpointError instead of silently mixing runs.
  """

  def __init__(self, workdir: str | pathlib.Path, *, fingerprint: dict[str, Any], max_to_keep: int = 3):
    self.directory = _directory(workdir)
    self.fingerprint = fingerprint
    self._max_to_keep = max_to_keep
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=self._max_to_keep, enable_async_checkpointing=False, create=True),
    )

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, tree, meta: dict[str, Any]) -> None:
    """Writes checkpoint `step`; raises NonFiniteError (writing nothing) if any float leaf is NaN/inf."""
    bad = _non_finite_leaves(tree)
    if bad:
      raise NonFiniteError(f"refusing to checkpoint step {step}: non-finite values in {bad[:5]}")
    if step in self._manager.all_steps():
      return
    meta = {**meta, "fingerprint": self.fingerprint}
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(tree), meta=ocp.args.JsonSave(meta)))
    self._manager.wait_until_finished()

  def restore(self, abstract_tree) -> tuple[Any, dict[str, Any]] | None:
    """(tree, meta) of the newest readable checkpoint, or None if there is none.

    `abstract_tree` gives the structure, shapes, dtypes and shardings (e.g. from jax.eval_shape).
    """
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        meta = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
      except Exception as error:  # pylint: disable=broad-except
        self._quarantine(step, error)
        continue
      if meta.get("fingerprint") != self.fingerprint:
        raise IncompatibleCheckpointError(
            f"{self.directory} holds a checkpoint of a different model or task:\n  saved:   "
            f"{meta.get('fingerprint')}\n  current: {self.fingerprint}\nUse another --workdir.")
      try:
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_tree)))["state"]
      except Exception as error:  # pylint: disable=broad-except
        self._quarantine(step, error)
        continue
      return restored, meta
    return None

  def _quarantine(self, step: int, error: Exception) -> None:
    """Moves an unreadable step aside (kept for inspection) so training can resume before it."""
    target = self.directory.parent / "checkpoints_corrupt" / str(step)
    logging.warning("checkpoint step %d in %s is unreadable (%s: %s); moved to %s, resuming from the "
                    "previous one", step, self.directory, type(error).__name__, error, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
      shutil.rmtree(target)
    shutil.move(str(self.directory / str(step)), str(target))
    self._manager.close()
    self._manager = self._open()

  def close(self) -> None:
    self._manager.close()


def saved_steps(workdir: str | pathlib.Path) -> list[int]:
  """The steps of the checkpoints under `workdir/checkpoints`, oldest first ([] if none)."""
  directory = _directory(workdir)
  if not directory.is_dir():
    return []
  manager = ocp.CheckpointManager(directory)
  try:
    return sorted(manager.all_steps())
  finally:
    manager.close()


def read_saved(workdir: str | pathlib.Path, step: int | None = None) -> tuple[int, Any]:
  """(step, tree) of checkpoint `step` (None: the newest) under `workdir/checkpoints`, read without a
  template, as host arrays in the structure it was saved in: for analysis tools that inspect a
  finished run (its params, its teacher's scores and plan). FileNotFoundError if there is none."""
  steps = saved_steps(workdir)
  if step is None and steps:
    step = steps[-1]
  if step not in steps:
    which = "no checkpoint" if step is None else f"no checkpoint {step}"
    raise FileNotFoundError(f"{which} under {_directory(workdir)} (saved: {steps})")
  path = _directory(workdir) / str(step) / "state"
  with ocp.StandardCheckpointer() as checkpointer:
    return step, checkpointer.restore(path)


def save_params(directory: str | pathlib.Path, params) -> None:
  """Writes a params pytree on its own (e.g. a run's final params, for fine-tuning or export)."""
  bad = _non_finite_leaves(params)
  if bad:
    raise NonFiniteError(f"refusing to save params with non-finite values in {bad[:5]}")
  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(pathlib.Path(directory).absolute(), params, force=True)


def load_params(directory: str | pathlib.Path, like):
  """Reads params written by `save_params`; `like` gives the expected structure, shapes and dtypes.

  A checkpoint of a different architecture is an IncompatibleCheckpointError naming the mismatch.
  """
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
  try:
    with ocp.StandardCheckpointer() as checkpointer:
      return checkpointer.restore(pathlib.Path(directory).absolute(), abstract)
  except (ValueError, KeyError) as error:
    raise IncompatibleCheckpointError(
        f"params in {directory} do not match the configured model: {error}") from error
