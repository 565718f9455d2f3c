"""Per-example losses: every function returns float32 values of shape [B], one per example.

These are what the teacher ranks, so each one is exact about which positions count: padding, prompt
positions and (for the masked autoencoder) visible patches never contribute. Math is always float32,
whatever dtype the model computed in. Depends on jax only, so `attent_jax.selection` can use it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _masked_mean(values_BT: jax.Array, mask_BT: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Mean over the valid positions of each row; rows with no valid position give 0 and valid=False."""
  mask_BT = mask_BT.astype(jnp.float32)
  count_B = mask_BT.sum(axis=-1)
  total_B = (values_BT * mask_BT).sum(axis=-1)
  valid_B = count_B > 0
  return jnp.where(valid_B, total_B / jnp.maximum(count_B, 1.0), 0.0), valid_B


def cross_entropy(
    logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
  """Cross-entropy per example, averaged over its valid positions.

  Args:
    logits: f32[B, ..., V] (any float dtype; upcast to float32).
    labels: int[B, ...], same leading shape as `logits` without V.
    mask: bool[B, ...] marking the positions that count (None: all of them).

  Returns:
    (loss f32[B], valid bool[B]). An example with no valid position has loss 0 and valid False.
  """
  logits = logits.astype(jnp.float32)
  batch = logits.shape[0]
  log_probs = jax.nn.log_softmax(logits, axis=-1)
  nll = -jnp.take_along_axis(log_probs, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
  if mask is None:
    mask = jnp.ones(labels.shape, dtype=bool)
  return _masked_mean(nll.reshape(batch, -1), mask.reshape(batch, -1))


def residual_norm(
    logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
  """Functional discrepancy: sqrt(sum over valid positions of ||softmax(logits) - onehot(labels)||^2).

  `softmax - onehot` is dL/dlogits of cross-entropy, so this is the norm of the functional gradient
  the teacher greedily follows. logits f32[B, ..., V], labels int[B, ...], mask bool[B, ...] -> f32[B].
  """
  logits = logits.astype(jnp.float32)
  batch = logits.shape[0]
  residual = jax.nn.softmax(logits, axis=-1) - jax.nn.one_hot(labels, logits.shape[-1])
  squared = (residual * residual).sum(axis=-1)
  if mask is not None:
    squared = jnp.where(mask, squared, 0.0)
  return jnp.sqrt(squared.reshape(batch, -1).sum(axis=-1))


def mae_reconstruction(
    pred_BNP: jax.Array, target_BNP: jax.Array, masked_BN: jax.Array,
    example_mask_B: jax.Array | None = None,
) -> jax.Array:
  """Masked-autoencoder loss per example: mean squared error over the masked patches only.

  pred/target f32[B, N, P] (P = pixels per patch), masked_BN True where a patch was hidden from the
  encoder. Returns f32[B]; rows with `example_mask_B` False (a padded tail) get 0.
  """
  error_BN = jnp.mean(jnp.square(pred_BNP.astype(jnp.float32) - target_BNP.astype(jnp.float32)), -1)
  loss_B, _ = _masked_mean(error_BN, masked_BN)
  if example_mask_B is not None:
    loss_B = jnp.where(example_mask_B, loss_B, 0.0)
  return loss_B
