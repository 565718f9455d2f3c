r"""The honest benchmark of one task: the full-data frontier (full data at several epoch budgets),
AtteNT (paper), the best teacher, a random subset and InfoBatch, seed-major, every second of scoring and
selection counted.

  python -m experiments.benchmark --task=vit_fashion_mnist --seeds=3 --workdir=runs/bench/vit_fashion_mnist
  python -m experiments.benchmark --task=vit_fashion_mnist --tune --seeds=1 --workdir=runs/tune/vit
  python -m experiments.benchmark --task=vit_digits --smoke --seeds=1 --workdir=/tmp/bench_smoke
  python -m experiments.benchmark --task=vit_fashion_mnist --budgets=0.5,0.75,1.0 --seeds=3 \
      --workdir=runs/bench/vit_fashion_mnist   # the frontier's budgets (default: the task's settings)
  python -m experiments.benchmark --task=vit_fashion_mnist --rerender   # after editing its notes.md

Writes benchmarks/<task>/results.{json,md} and metric_vs_time.png (tuning.{json,md} with --tune); the
findings in results.md come from benchmarks/<task>/notes.md.
Per-task settings (epochs, pool limits, the tuned teacher): attent_jax/benchmark/settings.py.
Re-running the same command resumes: finished runs in --workdir are read back, not retrained.
"""

import shlex
import sys

from absl import app, flags, logging

_TASK = flags.DEFINE_string("task", None, "A key of attent_jax.benchmark.SETTINGS.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds 0..seeds-1, each running every method.")
_WORKDIR = flags.DEFINE_string("workdir", None, "One subdirectory per method and seed.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where results go (default benchmarks/<task>).")
_SMOKE = flags.DEFINE_bool("smoke", False, "The task's :smoke config: checks the pipeline, not numbers.")
_TUNE = flags.DEFINE_bool("tune", False, "Run the full-data frontier and the recorded candidate teachers.")
_METHODS = flags.DEFINE_list("methods", [], "Only these methods (the baseline always runs).")
_BUDGETS = flags.DEFINE_list("budgets", [], "The full-data frontier's epoch budgets, fractions of the "
                             "config's epochs, e.g. 0.5,0.75,1.0 (default: the task's settings; "
                             "1.0, the baseline, always runs).")
_RERENDER = flags.DEFINE_bool("rerender", False, "Re-derive --out_dir's results from the histories "
                              "it records, with the current code and settings (notes, verdict); "
                              "runs nothing, needs no --workdir.")
flags.mark_flag_as_required("task")


def _budgets() -> tuple[float, ...]:
  try:
    return tuple(float(b) for b in _BUDGETS.value)
  except ValueError as error:
    raise app.UsageError(f"--budgets={','.join(_BUDGETS.value)}: expected fractions such as "
                         f"0.5,0.75,1.0 ({error})") from error


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # Per-run progress is printed; checkpointing chatter is not.
  out_dir = _OUT_DIR.value or f"benchmarks/{_TASK.value}"
  budgets = _budgets()
  if _RERENDER.value:
    from attent_jax import benchmark  # pylint: disable=g-import-not-at-top
    record = benchmark.rerender(_TASK.value, out_dir)
    print(f"re-rendered {out_dir}; verdict: {record['verdict']}")
    return
  if _WORKDIR.value is None:
    raise app.UsageError("--workdir is required (except with --rerender)")
  import jax  # pylint: disable=g-import-not-at-top
  # Identical programs across the runs (same model and shapes) compile once.
  jax.config.update("jax_compilation_cache_dir", f"{_WORKDIR.value}/.jax_cache")
  from attent_jax import benchmark  # pylint: disable=g-import-not-at-top
  command = "python -m experiments.benchmark " + shlex.join(sys.argv[1:])
  record = benchmark.run_benchmark(_TASK.value, seeds=_SEEDS.value, workdir=_WORKDIR.value,
                                   out_dir=out_dir, command=command, smoke=_SMOKE.value,
                                   tune=_TUNE.value, methods=tuple(_METHODS.value),
                                   budgets=budgets)
  print(f"wrote {out_dir}; verdict: {record['verdict']}")


if __name__ == "__main__":
  app.run(main)
