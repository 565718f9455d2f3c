"""LoRA: low-rank adapters on the Dense kernels of any model built here (Hu et al., 2021).

    apply_fn, params = lora.wrap(base_apply_fn, base_params, lora.LoRAConfig(rank=8, alpha=16), key)
    trainable, frozen = lora.partition(params)          # adapters | base weights
    grads = jax.grad(lambda t: loss(apply_fn(lora.combine(t, frozen), batch)))(trainable)
    exported = lora.merge(params, config)              # base-shaped params, W + (alpha/r) A @ B

Adapters are found by name: every dict in the parameter tree whose key is in `config.targets` and
that holds a 2-D "kernel" [in, out] (a Dense) gets {"lora_a": [in, r], "lora_b": [r, out]} at the
same path under params["lora"]. A is uniform in +-1/sqrt(in) (PyTorch's default for Linear, as in
PEFT), B is zero, so a freshly wrapped model computes exactly what the base model computes.
Pure jax; the only state is the parameter tree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

Params = dict[str, Any]
Path = tuple[str, ...]
DEFAULT_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")  # Every linear map but the head.


@dataclasses.dataclass(frozen=True)
class LoRAConfig:
  """rank r > 0, alpha > 0 (the update is scaled by alpha / r), names of the Dense modules to adapt."""

  rank: int
  alpha: float
  targets: tuple[str, ...] = DEFAULT_TARGETS

  def __post_init__(self):
    if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank <= 0:
      raise ValueError(f"rank must be a positive int, got {self.rank!r}")
    if not self.alpha > 0:
      raise ValueError(f"alpha must be positive, got {self.alpha!r}")
    if isinstance(self.targets, str) or not self.targets:
      raise ValueError(f"targets must be a non-empty sequence of module names, got {self.targets!r}")
    object.__setattr__(self, "targets", tuple(self.targets))

  @property
  def scale(self) -> float:
    return self.alpha / self.rank


def _targeted_kernels(tree: Params, targets: tuple[str, ...], path: Path = ()
                      ) -> Iterator[tuple[Path, jax.Array]]:
  for name, node in tree.items():
    if not isinstance(node, dict):
      continue
    if name in targets and "kernel" in node:
      yield path + (name,), node["kernel"]
    else:
      yield from _targeted_kernels(node, targets, path + (name,))


def _set(tree: Params, path: Path, value: Any) -> None:
  for name in path[:-1]:
    tree = tree.setdefault(name, {})
  tree[path[-1]] = value


def init_adapters(base_params: Params, config: LoRAConfig, key: jax.Array) -> Params:
  """Fresh adapters for every targeted Dense kernel of `base_params` (A random, B zero).

  Returns a nested dict mirroring the targeted paths. Raises ValueError when no target is found
  or a targeted kernel is not 2-D.
  """
  adapters: Params = {}
  found = list(_targeted_kernels(base_params, config.targets))
  if not found:
    raise ValueError(f"no LoRA target {config.targets} found: no Dense (a dict holding 'kernel') "
                     f"with one of these names in the parameter tree")
  for i, (path, kernel) in enumerate(found):
    if kernel.ndim != 2:
      raise ValueError(f"LoRA target {'/'.join(path)} has a {kernel.ndim}-D kernel {kernel.shape}; "
                       f"only 2-D [in, out] kernels can be adapted")
    fan_in, fan_out = kernel.shape
    bound = 1.0 / fan_in ** 0.5
    a = jax.random.uniform(jax.random.fold_in(key, i), (fan_in, config.rank), jnp.float32,
                           -bound, bound)
    _set(adapters, path, {"lora_a": a, "lora_b": jnp.zeros((config.rank, fan_out), jnp.float32)})
  return adapters


def _is_adapter(node: Any) -> bool:
  return isinstance(node, dict) and set(node) == {"lora_a", "lora_b"}


def _add_updates(base: Params, adapters: Params, scale: float) -> Params:
  merged = dict(base)
  for name, adapter in adapters.items():
    if _is_adapter(adapter):
      kernel = base[name]["kernel"]
      update = scale * (adapter["lora_a"] @ adapter["lora_b"])
      merged[name] = {**base[name], "kernel": kernel + update.astype(kernel.dtype)}
    else:
      merged[name] = _add_updates(base[name], adapter, scale)
  return merged


def wrap(apply_fn: Callable[..., Any], base_params: Params, config: LoRAConfig, key: jax.Array
         ) -> tuple[Callable[..., Any], Params]:
  """Adds LoRA adapters to a model. Returns (lora_apply_fn, {"base": base_params, "lora": adapters}).

  lora_apply_fn(params, batch, **kwargs) calls `apply_fn` with every targeted kernel replaced by
  stop_gradient(W) + (alpha / r) * A @ B (the whole base tree passes through stop_gradient, so no
  gradient ever reaches it); it accepts the same kwargs as `apply_fn`. Pure and jittable.
  """
  params = {"base": base_params, "lora": init_adapters(base_params, config, key)}

  def lora_apply_fn(params: Params, batch: Any, **kwargs: Any) -> Any:
    base = jax.lax.stop_gradient(params["base"])
    return apply_fn(_add_updates(base, params["lora"], config.scale), batch, **kwargs)

  return lora_apply_fn, params


def partition(params: Params) -> tuple[Params, Params]:
  """{"base", "lora"} -> (trainable adapters, frozen base). Differentiate and optimise only the first."""
  if set(params) != {"base", "lora"}:
    raise ValueError(f"expected LoRA params with keys {{'base', 'lora'}}, got {sorted(params)}")
  return params["lora"], params["base"]


def combine(trainable: Params, frozen: Params) -> Params:
  """Inverse of `partition`: (adapters, base) -> {"base": base, "lora": adapters}."""
  return {"base": frozen, "lora": trainable}


def merge(params: Params, config: LoRAConfig) -> Params:
  """Folds the adapters into the base: base-shaped params with W + (alpha / r) A @ B, for export.

  `config` supplies alpha / r (the scale is not recoverable from the arrays alone).
  """
  trainable, frozen = partition(params)
  return _add_updates(frozen, trainable, config.scale)
