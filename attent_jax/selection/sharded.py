"""Global top-k over a pool-sized vector that may be sharded over a mesh axis: exact and deliberate.

Two implementations give bit-identical answers to the single-device `lax.top_k` (ties to the lower
index):
  "gather": one explicit `reshard` of the keys to replicated, then one `lax.top_k` on every device.
  "merge":  `jax.shard_map`: a local `lax.top_k` on each shard, an all-gather of the k-or-fewer
            candidates per shard with their global indices, and a `lax.top_k` merge of the candidates.
            Candidates are concatenated in shard order and each shard's are in (key desc, index asc)
            order, so a tie in the merge resolves to the lower global index, as on one device.
benchmarks/selection_overhead.md times both on 8 fake CPU devices (N = 60000): at k = 0.3 N they cost
the same (k exceeds a shard, so every shard sends all its keys either way); at k = 0.01 N "merge" does
less work (8 k candidates instead of N). `DEFAULT_IMPL` is therefore "merge".

A third algorithm never moves keys at all: `top_count_mask` finds the count-th largest key by a
distributed bisection over the bits of an order-preserving uint32 image of the keys (32 rounds of a
scalar `psum`), breaks ties at the threshold by a second bisection over the example id, and returns
the kept mask with the keys' sharding. Per device it touches N / devices keys; across devices it sends
about 32 + log2(N) scalars (G per round for G groups, e.g. classes). Every pool-wide rule of the
teacher uses it, on one device as on many (see benchmarks/selection_scale.md).

Sharding is read from the array's type (`jax.typeof(x).sharding`), which names the mesh axes of
arrays sharded in Explicit mode (the default of `jax.make_mesh`), inside and outside `jit`. Arrays that
are unsharded, or sharded in Auto mode, take the plain single-device code path; in Auto mode the
compiler partitions that global computation itself, which is equally exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

IMPLS = ("gather", "merge")
DEFAULT_IMPL = "merge"


def leading_axes(x: jax.Array) -> tuple[object, object] | None:
  """(mesh, axis names) over which dim 0 of `x` is sharded in Explicit mode, or None if it is not."""
  sharding = getattr(jax.typeof(x), "sharding", None)
  if not isinstance(sharding, NamedSharding) or not sharding.spec or sharding.spec[0] is None:
    return None
  return sharding.mesh, sharding.spec[0]


def replicate(x: jax.Array) -> jax.Array:
  """`x` resharded to replicated over its mesh (a deliberate all-gather); unchanged if unsharded."""
  sharding = getattr(jax.typeof(x), "sharding", None)
  if not isinstance(sharding, NamedSharding) or all(axis is None for axis in sharding.spec):
    return x
  return jax.sharding.reshard(x, NamedSharding(sharding.mesh, P()))


def like(x: jax.Array, reference: jax.Array) -> jax.Array:
  """`x` resharded to the sharding of `reference` when that is an Explicit mesh sharding."""
  if leading_axes(reference) is None:
    return x
  return jax.sharding.reshard(x, jax.typeof(reference).sharding)


def _merge_top_k(keys_N: jax.Array, k: int, mesh, axes) -> jax.Array:
  def local_then_merge(keys_n):
    local = keys_n.shape[0]
    values_c, index_c = jax.lax.top_k(keys_n, min(k, local))
    index_c = index_c + jax.lax.axis_index(axes) * local
    values_C = jax.lax.all_gather(values_c, axes, tiled=True, to="invarying")
    index_C = jax.lax.all_gather(index_c, axes, tiled=True, to="invarying")
    _, position_k = jax.lax.top_k(values_C, k)
    return index_C[position_k]

  return jax.shard_map(local_then_merge, mesh=mesh, in_specs=P(axes), out_specs=P())(keys_N)


def global_top_k(keys_N: jax.Array, k: int, impl: str = DEFAULT_IMPL) -> jax.Array:
  """Indices int32[k] of the k largest keys, in descending order, ties to the lower index.

  keys_N: f32[N] with no NaN (callers map NaN to -inf first) and no -0.0 (callers canonicalise zeros:
  `lax.top_k` orders -0.0 below 0.0). k static, 0 <= k <= N. If `keys_N` is sharded over a mesh axis
  (Explicit mode, so N is a multiple of the shard count), `impl` picks the exact cross-shard algorithm
  (see module docstring). Output replicated. Pure, jittable.
  """
  where = leading_axes(keys_N)
  if where is None:
    return jax.lax.top_k(keys_N, k)[1]
  if impl == "merge":
    return _merge_top_k(keys_N, k, *where)
  return jax.lax.top_k(replicate(keys_N), k)[1]


def ordered_uint32(keys_N: jax.Array) -> jax.Array:
  """An order-preserving map f32 -> uint32: a < b (as floats, -inf lowest) iff image(a) < image(b).

  For keys without NaN and with zeros canonicalised (+0.0), as `global_top_k` requires."""
  bits_N = jax.lax.bitcast_convert_type(keys_N.astype(jnp.float32), jnp.uint32)
  negative_N = (bits_N >> 31) == 1
  return jnp.where(negative_N, ~bits_N, bits_N | jnp.uint32(0x80000000))


def example_ids(shape: tuple[int, ...], sharding=None) -> jax.Array:
  """int32 array of `shape`: each entry's example id. 1-D: its index i. 2-D, the teacher's layout
  [L, M] (`selection.layout`): entry (s, j) is example j * L + s. Built from iotas with `sharding`
  (Explicit mode), so no device holds more than its own block."""
  if len(shape) == 1:
    return jax.lax.broadcasted_iota(jnp.int32, shape, 0, out_sharding=sharding)
  shards = shape[0]
  return (jax.lax.broadcasted_iota(jnp.int32, shape, 1, out_sharding=sharding) * shards
          + jax.lax.broadcasted_iota(jnp.int32, shape, 0, out_sharding=sharding))


def _threshold_mask(u_n, index_n, group_n, eligible_n, count_G, total, index_bits: int):
  """Kept bool[...] for the count_G[g] largest eligible `u_n` (uint32) of each group g over all
  shards, ties to the lower index. `group_n` int32 in [0, G) or None (one group);
  `total(x)` sums a local int32[G] over the shards (psum; the identity on one device)."""
  count_G = jnp.asarray(count_G, jnp.int32).reshape(-1)
  groups = count_G.shape[0]

  def per_group(x_n):  # int32[G]: how many of x_n lie in each group
    x_n = x_n & eligible_n if eligible_n is not None else x_n
    if group_n is None:
      return x_n.sum(dtype=jnp.int32).reshape(1)
    return jnp.zeros(groups, jnp.int32).at[group_n.reshape(-1)].add(
        x_n.reshape(-1).astype(jnp.int32), mode="drop")

  def of_group(x_G):  # x_G[group of each entry]
    return x_G[0] if group_n is None else x_G[group_n]

  def value_round(b, prefix_G):  # the largest t with #(u >= t) >= count, MSB first
    candidate_G = prefix_G | (jnp.uint32(1) << (31 - b).astype(jnp.uint32))
    at_least_G = total(per_group(u_n >= of_group(candidate_G)))
    return jnp.where(at_least_G >= count_G, candidate_G, prefix_G)

  threshold_G = jax.lax.fori_loop(0, 32, value_round, jnp.zeros(groups, jnp.uint32))
  threshold_n = of_group(threshold_G)
  above_n = u_n > threshold_n
  need_G = count_G - total(per_group(above_n))  # ties to keep, lowest indices first
  tied_n = u_n == threshold_n

  def index_round(b, prefix_G):  # the largest j with #(tied & index < j) < need
    candidate_G = prefix_G | (jnp.int32(1) << (index_bits - 1 - b))
    below_G = total(per_group(tied_n & (index_n < of_group(candidate_G))))
    return jnp.where(below_G < need_G, candidate_G, prefix_G)

  last_G = jax.lax.fori_loop(0, index_bits, index_round, jnp.zeros(groups, jnp.int32))
  kept_n = above_n | (tied_n & (index_n <= of_group(last_G)) & (of_group(need_G) > 0))
  return kept_n if eligible_n is None else kept_n & eligible_n


def top_count_mask(keys: jax.Array, count: jax.Array, *, eligible: jax.Array | None = None,
                   groups: jax.Array | None = None) -> jax.Array:
  """bool mask of `keys`' shape, True for the `count` largest keys (ties to the lower example id,
  `example_ids`): for 1-D keys exactly the examples `global_top_k(keys, k)[:count]` names, k >= count.

  keys: f32[N] or f32[L, M] (the teacher's layout), as for `global_top_k` (no NaN, zeros canonical).
  count: int32[] (traced is fine), at most the number of eligible keys. eligible (optional, bool like
  keys): only these compete. groups (optional, int32 like keys, in [0, G)): then `count` is int32[G]
  and each group keeps its own top count[g] (class-balanced picks). If `keys` is sharded over a mesh
  axis on dim 0 (Explicit mode), the result has its sharding and no device holds more than its own
  block: the count-th key is found by bisection (see module docstring), 32 + log2(N) rounds of a psum
  of G integers. Pure, jittable.
  """
  size = int(np.prod(keys.shape))
  index_bits = max(1, int(size + keys.shape[0]).bit_length())
  count = jnp.asarray(count, jnp.int32)
  where = leading_axes(keys)
  if where is None:
    return _threshold_mask(ordered_uint32(keys), example_ids(keys.shape), groups, eligible, count,
                           lambda x: x, index_bits)
  mesh, axes = where
  spec = P(axes, *([None] * (keys.ndim - 1)))

  def local(keys_n, count, eligible_n, groups_n):
    offset = jax.lax.axis_index(axes) * keys_n.shape[0]
    if keys.ndim == 1:
      index_n = offset + jnp.arange(keys_n.shape[0], dtype=jnp.int32)
    else:
      index_n = (jax.lax.broadcasted_iota(jnp.int32, keys_n.shape, 1) * keys.shape[0]
                 + jax.lax.broadcasted_iota(jnp.int32, keys_n.shape, 0) + offset)
    return _threshold_mask(ordered_uint32(keys_n), index_n, groups_n, eligible_n, count,
                           lambda x: jax.lax.psum(x, axes), index_bits)

  return jax.shard_map(local, mesh=mesh, in_specs=(spec, P(), spec, spec), out_specs=spec)(
      keys, count, eligible, groups)
