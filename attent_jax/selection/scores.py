"""The two per-example scores the teacher ranks by (the third, "ntk", comes from `attent_jax.ntk`).

Thin, documented aliases of `attent_jax.losses`, so that code importing only `attent_jax.selection` has
the scores at hand. Both are pure, jittable, float32, and work on batch-sharded inputs (they reduce only
within an example).
"""

from __future__ import annotations

import jax

from attent_jax import losses

SCORE_KINDS = ("loss", "discrepancy", "ntk")


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
