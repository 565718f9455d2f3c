"""The steps of one epoch, as `attent_jax.train.loop.run` calls them: score the pool, train on the plan's
batches, evaluate; and `StepLog`, which watches the training losses for non-finite values.

Each function takes what it needs (the `Experiment`, the compiled steps, the states) and returns new
states: nothing here keeps state between calls except `StepLog`'s buffer of unchecked step metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np

from attent_jax import data as data_lib
from attent_jax import probe as probe_lib
from attent_jax.experiment import Experiment
from attent_jax.train.ntk_scores import pool_ntk_scores
from attent_jax.train.steps import CompiledSteps


class NonFiniteLossError(FloatingPointError):
  """A training loss was NaN or inf. Names the step and the examples; no checkpoint holds the result."""


def score_pool(exp: Experiment, steps: CompiledSteps, state, teacher_state,
               irreducible: np.ndarray | None = None):
  """A fresh, no-grad pass over the whole training pool; records the scores in the teacher's state.

  irreducible f32[N]: for score kind "reducible_loss", the losses subtracted (`train.irreducible`)."""
  pool, kind = exp.train_pool, exp.teacher.score_kind
  if kind == "ntk":
    scores = _ntk_scores(exp, state)
  else:
    chunks = [steps.score(state, batch)
              for batch in exp.score_batcher.batches(np.arange(pool.size, dtype=np.int32))]
    scores = np.concatenate([np.asarray(jax.device_get(c)) for c in chunks])[:pool.size]
    if kind == "relative_loss":  # Every example scored by the same parameters: relative to the pool.
      scores = scores - scores.mean(dtype=np.float64)
    if kind == "reducible_loss":  # Relative to the pool too, as the train step's cached ones are.
      scores = scores - irreducible
      scores = scores - scores.mean(dtype=np.float64)
  if not np.isfinite(scores).all():  # a non-finite score cannot be ranked (selection.guards)
    bad = np.flatnonzero(~np.isfinite(scores))
    raise NonFiniteLossError(f"the fresh scoring pass gave non-finite {kind!r} scores for "
                             f"{len(bad)} examples (pool indices): {bad[:20].tolist()}")
  return steps.record_pool(teacher_state, np.arange(pool.size, dtype=np.int32),
                           scores.astype(np.float32), np.ones(pool.size, bool))


def _ntk_scores(exp: Experiment, state) -> np.ndarray:
  pool = exp.train_pool
  features = data_lib.model_features(pool, np.arange(pool.size))
  features["mask"] = np.ones(pool.size, bool)
  return pool_ntk_scores(exp.task, state.params, state.frozen, features,
                         chunk_size=exp.config.train.eval_batch_size)


class StepLog:
  """Buffers each step's metrics (fetching them would wait for the device), then, every
  `log_every_steps` and on `flush`: stops the run on a non-finite loss, writes interval means."""

  def __init__(self, writer, learning_rate, bar, log_every_steps: int):
    self.writer, self.learning_rate, self.bar = writer, learning_rate, bar
    self.log_every_steps = log_every_steps
    self._pending: list[tuple[int, tuple, slice, dict]] = []

  def add(self, step: int, examples: tuple[np.ndarray, np.ndarray], metrics: dict, epoch: int,
          rows: slice = slice(None)) -> None:
    """examples: (indices, mask) of the batch's rows `rows` (this process's), as the plan gave them."""
    self._pending.append((step, examples, rows, metrics))
    self.bar.update(1)
    if step % self.log_every_steps == 0:
      self.flush(epoch)

  def flush(self, epoch: int) -> None:
    """Raises NonFiniteLossError naming the step and examples of the first non-finite loss."""
    if not self._pending:
      return
    fetched = [(step, idx, rows, jax.device_get(m)) for step, idx, rows, m in self._pending]
    self._pending = []
    for step, (idx, mask), rows, metrics in fetched:
      losses, idx = np.asarray(metrics["losses"])[rows][mask], idx[mask]
      if not np.isfinite(metrics["loss"]) or not np.isfinite(losses).all():
        bad = idx[~np.isfinite(losses)] if not np.isfinite(losses).all() else idx
        raise NonFiniteLossError(
            f"non-finite training loss at step {step} (epoch {epoch}); examples involved "
            f"(pool indices): {bad[:20].tolist()}; the last good checkpoint is left as it was")
    last_step, last = fetched[-1][0], fetched[-1][3]
    self.writer.write(last_step, {
        "train/loss": np.mean([float(m["loss"]) for *_, m in fetched]),
        "train/grad_norm": np.mean([float(m["grad_norm"]) for *_, m in fetched]),
        # The LR the last step was fed (schedule_over="epochs"), else the schedule's.
        "train/learning_rate": float(last["learning_rate"]) if "learning_rate" in last
                               else float(self.learning_rate(last_step)),
    })
    self.bar.set_postfix(loss=f"{float(last['loss']):.4f}", epoch=epoch)


def train_batches(exp: Experiment, steps: CompiledSteps, state, teacher_state, plan,
                  first_batch: int, log: StepLog, epoch: int) -> Iterator[tuple]:
  """Trains on the plan's batches (`selection.Plan.batches`: the kept examples once each, in training
  order, with their loss weights; this process reads only its own rows) from `first_batch` on, yielding (state, teacher_state, step) after
  each step (step: the host int of state.step, read once); the caller may stop early (the states it
  last received are then the current ones).

  Under schedule_over="epochs" each step is fed its LR from `exp.epoch_learning_rates(epoch,
  batches)`, a function of the plan alone, so a run resumed at `first_batch` feeds the same values."""
  batches = plan.num_batches(exp.batcher.batch_size)
  rates = (exp.epoch_learning_rates(epoch, batches) if exp.epoch_learning_rates is not None
           and batches > 0 else None)
  for batch_index, (indices, mask, weights) in enumerate(
      plan.batches(exp.batcher.batch_size, start=first_batch, rows=exp.batcher.local_rows),
      start=first_batch):
    batch = exp.batcher.batch(indices, weights, mask, local=True)
    lr = () if rates is None else (np.float32(rates[batch_index]),)
    state, teacher_state, step_metrics = steps.train(state, teacher_state, batch, *lr)
    step = int(state.step)  # Waits for the step: one host round trip per step, here only.
    log.add(step, (indices, mask), step_metrics, epoch, rows=exp.batcher.local_rows)
    yield state, teacher_state, step


def evaluate(exp: Experiment, steps: CompiledSteps, state) -> dict[str, float]:
  """The task's metrics on the whole eval split (+ the linear probe's accuracy where configured, + the
  kind's host-side metrics, e.g. exact match of greedy generations)."""
  sums = None
  for batch in exp.eval_batcher.batches(np.arange(exp.eval_pool.size, dtype=np.int32)):
    batch_sums = steps.evaluate(state, batch)
    sums = batch_sums if sums is None else jax.tree.map(lambda a, b: a + b, sums, batch_sums)
  metrics = exp.task.summarize(jax.device_get(sums))
  probe = exp.config.probe
  if probe.enabled and exp.task.encode_fn is not None:
    metrics["probe_accuracy"] = probe_lib.linear_probe_accuracy(
        exp.task.encode_fn, exp.task.combine(state.params, state.frozen), exp.train_pool,
        exp.eval_pool, train_examples=probe.train_examples, eval_examples=probe.eval_examples,
        batch_size=exp.config.train.eval_batch_size)
  if exp.host_eval is not None:
    metrics.update(exp.host_eval(exp.task.combine(state.params, state.frozen)))
  return metrics
