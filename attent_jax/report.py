"""Comparing runs honestly: wall-clock to a target metric (scoring and selection included), tables, plots.

Works on evaluation histories as `attent_jax.train.run` records them: one dict per evaluation with
"time/total" (train + score + select + eval seconds so far) and "eval/<metric>" values.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence



def reached(value: float, target: float, higher_is_better: bool) -> bool:
  return value >= target if higher_is_better else value <= target


def time_to_target(history: Sequence[Mapping], metric: str, target: float,
                   higher_is_better: bool) -> float | None:
  """Wall-clock seconds (all phases) at the first evaluation reaching `target`; None if never."""
  for record in history:
    if metric in record and reached(record[metric], target, higher_is_better):
      return float(record["time/total"])
  return None


def final_value(history: Sequence[Mapping], metric: str) -> float:
  return float([r[metric] for r in history if metric in r][-1])


def comparison_rows(histories: Mapping[str, Sequence[Mapping]], metric: str, higher_is_better: bool,
                    baseline: str) -> list[dict]:
  """One row per run: final metric, time split, time to the baseline's final metric, % saved."""
  target = final_value(histories[baseline], metric)
  base_time = float(histories[baseline][-1]["time/total"])
  rows = []
  for name, history in histories.items():
    last = history[-1]
    to_target = time_to_target(history, metric, target, higher_is_better)
    rows.append({
        "run": name, "final": final_value(history, metric),
        **{phase: float(last.get(f"time/{phase}", 0.0)) for phase in ("train", "score", "select", "eval")},
        "total": float(last["time/total"]), "to_target": to_target,
        "saved_pct": (None if to_target is None or name == baseline
                      else 100.0 * (1.0 - to_target / base_time)),
    })
  return rows


def markdown_table(rows: Sequence[Mapping], metric: str) -> str:
  """The rows as a Markdown table (seconds, the metric, % of the baseline's time saved)."""
  def fmt(value, digits=1):
    return "never" if value is None else f"{value:.{digits}f}"
  lines = [f"| run | final {metric} | total s | train s | score s | select s | eval s | "
           "s to baseline's final | time saved |",
           "|---|---|---|---|---|---|---|---|---|"]
  for row in rows:
    saved = "-" if row["saved_pct"] is None else f"{row['saved_pct']:.1f}%"
    lines.append(f"| {row['run']} | {row['final']:.4f} | {fmt(row['total'])} | {fmt(row['train'])} | "
                 f"{fmt(row['score'])} | {fmt(row['select'], 2)} | {fmt(row['eval'])} | "
                 f"{fmt(row['to_target'])} | {saved} |")
  return "\n".join(lines)


def plot_metric_vs_time(histories: Mapping[str, Sequence[Sequence[Mapping]]], metric: str,
                        path: str | pathlib.Path, title: str = "") -> pathlib.Path:
  """PNG of `metric` against wall-clock, one line per run (several seeds drawn faintly)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axis = plt.subplots(figsize=(7, 4.5))
  for color, (name, runs) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4, histories.items()):
    for seed, history in enumerate(runs):
      points = [(r["time/total"], r[metric]) for r in history if metric in r]
      axis.plot(*zip(*points), marker="o", color=color, alpha=1.0 if seed == 0 else 0.35,
                label=name if seed == 0 else None)
  axis.set_xlabel("wall-clock seconds (train + score + select + eval)")
  axis.set_ylabel(metric)
  axis.set_title(title)
  axis.grid(alpha=0.3)
  axis.legend()
  figure.tight_layout()
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  figure.savefig(path, dpi=120)
  plt.close(figure)
  return path
