"""The honest benchmark: the full-data frontier (full data at several epoch budgets), AtteNT as the
paper ran it, the best teacher found, a random subset on the best teacher's timetable and InfoBatch,
side by side on one task, seed-major, scoring included.

    record = benchmark.run_benchmark("vit_fashion_mnist", seeds=3, workdir="runs/bench_vit",
                                     out_dir="benchmarks/vit_fashion_mnist", command="...")

writes out_dir/results.json, results.md, metric_vs_time.png (see `render`; the findings come from
out_dir/notes.md). `tune=True` instead runs the frontier and the task's recorded candidate teachers and
writes out_dir/tuning.{json,md}, which results.md then includes. Per-task settings live in
`settings.SETTINGS`.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from attent_jax.benchmark import render, runner, summary
from attent_jax.benchmark.settings import (
    SETTINGS, SLOTS, TaskSettings, TeacherChoice, build_config, config_epochs, frontier_teachers,
    method_teachers, task_settings, tuning_teachers)

__all__ = ["SETTINGS", "SLOTS", "TaskSettings", "TeacherChoice", "build_config", "rerender",
           "run_benchmark"]


def run_benchmark(task: str, *, seeds: int, workdir: str | pathlib.Path, out_dir: str | pathlib.Path,
                  command: str, smoke: bool = False, tune: bool = False,
                  methods: tuple[str, ...] = (), budgets: Sequence[float] = (),
                  extra_overrides: Mapping[str, Any] | None = None) -> dict:
  """Runs the benchmark (or, with `tune`, the tuning runs) of `task` for seeds 0..seeds-1 and writes
  its record to `out_dir`. `budgets`: the full-data frontier's fractions of the config's epochs
  (default the task's `frontier`, or `smoke_frontier`; the baseline's 1.0 always runs). `methods`
  keeps only those methods (plus the baseline), e.g. for a quick check. Returns the record (as written
  to JSON, without the histories)."""
  settings = task_settings(task)
  fractions = tuple(budgets) or (settings.smoke_frontier if smoke else settings.frontier)
  frontier = frontier_teachers(fractions, config_epochs(task, smoke=smoke,
                                                        extra_overrides=extra_overrides))
  teachers = tuning_teachers(settings, frontier) if tune else method_teachers(settings, frontier)
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
      "frontier_budgets": list(fractions), "machine": runner.machine(),
      "teachers": {m: _teacher_record(t) for m, t in teachers.items()},
      "configs": info["configs"],
      **({"holdout_seconds": info["holdout_seconds"]} if "holdout_seconds" in info else {}),
  }
  return _write(record, histories, info["metric"], info["higher_is_better"], out_dir, tune=tune)


def _teacher_record(teacher: TeacherChoice) -> dict:
  return {"name": teacher.name, "overrides": dict(teacher.overrides), "epochs": teacher.epochs,
          "config": dict(teacher.config),
          "why": teacher.why, "describe": teacher.describe()}


def rerender(task: str, out_dir: str | pathlib.Path) -> dict:
  """Re-derives out_dir/results.* of `task` from the histories recorded in its results.json, with
  the summary, verdict, teachers' reasons and notes.md of the current code and settings; nothing is
  re-run. A record without shorter full-data budgets stays without a frontier (never invented)."""
  recorded = json.loads((pathlib.Path(out_dir) / "results.json").read_text())
  if recorded["task"] != task:
    raise ValueError(f"{out_dir}/results.json holds task {recorded['task']!r}, not {task!r}")
  histories = recorded.pop("histories")
  metric = recorded["summary"]["metric"]
  higher_is_better = recorded["summary"]["higher_is_better"]
  settings = task_settings(task)
  current = {**settings.candidates, "attent_paper": settings.paper, "attent_best": settings.best}
  for method, teacher in recorded["teachers"].items():
    if method in current and current[method].describe() == teacher["describe"]:
      teacher["why"] = current[method].why  # The same teacher; its reason as the settings now say.
  return _write(recorded, histories, metric, higher_is_better, out_dir, tune=False)


def _resummarized(record: Mapping, metric: str, higher_is_better: bool) -> dict:
  """`record` (a recorded tuning.json) with its summary re-derived from its histories."""
  return {**record, "summary": summary.summarize(record["histories"], metric, higher_is_better)}


def _write(record: dict, histories, metric: str, higher_is_better: bool,
           out_dir: str | pathlib.Path, *, tune: bool) -> dict:
  """Adds what follows from the histories and the task's settings (summary, verdict) to `record`
  and writes it with `render.write` (which reads out_dir/notes.md)."""
  settings = task_settings(record["task"])
  table = summary.summarize(histories, metric, higher_is_better)
  record.pop("notes", None)  # Recorded before notes.md held them.
  record.update(summary=table,
                verdict=None if tune or "attent_best" not in record["teachers"]
                else summary.verdict(table, settings.target))
  out_dir = pathlib.Path(out_dir)
  tuning_path = out_dir / "tuning.json"
  tuning = (_resummarized(json.loads(tuning_path.read_text()), metric, higher_is_better)
            if not tune and tuning_path.is_file() else None)
  render.write(record, histories, out_dir, name="tuning" if tune else "results", tuning=tuning)
  return record
