"""Writing a comparison: one table renderer (`table`) for every table the project prints (results.md,
the README's Results, tuning.md, `make demo`), and a benchmark's files: results.json (everything),
results.md, metric_vs_time.png.

The Markdown is generated from the JSON and the task's notes.md alone (`markdown(record, notes=...)`),
so a recorded result can be re-rendered without re-running anything.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping, Sequence

from attent_jax.benchmark import frontier as frontier_lib
from attent_jax.benchmark import plot
from attent_jax.benchmark import summary as summary_lib

NOTES = "notes.md"  # benchmarks/<task>/notes.md: the findings, prose kept out of the code.


def _num(value, digits: int = 1, signed: bool = False) -> str:
  if value is None:
    return "never"
  return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _cell(spread: Mapping, digits: int = 1, pct: bool = False, signed: bool = False) -> str:
  """'median [min, max] (k/n reached)' over seeds ('k/n reached' only when some never reached); the
  value alone for one run."""
  unit = "%" if pct else ""
  text = _num(spread["median"], digits, signed) + (unit if spread["median"] is not None else "")
  if spread["n"] > 1:
    text += f" [{_num(spread['min'], digits, signed)}, {_num(spread['max'], digits, signed)}]"
    if spread["reached"] < spread["n"]:
      text += f" ({spread['reached']}/{spread['n']} reached)"
  return text


def _gain(method: str, agg: Mapping, summary: Mapping, suffix: str = "") -> str:
  """The gain over the full-data frontier at the run's own wall-clock (`suffix` "_no_eval": seconds
  without evaluation; "_train": training seconds only), with how many were clamped."""
  if summary["frontier"] is None:
    return "frontier not recorded"
  if frontier_lib.is_frontier(method):
    return "(frontier)"
  text = _cell(agg[f"frontier_gain{suffix}"], 4, signed=True)
  clamped = sum(agg[f"frontier_outside{suffix}"].values())
  return text + (f" ({clamped}/{agg['frontier_gain']['n']} clamped)" if clamped else "")


# name -> (header, cell(method, agg, summary, teachers)). `agg` maps each field to a spread.
_Cell = Callable[[str, Mapping, Mapping, Mapping], str]
COLUMNS: dict[str, tuple[str, _Cell]] = {
    "method": ("method", lambda m, a, s, t: m),
    "teacher": ("teacher", lambda m, a, s, t: f"`{t[m]['describe']}`"),
    "final": ("final {metric}", lambda m, a, s, t: _cell(a["final"], 4)),
    "total": ("total s", lambda m, a, s, t: _cell(a["total"])),
    "split": ("train / score / select / eval s", lambda m, a, s, t: " / ".join(
        _num(a[p]["median"], 2 if p == "select" else 1) for p in summary_lib.PHASES)),
    "score": ("score s", lambda m, a, s, t: _cell(a["score"])),
    "examples": ("examples", lambda m, a, s, t: f"{a['examples']['median']:.0f}"),
    "to_seed": ("s to same-seed baseline final", lambda m, a, s, t: _cell(a["to_seed"])),
    "saved_seed": ("saved", lambda m, a, s, t: _cell(a["saved_seed"], 1, True)),
    "to_median": ("s to median baseline final", lambda m, a, s, t: _cell(a["to_median"])),
    "saved_median": ("saved to median baseline final",
                     lambda m, a, s, t: _cell(a["saved_median"], 1, True)),
    "to_median_no_eval": ("s to median baseline final, eval excluded",
                          lambda m, a, s, t: _cell(a["to_median_no_eval"])),
    "saved_median_no_eval": ("saved", lambda m, a, s, t: _cell(a["saved_median_no_eval"], 1, True)),
    "gain": ("gain over the full-data frontier at its wall-clock",
             lambda m, a, s, t: _gain(m, a, s)),
    "gain_no_eval": ("gain over the frontier, eval excluded",
                     lambda m, a, s, t: _gain(m, a, s, "_no_eval")),
    "gain_train": ("gain at equal training seconds (how well it picks; scoring, selection, eval left "
                   "out)", lambda m, a, s, t: _gain(m, a, s, "_train")),
}
MAIN = ("method", "teacher", "final", "total", "split", "examples", "to_seed", "saved_seed",
        "to_median", "saved_median", "gain")
NO_EVAL = ("method", "to_median_no_eval", "saved_median_no_eval", "gain_no_eval", "gain_train")
PER_SEED = ("method", "seed", "final", "total", "score", "to_seed", "saved_seed", "gain")
TUNING = ("method", "teacher", "final", "total", "score", "to_seed", "saved_seed", "gain",
          "gain_train")
README = ("method", "teacher", "final", "total", "saved_median", "gain")
DEMO = ("method", "final", "total", "split", "to_seed", "saved_seed", "gain")


def _one_run(row: Mapping) -> dict:
  """A run's row as an `agg` of one seed: every number a spread of one value."""
  agg = {k: summary_lib.spread([v]) for k, v in row.items() if not k.startswith("frontier_side")}
  for key in (k for k in row if k.startswith("frontier_side")):
    agg[key.replace("side", "outside")] = {side: int(row[key] == side)
                                           for side in (frontier_lib.BEFORE, frontier_lib.AFTER)}
  return agg


def table(summary: Mapping, teachers: Mapping, columns: Sequence[str],
          seeds: Sequence[int] | None = None) -> str:
  """A Markdown table of `summary` (`summary_lib.summarize`): one row per method (medians [min, max]
  over seeds), or with `seeds` one row per method and seed ("seed" among `columns`)."""
  metric = summary["metric"].removeprefix("eval/")
  entries = []
  for method, data in summary["methods"].items():
    if seeds is None:
      entries.append((method, None, data["agg"]))
    else:
      entries += [(method, seed, _one_run(row)) for seed, row in zip(seeds, data["runs"])]
  headers = ["seed" if c == "seed" else COLUMNS[c][0].format(metric=metric) for c in columns]
  lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
  for method, seed, agg in entries:
    cells = [str(seed) if c == "seed" else COLUMNS[c][1](method, agg, summary, teachers)
             for c in columns]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def describe_frontier(summary: Mapping) -> str:
  """The frontier in words: its budgets' median seconds and finals, and what 'gain' means; or plainly
  that it was not recorded."""
  line = summary["frontier"]
  if line is None:
    return ("Full-data frontier: not recorded (this record holds no shorter full-data budgets), so "
            "no run is compared with it.")
  budgets = "; ".join(f"{b['epochs']} epochs ({b['method']}): {b['final']:.4f} in {b['seconds']:.1f} s"
                      for b in line["median"])
  return (f"Full-data frontier (medians over seeds; each budget anneals its learning rate over its own "
          f"epochs): {budgets}. 'gain' is a run's final metric minus the frontier's at the run's own "
          "wall-clock (interpolated linearly in seconds between the budgets of the same seed; for a "
          "loss, the frontier's minus the run's): positive means above the frontier, better than "
          "simply training full data for fewer epochs. 'clamped': the run was faster (or slower) "
          "than every budget of its seed and was compared with the fastest (or slowest) budget's "
          "final, not with an extrapolation.")


def describe_settings(overrides: Mapping) -> str:
  """The config overrides a benchmark ran with, in words ("the config's defaults" when none)."""
  if not overrides:
    return "the config's defaults"
  return f"scaled down for a 2-core CPU, `{json.dumps(overrides)}`"


def _wall(record: Mapping) -> str:
  """Every run's train + score + select + eval + compile seconds, summed."""
  seconds = sum(run["total"] + run["compile"] for method in record["summary"]["methods"].values()
                for run in method["runs"])
  return f"all runs together {seconds:.0f} s of wall-clock, compilation included"


def markdown(record: Mapping, tuning: Mapping | None = None, notes: str = "") -> str:
  """results.md: settings, the command, the machine, the notes (findings), the tables, the frontier,
  the verdict and the tuning runs."""
  m, s = record["machine"], record["summary"]
  packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
  teachers = record["teachers"]
  out = [f"# Benchmark: {record['task']}", "",
         f"Command: `{record['command']}`", "",
         f"Machine: {m['nproc']} cores ({m['platform']}), accelerator: {m['accelerator']}, "
         f"{m['jax_devices']} JAX device(s); load average at start {m['load_average_at_start']} "
         f"(shared machine: timings are noisy, methods interleaved seed-major). Packages: {packages}.",
         "", f"Settings: {describe_settings(record['config_overrides'])}; seeds {record['seeds']}; "
         f"{_wall(record)}.", ""]
  if notes.strip():
    out += [notes.strip(), ""]
  out += [f"Metric: {s['metric']} ({'higher' if s['higher_is_better'] else 'lower'} is better); "
          f"median baseline final {s['median_target']:.4f}. Cells: median [min, max] over seeds. "
          "Seconds are cumulative wall-clock of train + score + select + eval (compilation excluded, "
          "about equal for all methods); 'saved' compares with the baseline's seconds to the same "
          "target.", "", table(s, teachers, MAIN), "", describe_frontier(s), ""]
  if s["frontier"] is not None:
    out += [summary_lib.frontier_sentence(s), ""]
  if record.get("verdict"):
    out += [f"Target for attent_best: {summary_lib.describe_verdict(record['verdict'])}.", ""]
  out += ["Evaluation time left out (and, in the last column, scoring and selection too):", "",
          table(s, teachers, NO_EVAL), "", "Teachers:", ""]
  for method, teacher in teachers.items():
    out.append(f"- {method}: `{teacher['describe']}`" + (f": {teacher['why']}" if teacher["why"] else ""))
  out += ["", "Per seed:", "", table(s, teachers, PER_SEED, seeds=record["seeds"]), ""]
  if tuning is not None:
    out += ["## Tuning the best teacher", "", f"Command: `{tuning['command']}`", "",
            table(tuning["summary"], tuning["teachers"], TUNING), ""]
  return "\n".join(out)


def read_notes(out_dir: str | pathlib.Path) -> str:
  """out_dir/notes.md ("" when there is none)."""
  path = pathlib.Path(out_dir) / NOTES
  return path.read_text() if path.is_file() else ""


def write(record: Mapping, histories: Mapping, out_dir: str | pathlib.Path, *,
          name: str = "results", tuning: Mapping | None = None) -> dict[str, pathlib.Path]:
  """Writes <name>.json (record + histories), <name>.md (with out_dir/notes.md) and, for results,
  metric_vs_time.png."""
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  paths = {"json": out_dir / f"{name}.json", "md": out_dir / f"{name}.md"}
  paths["json"].write_text(json.dumps({**record, "histories": histories}, indent=1))
  summary = record["summary"]
  if name == "results":
    paths["md"].write_text(markdown(record, tuning, read_notes(out_dir)))
    paths["png"] = plot.plot_metric_vs_time(
        histories, summary["metric"], out_dir / "metric_vs_time.png", frontier=summary["frontier"],
        title=f"{record['task']}: {summary['metric']} vs wall-clock ({len(record['seeds'])} seeds)")
  else:
    paths["md"].write_text(f"# Tuning: {record['task']}\n\nCommand: `{record['command']}`\n\n"
                           f"{table(summary, record['teachers'], TUNING)}\n\n"
                           f"{describe_frontier(summary)}\n")
  return paths
