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

Sharding is read from the array's type (`jax.typeof(x).sharding`), which names the mesh axes of
arrays sharded in Explicit mode (the default of `jax.make_mesh`), inside and outside `jit`. Arrays that
are unsharded, or sharded in Auto mode, take the plain single-device code path; in Auto mode the
compiler partitions that global computation itself, which is equally exact.
"""

from __future__ import annotations

import jax
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
