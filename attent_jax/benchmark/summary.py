"""From per-seed histories to the numbers a results table shows: per run, then median and spread. The
one summary of runs, used by the benchmark and by `make demo` alike.

Pure functions of `attent_jax.train.run` histories (one record per evaluation, with "time/<phase>" and
"time/total" cumulative seconds). Wall-clock always includes scoring and selection. Two targets per run:
the same seed's baseline final metric, and the median over seeds of the baseline's final metric.
"Saved" has one meaning: a run's seconds to reach a target against the baseline's seconds to reach the
same target (never the baseline's total seconds, which would flatter a run when the baseline peaks
early). "Never" (the run did not reach it) counts as +inf in medians. When two or more full-data budgets
are recorded (methods whose key starts with "full_data"), every other run also gets its gain over the
full-data frontier at its own wall-clock (`frontier`), per seed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from attent_jax.benchmark import frontier as frontier_lib
from attent_jax.train.timing import PHASES

Histories = Mapping[str, Sequence[Sequence[Mapping]]]  # method -> one history per seed (seed order).


def reached(value: float, target: float, higher_is_better: bool) -> bool:
  return value >= target if higher_is_better else value <= target


def final_value(history: Sequence[Mapping], metric: str) -> float:
  """The last evaluation's `metric`."""
  return float([r[metric] for r in history if metric in r][-1])


def _time_without_eval(record: Mapping) -> float:
  return float(record["time/total"]) - float(record.get("time/eval", 0.0))


# The clocks a run is compared with the frontier on, by the suffix of its row's fields: wall-clock
# (the figure of merit); without evaluation; training steps only (how well a teacher picks, apart
# from what scoring and selection cost: a diagnostic). Each reads a cumulative history record.
CLOCKS = {"": lambda record: float(record["time/total"]),
          "_no_eval": _time_without_eval,
          "_train": lambda record: float(record.get("time/train", 0.0))}


def time_to(history: Sequence[Mapping], metric: str, target: float, higher_is_better: bool, *,
            include_eval: bool = True) -> float | None:
  """Seconds at the first evaluation reaching `target` (eval time included or not); None if never."""
  for record in history:
    if metric in record and reached(record[metric], target, higher_is_better):
      return float(record["time/total"]) if include_eval else _time_without_eval(record)
  return None


def _saved(seconds: float | None, base_seconds: float | None) -> float | None:
  if seconds is None or not base_seconds:
    return None
  return 100.0 * (1.0 - seconds / base_seconds)


def run_row(history: Sequence[Mapping], baseline: Sequence[Mapping], median_target: float,
            metric: str, higher_is_better: bool,
            frontier_points: Mapping[str, Sequence[tuple[float, float]]] | None = None) -> dict:
  """One run against its seed's baseline, the median-baseline target and, given the same seed's
  frontier points ({suffix of `CLOCKS`: (seconds, final) per full-data budget}), the frontier on
  each clock: "frontier_gain" at its own wall-clock, "frontier_gain_no_eval" with every run's
  evaluation time left out (evaluation runs once per epoch, so it costs a many-epoch subset run
  more than a full-data run of the same training seconds), "frontier_gain_train" at equal training
  seconds (scoring and selection left out too; a diagnostic: the wall-clock gain is the one that
  counts), each with its "frontier_side<suffix>". Without frontier points, "frontier_gain" and
  "frontier_side" are None."""
  last = history[-1]
  seed_target = final_value(baseline, metric)
  row = {"final": final_value(history, metric),
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
  if frontier_points is None:
    row["frontier_gain"], row["frontier_side"] = None, None
  else:
    for suffix, clock in CLOCKS.items():
      row[f"frontier_gain{suffix}"], row[f"frontier_side{suffix}"] = frontier_lib.gain(
          frontier_points[suffix], clock(last), row["final"], higher_is_better)
  return row


def frontier(histories: Histories, metric: str) -> dict | None:
  """The full-data frontier as recorded: {"methods", "epochs" (ascending), "points": per seed, the
  (seconds, final) of each budget, "points_no_eval" and "points_train": the same on the other
  `CLOCKS`, "median": per budget {"method", "epochs", "seconds", "final"} (medians over seeds)}.
  None when fewer than two full-data budgets are recorded."""
  methods = [m for m in histories if frontier_lib.is_frontier(m)]
  if len(methods) < 2:
    return None
  seeds = {len(histories[m]) for m in methods}
  if len(seeds) != 1:
    raise ValueError(f"frontier budgets {methods} hold different numbers of seeds")
  methods.sort(key=lambda m: histories[m][0][-1]["epoch"])
  count = seeds.pop()
  on_clock = {f"points{suffix}": [[(clock(histories[m][seed][-1]),
                                      final_value(histories[m][seed], metric)) for m in methods]
                                    for seed in range(count)]
              for suffix, clock in CLOCKS.items()}
  points = on_clock["points"]
  median = [{"method": m, "epochs": int(histories[m][0][-1]["epoch"]),
             "seconds": statistics.median(p[i][0] for p in points),
             "final": statistics.median(p[i][1] for p in points)} for i, m in enumerate(methods)]
  return {"methods": methods, "epochs": [b["epochs"] for b in median], **on_clock, "median": median}


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
  """{"metric", "higher_is_better", "median_target", "frontier" (`frontier`, or None when not
  recorded), "methods": {method: {"runs": [row per seed], "agg": {field: spread}}}}. A frontier
  budget's own rows carry no frontier gain (None): they are the frontier."""
  base_runs = histories[baseline]
  median_target = statistics.median(final_value(h, metric) for h in base_runs)
  line = frontier(histories, metric)
  methods = {}
  for method, runs in histories.items():
    compare = line is not None and not frontier_lib.is_frontier(method)
    if compare and len(runs) > len(line["points"]):
      raise ValueError(f"{method} has {len(runs)} seeds, the frontier only {len(line['points'])}")
    points = lambda seed: {suffix: line[f"points{suffix}"][seed] for suffix in CLOCKS}  # noqa: E731
    rows = [run_row(h, base_runs[seed], median_target, metric, higher_is_better,
                    points(seed) if compare else None) for seed, h in enumerate(runs)]
    agg = {}
    for field in rows[0]:
      if field.startswith("frontier_side"):  # -> frontier_outside[_no_eval]: runs per side
        sides = [r[field] for r in rows]
        agg[field.replace("side", "outside")] = {
            side: sides.count(side) for side in (frontier_lib.BEFORE, frontier_lib.AFTER)}
        continue
      # A missing time means "never": high. A missing saving (or gain) means "never": low.
      agg[field] = spread([r[field] for r in rows],
                          none_is_high=not field.startswith(("saved", "frontier")))
    methods[method] = {"runs": rows, "agg": agg}
  return {"metric": metric, "higher_is_better": higher_is_better, "median_target": median_target,
          "frontier": line, "methods": methods}


def verdict(summary: Mapping, target, best: str = "attent_best", random: str = "random_subset",
            baseline: str = "full_data") -> dict:
  """Whether `best` met the task's `settings.Target`, with the figures that decide it (medians).

  "Ahead of the random subset" means reaching the median baseline's final metric sooner; when neither
  reaches it, ending with the better final metric. The gain over the full-data frontier is reported
  whenever the frontier is recorded ("frontier_gain" None when not); with `target.above_frontier` it
  must be positive on every seed, and a frontier not recorded cannot meet it ("frontier_ok" None)."""
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
  if summary["frontier"] is None:
    checks["frontier_gain"] = None
    if target.above_frontier:
      checks["frontier_ok"] = None
  else:
    gains = [row["frontier_gain"] for row in methods[best]["runs"]]
    checks.update(frontier_gain=mine["frontier_gain"]["median"], frontier_gain_min=min(gains),
                  frontier_seeds_above=sum(g > 0 for g in gains), frontier_seeds=len(gains),
                  frontier_outside=dict(mine["frontier_outside"]))
    if "frontier_gain_no_eval" in mine:  # Reported beside the verdict; it does not decide it.
      no_eval = [row["frontier_gain_no_eval"] for row in methods[best]["runs"]]
      checks.update(frontier_gain_no_eval=mine["frontier_gain_no_eval"]["median"],
                    frontier_seeds_above_no_eval=sum(g > 0 for g in no_eval))
    if target.above_frontier:
      checks["frontier_ok"] = all(g > 0 for g in gains)
  checks["met"] = all(v is True for k, v in checks.items() if k.endswith("_ok"))
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
  parts.append(describe_frontier_gain(verdict))
  return "; ".join(parts)


def describe_frontier_gain(verdict: Mapping) -> str:
  """The frontier part of `describe_verdict`: median and lowest gain, seeds above, runs outside."""
  text = "gain over the full-data frontier at its own wall-clock: "
  if verdict["frontier_gain"] is None:
    text += "frontier not recorded"
  else:
    text += (f"median {verdict['frontier_gain']:+.4f}, lowest {verdict['frontier_gain_min']:+.4f}, "
             f"above it on {verdict['frontier_seeds_above']}/{verdict['frontier_seeds']} seeds")
    text += outside_note(verdict["frontier_outside"])
  if "frontier_ok" in verdict:
    outcome = {True: "met", False: "MISSED", None: "not shown"}[verdict["frontier_ok"]]
    text += f" (target: above it on every seed), {outcome}"
  if verdict.get("frontier_gain_no_eval") is not None:
    text += (f"; with evaluation time left out: median {verdict['frontier_gain_no_eval']:+.4f}, "
             f"above it on {verdict['frontier_seeds_above_no_eval']}/"
             f"{verdict['frontier_seeds']} seeds")
  return text


def frontier_sentence(summary: Mapping) -> str:
  """Plainly: which methods end above the full-data frontier at their own wall-clock (median gain over
  seeds above 0), or that none does, or that the frontier was not recorded."""
  if summary["frontier"] is None:
    return "The full-data frontier was not recorded: no teacher is compared with it."
  gains = {method: data["agg"] for method, data in summary["methods"].items()
           if not frontier_lib.is_frontier(method)}
  listing = ", ".join(f"{method} {agg['frontier_gain']['median']:+.4f}"
                      + outside_note(agg["frontier_outside"]) for method, agg in gains.items())
  above = [method for method, agg in gains.items() if agg["frontier_gain"]["median"] > 0]
  if not above:
    return ("No teacher beats the full-data frontier: at its own wall-clock each ends at or below "
            "what full data reaches in the same time with fewer epochs (gain: "
            f"{listing}). Training on full data for fewer epochs does as well or better here.")
  return (f"Above the full-data frontier at their own wall-clock: {', '.join(above)} (gain: "
          f"{listing}).")


def outside_note(outside: Mapping[str, int]) -> str:
  """" (k run(s) faster than every budget, ...)" for runs compared with an end of the frontier (not
  extrapolated), or ""."""
  words = {frontier_lib.BEFORE: "faster than every budget, compared with the fastest one's final",
           frontier_lib.AFTER: "slower than every budget, compared with the slowest one's final"}
  notes = [f"{n} run{'s' if n > 1 else ''} {words[side]}" for side, n in outside.items() if n]
  return f" ({'; '.join(notes)})" if notes else ""
