"""Ranking and selecting examples by score: hard top-k, soft (Gumbel-top-k) and uniform random.

Every method is one vector of keys and one stable descending order of it:
  hard:   key = score.
  soft:   key = log(normalize(score)) / temperature + Gumbel noise. Taking the k largest keys draws k
          distinct indices without replacement with probability proportional to
          normalize(score) ** (1 / temperature) (the Gumbel-top-k trick). For "softmax" the
          log-normaliser is a constant shift, so the key is (score - max finite score) / temperature +
          noise: the same distribution, with no cross-shard sum whose rounding could depend on the
          sharding.
  random: key = Gumbel noise: a uniformly random subset, in random order.
NaN and -inf scores get key -inf (below every finite key), so they are never chosen ahead of finite
scores; +inf scores come first. Ties go to the lower index. `rank` is the full order int32[N] and
`select(scores, k)` is exactly `rank(scores)[:k]`: a schedule whose ratio changes takes a longer or
shorter prefix of a fixed-shape [N] array, with no retrace.

The noise comes from `jax.random` with partitionable threefry (JAX's default), so it is the same bits
whether or not `scores` is sharded, and `select` on scores sharded over a mesh axis returns exactly what
it returns on one device (see `sharded.py` for the cross-shard top-k).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.selection import sharded
from attent_jax.checks import require_choice

METHODS = ("hard", "soft", "random")
NORMALIZERS = ("softmax", "sigmoid")


def check_selection_args(method: str, temperature: float, normalize: str) -> None:
  """Raises ValueError for an unknown method or normaliser, or a temperature that is not > 0."""
  require_choice("method", method, METHODS)
  require_choice("normalize", normalize, NORMALIZERS)
  if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
      math.isfinite(temperature) and temperature > 0):
    raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")


def _check_call(scores, method: str, key, temperature: float, normalize: str) -> jax.Array:
  """`scores` as a float32 array (lists and numpy arrays welcome), after checking the arguments."""
  if not isinstance(scores, jax.Array):
    scores = np.asarray(scores)
    if not (np.issubdtype(scores.dtype, np.number) or scores.dtype == bool):
      raise ValueError(f"scores must be numbers, got dtype {scores.dtype}")
  if jnp.ndim(scores) != 1:
    raise ValueError(f"scores must be a 1-D array f32[N], got shape {jnp.shape(scores)}")
  check_selection_args(method, temperature, normalize)
  if method != "hard" and key is None:
    raise ValueError(f"method {method!r} needs a PRNG key: pass key=jax.random.key(...)")
  return jnp.asarray(scores, jnp.float32)


def selection_keys(
    scores_N: jax.Array, method: str, key: jax.Array | None = None, temperature: float = 1.0,
    normalize: str = "softmax", *, noise: jax.Array | None = None,
) -> jax.Array:
  """Keys f32[N] whose stable descending order is the ranking (see module docstring).

  Soft and random keys use Gumbel noise drawn from `key`, or `noise` f32[N] (standard Gumbel samples)
  when given. Invalid scores (NaN, -inf) get -inf; every valid key is finite or +inf; zeros are
  canonical (+0.0). Keeps the sharding of `scores_N` (elementwise, plus a max for "softmax").
  Pure; arguments unchecked.
  """
  scores_N = scores_N.astype(jnp.float32)
  valid_N = ~(jnp.isnan(scores_N) | (scores_N == -jnp.inf))
  if method == "hard":
    keys_N = scores_N
  else:
    noise_N = gumbel_like(key, scores_N) if noise is None else noise
    if method == "random":
      keys_N = noise_N
    else:
      if normalize == "softmax":
        top = jnp.max(jnp.where(jnp.isfinite(scores_N), scores_N, -jnp.inf))
        log_p_N = scores_N - jnp.where(jnp.isfinite(top), top, 0.0)
      else:
        log_p_N = jax.nn.log_sigmoid(scores_N)
      keys_N = log_p_N / temperature + noise_N
  keys_N = jnp.where(valid_N, jnp.maximum(keys_N, jnp.finfo(jnp.float32).min), -jnp.inf)
  return jnp.where(keys_N == 0, 0.0, keys_N)


def descending_order(keys_N: jax.Array) -> jax.Array:
  """Stable descending order int32[N] of keys (ties to the lower index), computed replicated."""
  return jnp.argsort(-sharded.replicate(keys_N), stable=True).astype(jnp.int32)


@functools.partial(jax.jit, keep_unused=True)  # `scores_N` places the output on its mesh
def gumbel_like(key: jax.Array, scores_N: jax.Array) -> jax.Array:
  """Standard Gumbel noise f32[N] with the shape and sharding of `scores_N` (same bits either way).

  Its own compiled function, shared by every method, k and normaliser of `rank` and `select`."""
  where = sharded.leading_axes(scores_N)
  return jax.random.gumbel(key, scores_N.shape, jnp.float32,
                           out_sharding=None if where is None else jax.typeof(scores_N).sharding)


@functools.partial(jax.jit, static_argnames=("method", "temperature", "normalize"))
def _rank(scores_N, noise_N, *, method, temperature, normalize):
  keys_N = selection_keys(scores_N, method, None, temperature, normalize, noise=noise_N)
  return descending_order(keys_N)


@functools.partial(jax.jit, static_argnames=("k", "method", "temperature", "normalize", "impl"))
def _select(scores_N, noise_N, *, k, method, temperature, normalize, impl):
  keys_N = selection_keys(scores_N, method, None, temperature, normalize, noise=noise_N)
  return sharded.global_top_k(keys_N, k, impl)


def rank(
    scores: jax.Array, method: str = "hard", *, key: jax.Array | None = None,
    temperature: float = 1.0, normalize: str = "softmax",
) -> jax.Array:
  """Full ranking int32[N] of a pool by `scores` f32[N]: the order `select` takes its prefix of.

  Same arguments and semantics as `select`. Output replicated (a sharded input is all-gathered once).
  Jittable (method, temperature, normalize static). Raises ValueError on bad arguments.
  """
  scores = _check_call(scores, method, key, temperature, normalize)
  noise = None if method == "hard" else gumbel_like(key, scores)
  return _rank(scores, noise, method=method, temperature=float(temperature), normalize=normalize)


def select(
    scores: jax.Array, k: int, *, method: str = "hard", key: jax.Array | None = None,
    temperature: float = 1.0, normalize: str = "softmax", impl: str | None = None,
) -> jax.Array:
  """Indices int32[k] of k distinct examples chosen from `scores` f32[N] (an array or a list).

  method: "hard" the k largest scores in descending order, ties to the lower index; "soft" Gumbel-top-k
  over log(normalize(scores)) / temperature with normalize "softmax" or "sigmoid"; "random" k indices
  uniformly without replacement. NaN and -inf scores are never chosen ahead of finite ones. `key` (a
  `jax.random.key`) is required for soft and random. k is static, 0 <= k <= N.

  Works under `jit`. If `scores` is sharded over a mesh axis (Explicit mode), the cross-shard top-k is
  `impl` ("gather" or "merge", default `sharded.DEFAULT_IMPL`) and the result, replicated, is exactly
  the single-device one. Equals `rank(scores, ...)[:k]` for the same arguments. Raises ValueError on bad
  arguments (unknown method/normalize/impl, k outside [0, N], temperature <= 0, missing key).
  """
  scores = _check_call(scores, method, key, temperature, normalize)
  impl = sharded.DEFAULT_IMPL if impl is None else require_choice("impl", impl, sharded.IMPLS)
  size = jnp.shape(scores)[0]
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
    raise ValueError(f"k must be an int in [0, pool size {size}], got {k!r}")
  noise = None if method == "hard" else gumbel_like(key, scores)
  return _select(scores, noise, k=int(k), method=method, temperature=float(temperature),
                 normalize=normalize, impl=impl)
