"""ANTK reports: a probe kernel's drift and eigenspectra over training runs, as JSON and PNG plots.

`save_report(recorders, workdir)` takes DriftRecorders (one per run, e.g. with and without the
teacher; see experiments/antk_runs.py) and writes antk_spectrum.json, antk_drift.png and
antk_spectra.png. Plots use matplotlib's object API (no pyplot state, no display needed).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from attent_jax.ntk.drift import DriftRecorder


def save_report(recorders: Mapping[str, DriftRecorder], workdir: str | pathlib.Path
                ) -> dict[str, Any]:
  """Writes antk_spectrum.json (every record's numbers) and the drift and spectra PNGs.

  Returns the JSON content: {run: {"step", "epoch", "drift", "trace", "effective_rank",
  "alignment", "eigenvalues"}} as lists (alignment NaN -> null).
  """
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  histories = {name: recorder.as_arrays() for name, recorder in recorders.items()}
  numbers = {name: {key: np.where(np.isnan(value), None, value).tolist()
                    if key == "alignment" else value.tolist() for key, value in history.items()}
             for name, history in histories.items()}
  (workdir / "antk_spectrum.json").write_text(json.dumps(numbers, indent=1))

  figure = Figure(figsize=(13, 3.8))
  axes = figure.subplots(1, 3)
  for name, history in histories.items():
    axes[0].plot(history["step"], history["drift"], "o-", label=name)
    axes[1].plot(history["step"], history["effective_rank"], "o-", label=name)
    if np.any(np.isfinite(history["alignment"])):
      axes[2].plot(history["step"], history["alignment"], "o-", label=name)
  titles = ["relative drift ||K_t - K_0||_F / ||K_0||_F", "effective rank (entropy)",
            "kernel-target alignment"]
  for axis, title in zip(axes, titles):
    axis.set_title(title, fontsize=10)
    axis.set_xlabel("optimizer step (one point per epoch)")
    axis.grid(alpha=0.3)
    if axis.lines:
      axis.legend(fontsize=8)
    else:
      axis.text(0.5, 0.5, "no labels recorded", ha="center", va="center",
                transform=axis.transAxes)
  figure.tight_layout()
  figure.savefig(workdir / "antk_drift.png", dpi=110)

  figure = Figure(figsize=(6.5 * len(histories), 4))
  axes = np.atleast_1d(figure.subplots(1, len(histories), squeeze=False)[0])
  for axis, (name, history) in zip(axes, histories.items()):
    for epoch, values in zip(history["epoch"], history["eigenvalues"]):
      axis.semilogy(np.arange(1, len(values) + 1), np.clip(values, 1e-12, None), ".-",
                    label=f"epoch {epoch}")
    axis.set_title(f"{name}: probe ANTK eigenvalues", fontsize=10)
    axis.set_xlabel("index")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(workdir / "antk_spectra.png", dpi=110)
  return numbers
