"""From per-seed histories to the numbers a results table shows: per run, then median and spread.

Pure functions of `attent_jax.train.run` histories (one record per evaluation, with "time/<phase>" and
"time/total" cumulative seconds). Wall-clock always includes scoring and selection. Two targets per run:
the same seed's baseline final metric, and the median over seeds of the baseline's final metric.
"Saved" compares a run's seconds to reach a target with the baseline's seconds to reach the same
target (so a baseline that peaks early is not flattered). "Never" (the run did not reach it) counts as
+inf in medians.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from attent_jax import report

PHASES = ("train", "score", "select", "eval")
Histories = Mapping[str, Sequence[Sequence[Mapping]]]  # method -> one history per seed (seed order).


def _time_without_eval(record: Mapping) -> float:
  return float(record["time/total"]) - float(record.get("time/eval", 0.0))


def time_to(history: Sequence[Mapping], metric: str, target: float, higher_is_better: bool, *,
            include_eval: bool = True) -> float | None:
  """Seconds at the first evaluation reaching `target` (eval time included or not); None if never."""
  for record in history:
    if metric in record and report.reached(record[metric], target, higher_is_better):
      return float(record["time/total"]) if include_eval else _time_without_eval(record)
  return None


def _saved(seconds: float | None, base_seconds: float | None) -> float | None:
  if seconds is None or not base_seconds:
    return None
  return 100.0 * (1.0 - seconds / base_seconds)


def run_row(history: Sequence[Mapping], baseline: Sequence[Mapping], median_target: float,
            metric: str, higher_is_better: bool) -> dict:
  """One run against its seed's baseline and the median-baseline target."""
  last = history[-1]
  seed_target = report.final_value(baseline, metric)
  row = {"final": report.final_value(history, metric),
         **{phase: float(last.get(f"time/{phase}", 0.0)) for phase in PHASES},
         "total": float(last["time/total"]), "compile": float(last.get("time/compile", 0.0)),
         "examples": int(sum(r.get("examples", 0) for r in history)),
         "seed_target": seed_target, "median_target": median_target}
  for name, target in (("seed", seed_target), ("median", median_target)):
    for suffix, include_eval in (("", True), ("_no_eval", False)):
      mine = time_to(history, metric, target, higher_is_better, include_eval=include_eval)
      base = time_to(baseline, metric, target, higher_is_better, include_eval=include_eval)
      row[f"to_{name}{suffix}"] = mine
      row[f"saved_{name}{suffix}"] = _saved(mine, base)
  return row


def spread(values: Sequence[float | None], *, none_is_high: bool = True) -> dict:
  """median, min, max and how many were not None; None counts as +inf (or -inf) in the order."""
  fill = math.inf if none_is_high else -math.inf
  filled = sorted(fill if v is None else float(v) for v in values)
  as_value = lambda x: None if math.isinf(x) else x  # noqa: E731
  return {"median": as_value(statistics.median(filled)), "min": as_value(filled[0]),
          "max": as_value(filled[-1]), "reached": sum(v is not None for v in values),
          "n": len(values)}


def summarize(histories: Histories, metric: str, higher_is_better: bool,
              baseline: str = "full_data") -> dict:
  """{"median_target", "methods": {method: {"runs": [row per seed], "agg": {field: spread}}}}."""
  base_runs = histories[baseline]
  median_target = statistics.median(report.final_value(h, metric) for h in base_runs)
  methods = {}
  for method, runs in histories.items():
    rows = [run_row(h, base_runs[seed], median_target, metric, higher_is_better)
            for seed, h in enumerate(runs)]
    agg = {}
    for field in rows[0]:
      # A missing time means "never": high. A missing saving means "never": low.
      agg[field] = spread([r[field] for r in rows], none_is_high=not field.startswith("saved"))
    methods[method] = {"runs": rows, "agg": agg}
  return {"metric": metric, "higher_is_better": higher_is_better, "median_target": median_target,
          "methods": methods}


def verdict(summary: Mapping, target, best: str = "attent_best", random: str = "random_subset",
            baseline: str = "full_data") -> dict:
  """Whether `best` met the task's `settings.Target`, with the figures that decide it (medians).

  "Ahead of the random subset" means reaching the median baseline's final metric sooner; when neither
  reaches it, ending with the better final metric."""
  methods = summary["methods"]
  mine, base = methods[best]["agg"], methods[baseline]["agg"]
  sign = 1.0 if summary["higher_is_better"] else -1.0
  saved = mine["saved_median"]["median"]
  checks = {"saved_pct": saved, "min_saved_pct": target.min_saved_pct,
            "saved_ok": saved is not None and saved >= target.min_saved_pct}
  if target.max_final_drop is not None:
    drop = sign * (base["final"]["median"] - mine["final"]["median"])
    checks.update(final_drop=drop, max_final_drop=target.max_final_drop,
                  final_ok=drop <= target.max_final_drop + 1e-12)
  if target.beat_random and random in methods:
    theirs_agg = methods[random]["agg"]
    theirs, ours = theirs_agg["to_median"]["median"], mine["to_median"]["median"]
    if ours is None and theirs is None:
      random_ok = sign * (mine["final"]["median"] - theirs_agg["final"]["median"]) > 0
    else:
      random_ok = ours is not None and (theirs is None or ours < theirs)
    checks.update(random_to_target=theirs, random_final=theirs_agg["final"]["median"],
                  random_ok=random_ok)
  checks["met"] = all(v for k, v in checks.items() if k.endswith("_ok"))
  return checks


def describe_verdict(verdict: Mapping) -> str:
  """One line: each check of `verdict` with its figure, its limit and whether it passed."""
  saved = "never reached" if verdict["saved_pct"] is None else f"{verdict['saved_pct']:.1f}%"
  parts = [f"wall-clock saved to the median baseline's final: {saved} (target "
           f"{verdict['min_saved_pct']:g}%), {'met' if verdict['saved_ok'] else 'MISSED'}"]
  if "final_drop" in verdict:
    parts.append(f"final below the baseline's by {verdict['final_drop']:.4f} (at most "
                 f"{verdict['max_final_drop']:g}), {'met' if verdict['final_ok'] else 'MISSED'}")
  if "random_ok" in verdict:
    to_target = verdict["random_to_target"]
    theirs = "never reached the target" if to_target is None else f"reached it in {to_target:.1f} s"
    parts.append(f"ahead of the random subset ({theirs}, final {verdict['random_final']:.4f}): "
                 f"{'yes' if verdict['random_ok'] else 'NO'}")
  return "; ".join(parts)
