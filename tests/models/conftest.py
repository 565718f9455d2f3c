"""Shared helpers for the model tests: one optax.adam step, for the golden values."""

from collections.abc import Callable

import jax
import optax
import pytest


def _loss_after_one_adam_step(loss_fn: Callable, params, learning_rate: float = 1e-2) -> float:
  """Mean loss (a float) after one optax.adam step on `loss_fn(params) -> scalar`, jitted once."""
  optimizer = optax.adam(learning_rate)

  @jax.jit
  def step_then_loss(params):
    grads = jax.grad(loss_fn)(params)
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    return loss_fn(optax.apply_updates(params, updates))

  return float(step_then_loss(params))


@pytest.fixture
def loss_after_one_adam_step():
  return _loss_after_one_adam_step
