"""On the noisy-label task: how well does dropping the highest-loss tail find the flipped labels, and how
much could a perfect filter win?

Four measurements (issue "Teaching that pays", cause 5):

  --filter   reads finished benchmark runs of a teacher with `drop_top` on vit_fashion_mnist_noisy
             (`experiments.benchmark --task=vit_fashion_mnist_noisy`, default method attent_best): for
             every seed, the newest checkpoint's cached scores (the teacher's `score_kind`) and which
             examples were flipped (the pool's "label_flipped"). For the top `drop_top` share of the
             pool by that score, what the teacher drops at its next selection, it reports the precision
             (share of it that is flipped), the recall (share of the flipped it holds), per true
             class the share dropped and the share flipped, and the same-sized top of the pool by a
             fresh loss under the run's final params (what a fresh scoring pass would drop): its
             precision, and the share of it the cached tail holds.
  --trace    re-trains the method (default attent_best) for every seed keeping every epoch's checkpoint,
             and reports for each epoch the share of flipped labels among the examples it trained on
             (its plan, in the checkpoint's teacher state): how clean the subsets were along the run,
             not only at its end. The run is the benchmark's own (same config and seed; only
             `train.max_to_keep` differs, which changes nothing it computes), so its final accuracy
             is the recorded one.
  --rho      RHO-LOSS as a filter: trains the irreducible-loss model as the benchmark does for a task
             with a held-out split (`runner.prepare_holdout`: full data, the task's config, on the last
             10,000 training images, their labels flipped like the pool's), and, for the first 50,000
             images (never seen by it), at every epoch's checkpoint of the --trace runs, reports the
             share of flipped labels among the 80% of them that each rule would keep: the lowest
             training losses (the small-loss rule, what attent_best keeps), the highest reducible
             losses (training loss minus irreducible loss: RHO-LOSS's pick), and the lowest
             irreducible losses.
  --ceiling  trains what a perfect filter would leave: full data on clean labels, on a pool the size of
             the unflipped part (the first 80% of the training images: the flips are a uniform random
             20%, so the unflipped part is a uniform 80% of the same images), with the task's config
             otherwise (12 epochs, its seed), beside full data on all 60,000 clean images.

    python -m benchmarks.noise_filter --filter --workdir=/work/benchruns/vit_noisy2 --seeds=0,1,2 \\
        --out=benchmarks/vit_fashion_mnist_noisy/noise_filter.json
    python -m benchmarks.noise_filter --trace --workdir=/work/benchruns/noise_trace --seeds=0,1,2 \\
        --out=benchmarks/vit_fashion_mnist_noisy/noise_trace.json
    python -m benchmarks.noise_filter --rho --workdir=/work/benchruns/noise_trace --seeds=0,1,2 \\
        --out=benchmarks/vit_fashion_mnist_noisy/noise_rho.json
    python -m benchmarks.noise_filter --ceiling --workdir=/work/benchruns/noise_ceiling --seeds=0,1,2 \\
        --out=benchmarks/vit_fashion_mnist_noisy/noise_ceiling.json

(from the repository root). Accuracies, not timings: the shared CPU does not change them. Results and
their reading: benchmarks/vit_fashion_mnist_noisy/noise_filter.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import pathlib

import jax
import numpy as np

from attent_jax import checkpoint, experiment
from attent_jax.benchmark import runner
from attent_jax.benchmark import settings as settings_lib
from attent_jax.train import state as state_lib

TASK = "vit_fashion_mnist_noisy"


def _choice(method: str) -> settings_lib.TeacherChoice:
  settings = settings_lib.task_settings(TASK)
  return {"attent_best": settings.best, **settings.candidates}[method]


def filter_quality(workdir: pathlib.Path, method: str, seed: int) -> dict:
  """Precision and recall of the top `drop_top` of the pool by the teacher's cached score, at the
  newest checkpoint of `workdir/<method>/seed<seed>`, overall and per true class."""
  choice = _choice(method)
  drop_top = float(choice.overrides["drop_top"])
  config = settings_lib.build_config(TASK, choice, seed)
  exp = experiment.build(config)
  kind = exp.teacher.score_kind
  run = runner.run_dir(workdir, method, seed)
  step, tree = checkpoint.read_saved(run)
  scores = exp.teacher.layout.by_example(np.asarray(tree["teacher"]["scores"][kind]))
  flipped = np.asarray(exp.train_pool.arrays["label_flipped"], bool)
  true_class = np.asarray(exp.train_pool.arrays["clean_label"])
  count = round(drop_top * flipped.size)
  dropped = np.zeros(flipped.shape, bool)
  dropped[np.argsort(-scores, kind="stable")[:count]] = True
  fresh = _PoolLosses(exp, seed).of_final(run)
  fresh_top = np.argsort(-fresh, kind="stable")[:count]
  per_class = [{"class": int(c), "dropped": float(dropped[true_class == c].mean()),
                "flipped": float(flipped[true_class == c].mean())}
               for c in np.unique(true_class)]
  return {"seed": seed, "method": method, "step": int(step), "score_kind": kind,
          "drop_top": drop_top, "precision": float(flipped[dropped].mean()),
          "recall": float(dropped[flipped].mean()), "per_class": per_class,
          "fresh_precision": float(flipped[fresh_top].mean()),
          "overlap_with_fresh": float(dropped[fresh_top].mean())}


class _PoolLosses:
  """Every pool example's loss under given params (a no-grad pass over the pool), compiled once."""

  def __init__(self, exp, seed: int):
    self._exp = exp
    self._score = jax.jit(functools.partial(exp.task.scores, kind="loss"))
    state = state_lib.init_state(exp.task, exp.optimizer, seed)
    self._like = exp.task.combine(state.params, state.frozen)  # the params' structure, to load

  def __call__(self, params) -> np.ndarray:
    """f32[N] under `params`."""
    n = self._exp.train_pool.size
    chunks = [self._score(params, batch)
              for batch in self._exp.score_batcher.batches(np.arange(n, dtype=np.int32))]
    return np.concatenate([np.asarray(jax.device_get(c)) for c in chunks])[:n]

  def of_final(self, run: pathlib.Path) -> np.ndarray:
    """f32[N] under the final params of the finished run in `run`."""
    return self(checkpoint.load_params(run / "final_params", self._like))


def trace(workdir: pathlib.Path, method: str, seed: int) -> dict:
  """Per epoch of the method's run: the share of flipped labels among the examples trained on."""
  config = settings_lib.build_config(TASK, _choice(method), seed)
  config.train.max_to_keep = config.train.epochs + 1
  run = runner.run_dir(workdir, method, seed)
  history = runner.run_one(config, run)
  flipped = np.asarray(experiment.build(config).train_pool.arrays["label_flipped"], bool)
  epochs = []
  for step in checkpoint.saved_steps(run):
    teacher = checkpoint.read_saved(run, step)[1]["teacher"]
    order, counts = np.asarray(teacher["order"]), np.asarray(teacher["counts"])
    trained = np.concatenate([row[:count] for row, count in zip(order, counts)])
    # A checkpoint at the end of an epoch holds the plan it trained on; its teacher's `epoch` is the
    # next one to plan.
    epochs.append({"epoch": int(teacher["epoch"]) - 1, "step": int(step), "trained": int(trained.size),
                   "flipped_share": float(flipped[trained].mean())})
  return {"seed": seed, "method": method, "final": float(history[-1]["eval/accuracy"]),
          "epochs": epochs}


HOLDOUT = 10000  # --rho: the last 10,000 training images train the irreducible-loss model.
KEEP = 0.8  # --rho: each rule keeps this share of the rest.


def rho(workdir: pathlib.Path, method: str, seed: int) -> dict:
  """Per epoch of the traced run (`trace`, same workdir): the flipped share among what each rule keeps
  of the images the irreducible-loss model never saw."""
  config = settings_lib.build_config(TASK, _choice(method), seed)
  exp = experiment.build(config)
  holdout = settings_lib.build_config(TASK, settings_lib.TeacherChoice(settings_lib.BASELINE), seed)
  holdout.data.update(skip=exp.train_pool.size - HOLDOUT, limit=HOLDOUT)
  holdout_dir = workdir / "holdout" / f"seed{seed}"
  held = runner.run_one(holdout, holdout_dir)
  pool_losses = _PoolLosses(exp, seed)
  unseen = np.arange(exp.train_pool.size) < exp.train_pool.size - HOLDOUT  # by the holdout model
  flipped = np.asarray(exp.train_pool.arrays["label_flipped"], bool)[unseen]
  irreducible = pool_losses.of_final(holdout_dir)[unseen]
  run = runner.run_dir(workdir, method, seed)
  count = round(KEEP * unseen.sum())

  def kept_flipped(keys: np.ndarray) -> float:  # the flipped share among the top `count` keys
    return float(flipped[np.argsort(-keys, kind="stable")[:count]].mean())

  epochs = []
  for step in checkpoint.saved_steps(run):
    tree = checkpoint.read_saved(run, step)[1]
    losses = pool_losses(tree["state"]["params"])[unseen]
    epochs.append({"epoch": int(tree["teacher"]["epoch"]) - 1, "step": int(step),
                   "small_loss": kept_flipped(-losses),
                   "rho_loss": kept_flipped(losses - irreducible),
                   "small_irreducible": kept_flipped(-irreducible)})
  return {"seed": seed, "method": method, "images": int(unseen.sum()), "keep": KEEP,
          "holdout_accuracy": float(held[-1]["eval/accuracy"]), "epochs": epochs}


def ceiling(workdir: pathlib.Path, seed: int) -> dict:
  """Final test accuracy of full data on clean labels: the first 80% of the training images (what a
  perfect filter leaves, in size) and all of them."""
  noisy = settings_lib.build_config(TASK, settings_lib.TeacherChoice(settings_lib.BASELINE), seed)
  pool = experiment.build(noisy).train_pool
  kept = pool.size - int(np.asarray(pool.arrays["label_flipped"]).sum())
  result = {"seed": seed, "pool": pool.size, "kept": kept}
  for name, limit in (("clean_kept", kept), ("clean_all", 0)):
    config = settings_lib.build_config("vit_fashion_mnist",
                                       settings_lib.TeacherChoice(settings_lib.BASELINE), seed)
    config.data.limit = limit
    history = runner.run_one(config, workdir / name / f"seed{seed}")
    result[name] = float(history[-1]["eval/accuracy"])
  return result


def render(results: list[dict]) -> str:
  """The Markdown table of one measurement's results (--filter, --trace, --rho or --ceiling)."""
  if "holdout_accuracy" in results[0]:
    rules = (("small_loss", "lowest loss"), ("rho_loss", "highest reducible loss (RHO-LOSS)"),
             ("small_irreducible", "lowest irreducible loss"))
    lines = ["| epoch | " + " | ".join(f"{label}, seed {r['seed']}" for key, label in rules
                                      for r in results) + " |",
             "|---|" + "---|" * (len(rules) * len(results))]
    for rows in zip(*(r["epochs"] for r in results)):
      lines.append(f"| {rows[0]['epoch']} | " + " | ".join(f"{row[key]:.3f}" for key, _ in rules
                                                           for row in rows) + " |")
    lines.append("| irreducible-loss model's test accuracy | " + " | ".join(
        f"{r['holdout_accuracy']:.4f}" for r in results) + " |" + " |" * (2 * len(results)))
  elif "epochs" in results[0]:
    lines = ["| epoch | examples trained on | " + " | ".join(
        f"flipped share, seed {r['seed']}" for r in results) + " |",
        "|---|---|" + "---|" * len(results)]
    for rows in zip(*(r["epochs"] for r in results)):
      lines.append(f"| {rows[0]['epoch']} | {rows[0]['trained']} | "
                   + " | ".join(f"{row['flipped_share']:.3f}" for row in rows) + " |")
    lines.append("| final accuracy | | " + " | ".join(f"{r['final']:.4f}" for r in results) + " |")
  elif "precision" in results[0]:
    lines = ["| seed | step | score | dropped share | precision (flipped among dropped) | "
             "recall (dropped among flipped) | per true class: dropped share (min, max) | "
             "flipped share (min, max) | precision by the final params' fresh loss | "
             "overlap with that set |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
      spans = [[c[key] for c in r["per_class"]] for key in ("dropped", "flipped")]
      lines.append(f"| {r['seed']} | {r['step']} | {r['score_kind']} | {r['drop_top']:.2f} | "
                   f"{r['precision']:.3f} | {r['recall']:.3f} | "
                   + " | ".join(f"{min(v):.3f}, {max(v):.3f}" for v in spans)
                   + f" | {r['fresh_precision']:.3f} | {r['overlap_with_fresh']:.3f} |")
  else:
    lines = ["| seed | clean labels, first 80% of the images | clean labels, all images |",
             "|---|---|---|"]
    lines += [f"| {r['seed']} | {r['clean_kept']:.4f} ({r['kept']}) | {r['clean_all']:.4f} "
              f"({r['pool']}) |" for r in results]
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  mode = parser.add_mutually_exclusive_group(required=True)
  mode.add_argument("--filter", action="store_true", help="precision and recall of finished runs")
  mode.add_argument("--trace", action="store_true", help="re-train, keeping every epoch's plan")
  mode.add_argument("--rho", action="store_true", help="RHO-LOSS as a filter, on the --trace runs")
  mode.add_argument("--ceiling", action="store_true", help="train full data on clean labels")
  mode.add_argument("--render", help="print the tables of a recorded JSON file")
  parser.add_argument("--workdir", help="the benchmark's workdir (--filter), one for the runs "
                      "(--trace, --ceiling), or --trace's (--rho)")
  parser.add_argument("--method", default="attent_best",
                      help="attent_best or a tuning candidate of the task with drop_top")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--out", help="write the results here as JSON")
  args = parser.parse_args()
  if args.render:
    print(render(json.loads(pathlib.Path(args.render).read_text())))
    return
  workdir = pathlib.Path(args.workdir)
  seeds = [int(s) for s in args.seeds.split(",")]
  if args.filter:
    results = [filter_quality(workdir, args.method, s) for s in seeds]
  elif args.trace:
    results = [trace(workdir, args.method, s) for s in seeds]
  elif args.rho:
    results = [rho(workdir, args.method, s) for s in seeds]
  else:
    results = [ceiling(workdir, s) for s in seeds]
  if args.out:
    pathlib.Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
  print(render(results))


if __name__ == "__main__":
  main()
