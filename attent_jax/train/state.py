"""The training state: a pytree holding everything that changes from step to step, except the teacher's.

`init_state` builds it, on a mesh directly sharded by the parameter partition rules: the model's init
runs under `jax.jit(..., out_shardings=...)`, so with `FSDP_RULES` no device ever holds a whole
sharded kernel, at initialisation as in training (benchmarks/sharded_init.md measures the difference).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from attent_jax import sharding as sharding_lib


class TrainState(NamedTuple):
  """params: the trainable parameters; frozen: those that never change (e.g. a LoRA base model);
  opt_state: optax state of `params`; step: optimizer steps taken (int32[]); rng: base key data
  (uint32[2]); the step's key is fold_in(rng, step)."""

  params: Any
  frozen: Any
  opt_state: Any
  step: jax.Array
  rng: jax.Array


def state_fn(task, optimizer: optax.GradientTransformation, seed: int):
  """The initialisation as a pure, jittable function: task.init_args -> TrainState at step 0."""
  def build(init_args) -> TrainState:
    trainable, frozen = task.partition(task.init_fn(init_args))
    return TrainState(params=trainable, frozen=frozen, opt_state=optimizer.init(trainable),
                      step=jnp.zeros((), jnp.int32),
                      rng=jax.random.key_data(jax.random.fold_in(jax.random.key(seed), 0x7EA)))
  return build


def state_shardings(state: TrainState, optimizer, mesh: jax.sharding.Mesh,
                    rules: sharding_lib.Rules) -> TrainState:
  """Shardings of a TrainState (concrete or abstract): params, frozen params and the optimizer's
  moments by rule, everything else replicated."""
  replicated = sharding_lib.replicated(mesh)
  params_sharding = sharding_lib.param_shardings(state.params, mesh, rules)
  opt_sharding = optax.tree_map_params(
      optimizer, lambda _, sharding: sharding, state.opt_state, params_sharding,
      transform_non_params=lambda _: replicated)
  return TrainState(params=params_sharding,
                    frozen=sharding_lib.param_shardings(state.frozen, mesh, rules),
                    opt_state=opt_sharding, step=replicated, rng=replicated)


def init_state(task, optimizer: optax.GradientTransformation, seed: int, *,
               mesh: jax.sharding.Mesh | None = None,
               rules: sharding_lib.Rules = sharding_lib.DATA_PARALLEL_RULES) -> TrainState:
  """The state at step 0: `task.init_fn(task.init_args)` partitioned, fresh optimizer state.

  Without `mesh`: computed eagerly, on the default device. With `mesh`: one jitted computation whose
  outputs are laid out by `state_shardings(..., mesh, rules)`, so each device materialises only its
  shards (its peak memory at init is then about the sharded state's, not the whole model's). Both give
  the same values.
  """
  build = state_fn(task, optimizer, seed)
  if mesh is None:
    return build(task.init_args)
  shardings = state_shardings(jax.eval_shape(build, task.init_args), optimizer, mesh, rules)
  return jax.jit(build, out_shardings=shardings)(task.init_args)


def step_key(state: TrainState) -> jax.Array:
  return jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
