"""The honest benchmark: full data, AtteNT as the paper ran it, the best teacher found, a random subset
on the best teacher's timetable and InfoBatch, side by side on one task, seed-major, scoring included.

    record = benchmark.run_benchmark("vit_fashion_mnist", seeds=3, workdir="runs/bench_vit",
                                     out_dir="benchmarks/vit_fashion_mnist", command="...")

writes out_dir/results.json, results.md, metric_vs_time.png (see `render`). `tune=True` instead runs
the baseline and the task's recorded candidate teachers and writes out_dir/tuning.{json,md}, which
results.md then includes. Per-task settings live in `settings.SETTINGS`.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import Any

from attent_jax.benchmark import render, runner, summary
from attent_jax.benchmark.settings import (
    SETTINGS, SLOTS, TaskSettings, TeacherChoice, build_config, method_teachers, task_settings,
    tuning_teachers)

__all__ = ["SETTINGS", "SLOTS", "TaskSettings", "TeacherChoice", "build_config", "rerender",
           "run_benchmark"]


def run_benchmark(task: str, *, seeds: int, workdir: str | pathlib.Path, out_dir: str | pathlib.Path,
                  command: str, smoke: bool = False, tune: bool = False,
                  methods: tuple[str, ...] = (),
                  extra_overrides: Mapping[str, Any] | None = None) -> dict:
  """Runs the benchmark (or, with `tune`, the tuning runs) of `task` for seeds 0..seeds-1 and writes
  its record to `out_dir`. `methods` keeps only those slots/candidates (plus the baseline), e.g. for a
  quick check. Returns the record (as written to JSON, without the histories)."""
  settings = task_settings(task)
  teachers = tuning_teachers(settings) if tune else method_teachers(settings)
  if methods:
    unknown = sorted(set(methods) - set(teachers))
    if unknown:
      raise ValueError(f"unknown methods {unknown}; expected some of {sorted(teachers)}")
    teachers = {k: v for k, v in teachers.items() if k == "full_data" or k in methods}
  seed_list = list(range(seeds))
  histories, info = runner.run_methods(task, teachers, seed_list, workdir, smoke=smoke,
                                       extra_overrides=extra_overrides)
  record = {
      "task": task, "command": command, "smoke": smoke, "seeds": seed_list,
      "config_overrides": dict(settings.smoke_overrides if smoke else settings.config_overrides),
      "machine": runner.machine(),
      "teachers": {m: {"name": t.name, "overrides": dict(t.overrides), "why": t.why,
                       "describe": t.describe()} for m, t in teachers.items()},
      "configs": info["configs"],
  }
  return _write(record, histories, info["metric"], info["higher_is_better"], out_dir, tune=tune)


def rerender(task: str, out_dir: str | pathlib.Path) -> dict:
  """Re-derives out_dir/results.* of `task` from the histories recorded in its results.json, with
  the summary, verdict and notes of the current code and settings; nothing is re-run."""
  recorded = json.loads((pathlib.Path(out_dir) / "results.json").read_text())
  if recorded["task"] != task:
    raise ValueError(f"{out_dir}/results.json holds task {recorded['task']!r}, not {task!r}")
  histories = recorded.pop("histories")
  metric = recorded["summary"]["metric"]
  higher_is_better = recorded["summary"]["higher_is_better"]
  return _write(recorded, histories, metric, higher_is_better, out_dir, tune=False)


def _write(record: dict, histories, metric: str, higher_is_better: bool,
           out_dir: str | pathlib.Path, *, tune: bool) -> dict:
  """Adds what follows from the histories and the task's settings (summary, verdict, notes) to
  `record` and writes it with `render.write`."""
  settings = task_settings(record["task"])
  table = summary.summarize(histories, metric, higher_is_better)
  record.update(notes=settings.notes, summary=table,
                verdict=None if tune or "attent_best" not in record["teachers"]
                else summary.verdict(table, settings.target))
  out_dir = pathlib.Path(out_dir)
  tuning_path = out_dir / "tuning.json"
  tuning = json.loads(tuning_path.read_text()) if not tune and tuning_path.is_file() else None
  render.write(record, histories, out_dir, name="tuning" if tune else "results", tuning=tuning)
  return record
