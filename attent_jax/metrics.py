"""Metrics: JSON lines and TensorBoard event files under the workdir, written by process 0 only."""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Mapping

import jax
import numpy as np


class MetricsWriter:
  """Appends `{"step": s, **scalars}` records to `workdir/metrics.jsonl` and TensorBoard events.

  Re-opening a workdir appends (a resumed run continues the same files). Non-process-0 writers are no-ops.
  """

  def __init__(self, workdir: str | pathlib.Path, *, tensorboard: bool = True):
    self.active = jax.process_index() == 0
    self.path = pathlib.Path(workdir) / "metrics.jsonl"
    self._tb = None
    if self.active:
      self.path.parent.mkdir(parents=True, exist_ok=True)
      self._file = self.path.open("a", encoding="utf-8")
      if tensorboard:
        from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
        self._tb = SummaryWriter(str(pathlib.Path(workdir) / "tensorboard"))

  def write(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self.active:
      return
    record = {"step": int(step)}
    for key, value in scalars.items():
      value = float(np.asarray(value))
      record[key] = value if math.isfinite(value) else str(value)
      if self._tb is not None:
        self._tb.add_scalar(key, value, int(step))
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()

  def close(self) -> None:
    if self.active:
      self._file.close()
      if self._tb is not None:
        self._tb.close()


def read_metrics(workdir: str | pathlib.Path) -> list[dict]:
  """All records of `workdir/metrics.jsonl`, in order."""
  path = pathlib.Path(workdir) / "metrics.jsonl"
  with path.open(encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]
