"""Which parameters a kernel differentiates: param filters and the (theta, merge) split they induce.

A *param filter* is a predicate on a parameter's path (a tuple of plain keys, e.g.
`("block_0", "attn", "q", "kernel")`). The kernel K = J J^T is then taken over the selected
parameters only: the others are closed over as constants. Two ready-made filters:

  attention_qkv   the query/key/value projections of attention layers: the paper's ANTK.
  lora_only       LoRA adapter parameters (any path with a key containing "lora").

Filters compose with plain lambdas, e.g. `lambda p: lora_only(p) and attention_qkv(p)`.
`Paths` accepts an explicit set of paths, e.g. the trainable leaves of a partly frozen model
(`Paths.of_marked(tree_of_bools)`); it compares by value, so it is a stable static jit argument.
Pure jax; no flax.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

ParamPath = tuple[str | int, ...]
ParamFilter = Callable[[ParamPath], bool]
Merge = Callable[[Sequence[jax.Array]], Any]

_ATTENTION_MARKERS = ("attn", "attention")
_QKV_NAMES = frozenset({"q", "k", "v", "qkv", "query", "key", "value",
                        "q_proj", "k_proj", "v_proj", "wq", "wk", "wv"})


def path_keys(path: jax.tree_util.KeyPath) -> ParamPath:
  """A jax key path as a tuple of plain keys: dict keys, attribute names and sequence indices."""
  keys: list[str | int] = []
  for entry in path:
    if isinstance(entry, jax.tree_util.DictKey):
      keys.append(entry.key)
    elif isinstance(entry, jax.tree_util.GetAttrKey):
      keys.append(entry.name)
    elif isinstance(entry, jax.tree_util.SequenceKey):
      keys.append(entry.idx)
    elif isinstance(entry, jax.tree_util.FlattenedIndexKey):
      keys.append(entry.key)
    else:
      keys.append(str(entry))
  return tuple(keys)


def attention_qkv(path: ParamPath) -> bool:
  """True for query/key/value projection parameters of an attention layer (the paper's ANTK).

  Matches a path with a key containing "attn" or "attention", followed later by one of q, k, v,
  qkv, query, key, value, {q,k,v}_proj, w{q,k,v}. A trailing "value" (how some containers store a
  variable's array) is not a match by itself. Output projections ("o", "out") do not match.
  """
  keys = [str(k).lower() for k in path]
  if keys and keys[-1] == "value":
    keys = keys[:-1]
  for i, key in enumerate(keys):
    if any(marker in key for marker in _ATTENTION_MARKERS):
      return any(later in _QKV_NAMES for later in keys[i + 1:])
  return False


def lora_only(path: ParamPath) -> bool:
  """True for LoRA adapter parameters: any key in the path contains "lora" (e.g. params["lora"])."""
  return any("lora" in str(k).lower() for k in path)


@dataclasses.dataclass(frozen=True)
class Paths:
  """A param filter accepting exactly `paths` (tuples of plain keys, as `path_keys` makes them).

  Frozen and compared by value: two filters for the same paths are equal and hash alike, so jitted
  kernel functions do not recompile when a caller rebuilds the filter.
  """
  paths: frozenset

  def __call__(self, path: ParamPath) -> bool:
    return tuple(path) in self.paths

  @classmethod
  def of_marked(cls, marks: Any) -> "Paths":
    """The paths of the True leaves of `marks`, a pytree of python bools shaped like the params
    (e.g. combine(tree.map(lambda _: True, trainable), tree.map(lambda _: False, frozen)))."""
    flat, _ = jax.tree_util.tree_flatten_with_path(marks)
    return cls(frozenset(path_keys(path) for path, mark in flat if mark))


def partition(params: Any, param_filter: ParamFilter | None) -> tuple[list[jax.Array], Merge]:
  """Splits `params` into the differentiated leaves `theta` and a `merge(theta) -> params` function.

  `theta` holds, in tree-flatten order, the floating-point leaves that `param_filter` accepts
  (all floating leaves when it is None); `merge` rebuilds the full tree from a new `theta`, with
  every other leaf closed over unchanged. Works on concrete arrays and on tracers. Pure.

  Raises:
    ValueError: if no floating-point leaf is selected.
  """
  leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(params)
  leaves = [leaf for _, leaf in leaves_with_paths]
  selected = [
      jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)
      and (param_filter is None or bool(param_filter(path_keys(path))))
      for path, leaf in leaves_with_paths
  ]
  if not any(selected):
    raise ValueError("param_filter selects no floating-point parameter")
  theta = [leaf for leaf, keep in zip(leaves, selected) if keep]

  def merge(new_theta: Sequence[jax.Array]) -> Any:
    new_leaves = iter(new_theta)
    return treedef.unflatten([next(new_leaves) if keep else leaf
                              for leaf, keep in zip(leaves, selected)])

  return theta, merge


def num_params(params: Any, param_filter: ParamFilter | None = None) -> int:
  """Number of scalar parameters the kernel differentiates (the P in its cost)."""
  theta, _ = partition(params, param_filter)
  return int(sum(leaf.size for leaf in theta))
