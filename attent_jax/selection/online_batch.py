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


def rank_log_probs(scores_N: jax.Array, pressure: float) -> jax.Array:
  """log p f32[N] of each example under rank-based selection (unnormalised: the constant is
  irrelevant to sampling). scores_N may be sharded; the result is replicated."""
  n = scores_N.shape[0]
  order_N = jnp.argsort(-sharded.replicate(scores_N), stable=True)
  rank_N = jnp.zeros(n, jnp.float32).at[order_N].set(jnp.arange(n, dtype=jnp.float32))
  return -math.log(pressure) * rank_N / n


def sampling_keys(scores_N: jax.Array, pressure: float, gumbel_N: jax.Array) -> jax.Array:
  """Keys f32[N] whose top `count` is a draw of `count` examples without replacement from the
  rank-based distribution: log p + Gumbel noise (`gumbel_N`: standard Gumbel, f32[N])."""
  return rank_log_probs(scores_N, pressure) + sharded.replicate(gumbel_N)
