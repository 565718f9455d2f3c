"""The training loop: a teacher picks each epoch's examples, the jitted step trains on them, and every
piece of state (params, optimizer, teacher, the epoch's plan, the position in it, the clock) is
checkpointed so that re-running the same command continues exactly as if never stopped.

`run` reads top to bottom. One epoch is a sequence of named steps:
  score       if the teacher wants fresh scores: a no-grad, sharded pass over the pool
  select      teacher.next_epoch -> the plan: which examples, in which order, with which loss weights
  train       the plan's batches through the jitted step (which also records the free, cached losses);
              may stop early on preemption (agreed across processes) or config.train.stop_after_step
  evaluate    metrics on the eval split (+ linear probe for the MAE) when due (see eval_cadence),
              callbacks
  checkpoint  params, optimizer, teacher state and the `Position` below
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import jax
import ml_collections
import numpy as np
import tqdm
from absl import logging

from attent_jax import checkpoint as checkpoint_lib
from attent_jax import distributed
from attent_jax import eval_cadence
from attent_jax import experiment as experiment_lib
from attent_jax import metrics as metrics_lib
from attent_jax import sharding as sharding_lib
from attent_jax.train import irreducible as irreducible_lib
from attent_jax.train import phases
from attent_jax.train import steps as steps_lib
from attent_jax.train.phases import NonFiniteLossError, StepLog
from attent_jax.train.preemption import Watcher
from attent_jax.train.state import init_state
from attent_jax.train.timing import Stopwatch

Callback = Callable[[int, int, Any, Callable], "dict[str, float] | None"]
__all__ = ["Callback", "NonFiniteLossError", "Position", "RunResult", "run"]


@dataclasses.dataclass
class RunResult:
  params: Any
  apply_fn: Callable
  history: list[dict]        # One record per epoch: step, examples, time split; metrics if evaluated.
  timers: dict[str, float]
  workdir: pathlib.Path
  preempted: bool = False

  @property
  def final(self) -> dict:
    return self.history[-1] if self.history else {}


@dataclasses.dataclass
class Position:
  """Where a run stands, besides its arrays: saved as the checkpoint's metadata.

  epoch: the epoch being trained (or next to train); batch_in_epoch: the next batch of that epoch's
  plan, -1 between epochs (the next epoch is not planned yet); history: one record per finished epoch;
  clock: the wall-clock split so far.
  """
  epoch: int = 0
  batch_in_epoch: int = -1
  history: list[dict] = dataclasses.field(default_factory=list)
  clock: Stopwatch = dataclasses.field(default_factory=Stopwatch)

  def meta(self) -> dict:
    return {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "history": self.history,
            "timers": self.clock.totals}

  @classmethod
  def from_meta(cls, meta: dict) -> Position:
    return cls(meta["epoch"], meta["batch_in_epoch"], meta["history"], Stopwatch(meta["timers"]))


def _abstract(tree):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None)),
                      tree)


def _checkpoint(checkpointer, state, teacher_state, position: Position, log: StepLog) -> None:
  log.flush(position.epoch)  # Never checkpoint a state that a non-finite loss produced.
  checkpointer.save(int(state.step), {"state": state, "teacher": teacher_state}, position.meta())


def _epoch_record(plan, state, position: Position) -> dict:
  return {"epoch": position.epoch + 1, "step": int(state.step), "examples": int(plan.count),
          "selection_crc32": plan.crc32()}


def run(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *,
        callbacks: Sequence[Callback] = (), progress: bool = True) -> RunResult:
  """Trains `config` in `workdir`, resuming from its newest good checkpoint if there is one.

  callbacks: `cb(step, epoch, params, apply_fn) -> dict | None`, called after each epoch on every
  process; returned scalars are logged. Returns the final params and the evaluation history.
  """
  # ---- build, initialise, restore, compile
  exp = experiment_lib.build(config)
  distributed.barrier("attent_jax/built")  # Processes load data at different speeds.
  train, workdir = config.train, pathlib.Path(workdir)
  if "label_flipped" in exp.train_pool.arrays and jax.process_index() == 0:  # config.data.label_noise
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "flipped_labels.json").write_text(json.dumps(
        {"indices": np.flatnonzero(exp.train_pool.arrays["label_flipped"]).tolist()}))
  rules = sharding_lib.rules_for(train.fsdp)
  state = init_state(exp.task, exp.optimizer, config.seed, mesh=exp.mesh, rules=rules)  # Sharded.
  teacher_state = exp.teacher.init(jax.random.fold_in(jax.random.key(config.seed), 0x7EAC))
  steps = steps_lib.CompiledSteps(exp.task, exp.optimizer, exp.teacher, exp.mesh, state,
                                  teacher_state, rules,
                                  host_learning_rate=exp.epoch_learning_rates is not None)
  state, teacher_state = steps.place(state, teacher_state)
  checkpointer = checkpoint_lib.Checkpointer(workdir, fingerprint=exp.fingerprint,
                                             max_to_keep=train.max_to_keep)
  position = Position()
  restored = checkpointer.restore(_abstract({"state": state, "teacher": teacher_state}))
  if restored is not None:
    tree, meta = restored
    state, teacher_state, position = tree["state"], tree["teacher"], Position.from_meta(meta)
    logging.info("resumed from step %d (epoch %d, batch %d)", int(state.step), position.epoch,
                 position.batch_in_epoch)
  clock = position.clock
  with clock.measure("compile"):
    # Fresh scores come from scoring passes; so do the irreducible losses, also for cached scores.
    passes = (any(exp.teacher.wants_fresh_scores(e) for e in range(train.epochs))
              or exp.teacher.score_kind == "reducible_loss")
    steps.compile(state, teacher_state, exp.batcher.batch(np.zeros(1, np.int32)),
                  exp.eval_batcher.batch(np.zeros(1, np.int32)), scoring_passes=passes,
                  pool_size=exp.train_pool.size)
  distributed.barrier("attent_jax/compiled")  # Start the first step's collectives together.
  irreducible = None
  if exp.teacher.score_kind == "reducible_loss":  # RHO-LOSS: one pass of the other model, each start.
    with clock.measure("score"):
      irreducible = irreducible_lib.pool_losses(exp, steps, state)
      exp.batcher.set_column("irreducible", irreducible)  # for the train step's cached scores
  writer = metrics_lib.MetricsWriter(workdir)
  bar = tqdm.tqdm(total=exp.total_steps, initial=int(state.step), unit="step", dynamic_ncols=True,
                  disable=not progress or jax.process_index() != 0)
  log = StepLog(writer, exp.learning_rate, bar, train.log_every_steps)

  # ---- the epochs
  stopped = False
  try:
    with Watcher() as preemption:
      while position.epoch < train.epochs and not stopped:
        if position.batch_in_epoch < 0:
          if exp.teacher.wants_fresh_scores(position.epoch):
            with clock.measure("score"):
              teacher_state = phases.score_pool(exp, steps, state, teacher_state, irreducible)
          with clock.measure("select"):
            exp.teacher.check_state(teacher_state)  # clear errors (see selection.guards)
            teacher_state, plan = steps.next_epoch(teacher_state)
            position.batch_in_epoch = 0
        else:  # Resumed inside an epoch: its plan lives in the teacher's state.
          plan = steps.current_plan(teacher_state)

        with clock.measure("train"):
          for state, teacher_state, step in phases.train_batches(
              exp, steps, state, teacher_state, plan, position.batch_in_epoch, log, position.epoch):
            position.batch_in_epoch += 1
            if preemption.reached(step) or step == train.stop_after_step:
              logging.warning("stopping at step %d (%s); checkpointing", step,
                              "SIGTERM, agreed by every process" if step != train.stop_after_step
                              else "config.train.stop_after_step")
              stopped = True
            if stopped or (train.checkpoint_every_steps and step % train.checkpoint_every_steps == 0):
              _checkpoint(checkpointer, state, teacher_state, position, log)
            if stopped:
              break
          jax.block_until_ready(state)
          log.flush(position.epoch)
        if stopped:
          break

        record = _epoch_record(plan, state, position)
        last = position.epoch + 1 == train.epochs
        if eval_cadence.due(train.eval_cadence, train.eval_every_epochs, epochs_done=position.epoch,
                            examples_before=sum(r["examples"] for r in position.history),
                            examples=record["examples"], pool_size=exp.train_pool.size, last=last):
          with clock.measure("eval"):
            record.update({f"eval/{k}": v for k, v in phases.evaluate(exp, steps, state).items()})
        params = exp.task.combine(state.params, state.frozen)
        for callback in callbacks:
          record.update(callback(int(state.step), position.epoch + 1, params, exp.task.apply_fn) or {})
        record.update(clock.as_metrics())
        position.history.append(record)
        writer.write(record["step"], {k: v for k, v in record.items() if k != "step"})
        logging.info("epoch %d: %s", position.epoch + 1, json.dumps(record))
        position.epoch, position.batch_in_epoch = position.epoch + 1, -1
        _checkpoint(checkpointer, state, teacher_state, position, log)
  finally:
    bar.close()
    writer.close()
    completed = position.epoch >= train.epochs and not stopped
    params = exp.task.combine(state.params, state.frozen)
    if completed:
      checkpoint_lib.save_params(workdir / "final_params", params)
      if jax.process_index() == 0:
        (workdir / "summary.json").write_text(json.dumps(
            {"history": position.history, "timers": clock.totals}, indent=1))
    checkpointer.close()
  return RunResult(params=params, apply_fn=exp.task.apply_fn, history=position.history,
                   timers=dict(clock.totals), workdir=workdir, preempted=not completed)
