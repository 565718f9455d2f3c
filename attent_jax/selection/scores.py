"""The per-example scores the teacher ranks by ("ntk" comes from `attent_jax.ntk`; "relative_loss", the
de-biased cached loss, from `relative_loss` below, applied by the train step; "reducible_loss", loss
minus an irreducible loss, from `attent_jax.train.irreducible`, on fresh passes and in the train step).

Thin, documented aliases of `attent_jax.losses`, so that code importing only `attent_jax.selection` has
the scores at hand. Both are pure, jittable, float32, and work on batch-sharded inputs (they reduce only
within an example).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from attent_jax import losses

SCORE_KINDS = ("loss", "discrepancy", "ntk", "relative_loss", "reducible_loss")


def per_example_loss(
    logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
  """Cross-entropy of each example over its valid positions: f32[B].

  logits f32[B, ..., V], labels int[B, ...], mask bool[B, ...] (None: every position counts). An example
  with no valid position scores 0. Equals `attent_jax.losses.cross_entropy(logits, labels, mask)[0]`.
  """
  loss_B, _ = losses.cross_entropy(logits, labels, mask)
  return loss_B


def discrepancy(
    logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
  """Functional discrepancy ||softmax(logits) - onehot(labels)|| over valid positions: f32[B].

  The norm of dL/dlogits, the quantity greedy nonparametric teaching maximises. Same shapes
  as `per_example_loss`. Equals `attent_jax.losses.residual_norm(logits, labels, mask)`.
  """
  return losses.residual_norm(logits, labels, mask)


def relative_loss(losses_B: jax.Array, mask_B: jax.Array) -> jax.Array:
  """Each loss minus the mean loss of the batch it was computed in (over real rows): f32[B].

  The de-biased cached score. A cached training loss mixes how hard the example is with when it was
  recorded: early in training every loss is high. Subtracting the batch's mean loss, computed by the
  same parameters at the same step, removes that time trend. The batch mean is used rather than a
  running (EMA) mean because it is exactly contemporaneous (an EMA lags a falling loss, which is the
  very bias to remove), needs no state, and the loop's batches are uniform draws from the epoch's
  plan (its order is a random permutation). Its costs: the noise of a batch mean, and, in a subset
  epoch, losses are relative to the subset's mean. A fresh scoring pass of this kind subtracts the
  pool's mean instead (all examples scored by the same parameters). Padded rows (mask False) score 0.
  """
  mask_B = mask_B.astype(bool)
  count = jnp.maximum(mask_B.sum(), 1).astype(jnp.float32)
  mean = jnp.where(mask_B, losses_B, 0.0).sum() / count
  return jnp.where(mask_B, losses_B - mean, 0.0).astype(jnp.float32)
