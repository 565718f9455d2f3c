"""ViT: a vision-transformer image classifier.

    config = vit.ViTConfig(image_size=28, patch_size=7, channels=1, num_classes=10, num_layers=2,
                           num_heads=4, d_model=64, d_mlp=128)
    apply_fn, params = vit.build(config, jax.random.key(0))
    logits_BC = apply_fn(params, {"image": images_BHWC})    # f32[B, num_classes]

Parameter tree (plain nested dict, float32):
    "patch_embed": Dense [P, D] on flattened patches (P = patch_size^2 * channels),
    "cls": [D] (pool="cls" only), "pos_embed": [N (+1 with cls), D],
    "block_{i}": the same non-causal blocks as GPT ({"ln1", "attn": {"q","k","v","o"}, "ln2",
    "mlp": {"up","down"}}), "ln_f", "head": Dense [D, num_classes].
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import flax.core
import flax.linen as nn
import jax
import jax.numpy as jnp

from attent_jax.models import fields, patches
from attent_jax.models.layers import Block

POOLS = ("cls", "mean")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ViTConfig:
  """Hyperparameters of a ViT classifier. `dtype` is the compute dtype ("float32" | "bfloat16")."""

  image_size: int
  patch_size: int
  channels: int
  num_classes: int
  num_layers: int
  num_heads: int
  d_model: int
  d_mlp: int
  pool: str = "cls"
  dropout: float = 0.0
  dtype: str = "float32"
  layer_norm_eps: float = 1e-6

  def __post_init__(self):
    fields.require_positive(image_size=self.image_size, patch_size=self.patch_size,
                            channels=self.channels, num_classes=self.num_classes,
                            num_layers=self.num_layers, num_heads=self.num_heads,
                            d_model=self.d_model, d_mlp=self.d_mlp,
                            layer_norm_eps=self.layer_norm_eps)
    fields.require_divisible("image_size", self.image_size, "patch_size", self.patch_size)
    fields.require_divisible("d_model", self.d_model, "num_heads", self.num_heads)
    fields.require_choice("pool", self.pool, POOLS)
    fields.require_dropout(self.dropout)
    fields.require_dtype(self.dtype)

  @property
  def num_patches(self) -> int:
    return (self.image_size // self.patch_size) ** 2


class _ViT(nn.Module):
  config: ViTConfig

  @nn.compact
  def __call__(self, image_BHWC: jax.Array, *, deterministic: bool) -> jax.Array:
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    patches_BNP = patches.patchify(image_BHWC.astype(dtype), cfg.patch_size)
    x_BTD = nn.Dense(cfg.d_model, dtype=dtype, name="patch_embed")(patches_BNP)
    if cfg.pool == "cls":
      cls_D = self.param("cls", nn.initializers.normal(0.02), (cfg.d_model,))
      cls_B1D = jnp.broadcast_to(cls_D.astype(dtype), (x_BTD.shape[0], 1, cfg.d_model))
      x_BTD = jnp.concatenate([cls_B1D, x_BTD], axis=1)
    pos_embed_TD = self.param("pos_embed", nn.initializers.normal(0.02),
                              (x_BTD.shape[1], cfg.d_model))
    x_BTD = x_BTD + pos_embed_TD.astype(dtype)[None]
    x_BTD = nn.Dropout(cfg.dropout)(x_BTD, deterministic=deterministic)

    for i in range(cfg.num_layers):
      x_BTD = Block(cfg.num_heads, cfg.d_mlp, causal=False, dropout=cfg.dropout,
                    layer_norm_eps=cfg.layer_norm_eps, dtype=dtype,
                    name=f"block_{i}")(x_BTD, deterministic=deterministic)

    # Final norm, pooling and the classifier run in float32 whatever the compute dtype.
    x_BTD = nn.LayerNorm(cfg.layer_norm_eps, dtype=jnp.float32, name="ln_f")(x_BTD)
    pooled_BD = x_BTD[:, 0] if cfg.pool == "cls" else x_BTD.mean(axis=1)
    return nn.Dense(cfg.num_classes, dtype=jnp.float32,
                    kernel_init=nn.initializers.normal(0.02), name="head")(pooled_BD)


ApplyFn = Callable[..., jax.Array]


@functools.partial(jax.jit, static_argnums=0)
def _init_params(config: ViTConfig, key: jax.Array) -> dict[str, Any]:
  # One compiled init per parameter-shaping config: far faster than eager op-by-op init.
  dummy = jnp.zeros((1, config.image_size, config.image_size, config.channels), jnp.float32)
  return _ViT(config).init(key, dummy, deterministic=True)["params"]


def make_apply_fn(config: ViTConfig) -> ApplyFn:
  """The pure forward function of a ViT with `config`, without initialising parameters.

  apply_fn(params, batch, *, train=False, rng=None):
    batch: {"image": f32[B, image_size, image_size, channels]} (other keys ignored).
    Returns logits f32[B, num_classes]. Pure and jittable (keep `train` static). Dropout is applied
    only when train=True, which requires `rng`.
  """
  model = _ViT(config)

  def apply_fn(params: dict[str, Any], batch: dict[str, jax.Array], *, train: bool = False,
               rng: jax.Array | None = None) -> jax.Array:
    patches.check_image(batch["image"], config.image_size, config.channels)
    return model.apply({"params": params}, batch["image"], deterministic=not train,
                       rngs=fields.dropout_rngs(train, rng))

  return apply_fn


def build(config: ViTConfig, key: jax.Array) -> tuple[ApplyFn, dict[str, Any]]:
  """Initialises a ViT: (make_apply_fn(config), params), params a plain nested dict of float32.

  The parameters depend on the architecture fields and `key` only: configs that differ in
  `dtype` or `dropout` get identical params from the same key.
  """
  shape_config = dataclasses.replace(config, dtype="float32", dropout=0.0)
  return make_apply_fn(config), flax.core.unfreeze(_init_params(shape_config, key))
