"""Are cached training losses a teacher's signal, or mostly the time at which they were recorded?

For each task's real config on a reduced pool, trains full data (a fresh random order every epoch) with
the run's own jitted steps (`attent_jax.train.steps.CompiledSteps`), and keeps on the host, for every
pool example, its latest cached training loss, the de-biased cached score (`relative_loss`: the loss
minus its batch's mean, `attent_jax.selection.scores.relative_loss`) and the step at which they were
recorded. At the start of every epoch after the first it runs a fresh, no-grad scoring pass of the
whole pool and reports Spearman rank correlations:

  cached~fresh     cached loss against the fresh loss (what a fresh teacher would rank by)
  cached~step      cached loss against its recording step (negative: older scores are higher)
  rel~fresh        relative_loss against the fresh loss
  rel~step         relative_loss against its recording step
  fresh~step       the fresh loss against when the example was last trained on (recency)

On a noisy-label task (e.g. vit_fashion_mnist_noisy, 20% of training labels flipped) it also reports
the share of flipped examples among the top 30% of the pool by each score (flipped@30%: cached,
rel, fresh; 0.20 would be chance).

These are not timings (the shared CPU does not change them); the pools and epochs are reduced so
each task runs in a few minutes on 2 cores.

    python -m benchmarks.score_diagnostics [--tasks vit_fashion_mnist,gpt_pycode,mae_fashion_mnist]
        [--limit 4096] [--epochs 4] [--seed 0] [--out benchmarks/score_diagnostics.json]
    python -m benchmarks.score_diagnostics --render benchmarks/score_diagnostics.json   (tables only)

(from the repository root; Fashion-MNIST from `attent_jax.data`'s local builder, code from the standard
library). Results and their reading: benchmarks/score_diagnostics.md.
"""

from __future__ import annotations

import argparse
import importlib
import json

import jax
import numpy as np
from scipy import stats

from attent_jax import experiment
from attent_jax import sharding
from attent_jax.selection import scores as scores_lib
from attent_jax.train import state as state_lib
from attent_jax.train import steps as steps_lib

_TASKS = ("vit_fashion_mnist", "gpt_pycode", "mae_fashion_mnist")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
  return float(stats.spearmanr(a, b).statistic)


def _config(task: str, limit: int, epochs: int, seed: int):
  config = importlib.import_module(f"attent_jax.configs.{task}").get_config()
  config.seed = seed
  config.data.update(limit=limit, eval_limit=256)
  config.teacher.name = "full_data"
  config.teacher.overrides = {}
  steps = epochs * -(-limit // config.train.batch_size)
  config.train.update(epochs=epochs, warmup_steps=max(steps // 10, 1))  # Warm-up: 10% of the run.
  return config


def _flipped_share(scores: np.ndarray, flipped: np.ndarray, top: float = 0.3) -> float:
  k = int(round(top * len(scores)))
  return float(flipped[np.argsort(-scores, kind="stable")[:k]].mean())


def diagnose(task: str, limit: int, epochs: int, seed: int) -> dict:
  """Per epoch e >= 1: the rank correlations above, measured before training epoch e."""
  config = _config(task, limit, epochs, seed)
  exp = experiment.build(config)
  n = exp.train_pool.size
  state = state_lib.init_state(exp.task, exp.optimizer, seed)
  teacher_state = exp.teacher.init(jax.random.key(seed))
  steps = steps_lib.CompiledSteps(exp.task, exp.optimizer, exp.teacher, exp.mesh, state,
                                  teacher_state, sharding.DATA_PARALLEL_RULES)
  state, teacher_state = steps.place(state, teacher_state)
  cached, relative, recorded = np.zeros(n), np.zeros(n), np.full(n, -1)
  rng, rows, batch_size = np.random.default_rng(seed), [], exp.batcher.batch_size
  step = 0
  for epoch in range(epochs):
    if epoch > 0:
      fresh = np.concatenate([np.asarray(jax.device_get(steps.score(state, b))) for b in
                              exp.score_batcher.batches(np.arange(n, dtype=np.int32))])[:n]
      rows.append({
          "epoch": epoch, "step": step,
          "cached~fresh": _spearman(cached, fresh), "cached~step": _spearman(cached, recorded),
          "rel~fresh": _spearman(relative, fresh), "rel~step": _spearman(relative, recorded),
          "fresh~step": _spearman(fresh, recorded),
          "mean_cached": float(cached.mean()), "mean_fresh": float(fresh.mean())})
      flipped = exp.train_pool.arrays.get("label_flipped")
      if flipped is not None:
        rows[-1].update({f"flipped@30%:{name}": _flipped_share(values, flipped) for name, values in
                         (("cached", cached), ("rel", relative), ("fresh", fresh))})
      print(task, json.dumps(rows[-1]), flush=True)
    order = rng.permutation(n).astype(np.int32)
    for start in range(0, n, batch_size):
      indices = order[start:start + batch_size]
      batch = exp.batcher.batch(indices)
      state, teacher_state, metrics = steps.train(state, teacher_state, batch)
      losses = np.asarray(jax.device_get(metrics["losses"]))[:len(indices)]
      mask = np.ones(len(indices), bool)
      cached[indices] = losses
      relative[indices] = np.asarray(scores_lib.relative_loss(losses, mask))
      recorded[indices] = step
      step += 1
  return {"task": task, "pool": n, "epochs": epochs, "batch_size": batch_size, "seed": seed,
          "rows": rows}


def render(results: list[dict]) -> str:
  """Markdown tables of `diagnose` results, one per task."""
  lines = []
  for result in results:
    keys = [k for k in result["rows"][0] if k not in ("epoch", "step")]
    lines += [f"{result['task']} (pool {result['pool']}, batch {result['batch_size']}, "
              f"{result['epochs']} epochs, seed {result['seed']})", "",
              "| before epoch | step | " + " | ".join(keys) + " |",
              "|---|---|" + "---|" * len(keys)]
    lines += [f"| {r['epoch']} | {r['step']} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |"
              for r in result["rows"]]
    lines.append("")
  return "\n".join(lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tasks", default=",".join(_TASKS))
  parser.add_argument("--limit", type=int, default=4096)
  parser.add_argument("--epochs", type=int, default=4)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default="benchmarks/score_diagnostics.json")
  parser.add_argument("--render", default="", help="print the tables of this results file and exit")
  args = parser.parse_args()
  if args.render:
    with open(args.render) as f:
      print(render(json.load(f)))
    return
  results = [diagnose(task, args.limit, args.epochs, args.seed) for task in args.tasks.split(",")]
  with open(args.out, "w") as f:
    json.dump(results, f, indent=1)
  print(render(results))


if __name__ == "__main__":
  main()
