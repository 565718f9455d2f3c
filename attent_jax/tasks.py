"""Tasks: a model plus what training, scoring and evaluation need from it.

A `Task` joins an attention learner (from `attent_jax.models`) to its per-example loss and its evaluation
metric, and says which parameters train (all of them, or only LoRA adapters). Everything here is pure and
jittable; the training loop and the teacher see only `losses`, `scores` and `eval_sums`.

  kind "classify":            ViT on images, classification CE; eval: accuracy and loss
  kind "language_model":      GPT on byte sequences, token CE over valid targets; eval: loss, perplexity
  kind "masked_autoencoder":  MAE on images, MSE over masked patches; eval: reconstruction loss
                              (+ a linear probe of the encoder, see attent_jax.probe)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax import losses as losses_lib

KINDS = {"vit": "classify", "gpt": "language_model", "mae": "masked_autoencoder"}
SCORE_KINDS = ("loss", "discrepancy", "ntk")
Params = Any
Batch = dict[str, jax.Array]


def _identity_partition(params):
  return params, {}


def _identity_combine(trainable, frozen):
  del frozen
  return trainable


@dataclasses.dataclass(frozen=True)
class Task:
  """A model with its loss. `params` = combine(trainable, frozen); only `trainable` is optimised.

  The initial parameters are `init_fn(init_args)`: a pure, jittable function of a pytree of arrays (a
  PRNG key for a random init; loaded arrays for a pretrained model). `train.init_state` runs it under
  `jax.jit(..., out_shardings=...)`, so that each device materialises only its own shards; `params`
  is the same value computed eagerly on first use (for callers that want the whole tree at once).
  """

  kind: str
  apply_fn: Callable[..., Any]
  init_fn: Callable[[Any], Params]
  init_args: Any
  partition: Callable[[Params], tuple[Params, Params]] = _identity_partition
  combine: Callable[[Params, Params], Params] = _identity_combine
  encode_fn: Callable[[Params, Batch], jax.Array] | None = None

  @functools.cached_property
  def params(self) -> Params:
    return self.init_fn(self.init_args)

  def outputs(self, params: Params, batch: Batch, *, train: bool = False, rng=None):
    """The model's raw outputs (logits, or the MAE's reconstruction dict)."""
    return self.apply_fn(params, batch, train=train, rng=rng)

  def losses_from_outputs(self, outputs, batch: Batch) -> jax.Array:
    """f32[B] per-example losses; rows with batch["mask"] False are 0."""
    mask_B = batch["mask"]
    if self.kind == "classify":
      return losses_lib.classification_cross_entropy(outputs, batch["label"], mask_B)
    if self.kind == "language_model":
      loss_B, _ = losses_lib.token_cross_entropy(
          outputs, batch["targets"], batch["loss_mask"] & mask_B[:, None])
      return loss_B
    return losses_lib.mae_reconstruction(
        outputs["pred"], outputs["target"], outputs["masked"], mask_B)

  def losses(self, params: Params, batch: Batch, *, train: bool = False, rng=None) -> jax.Array:
    return self.losses_from_outputs(self.outputs(params, batch, train=train, rng=rng), batch)

  def scores(self, params: Params, batch: Batch, kind: str = "loss") -> jax.Array:
    """f32[B] teacher scores from a no-grad, deterministic pass: "loss" or "discrepancy".

    (The "ntk" score needs the whole pool at once; see `attent_jax.ntk.ntk_guided_scores`.)
    """
    outputs = self.outputs(params, batch, train=False)
    if kind == "loss" or self.kind == "masked_autoencoder":
      # For the MAE the squared reconstruction error is already the squared functional residual.
      return jax.lax.stop_gradient(self.losses_from_outputs(outputs, batch))
    if kind != "discrepancy":
      raise ValueError(f"score kind {kind!r} is not computed per batch; expected 'loss' or 'discrepancy'")
    if self.kind == "classify":
      return losses_lib.residual_norm(outputs, batch["label"], batch["mask"])
    return losses_lib.residual_norm(outputs, batch["targets"], batch["loss_mask"] & batch["mask"][:, None])

  def eval_sums(self, params: Params, batch: Batch) -> dict[str, jax.Array]:
    """Sums over the valid rows of a batch, to be added up over an eval set."""
    outputs = self.outputs(params, batch, train=False)
    mask_B = batch["mask"].astype(jnp.float32)
    sums = {"loss": (self.losses_from_outputs(outputs, batch) * mask_B).sum(), "count": mask_B.sum()}
    if self.kind == "classify":
      correct_B = (jnp.argmax(outputs, axis=-1) == batch["label"]).astype(jnp.float32)
      sums["correct"] = (correct_B * mask_B).sum()
    return sums

  def summarize(self, sums: dict[str, float]) -> dict[str, float]:
    """Eval metrics from `eval_sums` added up over an eval set."""
    count = max(float(sums["count"]), 1.0)
    metrics = {"loss": float(sums["loss"]) / count}
    if self.kind == "classify":
      metrics["accuracy"] = float(sums["correct"]) / count
    elif self.kind == "language_model":
      metrics["perplexity"] = float(np.exp(min(metrics["loss"], 50.0)))
    return metrics
