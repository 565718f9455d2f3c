"""Selection rules at each granularity: from score keys to the bool mask of examples kept.

All functions are pure and jittable with fixed shapes: the number kept is a traced int32 (from the
teacher's per-epoch table), never a shape. The pool-wide rules (`pool`, `within_classes`, `mixed`,
`unbiased_prune`) take arrays of any shape, in particular the teacher's [L, M] layout
(`selection.layout`), sharded or not, and keep their sharding: nothing leaves its device but a few
integers per bisection round (`sharded.top_count_mask`). The per-row helpers (`kept_first`,
`random_order_keys`) act on each logical shard's row. The group rules (`within_groups`,
`whole_groups`) cut one permutation of the whole pool into groups (the teacher runs them with one
logical shard); `perm_N` is the epoch's random permutation.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from attent_jax.selection import ranking, sharded


def prefix_mask(order_N: jax.Array, count: jax.Array) -> jax.Array:
  """bool[N]: True for the first `count` entries of the ordering `order_N` (an index permutation)."""
  n = order_N.shape[0]
  return jnp.zeros(n, bool).at[order_N].set(jnp.arange(n) < count)


def epoch_randomness(key: jax.Array, epoch: jax.Array, like: jax.Array, pool_size: int
                     ) -> tuple[jax.Array, jax.Array]:
  """An epoch's randomness from one draw of fold_in(key, epoch), shaped and sharded like `like`
  ([L, M], the teacher's layout): (perm int32[L, M], uniform f32[L, M]).

  perm[s] is a uniformly random order of shard s's slots (0 .. M-1), its padding slot (example id
  >= pool_size) last: one sort of each row by 64 random bits per entry (a tie, broken by slot, has
  probability about M^2 / 2^65). uniform is in [0, 1), from the remaining 32 bits per entry (as
  `jax.random.uniform` makes it). The bits of every entry are the same however `like` is sharded
  (partitionable threefry), and each row is sorted on the device that holds it.
  """
  sharding = getattr(jax.typeof(like), "sharding", None)
  sharding = sharding if sharded.leading_axes(like) is not None else None
  shards, slots = like.shape
  bits = [jax.random.bits(jax.random.fold_in(jax.random.fold_in(key, epoch), word), like.shape,
                          jnp.uint32, out_sharding=sharding) for word in range(3)]
  padding = (sharded.example_ids(like.shape, sharding) >= pool_size).astype(jnp.int32)
  slot = jax.lax.broadcasted_iota(jnp.int32, like.shape, 1, out_sharding=sharding)
  perm = jax.lax.sort((padding, bits[0], bits[1], slot), dimension=1, num_keys=3)[3]
  one_to_two = jax.lax.bitcast_convert_type((bits[2] >> 9) | jnp.uint32(0x3F800000), jnp.float32)
  return perm, one_to_two - 1.0


def gumbel(uniform: jax.Array) -> jax.Array:
  """Standard Gumbel noise from uniform [0, 1) samples (as `jax.random.gumbel` makes it)."""
  return -jnp.log(-jnp.log(jnp.maximum(uniform, jnp.finfo(jnp.float32).tiny)))


def kept_first(perm_M: jax.Array, kept_M: jax.Array) -> jax.Array:
  """`perm_M` reordered so the kept entries come first, each part keeping its order in `perm_M`.

  One row (vmap it over the logical shards): a stable partition by counting (a cumsum and a scatter:
  O(M), no sort).
  """
  m = perm_M.shape[0]
  kept_in_order = kept_M[perm_M]
  kept_before = jnp.cumsum(kept_in_order, dtype=jnp.int32)
  position = jnp.where(kept_in_order, kept_before - 1,
                       kept_before[-1] + jnp.arange(m, dtype=jnp.int32) - kept_before)
  return jnp.zeros(m, jnp.int32).at[position].set(perm_M, unique_indices=True)


def pool(keys: jax.Array, count: jax.Array, eligible: jax.Array | None = None) -> jax.Array:
  """The pool-wide top-`count` by key, ties to the lower example id (`sharded.top_count_mask`): on
  one device or sharded, the same answer, with the keys' shape and sharding."""
  return sharded.top_count_mask(keys, count, eligible=eligible)


def random_order_keys(perm_M: jax.Array) -> jax.Array:
  """f32[M]: keys ranking one row in the epoch's random order (the entry first in `perm_M` has the
  largest key). Over the [L, M] layout (vmapped), the top count takes the first entries of every
  shard's order in turn: a uniformly random pick, spread evenly over the shards, independent of the
  per-example uniforms (the Gumbel noise)."""
  m = perm_M.shape[0]
  return -jnp.zeros(m, jnp.float32).at[perm_M].set(jnp.arange(m, dtype=jnp.float32))


def within_classes(keys: jax.Array, classes: jax.Array, keep_C: jax.Array,
                   eligible: jax.Array | None = None) -> jax.Array:
  """Class-balanced picks: the top `keep_C[c]` keys of every class c (ties to the lower example id).
  classes int32 like keys, in [0, C); one bisection for all classes at once."""
  return sharded.top_count_mask(keys, keep_C, eligible=eligible, groups=classes)


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
    scores: jax.Array, seen: jax.Array, prune: float, uniform: jax.Array,
    excluded: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
  """InfoBatch: each seen example scoring below the mean seen score is dropped with probability
  `prune` (when its `uniform` sample is below it); the kept ones among those get weight
  1 / (1 - prune). `excluded` (bool like `scores`, optional): examples never kept, left out of the
  mean too (a dropped high-loss tail). Returns (kept bool, weights f32), shaped (and sharded) like
  `scores`."""
  scored = seen & jnp.isfinite(scores)
  if excluded is not None:
    scored = scored & ~excluded
  mean = jnp.where(scored, scores, 0.0).sum() / jnp.maximum(scored.sum(), 1)
  below = scored & (scores < mean)
  kept = ~(below & (uniform < prune))
  if excluded is not None:
    kept = kept & ~excluded
  weights = jnp.where(below & kept, 1.0 / (1.0 - prune), 1.0).astype(jnp.float32)
  return kept, weights


def mixed(
    ntk_keys: jax.Array, residual_keys: jax.Array, random_keys: jax.Array,
    n_ntk: jax.Array, n_residual: jax.Array, count: jax.Array,
) -> jax.Array:
  """NINT: the top `n_ntk` by NTK key, then the top `n_residual` of the rest by residual key, then
  the top of the rest by random key up to `count` in all (each step ties to the lower example id)."""
  kept = pool(ntk_keys, n_ntk)
  kept = kept | pool(residual_keys, n_residual, eligible=~kept)
  return kept | pool(random_keys, count - n_ntk - n_residual, eligible=~kept)
