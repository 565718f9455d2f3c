"""The picture of a comparison: metric against wall-clock, one curve per method, the full-data frontier
as a line through its budgets' final points. Used by the benchmark and by `make demo`."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

from attent_jax.benchmark import frontier as frontier_lib


def plot_metric_vs_time(histories: Mapping[str, Sequence[Sequence[Mapping]]], metric: str,
                        path: str | pathlib.Path, *, frontier: Mapping | None = None,
                        title: str = "") -> pathlib.Path:
  """PNG of `metric` against wall-clock: one curve per method (seed 0 solid, further seeds faint).

  frontier: `summary.frontier(histories, metric)` (None when not recorded). When given, the shorter
  full-data budgets are drawn as the frontier instead of as curves: a black line through the budgets'
  median (seconds, final) points, each seed's points as faint crosses."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axis = plt.subplots(figsize=(7.5, 4.8))
  colors = plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4
  curves = {name: runs for name, runs in histories.items()
            if frontier is None or not frontier_lib.is_frontier(name) or name == frontier_lib.PREFIX}
  for color, (name, runs) in zip(colors, curves.items()):
    for seed, history in enumerate(runs):
      points = [(r["time/total"], r[metric]) for r in history if metric in r]
      axis.plot(*zip(*points), marker="o", markersize=3, color=color,
                alpha=1.0 if seed == 0 else 0.35, label=name if seed == 0 else None)
  if frontier is not None:
    for seed, points in enumerate(frontier["points"]):
      axis.plot(*zip(*points), linestyle="none", marker="x", color="black", alpha=0.35,
                label="frontier, each seed" if seed == 0 and len(frontier["points"]) > 1 else None)
    median = frontier["median"]
    epochs = "/".join(str(b["epochs"]) for b in median)
    axis.plot([b["seconds"] for b in median], [b["final"] for b in median], color="black",
              linewidth=2.2, marker="s", label=f"full-data frontier ({epochs} epochs)")
  axis.set_xlabel("wall-clock seconds (train + score + select + eval)")
  axis.set_ylabel(metric)
  axis.set_title(title)
  axis.grid(alpha=0.3)
  axis.legend(fontsize=8)
  figure.tight_layout()
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  figure.savefig(path, dpi=120)
  plt.close(figure)
  return path
