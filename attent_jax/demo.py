"""The main job, at a glance: does a teacher pay on the default ViT config?

The runs are the ViT benchmark's seed-0 runs of the same methods (`attent_jax.benchmark`, task
vit_fashion_mnist): the full-data frontier (full data at 50%, 75% and 100% of the config's epochs,
each annealing its learning rate over its own budget), the paper's from-scratch recipe (attent_paper)
and the best teacher found by the recorded tuning runs (attent_best). One table, one plot, and one
sentence that says plainly whether any teacher ends above the frontier at its own wall-clock.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from attent_jax.benchmark import plot, render, runner, summary
from attent_jax.benchmark import settings as settings_lib
from attent_jax.data.builders import fashion_mnist_local

TASK = "vit_fashion_mnist"
TEACHERS = ("attent_paper", "attent_best")  # Besides the frontier.
SEED = 0


def demo_teachers(budgets: Sequence[float] = (), *, smoke: bool = False,
                  extra_overrides: Mapping[str, Any] | None = None
                  ) -> dict[str, settings_lib.TeacherChoice]:
  """The demo's methods in running order: the frontier at `budgets` (fractions of the config's epochs;
  default the benchmark's), then `TEACHERS`."""
  settings = settings_lib.task_settings(TASK)
  fractions = tuple(budgets) or (settings.smoke_frontier if smoke else settings.frontier)
  frontier = settings_lib.frontier_teachers(
      fractions, settings_lib.config_epochs(TASK, smoke=smoke, extra_overrides=extra_overrides))
  return {method: teacher for method, teacher in settings_lib.method_teachers(settings, frontier).items()
          if method in frontier or method in TEACHERS}


def _data_overrides(fashion_mnist_dir: str) -> dict[str, Any]:
  if pathlib.Path(fashion_mnist_dir).is_dir():
    return {"data.source_dir": fashion_mnist_dir}
  print(f"{fashion_mnist_dir} is missing: falling back to the tfds catalog download of fashion_mnist")
  return {"data.name": "fashion_mnist"}


def run_demo(workdir: str | pathlib.Path, *,
             fashion_mnist_dir: str = fashion_mnist_local.DEFAULT_DIR, smoke: bool = False,
             budgets: Sequence[float] = (),
             extra_overrides: Mapping[str, Any] | None = None) -> dict:
  """Trains every demo run (resuming any that were interrupted, reading back finished ones), prints
  the table and the verdict on the frontier, writes the plot. Returns `summary.summarize`'s table.
  `extra_overrides`: dotted config keys applied to every run (tests point data directories here)."""
  workdir = pathlib.Path(workdir)
  overrides = {**_data_overrides(fashion_mnist_dir), **(extra_overrides or {})}
  teachers = demo_teachers(budgets, smoke=smoke, extra_overrides=overrides)
  histories, info = runner.run_methods(TASK, teachers, [SEED], workdir, smoke=smoke,
                                       extra_overrides=overrides, progress=True)
  table = summary.summarize(histories, info["metric"], info["higher_is_better"])
  described = {method: {"describe": teacher.describe()} for method, teacher in teachers.items()}
  print("\nTest accuracy and wall-clock in seconds (total = train + score + select + eval; "
        "compilation excluded). 'saved': 1 - (seconds to the full-data run's final accuracy) / (the "
        "full-data run's seconds to it). 'gain': final accuracy minus the full-data frontier's at "
        "the run's own wall-clock.\n")
  print(render.table(table, described, render.DEMO))
  print("\n" + "\n".join(f"- {method}: {d['describe']}" for method, d in described.items()))
  print("\n" + render.describe_frontier(table))
  print("\n" + summary.frontier_sentence(table))
  path = plot.plot_metric_vs_time(histories, info["metric"], workdir / "accuracy_vs_time.png",
                                  frontier=table["frontier"],
                                  title="ViT on Fashion-MNIST: the full-data frontier and AtteNT")
  print(f"\nPlot of test accuracy against wall-clock: {path}")
  return table
