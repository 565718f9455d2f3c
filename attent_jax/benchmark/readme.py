"""The README's "Results" section, generated from the recorded benchmark files (never typed by hand).

    python -m attent_jax.benchmark.readme            # prints the section (Markdown)
    python -m attent_jax.benchmark.readme --write    # replaces README.md's "## Results" section

First a table of every task at a glance (attent_best against full data and the frontier, the
teacher with the highest gain, the target). Then for each benchmarks/<task>/results.json: the command
that regenerates it, the machine, per method the median final metric, the median share of wall-clock
saved to the median baseline's final metric and the gain over the full-data frontier at the method's
own wall-clock (or that the frontier was not recorded), the findings of benchmarks/<task>/notes.md and
the plot; then benchmarks/scoring_cost.md's command and tables. A test checks that README.md's
section equals what this module generates.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Mapping, Sequence

from attent_jax.benchmark import frontier as frontier_lib
from attent_jax.benchmark import render
from attent_jax.benchmark import settings as settings_lib
from attent_jax.benchmark import summary as summary_lib

# These first, in this order (a missing one is named as not benchmarked yet); any other recorded task
# (benchmarks/<task>/results.json) follows in name order.
_ORDER = ("vit_fashion_mnist", "vit_fashion_mnist_converged", "vit_fashion_mnist_noisy", "gpt_pycode",
          "gpt_lora", "mae_fashion_mnist", "mae_fashion_mnist_converged", "llama_sft")


def task_section(record: Mapping, notes: str = "") -> str:
  """One task's part of the section: its command, `render.README` table, frontier, verdict, `notes`
  (its notes.md) and plot."""
  s, m = record["summary"], record["machine"]
  metric = s["metric"].removeprefix("eval/")
  lines = [f"### {record['task']}", "",
           f"`{record['command']}` (settings: {render.describe_settings(record['config_overrides'])}; seeds "
           f"{record['seeds']}; {m['nproc']} cores, accelerator {m['accelerator']}; details, split "
           f"by phase, per seed: benchmarks/{record['task']}/results.md)", "",
           render.table(s, record["teachers"], render.README), "", render.describe_frontier(s)]
  verdict = record.get("verdict")
  if verdict:
    lines += ["", f"Target {'met' if verdict['met'] else 'missed'}: "
              f"{summary_lib.describe_verdict(verdict)}."]
  if notes.strip():
    lines += ["", notes.strip()]
  if not record.get("smoke"):
    lines += ["", f"![{record['task']}: {metric} against wall-clock, every method and seed]"
              f"(benchmarks/{record['task']}/metric_vs_time.png)"]
  return "\n".join(lines)


def _gain_cell(method: Mapping, higher_is_better: bool) -> str:
  """A method's median gain over the frontier in the metric's units (points of accuracy, or nats of
  loss) and on how many seeds it is above the frontier."""
  gain, runs = method["agg"]["frontier_gain"]["median"], method["runs"]
  above = sum(run["frontier_gain"] > 0 for run in runs)
  text = f"{100 * gain:+.2f} points" if higher_is_better else f"{gain:+.3f} nats"
  return f"{text} ({above}/{len(runs)} seeds above)"


def glance_table(records: Sequence[Mapping]) -> str:
  """One row per task with a recorded frontier: attent_best's median final against full data's, its
  median wall-clock as a share of full data's, its median gain over the frontier (seeds above it),
  the teacher (any method but the frontier's budgets) with the highest median gain, and whether the
  task's target was met."""
  lines = ["| task | attent_best final / full data's | attent_best wall-clock / full data's | "
           "attent_best gain over the frontier | highest gain of any teacher | target |",
           "|---|---|---|---|---|---|"]
  for record in records:
    s, verdict = record["summary"], record.get("verdict")
    if s["frontier"] is None or "attent_best" not in s["methods"]:
      continue
    best, base = s["methods"]["attent_best"]["agg"], s["methods"][settings_lib.BASELINE]["agg"]
    teachers = {m: d for m, d in s["methods"].items() if not frontier_lib.is_frontier(m)}
    top = max(teachers, key=lambda m: teachers[m]["agg"]["frontier_gain"]["median"])
    lines.append(
        f"| {record['task']} | {best['final']['median']:.4f} / {base['final']['median']:.4f} | "
        f"{best['total']['median'] / base['total']['median']:.2f} | "
        f"{_gain_cell(s['methods']['attent_best'], s['higher_is_better'])} | "
        f"{top}: {_gain_cell(teachers[top], s['higher_is_better'])} | "
        f"{'—' if verdict is None else 'met' if verdict['met'] else 'missed'} |")
  return "\n".join(lines)


def results_section(benchmarks_dir: str | pathlib.Path = "benchmarks") -> str:
  root = pathlib.Path(benchmarks_dir)
  recorded = {path.parent.name for path in root.glob("*/results.json")}
  present = [t for t in _ORDER if t in recorded] + sorted(recorded - set(_ORDER))
  out = ["## Results", "",
         "Generated by `python -m attent_jax.benchmark.readme` from the recorded files under "
         "benchmarks/. A task scaled down to fit a shared 2-core CPU says how in its settings "
         "(pool limits, epochs); wall-clock includes scoring and selection; methods interleaved "
         "seed-major. Cells: median [min, max] over seeds. 'saved' = 1 - (seconds to reach the median "
         "baseline's final metric) / (the baseline's seconds to reach it). 'gain' = the final metric "
         "minus the full-data frontier's at the method's own wall-clock (full data trained for fewer "
         "epochs, each budget annealing its learning rate over its own epochs; positive = above it): "
         "a teacher pays only if it beats simply training for fewer epochs."]
  missing = [t for t in _ORDER if t not in present]
  if missing:
    out += ["", f"Not benchmarked yet: {', '.join(missing)}."]
  records = {task: json.loads((root / task / "results.json").read_text()) for task in present}
  out += ["", "At a glance (medians over seeds; wall-clock includes scoring, selection and "
          "evaluation; 'target': every clause of the task's target in "
          "attent_jax/benchmark/settings.py, which its section below spells out with the details "
          "and the findings):", "",
          glance_table(list(records.values()))]
  for task in present:
    out += ["", task_section(records[task], render.read_notes(root / task))]
  cost = root / "scoring_cost.md"
  if cost.is_file():
    body = cost.read_text().split("\n", 1)[1].strip()  # Without its own title.
    out += ["", "### Scoring cost (benchmarks/scoring_cost.md)", "", body]
  return "\n".join(out) + "\n"


def replace_section(readme_text: str, section: str) -> str:
  """`readme_text` with its "## Results" section (up to the next "## " heading) replaced by
  `section`, or with `section` appended when it has none."""
  start = readme_text.find("\n## Results\n")
  if start < 0:
    return readme_text.rstrip("\n") + "\n\n" + section
  end = readme_text.find("\n## ", start + 1)
  rest = "" if end < 0 else readme_text[end:]
  return readme_text[:start + 1] + section + rest


def readme_section(readme_text: str) -> str:
  """The "## Results" section of `readme_text` as `results_section` writes it ("" if none)."""
  start = readme_text.find("\n## Results\n")
  if start < 0:
    return ""
  end = readme_text.find("\n## ", start + 1)
  return readme_text[start + 1:] if end < 0 else readme_text[start + 1:end]


if __name__ == "__main__":
  if "--write" in sys.argv[1:]:
    path = pathlib.Path("README.md")
    path.write_text(replace_section(path.read_text(), results_section()))
    print(f"rewrote the Results section of {path}")
  else:
    print(results_section(), end="")
