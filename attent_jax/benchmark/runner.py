"""Running a benchmark: every method for every seed, seed-major, each run resumable in its own workdir.

Seed-major order (seed 0: all methods, then seed 1: all methods, ...) spreads machine noise over the
methods alike. Runs go through `attent_jax.train.run`, so an interrupted benchmark continues where it
stopped when re-run with the same --workdir (finished runs are read back, not retrained).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import platform
from collections.abc import Mapping, Sequence
from typing import Any

import jax

from attent_jax import kinds, train
from attent_jax.benchmark import settings as settings_lib

PACKAGES = ("jax", "jaxlib", "flax", "optax", "chex", "numpy", "orbax-checkpoint", "tensorflow-datasets",
            "ml-collections", "matplotlib")


_ISA_FLAGS = ("avx512f", "avx2", "fma", "avx", "sse4_2", "asimd", "sve")


def cpu() -> dict:
  """The processor as XLA's CPU code generation sees it: its model, the vector extensions XLA may target,
  and the cores this process may use. Float results depend on all three (benchmarks/reproducibility.md)."""
  model, flags = platform.processor(), set()
  try:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
      key, _, value = line.partition(":")
      if key.strip() == "model name" and not model:
        model = value.strip()
      if key.strip() in ("flags", "Features") and not flags:
        flags = set(value.split())
  except OSError:
    pass
  usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  return {"cpu_model": model, "cpu_isa": [f for f in _ISA_FLAGS if f in flags], "usable_cores": usable}


def machine() -> dict:
  """The machine the timings come from: processor, cores, accelerator, load, package versions."""
  device = jax.devices()[0]
  versions = {}
  for name in PACKAGES:
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  return {"nproc": os.cpu_count(), **cpu(), "platform": platform.platform(),
          "python": platform.python_version(),
          "jax_backend": device.platform, "jax_devices": jax.device_count(),
          "accelerator": "none" if device.platform == "cpu" else device.device_kind,
          "load_average_at_start": list(os.getloadavg()), "packages": versions}


def metric_of(config) -> tuple[str, bool]:
  """(history key of the task's quality metric, higher is better): the one lookup of the metric that
  judges a run, from the model kind's record in `attent_jax.kinds`."""
  kind = kinds.get(config.model.kind)
  return kind.target_metric, kind.higher_is_better


def run_dir(workdir: pathlib.Path, method: str, seed: int) -> pathlib.Path:
  """Where one run lives: workdir/<method>/seed<seed>, "full_data@50%" spelled "full_data_at_50pct"."""
  return workdir / method.replace("@", "_at_").replace("%", "pct") / f"seed{seed}"


def _finished_history(workdir: pathlib.Path) -> list[dict] | None:
  summary = workdir / "summary.json"
  if summary.is_file():
    return json.loads(summary.read_text())["history"]
  return None


def run_one(config, workdir: pathlib.Path, *, progress: bool = False) -> list[dict]:
  """One run's evaluation history: read back if `workdir` holds a finished run, else trained (or
  resumed). A run stopped by SIGTERM raises KeyboardInterrupt, so no partial run is ever recorded."""
  history = _finished_history(workdir)
  if history is not None and history and history[-1]["epoch"] == config.train.epochs:
    return history
  result = train.run(config, workdir, progress=progress)
  if result.preempted:  # SIGTERM: the run checkpointed; stop the benchmark, do not record a partial run.
    raise KeyboardInterrupt(f"run in {workdir} was preempted; re-run the same command to resume")
  return result.history


def prepare_base(task: str, seeds: Sequence[int], workdir: pathlib.Path, *, smoke: bool,
                 extra_overrides: Mapping[str, Any] | None) -> dict[str, Any]:
  """For fine-tuning tasks: trains (or reads back) the base task's full-data run of the first seed and
  returns the override pointing `init.checkpoint` at it. {} for tasks trained from scratch."""
  settings = settings_lib.task_settings(task)
  if settings.base_task is None or smoke:
    return {}
  base_dir = workdir / "base" / settings.base_task
  config = settings_lib.build_config(settings.base_task, settings_lib.TeacherChoice("full_data"),
                                     seeds[0], extra_overrides=extra_overrides)
  print(f"=== base model: {settings.base_task}, full data, seed {seeds[0]} -> {base_dir}", flush=True)
  run_one(config, base_dir)
  return {"init.checkpoint": str(base_dir)}


def prepare_holdout(task: str, seed: int, workdir: pathlib.Path, *, smoke: bool = False,
                    extra_overrides: Mapping[str, Any] | None = None) -> tuple[pathlib.Path, float]:
  """Trains (or reads back) RHO-LOSS's irreducible-loss model for `seed`: the task's full-data run on a
  held-out pool, the `data.limit` examples that follow the task's own pool. Returns (its workdir, its
  total seconds). ValueError for a task that trains on its whole split (no examples are held out)."""
  config = settings_lib.build_config(task, settings_lib.TeacherChoice(settings_lib.BASELINE), seed,
                                     smoke=smoke, extra_overrides=extra_overrides)
  if not config.data.limit:
    raise ValueError(f"task {task!r} trains on its whole {config.data.split!r} split: no examples are "
                     f"held out for teacher.irreducible_from={settings_lib.HOLDOUT!r}")
  config.data.skip += config.data.limit
  directory = workdir / settings_lib.HOLDOUT / f"seed{seed}"
  print(f"=== seed {seed}, irreducible-loss model: full data on the held-out examples "
        f"[{config.data.skip}, {config.data.skip + config.data.limit}) -> {directory}", flush=True)
  history = run_one(config, directory)
  print(f"    total {history[-1]['time/total']:.1f} s", flush=True)
  return directory, history[-1]["time/total"]


def run_methods(task: str, teachers: Mapping[str, settings_lib.TeacherChoice], seeds: Sequence[int],
                workdir: str | pathlib.Path, *, smoke: bool = False,
                extra_overrides: Mapping[str, Any] | None = None,
                progress: bool = False) -> tuple[dict[str, list[list[dict]]], dict]:
  """Trains every (seed, method), seed-major. Returns ({method: [history per seed]}, run info:
  the metric, the configs as dicts and, when a teacher's irreducible losses come from a held-out
  model (`settings.HOLDOUT`), "holdout_seconds": that model's total seconds per seed)."""
  workdir = pathlib.Path(workdir)
  overrides = {**prepare_base(task, seeds, workdir, smoke=smoke, extra_overrides=extra_overrides),
               **(extra_overrides or {})}
  histories: dict[str, list[list[dict]]] = {method: [] for method in teachers}
  configs, holdout_seconds = {}, []
  irreducible = "teacher.irreducible_from"
  for seed in seeds:
    holdout = {}
    if any(t.config.get(irreducible) == settings_lib.HOLDOUT for t in teachers.values()):
      directory, seconds = prepare_holdout(task, seed, workdir, smoke=smoke, extra_overrides=overrides)
      holdout, holdout_seconds = {irreducible: str(directory)}, [*holdout_seconds, seconds]
    for method, teacher in teachers.items():
      uses_holdout = teacher.config.get(irreducible) == settings_lib.HOLDOUT
      config = settings_lib.build_config(task, teacher, seed, smoke=smoke,
                                         extra_overrides={**overrides,
                                                          **(holdout if uses_holdout else {})})
      directory = run_dir(workdir, method, seed)
      print(f"=== seed {seed}, {method}: {teacher.describe()} -> {directory}", flush=True)
      history = run_one(config, directory, progress=progress)
      histories[method].append(history)
      last = history[-1]
      metric, _ = metric_of(config)
      print(f"    final {metric} {last[metric]:.4f}, total {last['time/total']:.1f} s", flush=True)
      configs.setdefault(method, json.loads(config.to_json_best_effort()))
  metric, higher_is_better = metric_of(config)
  info = {"metric": metric, "higher_is_better": higher_is_better, "configs": configs,
          **({"holdout_seconds": holdout_seconds} if holdout_seconds else {})}
  return histories, info
