"""The training loop: a teacher picks each epoch's examples, the jitted step trains on them, and every
piece of state (params, optimizer, teacher, the epoch's plan, the position in it, the clock) is
checkpointed so that re-running the same command continues exactly as if never stopped.

One epoch:
  score   if the teacher wants fresh scores: a no-grad, sharded pass over the pool
  select  teacher.next_epoch -> the plan: which examples, in which order, with which loss weights
  train   the plan's batches through the jitted step (which also records the free, cached losses)
  eval    metrics on the eval split (+ linear probe for the MAE), callbacks, checkpoint
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import signal
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import jax
import ml_collections
import numpy as np
import tqdm
from absl import logging

from attent_jax import checkpoint as checkpoint_lib
from attent_jax import data as data_lib
from attent_jax import experiment as experiment_lib
from attent_jax import metrics as metrics_lib
from attent_jax import probe as probe_lib
from attent_jax import sharding as sharding_lib
from attent_jax.train import steps as steps_lib
from attent_jax.train.state import init_state
from attent_jax.train.timing import Stopwatch

Callback = Callable[[int, int, Any, Callable], "dict[str, float] | None"]


class NonFiniteLossError(FloatingPointError):
  """A training loss was NaN or inf. Names the step and the examples; no checkpoint holds the result."""


@dataclasses.dataclass
class RunResult:
  params: Any
  apply_fn: Callable
  history: list[dict]        # One record per evaluation: epoch, step, wall-clock split, metrics.
  timers: dict[str, float]
  workdir: pathlib.Path
  preempted: bool = False

  @property
  def final(self) -> dict:
    return self.history[-1] if self.history else {}


class _Preemption:
  """Turns SIGTERM into a flag the loop checks between steps (it then checkpoints and stops)."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    except ValueError:  # Not the main thread: no signal handling.
      self._previous = None
    return self

  def _handle(self, signum, frame):
    del signum, frame
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def _abstract(tree):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None)),
                      tree)


class _Run:
  """The state of one invocation of `run`; methods are the loop's phases."""

  def __init__(self, config, workdir, callbacks, progress):
    self.exp = experiment_lib.build(config)
    self.config, self.workdir, self.callbacks = config, pathlib.Path(workdir), tuple(callbacks)
    train = config.train
    rules = sharding_lib.FSDP_RULES if train.fsdp else sharding_lib.DATA_PARALLEL_RULES
    state = init_state(self.exp.task, self.exp.optimizer, config.seed, mesh=self.exp.mesh, rules=rules)
    teacher_state = self.exp.teacher.init(jax.random.fold_in(jax.random.key(config.seed), 0x7EAC))
    self.steps = steps_lib.CompiledSteps(self.exp.task, self.exp.optimizer, self.exp.teacher,
                                         self.exp.mesh, state, teacher_state, rules)
    self.state, self.teacher_state = self.steps.place(state, teacher_state)
    self.plan = None
    self.epoch, self.batch_in_epoch, self.history = 0, -1, []
    self.clock = Stopwatch()
    self.checkpointer = checkpoint_lib.Checkpointer(self.workdir, fingerprint=self.exp.fingerprint,
                                                    max_to_keep=train.max_to_keep)
    self._restore()
    with self.clock.measure("compile"):
      batch = self.exp.batcher.batch(np.zeros(1, np.int32))
      eval_batch = self.exp.eval_batcher.batch(np.zeros(1, np.int32))
      teacher = self.exp.teacher
      fresh = any(teacher.wants_fresh_scores(e) for e in range(train.epochs))
      self.steps.compile(self.state, self.teacher_state, batch, eval_batch, fresh_scores=fresh,
                         pool_size=self.exp.train_pool.size)
    self.writer = metrics_lib.MetricsWriter(self.workdir)
    self.pending: list[tuple[int, np.ndarray, dict]] = []
    self.bar = tqdm.tqdm(total=self.exp.total_steps, initial=int(self.state.step), unit="step",
                         dynamic_ncols=True, disable=not progress or jax.process_index() != 0)

  # ---- checkpoints
  def _tree(self):
    return {"state": self.state, "teacher": self.teacher_state}

  def _restore(self):
    restored = self.checkpointer.restore(_abstract(self._tree()))
    if restored is None:
      return
    tree, meta = restored
    self.state, self.teacher_state = tree["state"], tree["teacher"]
    self.epoch, self.batch_in_epoch = meta["epoch"], meta["batch_in_epoch"]
    if self.batch_in_epoch >= 0:  # Inside an epoch: its plan lives in the teacher's state.
      self._set_plan(self.steps.current_plan(self.teacher_state))
    self.history, self.clock = meta["history"], Stopwatch(meta["timers"])
    logging.info("resumed from step %d (epoch %d, batch %d)", int(self.state.step), self.epoch,
                 self.batch_in_epoch)

  def save(self):
    self._check_pending()
    meta = {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "history": self.history,
            "timers": self.clock.totals}
    self.checkpointer.save(int(self.state.step), self._tree(), meta)

  # ---- phases
  def score_pool(self):
    pool, batcher = self.exp.train_pool, self.exp.score_batcher
    kind = self.exp.teacher.score_kind
    if kind == "ntk":
      scores = self._ntk_scores()
    else:
      chunks = [self.steps.score(self.state, batch)
                for batch in batcher.batches(np.arange(pool.size, dtype=np.int32))]
      scores = np.concatenate([np.asarray(jax.device_get(c)) for c in chunks])[:pool.size]
    indices = np.arange(pool.size, dtype=np.int32)
    self.teacher_state = self.steps.record_pool(self.teacher_state, indices,
                                                scores.astype(np.float32), np.ones(pool.size, bool))

  def _ntk_scores(self) -> np.ndarray:
    from attent_jax import ntk  # pylint: disable=g-import-not-at-top
    task, pool = self.exp.task, self.exp.train_pool
    params = task.combine(self.state.params, self.state.frozen)
    features = data_lib.model_features(pool, np.arange(pool.size))
    features["mask"] = np.ones(pool.size, bool)
    return np.asarray(ntk.ntk_guided_scores(
        lambda p, x: task.outputs(p, x), params, features,
        lambda outputs, x: task.losses_from_outputs(outputs, x),
        chunk_size=self.config.train.eval_batch_size))

  def _set_plan(self, plan):
    count = int(plan.count)
    indices = np.asarray(plan.indices)[:count]
    # Plan weights are indexed by example; the batcher wants them in training order.
    self.plan = {"indices": indices, "weights": np.asarray(plan.weights)[indices], "count": count}

  def select(self):
    self.teacher_state, plan = self.steps.next_epoch(self.teacher_state)
    self._set_plan(plan)
    self.batch_in_epoch = 0

  def train_epoch(self, preemption) -> bool:
    """Trains the rest of the current plan. False if stopped by SIGTERM (after checkpointing)."""
    batch_size, train = self.exp.batcher.batch_size, self.config.train
    count, indices, weights = self.plan["count"], self.plan["indices"], self.plan["weights"]
    num_batches = self.exp.batcher.num_batches(count)
    while self.batch_in_epoch < num_batches:
      rows = slice(self.batch_in_epoch * batch_size, (self.batch_in_epoch + 1) * batch_size)
      batch = self.exp.batcher.batch(indices[rows], weights[rows])
      self.state, self.teacher_state, step_metrics = self.steps.train(
          self.state, self.teacher_state, batch)
      self.batch_in_epoch += 1
      step = int(self.state.step)
      self.pending.append((step, indices[rows], step_metrics))
      self.bar.update(1)
      if step % train.log_every_steps == 0:
        self._check_pending()
      if train.checkpoint_every_steps and step % train.checkpoint_every_steps == 0:
        self.save()
      if preemption.requested or step == train.stop_after_step:
        logging.warning("stopping at step %d (%s); checkpointing", step,
                        "SIGTERM" if preemption.requested else "config.train.stop_after_step")
        self.save()
        return False
    jax.block_until_ready(self.state)
    return True

  def _check_pending(self):
    """Fetches buffered step metrics, stops on a non-finite loss, logs interval means."""
    if not self.pending:
      return
    fetched = [(step, idx, jax.device_get(m)) for step, idx, m in self.pending]
    self.pending = []
    for step, idx, metrics in fetched:
      losses = np.asarray(metrics["losses"])[: len(idx)]
      if not np.isfinite(metrics["loss"]) or not np.isfinite(losses).all():
        bad = idx[~np.isfinite(losses)] if not np.isfinite(losses).all() else idx
        raise NonFiniteLossError(
            f"non-finite training loss at step {step} (epoch {self.epoch}); examples involved "
            f"(pool indices): {bad[:20].tolist()}; the last good checkpoint is left as it was")
    last_step = fetched[-1][0]
    self.writer.write(last_step, {
        "train/loss": np.mean([float(m["loss"]) for _, _, m in fetched]),
        "train/grad_norm": np.mean([float(m["grad_norm"]) for _, _, m in fetched]),
        "train/learning_rate": float(self.exp.learning_rate(last_step)),
    })
    self.bar.set_postfix(loss=f"{float(fetched[-1][2]['loss']):.4f}", epoch=self.epoch)

  def evaluate(self) -> dict:
    exp = self.exp
    sums = None
    for batch in exp.eval_batcher.batches(np.arange(exp.eval_pool.size, dtype=np.int32)):
      batch_sums = self.steps.evaluate(self.state, batch)
      sums = batch_sums if sums is None else jax.tree.map(lambda a, b: a + b, sums, batch_sums)
    metrics = exp.task.summarize(jax.device_get(sums))
    probe = self.config.probe
    if probe.enabled and exp.task.encode_fn is not None:
      metrics["probe_accuracy"] = probe_lib.linear_probe_accuracy(
          exp.task.encode_fn, exp.task.combine(self.state.params, self.state.frozen), exp.train_pool,
          exp.eval_pool, train_examples=probe.train_examples, eval_examples=probe.eval_examples,
          batch_size=self.config.train.eval_batch_size)
    return metrics

  def run(self) -> bool:
    """The epochs from the restored position on. False if preempted."""
    train, clock = self.config.train, self.clock
    with _Preemption() as preemption:
      while self.epoch < train.epochs:
        if self.batch_in_epoch < 0:
          if self.exp.teacher.wants_fresh_scores(self.epoch):
            with clock.measure("score"):
              self.score_pool()
          with clock.measure("select"):
            self.select()
        with clock.measure("train"):
          finished = self.train_epoch(preemption)
          self._check_pending()
        if not finished:
          return False
        record = {"epoch": self.epoch + 1, "step": int(self.state.step),
                  "examples": self.plan["count"],
                  "selection_crc32": zlib.crc32(self.plan["indices"].tobytes())}
        last = self.epoch + 1 == train.epochs
        if (self.epoch + 1) % train.eval_every_epochs == 0 or last:
          with clock.measure("eval"):
            record.update({f"eval/{k}": v for k, v in self.evaluate().items()})
        params = self.exp.task.combine(self.state.params, self.state.frozen)
        for callback in self.callbacks:
          record.update(callback(int(self.state.step), self.epoch + 1, params,
                                 self.exp.task.apply_fn) or {})
        record.update(clock.as_metrics())
        self.history.append(record)
        self.writer.write(record["step"], {k: v for k, v in record.items() if k != "step"})
        logging.info("epoch %d: %s", self.epoch + 1, json.dumps(record))
        self.epoch, self.batch_in_epoch = self.epoch + 1, -1
        self.save()
    return True

  def finish(self, completed: bool) -> RunResult:
    self.bar.close()
    self.writer.close()
    params = self.exp.task.combine(self.state.params, self.state.frozen)
    if completed:
      checkpoint_lib.save_params(self.workdir / "final_params", params)
      if jax.process_index() == 0:
        (self.workdir / "summary.json").write_text(json.dumps(
            {"history": self.history, "timers": self.clock.totals}, indent=1))
    self.checkpointer.close()
    return RunResult(params=params, apply_fn=self.exp.task.apply_fn, history=self.history,
                     timers=dict(self.clock.totals), workdir=self.workdir, preempted=not completed)


def run(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *,
        callbacks: Sequence[Callback] = (), progress: bool = True) -> RunResult:
  """Trains `config` in `workdir`, resuming from its newest good checkpoint if there is one.

  callbacks: `cb(step, epoch, params, apply_fn) -> dict | None`, called after each epoch on every
  process; returned scalars are logged. Returns the final params and the evaluation history.
  """
  runner = _Run(config, workdir, callbacks, progress)
  completed = False
  try:
    completed = runner.run()
  finally:
    result = runner.finish(completed)
  return result
