"""What a fresh scoring pass costs next to training, and what the global selection costs, per config.

For the default ViT (vit_fashion_mnist) and GPT (gpt_pycode) configs, with their real data and the
run's own jitted, ahead-of-time compiled functions (`attent_jax.train.steps.CompiledSteps`):

  ratio = (seconds per example of `score` on eval_batch_size batches)
          / (seconds per example of `train` on batch_size batches)

the cost of scoring one example relative to training on it (the cost model says about 1/3: a forward
pass against forward + backward). Calls are interleaved (train, score, train, score, ...) so load from
other processes hits both alike; medians of wall-clock and of process CPU time are reported. Then, on 8
fake CPU devices (a subprocess), the global selection's cost: `next_epoch` of the attent_complex teacher
on a soft subset epoch (Gumbel-top-k over the whole pool across shards) against one train step and
against one epoch of train steps.

    python -m benchmarks.scoring_cost [--repeats 30] [--score_batch 0]   (from the repository root)

`--score_batch` overrides eval_batch_size (the scoring batch), the obvious lever if the ratio is high.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_CONFIGS = ("vit_fashion_mnist", "gpt_pycode")


def _measure(config_name: str, repeats: int, score_batch: int, selection: bool) -> dict:
  import importlib  # pylint: disable=g-import-not-at-top
  import statistics  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top

  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  from attent_jax import experiment, sharding  # pylint: disable=g-import-not-at-top
  from attent_jax.train import init_state  # pylint: disable=g-import-not-at-top
  from attent_jax.train.steps import CompiledSteps  # pylint: disable=g-import-not-at-top

  config = importlib.import_module(f"attent_jax.configs.{config_name}").get_config()
  if score_batch:
    config.train.eval_batch_size = score_batch
  exp = experiment.build(config)
  state = init_state(exp.task, exp.optimizer, config.seed)
  teacher_state = exp.teacher.init(jax.random.key(0))
  steps = CompiledSteps(exp.task, exp.optimizer, exp.teacher, exp.mesh, state, teacher_state,
                        sharding.DATA_PARALLEL_RULES)
  state, teacher_state = steps.place(state, teacher_state)
  train_bs, score_bs = config.train.batch_size, config.train.eval_batch_size
  rng = np.random.default_rng(0)
  train_batch = exp.batcher.batch(rng.permutation(exp.train_pool.size)[:train_bs].astype(np.int32))
  score_batch_arrays = exp.score_batcher.batch(
      rng.permutation(exp.train_pool.size)[:score_bs].astype(np.int32))
  steps.compile(state, teacher_state, train_batch, score_batch_arrays, fresh_scores=True,
                pool_size=exp.train_pool.size)
  timings = {"train": [], "score": [], "train_cpu": [], "score_cpu": []}
  # Warm-up, then interleaved timed calls.
  state, teacher_state, _ = jax.block_until_ready(steps.train(state, teacher_state, train_batch))
  jax.block_until_ready(steps.score(state, score_batch_arrays))
  for _ in range(repeats):
    for name in ("train", "score"):
      start, start_cpu = time.perf_counter(), time.process_time()
      if name == "train":
        state, teacher_state, _ = jax.block_until_ready(
            steps.train(state, teacher_state, train_batch))
      else:
        jax.block_until_ready(steps.score(state, score_batch_arrays))
      timings[name].append(time.perf_counter() - start)
      timings[f"{name}_cpu"].append(time.process_time() - start_cpu)
  med = {k: statistics.median(v) for k, v in timings.items()}
  result = {
      "config": config_name, "devices": jax.device_count(), "pool": exp.train_pool.size,
      "batch_size": train_bs, "score_batch_size": score_bs,
      "train_step_s": med["train"], "score_batch_s": med["score"],
      "train_s_per_example": med["train"] / train_bs, "score_s_per_example": med["score"] / score_bs,
      "ratio_wall": (med["score"] / score_bs) / (med["train"] / train_bs),
      "ratio_cpu": (med["score_cpu"] / score_bs) / (med["train_cpu"] / train_bs),
  }
  if selection:
    # A soft subset epoch of attent_complex: epoch 1 (epoch 0 is full); scores as if freshly recorded.
    scores = rng.gamma(2.0, 1.0, exp.train_pool.size).astype(np.float32)
    indices = np.arange(exp.train_pool.size, dtype=np.int32)
    teacher_state = steps.record_pool(teacher_state, indices, scores, np.ones_like(indices, bool))
    teacher_state, _ = jax.block_until_ready(steps.next_epoch(teacher_state))  # epoch 0 (full)
    select_times = []
    for _ in range(repeats):
      start = time.perf_counter()  # Plans epoch 1 each time (next_epoch does not donate its input).
      _, plan = jax.block_until_ready(steps.next_epoch(teacher_state))
      select_times.append(time.perf_counter() - start)
    select_s = statistics.median(select_times)
    steps_per_epoch = -(-exp.train_pool.size // train_bs)
    result.update(select_s=select_s, selected=int(plan.count), steps_per_epoch=steps_per_epoch,
                  select_over_step=select_s / med["train"],
                  select_over_epoch=select_s / (steps_per_epoch * med["train"]))
  return result


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=30)
  parser.add_argument("--score_batch", type=int, default=0, help="0: the config's eval_batch_size")
  parser.add_argument("--configs", default=",".join(_CONFIGS))
  parser.add_argument("--selection_only", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.selection_only:  # The subprocess on 8 fake devices: one JSON line per config.
    for name in args.configs.split(","):
      print(json.dumps(_measure(name, args.repeats, args.score_batch, selection=True)), flush=True)
    return
  import jax  # pylint: disable=g-import-not-at-top
  print(f"jax {jax.__version__}, {jax.device_count()} {jax.devices()[0].platform} device(s), "
        f"{os.cpu_count()} host cores, load average {os.getloadavg()}", flush=True)
  print("| config | batch / score batch | train s/step | score s/batch | train s/ex | score s/ex | "
        "ratio (wall) | ratio (CPU time) |\n|---|---|---|---|---|---|---|---|", flush=True)
  for name in args.configs.split(","):
    r = _measure(name, args.repeats, args.score_batch, selection=False)
    print(f"| {name} | {r['batch_size']} / {r['score_batch_size']} | {r['train_step_s']:.4f} | "
          f"{r['score_batch_s']:.4f} | {r['train_s_per_example']:.2e} | {r['score_s_per_example']:.2e} "
          f"| {r['ratio_wall']:.3f} | {r['ratio_cpu']:.3f} |", flush=True)
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
  out = subprocess.run([sys.executable, "-m", "benchmarks.scoring_cost", "--selection_only",
                        f"--repeats={args.repeats}", f"--configs={args.configs}",
                        f"--score_batch={args.score_batch}"],
                       env=env, capture_output=True, text=True, check=True).stdout
  print("\nOn 8 fake CPU devices (pool sharded over `data`):\n\n| config | pool | next_epoch s | "
        "train s/step | selection / one step | selection / one epoch of steps |\n|---|---|---|---|---|---|")
  for line in out.splitlines():
    if line.startswith("{"):
      r = json.loads(line)
      print(f"| {r['config']} | {r['pool']} | {r['select_s']:.4f} | {r['train_step_s']:.4f} | "
            f"{100 * r['select_over_step']:.1f}% | {100 * r['select_over_epoch']:.3f}% |", flush=True)


if __name__ == "__main__":
  main()
