"""Every model kind's config type -> its module, and one `make_apply_fn` / `build` over all of them.

    apply_fn, params = models.build(llama.LlamaConfig(...), jax.random.key(0))
    apply_fn = models.make_apply_fn(loaded_config)      # e.g. from pretrained.load(directory)

Each module exposes `make_apply_fn(config) -> apply_fn` and `build(config, key) -> (apply_fn, params)`
with the same contracts (see gpt.py, llama.py, vit.py, mae.py).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jax

from attent_jax.models import gpt, llama, mae, vit

MODULES: dict[type, ModuleType] = {gpt.GPTConfig: gpt, llama.LlamaConfig: llama,
                                   vit.ViTConfig: vit, mae.MAEConfig: mae}


def module_for(config: Any) -> ModuleType:
  """The model module for `config`'s type; ValueError naming the supported config types."""
  module = MODULES.get(type(config))
  if module is None:
    raise ValueError(f"no model for config type {type(config).__name__}; expected one of "
                     f"{[cls.__name__ for cls in MODULES]}")
  return module


def make_apply_fn(config: Any):
  """The pure forward function of the model `config` describes (without initialising params)."""
  return module_for(config).make_apply_fn(config)


def build(config: Any, key: jax.Array):
  """(apply_fn, params) of a freshly initialised model `config` describes."""
  return module_for(config).build(config, key)
