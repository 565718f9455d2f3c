"""Tasks: a model plus what training, scoring and evaluation need from it.

A `Task` joins an attention learner (from `attent_jax.models`) to its kind's record (`attent_jax.kinds`:
per-example loss, functional residual, evaluation sums) and says which parameters train (all of them, or
only LoRA adapters). Everything here is pure and jittable; the training loop and the teacher see only
`losses`, `scores` and `eval_sums`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from attent_jax.kinds import ModelKind

Params = Any
Batch = dict[str, jax.Array]


def _identity_partition(params):
  return params, {}


def _identity_combine(trainable, frozen):
  del frozen
  return trainable


def given(params: Params) -> Params:
  """The `Task.init_fn` of parameters that already exist (loaded, or built by the caller): they are
  its `init_args`. `Task(kind=..., apply_fn=..., init_fn=given, init_args=params)`."""
  return params


@dataclasses.dataclass(frozen=True)
class Task:
  """A model with its loss. `params` = combine(trainable, frozen); only `trainable` is optimised.

  The initial parameters are `init_fn(init_args)`: a pure, jittable function of a pytree of arrays (a
  PRNG key for a random init; loaded arrays for a pretrained model). `train.init_state` runs it under
  `jax.jit(..., out_shardings=...)`, so that each device materialises only its own shards; `params`
  is the same value computed eagerly on first use (for callers that want the whole tree at once).
  """

  kind: ModelKind
  apply_fn: Callable[..., Any]
  init_fn: Callable[[Any], Params]
  init_args: Any
  partition: Callable[[Params], tuple[Params, Params]] = _identity_partition
  combine: Callable[[Params, Params], Params] = _identity_combine
  encode_fn: Callable[[Params, Batch], jax.Array] | None = None
  model_config: Any = None  # The model's frozen config as built or loaded (a checkpoint's defines it).

  @functools.cached_property
  def params(self) -> Params:
    return self.init_fn(self.init_args)

  def outputs(self, params: Params, batch: Batch, *, train: bool = False, rng=None):
    """The model's raw outputs (logits, or the MAE's reconstruction dict)."""
    return self.apply_fn(params, batch, train=train, rng=rng)

  def losses_from_outputs(self, outputs, batch: Batch) -> jax.Array:
    """f32[B] per-example losses; rows with batch["mask"] False are 0."""
    return self.kind.losses(outputs, batch)

  def losses(self, params: Params, batch: Batch, *, train: bool = False, rng=None) -> jax.Array:
    return self.losses_from_outputs(self.outputs(params, batch, train=train, rng=rng), batch)

  def scores(self, params: Params, batch: Batch, kind: str = "loss") -> jax.Array:
    """f32[B] teacher scores from a no-grad, deterministic pass: "loss" or "discrepancy".

    (The "ntk" score needs the whole pool at once; see `attent_jax.ntk.ntk_guided_scores`.)
    """
    if kind not in ("loss", "discrepancy"):
      raise ValueError(f"score kind {kind!r} is not computed per batch; expected 'loss' or 'discrepancy'")
    outputs = self.outputs(params, batch, train=False)
    score_fn = self.kind.losses if kind == "loss" else self.kind.discrepancy
    return jax.lax.stop_gradient(score_fn(outputs, batch))

  def eval_sums(self, params: Params, batch: Batch) -> dict[str, jax.Array]:
    """Sums over the valid rows of a batch, to be added up over an eval set."""
    outputs = self.outputs(params, batch, train=False)
    mask_B = batch["mask"].astype(jnp.float32)
    return {"loss": (self.losses_from_outputs(outputs, batch) * mask_B).sum(), "count": mask_B.sum(),
            **self.kind.eval_sums(outputs, batch)}

  def summarize(self, sums: dict[str, float]) -> dict[str, float]:
    """Eval metrics from `eval_sums` added up over an eval set."""
    count = max(float(sums["count"]), 1.0)
    return {"loss": float(sums["loss"]) / count, **self.kind.summarize(sums, count)}
