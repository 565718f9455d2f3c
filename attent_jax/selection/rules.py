"""Selection rules at each granularity: from score keys to the bool[N] mask of examples kept.

All functions are pure and jittable with fixed shapes: the number kept is a traced int32 (from the
teacher's per-epoch table), never a shape. Inputs may be sharded over a mesh axis; each rule gathers
what it needs deliberately (`sharded.global_top_k` for the pool-wide top-k, `sharded.replicate` for
the rest) and returns replicated masks. `perm_N` is the epoch's random permutation of the pool; group
rules cut it into consecutive groups, so the kept examples of a group stay consecutive in the plan.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from attent_jax.selection import ranking, sharded


def prefix_mask(order_N: jax.Array, count: jax.Array) -> jax.Array:
  """bool[N]: True for the first `count` entries of the ordering `order_N` (an index permutation)."""
  n = order_N.shape[0]
  return jnp.zeros(n, bool).at[order_N].set(jnp.arange(n) < count)


def epoch_randomness(key: jax.Array, epoch: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
  """All of an epoch's randomness from one draw of fold_in(key, epoch): (perm int32[n], uniform f32[n]).

  perm is a uniformly random permutation: one sort by 64 random bits per element (a tie, broken by
  index, has probability about n^2 / 2^65). uniform is in [0, 1), from the remaining 32 bits per
  element (as `jax.random.uniform` makes it). One random draw and one sort keep the compile small.
  """
  bits_3N = jax.random.bits(jax.random.fold_in(key, epoch), (3, n), jnp.uint32)
  perm_N = jax.lax.sort((bits_3N[0], bits_3N[1], jnp.arange(n, dtype=jnp.int32)), num_keys=2)[2]
  one_to_two = jax.lax.bitcast_convert_type((bits_3N[2] >> 9) | jnp.uint32(0x3F800000), jnp.float32)
  return perm_N, one_to_two - 1.0


def gumbel(uniform: jax.Array) -> jax.Array:
  """Standard Gumbel noise from uniform [0, 1) samples (as `jax.random.gumbel` makes it)."""
  return -jnp.log(-jnp.log(jnp.maximum(uniform, jnp.finfo(jnp.float32).tiny)))


def kept_first(perm_N: jax.Array, kept_N: jax.Array) -> jax.Array:
  """`perm_N` reordered so the kept examples come first, each part keeping its order in `perm_N`.

  A stable partition by counting (a cumsum and a scatter: O(N), no sort).
  """
  n = perm_N.shape[0]
  kept_in_order = kept_N[perm_N]
  kept_before = jnp.cumsum(kept_in_order, dtype=jnp.int32)
  position = jnp.where(kept_in_order, kept_before - 1,
                       kept_before[-1] + jnp.arange(n, dtype=jnp.int32) - kept_before)
  return jnp.zeros(n, jnp.int32).at[position].set(perm_N, unique_indices=True)


def pool(keys_N: jax.Array, count: jax.Array, k_max: int, impl: str) -> jax.Array:
  """Pool-wide top-`count` by key (count <= k_max, k_max static), ties to the lower index. On keys
  sharded over a mesh axis: `sharded.top_count_mask` (no key leaves its device; `impl` unused), the
  mask then replicated; otherwise one `lax.top_k` of k_max."""
  if sharded.leading_axes(keys_N) is not None:
    return sharded.replicate(sharded.top_count_mask(keys_N, count))
  top_k = sharded.global_top_k(keys_N, k_max, impl)
  return jnp.zeros(keys_N.shape[0], bool).at[top_k].set(jnp.arange(k_max) < count)


def random_order_keys(perm_N: jax.Array) -> jax.Array:
  """f32[N]: keys ranking the pool in the epoch's random order (the example first in `perm_N` has the
  largest key): uniformly random picks, independent of the per-example uniforms (the Gumbel noise)."""
  n = perm_N.shape[0]
  return -jnp.zeros(n, jnp.float32).at[perm_N].set(jnp.arange(n, dtype=jnp.float32))


def within_classes(keys_N: jax.Array, classes_N: jax.Array, class_start_C: jax.Array,
                   keep_C: jax.Array) -> jax.Array:
  """Class-balanced picks: the top `keep_C[c]` keys of every class c (ties to the lower index).
  classes_N int32[N] in [0, C); class_start_C int32[C]: how many examples have a smaller class id."""
  n = keys_N.shape[0]
  classes_N = sharded.replicate(classes_N)
  sorted_classes, _, order = jax.lax.sort(
      (classes_N, -sharded.replicate(keys_N), jnp.arange(n, dtype=jnp.int32)), num_keys=2)
  rank_in_class = jnp.arange(n, dtype=jnp.int32) - class_start_C[sorted_classes]
  return jnp.zeros(n, bool).at[order].set(rank_in_class < keep_C[sorted_classes],
                                          unique_indices=True)


def within_groups(
    keys_N: jax.Array, perm_N: jax.Array, group_size: int, keep_G: jax.Array
) -> jax.Array:
  """GraNT-S: cut `perm_N` into groups of `group_size` (the last one may be shorter) and keep the top
  `keep_G[g]` keys of group g (int32[ceil(N / group_size)]). Ties go to the earlier position in the
  (random) group."""
  n = keys_N.shape[0]
  groups = -(-n // group_size)
  pad = groups * group_size - n
  keys_GS = jnp.pad(sharded.replicate(keys_N)[perm_N], (0, pad), constant_values=-jnp.inf)
  keys_GS = keys_GS.reshape(groups, group_size)
  order_GS = jnp.argsort(-keys_GS, axis=1, stable=True)
  position_GS = jnp.argsort(order_GS, axis=1)
  kept_perm = (position_GS < keep_G[:, None]).reshape(-1)[:n]
  return jnp.zeros(n, bool).at[perm_N].set(kept_perm)


def whole_groups(
    scores_N: jax.Array, perm_N: jax.Array, group_size: int, keep_groups: jax.Array, method: str,
    noise_N: jax.Array, temperature: float, normalize: str, short_last: bool = False,
) -> jax.Array:
  """GraNT-B: cut `perm_N` into groups of `group_size`, score each by the mean of its members' valid
  scores, and keep the top `keep_groups` groups by `method` (with Gumbel noise from the first entries
  of `noise_N`). A group with no valid score ranks last. The remainder of N // group_size full groups
  is a candidate group of its own with `short_last` (as in GraNT's sampler), else never kept."""
  n = scores_N.shape[0]
  groups = -(-n // group_size) if short_last else n // group_size
  # Positions past N (the short last group's padding) read index N: a NaN score, and are not kept.
  members_GS = jnp.pad(perm_N, (0, max(groups * group_size - n, 0)), constant_values=n)[
      : groups * group_size].reshape(groups, group_size)
  scores_GS = jnp.append(sharded.replicate(scores_N), jnp.nan)[members_GS]
  scores_GS = jnp.where(scores_GS == -jnp.inf, jnp.nan, scores_GS)
  finite_GS = jnp.isfinite(scores_GS)
  # nanmean, but a group holding an unseen (+inf) member scores +inf
  mean_G = jnp.where(finite_GS, scores_GS, 0.0).sum(1) / jnp.maximum(finite_GS.sum(1), 1)
  mean_G = jnp.where(jnp.any(scores_GS == jnp.inf, 1), jnp.inf,
                     jnp.where(finite_GS.any(1), mean_G, jnp.nan))
  keys_G = ranking.selection_keys(mean_G, method, None, temperature, normalize,
                                  noise=noise_N[:groups])
  kept_G = prefix_mask(ranking.descending_order(keys_G), keep_groups)
  kept_members = jnp.repeat(kept_G, group_size)
  return jnp.zeros(n, bool).at[members_GS.reshape(-1)].set(kept_members, mode="drop")


def unbiased_prune(
    scores_N: jax.Array, seen_N: jax.Array, prune: float, uniform_N: jax.Array
) -> tuple[jax.Array, jax.Array]:
  """InfoBatch: each seen example scoring below the mean seen score is dropped with probability
  `prune` (when its `uniform_N` sample is below it); the kept ones among those get weight
  1 / (1 - prune). Returns (kept bool[N], weights f32[N])."""
  scores_N, seen_N = sharded.replicate(scores_N), sharded.replicate(seen_N)
  scored_N = seen_N & jnp.isfinite(scores_N)
  mean = jnp.where(scored_N, scores_N, 0.0).sum() / jnp.maximum(scored_N.sum(), 1)
  below_N = scored_N & (scores_N < mean)
  kept_N = ~(below_N & (uniform_N < prune))
  weights_N = jnp.where(below_N & kept_N, 1.0 / (1.0 - prune), 1.0).astype(jnp.float32)
  return kept_N, weights_N


def _tiered_order(first_N: jax.Array, keys_N: jax.Array) -> jax.Array:
  """Order putting `first_N` examples first, then the rest by descending key (stable)."""
  n = keys_N.shape[0]
  tier_N = jnp.where(first_N, 0, 1).astype(jnp.int32)
  return jax.lax.sort((tier_N, -keys_N, jnp.arange(n, dtype=jnp.int32)), num_keys=2)[2]


def mixed(
    ntk_keys_N: jax.Array, residual_keys_N: jax.Array, random_keys_N: jax.Array,
    n_ntk: jax.Array, n_residual: jax.Array, count: jax.Array,
) -> jax.Array:
  """NINT: the top `n_ntk` by NTK score, then the top `n_residual` of the rest by residual, then
  uniformly random picks from the rest up to `count` in all."""
  ntk_keys_N, residual_keys_N, random_keys_N = (
      sharded.replicate(k) for k in (ntk_keys_N, residual_keys_N, random_keys_N))
  kept_N = prefix_mask(ranking.descending_order(ntk_keys_N), n_ntk)
  kept_N = prefix_mask(_tiered_order(kept_N, residual_keys_N), n_ntk + n_residual)
  return prefix_mask(_tiered_order(kept_N, random_keys_N), count)
