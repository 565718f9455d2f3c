"""The training state: a pytree holding everything that changes from step to step, except the teacher's."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class TrainState(NamedTuple):
  """params: the trainable parameters; frozen: those that never change (e.g. a LoRA base model);
  opt_state: optax state of `params`; step: optimizer steps taken (int32[]); rng: base key data
  (uint32[2]); the step's key is fold_in(rng, step)."""

  params: Any
  frozen: Any
  opt_state: Any
  step: jax.Array
  rng: jax.Array


def init_state(task, optimizer: optax.GradientTransformation, seed: int) -> TrainState:
  trainable, frozen = task.partition(task.params)
  return TrainState(params=trainable, frozen=frozen, opt_state=optimizer.init(trainable),
                    step=jnp.zeros((), jnp.int32),
                    rng=jax.random.key_data(jax.random.fold_in(jax.random.key(seed), 0x7EA)))


def step_key(state: TrainState) -> jax.Array:
  return jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
