"""Online batch selection (Loshchilov & Hutter, 2015): sample by exponentially decaying loss rank.

Every example is ranked by its latest known loss (rank 0 = the largest; ties to the lower index;
never-scored examples, keyed +inf by the teacher, first). Rank r is drawn with probability

    p(r) = exp(-log(s) r / N) / sum_j exp(-log(s) j / N),

so the most likely example is s times as likely as the least likely one (s: the selection
pressure; s = 1 is uniform). An epoch's `count` examples are drawn without replacement, each draw
proportional to p among those not yet drawn, by Gumbel-top-k: the top `count` of
log p(r_i) + g_i, g_i standard Gumbel noise. Pure jax, jittable, fixed shapes.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from attent_jax.selection import sharded

DEFAULT_PRESSURE = 100.0  # the paper's s_e0 = 10^2


def check_pressure(value) -> float:
  """Returns the selection pressure as a float, or raises ValueError unless it is a number >= 1."""
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1.0:
    raise ValueError(f"pressure must be a number >= 1 (1 is uniform sampling), got {value!r}")
  return float(value)


def rank_log_probs(scores: jax.Array, pressure: float) -> jax.Array:
  """log p of each example under rank-based selection (unnormalised: the constant is irrelevant to
  sampling), shaped and sharded like `scores`: f32[N], or the teacher's [L, M] layout (ranks over the
  whole pool, ties to the lower example id). The ranking gathers the scores on every device."""
  flat = sharded.replicate(scores)
  if scores.ndim == 2:  # the layout [L, M] in example-id order (`selection.layout`)
    flat = flat.T.reshape(-1)
  n = flat.shape[0]
  order = jnp.argsort(-flat, stable=True)
  rank = jnp.zeros(n, jnp.float32).at[order].set(jnp.arange(n, dtype=jnp.float32))
  if scores.ndim == 2:
    rank = rank.reshape(scores.shape[1], scores.shape[0]).T
  return sharded.like(-math.log(pressure) * rank / n, scores)


def sampling_keys(scores: jax.Array, pressure: float, gumbel: jax.Array) -> jax.Array:
  """Keys, shaped like `scores`, whose top `count` is a draw of `count` examples without replacement
  from the rank-based distribution: log p + Gumbel noise (`gumbel`: standard Gumbel, like scores)."""
  return rank_log_probs(scores, pressure) + gumbel
