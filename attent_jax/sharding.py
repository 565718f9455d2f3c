"""The device mesh and how arrays are laid out on it.

One `jax.make_mesh` mesh with a single `data` axis. Batches are split over `data`; parameters follow a
short ordered list of (regex on the parameter path, PartitionSpec) rules, first match wins. The default
rules replicate everything (data parallelism); `FSDP_RULES` shard every large kernel's first axis over
`data`, with no change anywhere else in the code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

DATA_AXIS = "data"
Rules = Sequence[tuple[str, P]]
DATA_PARALLEL_RULES: Rules = ((r".*", P()),)
FSDP_RULES: Rules = ((r".*(kernel|embedding|embed)$", P(DATA_AXIS)), (r".*", P()))


def rules_for(fsdp: bool) -> Rules:
  """The partition rules of `config.train.fsdp`."""
  return FSDP_RULES if fsdp else DATA_PARALLEL_RULES


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """A 1-D `data` mesh over the first `num_devices` devices (all of them by default)."""
  available = jax.device_count()
  num_devices = num_devices or available
  if not 0 < num_devices <= available:
    raise ValueError(f"num_devices={num_devices}, but {available} device(s) are available")
  # Auto axes: jit propagates shardings from the inputs (model code needs no sharding annotations).
  axis_types = (jax.sharding.AxisType.Auto,)
  if num_devices == available:
    return jax.make_mesh((num_devices,), (DATA_AXIS,), axis_types=axis_types)
  return jax.sharding.Mesh(np.asarray(jax.devices()[:num_devices]), (DATA_AXIS,),
                           axis_types=axis_types)


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Leading (example) axis split over `data`."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def _path_name(path) -> str:
  return "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)


def param_shardings(params, mesh: jax.sharding.Mesh, rules: Rules = DATA_PARALLEL_RULES):
  """A pytree of NamedShardings for `params` from the first matching rule of each parameter.

  A rule whose spec does not divide a parameter's shape falls back to replication for that parameter.
  """
  def choose(path, leaf):
    name = _path_name(path)
    for pattern, spec in rules:
      if re.fullmatch(pattern, name):
        divisible = all(axis is None or leaf.shape[dim] % mesh.shape[axis] == 0
                        for dim, axis in enumerate(spec))
        return NamedSharding(mesh, spec if divisible and len(spec) <= leaf.ndim else P())
    return NamedSharding(mesh, P())
  return jax.tree_util.tree_map_with_path(choose, params)
