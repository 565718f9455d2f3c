"""Writing a benchmark's record: results.json (everything), results.md (tables), metric_vs_time.png.

The Markdown is generated from the JSON alone (`markdown(record)`), so a recorded result can be
re-rendered without re-running anything.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping

from attent_jax import report
from attent_jax.benchmark import summary as summary_lib

_PHASES = ("train", "score", "select", "eval")


def _num(value, digits: int = 1) -> str:
  return "never" if value is None else f"{value:.{digits}f}"


def _cell(spread: Mapping, digits: int = 1, pct: bool = False) -> str:
  """'median [min, max]' (+ 'k/n reached' when some never reached)."""
  unit = "%" if pct else ""
  text = _num(spread["median"], digits) + (unit if spread["median"] is not None else "")
  if spread["n"] > 1:
    text += f" [{_num(spread['min'], digits)}, {_num(spread['max'], digits)}]"
  if spread["reached"] < spread["n"]:
    text += f" ({spread['reached']}/{spread['n']} reached)"
  return text


def results_table(record: Mapping) -> str:
  """One row per method: final metric, wall-clock split, time to the baseline's final and % saved."""
  summary, teachers = record["summary"], record["teachers"]
  metric = summary["metric"].removeprefix("eval/")
  digits = 4
  lines = [
      f"| method | teacher | final {metric} | total s | train / score / select / eval s | examples "
      "| s to same-seed baseline final | saved | s to median baseline final | saved |",
      "|---|---|---|---|---|---|---|---|---|---|"]
  for method, data in summary["methods"].items():
    agg = data["agg"]
    split = " / ".join(_num(agg[p]["median"], 2 if p == "select" else 1) for p in _PHASES)
    lines.append(
        f"| {method} | `{teachers[method]['describe']}` | {_cell(agg['final'], digits)} | "
        f"{_cell(agg['total'])} | {split} | {agg['examples']['median']:.0f} | "
        f"{_cell(agg['to_seed'])} | {_cell(agg['saved_seed'], 1, True)} | "
        f"{_cell(agg['to_median'])} | {_cell(agg['saved_median'], 1, True)} |")
  return "\n".join(lines)


def no_eval_table(record: Mapping) -> str:
  """The same comparison with evaluation time left out (train + score + select only)."""
  lines = ["| method | s to median baseline final, eval excluded | saved |", "|---|---|---|"]
  for method, data in record["summary"]["methods"].items():
    agg = data["agg"]
    lines.append(f"| {method} | {_cell(agg['to_median_no_eval'])} | "
                 f"{_cell(agg['saved_median_no_eval'], 1, True)} |")
  return "\n".join(lines)


def per_seed_table(record: Mapping) -> str:
  summary = record["summary"]
  lines = ["| method | seed | final | total s | score s | s to seed baseline final | saved |",
           "|---|---|---|---|---|---|---|"]
  for method, data in summary["methods"].items():
    for seed, row in zip(record["seeds"], data["runs"]):
      saved = "-" if row["saved_seed"] is None else f"{row['saved_seed']:.1f}%"
      lines.append(f"| {method} | {seed} | {row['final']:.4f} | {row['total']:.1f} | "
                   f"{row['score']:.1f} | {_num(row['to_seed'])} | {saved} |")
  return "\n".join(lines)


def tuning_table(record: Mapping) -> str:
  """The exploratory runs behind the choice of the best teacher (one seed each, usually)."""
  summary, teachers = record["summary"], record["teachers"]
  lines = ["| candidate | teacher | final | total s | score s | s to baseline final | saved |",
           "|---|---|---|---|---|---|---|"]
  for method, data in summary["methods"].items():
    agg = data["agg"]
    lines.append(f"| {method} | `{teachers[method]['describe']}` | {_cell(agg['final'], 4)} | "
                 f"{_cell(agg['total'])} | {_cell(agg['score'])} | {_cell(agg['to_seed'])} | "
                 f"{_cell(agg['saved_seed'], 1, True)} |")
  return "\n".join(lines)


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


def markdown(record: Mapping, tuning: Mapping | None = None) -> str:
  """results.md: settings, the command, the machine, the tables, the verdict and the tuning runs."""
  m, s = record["machine"], record["summary"]
  packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
  out = [f"# Benchmark: {record['task']}", "",
         f"Command: `{record['command']}`", "",
         f"Machine: {m['nproc']} cores ({m['platform']}), accelerator: {m['accelerator']}, "
         f"{m['jax_devices']} JAX device(s); load average at start {m['load_average_at_start']} "
         f"(shared machine: timings are noisy, methods interleaved seed-major). Packages: {packages}.",
         "", f"Settings: {describe_settings(record['config_overrides'])}; seeds {record['seeds']}; "
         f"{_wall(record)}.", ""]
  if record.get("notes"):
    out += [record["notes"], ""]
  out += [f"Metric: {s['metric']} ({'higher' if s['higher_is_better'] else 'lower'} is better); "
          f"median baseline final {s['median_target']:.4f}. Cells: median [min, max] over seeds. "
          "Seconds are cumulative wall-clock of train + score + select + eval (compilation excluded, "
          "about equal for all methods); 'saved' compares with the baseline's seconds to the same "
          "target.", "", results_table(record), ""]
  if record.get("verdict"):
    out += [f"Target for attent_best: {summary_lib.describe_verdict(record['verdict'])}.", ""]
  out += ["Evaluation time left out:", "", no_eval_table(record), "", "Teachers:", ""]
  for method, teacher in record["teachers"].items():
    out.append(f"- {method}: `{teacher['describe']}`" + (f": {teacher['why']}" if teacher["why"] else ""))
  out += ["", "Per seed:", "", per_seed_table(record), ""]
  if tuning is not None:
    out += ["## Tuning the best teacher", "", f"Command: `{tuning['command']}`", "",
            tuning_table(tuning), ""]
  return "\n".join(out)


def write(record: Mapping, histories: Mapping, out_dir: str | pathlib.Path, *,
          name: str = "results", tuning: Mapping | None = None) -> dict[str, pathlib.Path]:
  """Writes <name>.json (record + histories), <name>.md and, for results, metric_vs_time.png."""
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  paths = {"json": out_dir / f"{name}.json", "md": out_dir / f"{name}.md"}
  paths["json"].write_text(json.dumps({**record, "histories": histories}, indent=1))
  if name == "results":
    paths["md"].write_text(markdown(record, tuning))
    paths["png"] = report.plot_metric_vs_time(
        histories, record["summary"]["metric"], out_dir / "metric_vs_time.png",
        title=f"{record['task']}: {record['summary']['metric']} vs wall-clock "
              f"({len(record['seeds'])} seeds)")
  else:
    paths["md"].write_text(f"# Tuning: {record['task']}\n\nCommand: `{record['command']}`\n\n"
                           f"{tuning_table(record)}\n")
  return paths
