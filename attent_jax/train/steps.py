"""The jitted steps: train (with the teacher's free score cache), fresh scoring, and evaluation.

All are pure functions compiled once with explicit shardings on the mesh: the train state and the
teacher state follow the parameter partition rules (replicated by default), batches are split over
`data`. The train state and teacher state are donated.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec as P

from attent_jax import sharding as sharding_lib
from attent_jax import selection
from attent_jax.selection import scores as scores_lib
from attent_jax.tasks import Task
from attent_jax.train.state import TrainState, state_shardings, step_key


def _weighted_mean(losses_B: jax.Array, batch) -> jax.Array:
  """Mean of the weighted losses over the batch's real rows (weights are 1 unless reweighting)."""
  count = jnp.maximum(batch["mask"].sum(), 1).astype(jnp.float32)
  return (losses_B * batch["weight"]).sum() / count


def train_step_fn(task: Task, optimizer: optax.GradientTransformation, teacher, *,
                  host_learning_rate: bool = False):
  """(state, teacher_state, batch) -> (state, teacher_state, metrics); metrics["losses"] is f32[B].

  host_learning_rate (config.train.schedule_over="epochs"): the step takes a fourth argument, the
  LR f32[] computed on the host (`attent_jax.epoch_schedule`), scales the optimizer's updates (whose
  own LR is 1) by it, and reports it as metrics["learning_rate"].
  """

  def train_step(state: TrainState, teacher_state, batch, learning_rate=None):
    rng = step_key(state)

    def loss_fn(trainable):
      params = task.combine(trainable, state.frozen)
      losses_B = task.losses(params, batch, train=True, rng=rng)
      return _weighted_mean(losses_B, batch), losses_B

    (loss, losses_B), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    if learning_rate is not None:
      updates = jax.tree.map(lambda u: (learning_rate * u).astype(u.dtype), updates)
    params = optax.apply_updates(state.params, updates)
    teacher_state = teacher.record(teacher_state, batch["index"], losses_B, batch["mask"], kind="loss")
    # The de-biased cached score; a no-op (compiled away) unless the teacher tracks it.
    teacher_state = teacher.record(teacher_state, batch["index"],
                                   scores_lib.relative_loss(losses_B, batch["mask"]), batch["mask"],
                                   kind="relative_loss")
    if "irreducible" in batch:  # RHO-LOSS's cached score, de-biased like relative_loss.
      teacher_state = teacher.record(
          teacher_state, batch["index"],
          scores_lib.relative_loss(losses_B - batch["irreducible"], batch["mask"]), batch["mask"],
          kind="reducible_loss")
    metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads), "losses": losses_B}
    if learning_rate is not None:
      metrics["learning_rate"] = learning_rate
    return state._replace(params=params, opt_state=opt_state, step=state.step + 1), teacher_state, metrics

  if host_learning_rate:
    return train_step
  return lambda state, teacher_state, batch: train_step(state, teacher_state, batch)


class CompiledSteps:
  """The run's jitted functions with their shardings, built once per run.

  train(state, teacher_state, batch[, learning_rate f32[] if host_learning_rate]), score(state, batch) -> f32[B] of the teacher's score kind,
  evaluate(state, batch) -> sums, record_pool(teacher_state, indices, scores, mask),
  next_epoch(teacher_state) -> (teacher_state, plan), current_plan(teacher_state) -> plan.
  """

  def __init__(self, task: Task, optimizer, teacher, mesh, state: TrainState, teacher_state, rules, *,
               host_learning_rate: bool = False):
    self.mesh, self.host_learning_rate = mesh, host_learning_rate
    self.state_sharding = state_shardings(state, optimizer, mesh, rules)
    replicated = sharding_lib.replicated(mesh)
    # dim 0: the logical shards, split over the data axis when its size divides their number
    by_shard = (NamedSharding(mesh, P(sharding_lib.DATA_AXIS))
                if teacher.layout.shards % mesh.shape[sharding_lib.DATA_AXIS] == 0 else replicated)
    self.teacher_sharding = type(teacher_state)(**{
        field: jax.tree.map(lambda _: replicated if field in ("epoch", "key") else by_shard, value)
        for field, value in teacher_state._asdict().items()})
    plan_sharding = selection.Plan(indices=by_shard, weights=by_shard, counts=replicated,
                                   reselected=replicated, epoch=replicated)
    batch = NamedSharding(mesh, P(sharding_lib.DATA_AXIS))
    metric_shardings = {"loss": replicated, "grad_norm": replicated, "losses": replicated}
    if host_learning_rate:
      metric_shardings["learning_rate"] = replicated
    self.train = jax.jit(
        train_step_fn(task, optimizer, teacher, host_learning_rate=host_learning_rate),
        in_shardings=(self.state_sharding, self.teacher_sharding, batch)
        + ((replicated,) if host_learning_rate else ()),
        out_shardings=(self.state_sharding, self.teacher_sharding, metric_shardings),
        donate_argnums=(0, 1))
    self.score_kind = teacher.score_kind

    # A fresh pass of "relative_loss" / "reducible_loss" computes losses; `phases.score_pool` subtracts
    # the pool's mean / the irreducible losses.
    pass_kind = "loss" if teacher.score_kind in ("relative_loss", "reducible_loss") else teacher.score_kind

    def score(state: TrainState, batch):
      return task.scores(task.combine(state.params, state.frozen), batch, pass_kind)

    def evaluate(state: TrainState, batch):
      return task.eval_sums(task.combine(state.params, state.frozen), batch)

    def record_pool(teacher_state, indices, scores, mask):
      return teacher.record(teacher_state, indices, scores, mask, kind=teacher.score_kind)

    # Per-example outputs come back replicated (B floats): every process can read them on multi-host.
    self.score = jax.jit(score, in_shardings=(self.state_sharding, batch), out_shardings=replicated)
    self.evaluate = jax.jit(evaluate, in_shardings=(self.state_sharding, batch),
                            out_shardings=replicated)
    self.record_pool = jax.jit(record_pool, donate_argnums=0, out_shardings=self.teacher_sharding)
    # The plan stays sharded by logical shard: each process reads only its own rows of each batch.
    self.next_epoch = jax.jit(teacher.next_epoch, out_shardings=(self.teacher_sharding, plan_sharding))
    self.current_plan = jax.jit(teacher.current_plan, out_shardings=plan_sharding)

  def compile(self, state: TrainState, teacher_state, train_batch, eval_batch, *,
              scoring_passes: bool, pool_size: int) -> None:
    """Compiles every step ahead of time (replacing each jitted function by its executable), so the
    run's clock measures steady-state work; the caller times this as "compile". `scoring_passes`:
    the run scores the pool (fresh scores, or RHO-LOSS's irreducible losses), so `score` and
    `record_pool` are compiled too."""
    lr = (jax.ShapeDtypeStruct((), jnp.float32),) if self.host_learning_rate else ()
    self.train = self.train.lower(state, teacher_state, train_batch, *lr).compile()
    self.evaluate = self.evaluate.lower(state, eval_batch).compile()
    self.next_epoch = self.next_epoch.lower(teacher_state).compile()
    if scoring_passes and self.score_kind != "ntk":
      self.score = self.score.lower(state, eval_batch).compile()
      vector = lambda dtype: jax.ShapeDtypeStruct((pool_size,), dtype)
      self.record_pool = self.record_pool.lower(
          teacher_state, vector(jnp.int32), vector(jnp.float32), vector(jnp.bool_)).compile()

  def place(self, state: TrainState, teacher_state):
    return (jax.device_put(state, self.state_sharding),
            jax.device_put(teacher_state, self.teacher_sharding))
