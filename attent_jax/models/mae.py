"""MAE: masked-autoencoder pre-training of a ViT encoder (He et al., 2022).

    config = mae.MAEConfig(image_size=28, patch_size=7, channels=1, num_layers=2, num_heads=4,
                           d_model=64, d_mlp=128)
    apply_fn, params = mae.build(config, jax.random.key(0))
    out = apply_fn(params, {"image": images_BHWC}, rng=key)
    loss_B = losses.mae_reconstruction(out["pred"], out["target"], out["masked"])
    encode_fn = mae.make_encoder(config)
    features_BD = encode_fn(params, {"image": images_BHWC})    # linear-probe features, f32[B, D]

Masking: each example hides round(mask_ratio * N) of its N patches, drawn from
`fold_in(rng, i)` where i is batch["index"][b] when the batch carries stable example indices
(so an example gets the same mask wherever it sits in a batch) and the row position b otherwise.
With rng=None the fixed key `jax.random.key(NO_RNG_MASK_SEED)` is used, so scoring passes are
deterministic. The encoder sees only the N - round(mask_ratio * N) visible patches (a static count);
the lighter decoder fills in learned mask tokens and predicts every patch's pixels.

Parameter tree: {"encoder": {"patch_embed", "pos_embed" [N, D], "block_{i}", "ln_f"},
                 "decoder": {"embed", "mask_token" [Dd], "pos_embed" [N, Dd], "block_{i}", "ln_f",
                             "pred": Dense [Dd, P]}}.
Blocks are GPT's/ViT's (non-causal), so LoRA finds "q", "k", "v", "o", "up", "down" in both halves.
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

NO_RNG_MASK_SEED = 0
NORM_PIX_EPS = 1e-6


@dataclasses.dataclass(frozen=True, kw_only=True)
class MAEConfig:
  """Hyperparameters of a masked autoencoder: a ViT encoder plus a light decoder.

  `dtype` is the compute dtype ("float32" | "bfloat16"). `norm_pix_loss` normalises each target
  patch to zero mean, unit variance (over its pixels), as in the MAE paper.
  """

  image_size: int
  patch_size: int
  channels: int
  num_layers: int
  num_heads: int
  d_model: int
  d_mlp: int
  decoder_layers: int = 1
  decoder_num_heads: int = 4
  decoder_d_model: int = 32
  decoder_d_mlp: int = 64
  mask_ratio: float = 0.75
  norm_pix_loss: bool = False
  dropout: float = 0.0
  dtype: str = "float32"
  layer_norm_eps: float = 1e-6

  def __post_init__(self):
    fields.require_positive(image_size=self.image_size, patch_size=self.patch_size,
                            channels=self.channels, num_layers=self.num_layers,
                            num_heads=self.num_heads, d_model=self.d_model, d_mlp=self.d_mlp,
                            decoder_layers=self.decoder_layers,
                            decoder_num_heads=self.decoder_num_heads,
                            decoder_d_model=self.decoder_d_model,
                            decoder_d_mlp=self.decoder_d_mlp, layer_norm_eps=self.layer_norm_eps)
    fields.require_divisible("image_size", self.image_size, "patch_size", self.patch_size)
    fields.require_divisible("d_model", self.d_model, "num_heads", self.num_heads)
    fields.require_divisible("decoder_d_model", self.decoder_d_model,
                             "decoder_num_heads", self.decoder_num_heads)
    if not 0.0 < self.mask_ratio < 1.0 or not 0 < self.num_masked < self.num_patches:
      raise ValueError(f"mask_ratio={self.mask_ratio} must hide at least one and keep at least one "
                       f"of the {self.num_patches} patches")
    fields.require_dropout(self.dropout)
    fields.require_dtype(self.dtype)

  @property
  def num_patches(self) -> int:
    return (self.image_size // self.patch_size) ** 2

  @property
  def num_masked(self) -> int:
    return round(self.mask_ratio * self.num_patches)

  @property
  def num_visible(self) -> int:
    return self.num_patches - self.num_masked

  @property
  def patch_dim(self) -> int:
    return self.patch_size * self.patch_size * self.channels


def random_masking(key: jax.Array, index_B: jax.Array, num_patches: int, num_visible: int
                   ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Per-example random patch masks. Pure.

  Example b's permutation (an argsort of random 32-bit words) comes from fold_in(key, index_B[b])
  alone. Returns (ids_keep int32[B, num_visible], ids_restore int32[B, N], masked bool[B, N]): the
  visible patches in shuffled order, the position of each patch in the shuffle, and True where a
  patch is hidden.
  """
  noise = lambda i: jax.random.bits(jax.random.fold_in(key, i), (num_patches,), jnp.uint32)
  ids_shuffle_BN = jnp.argsort(jax.vmap(noise)(index_B), axis=1).astype(jnp.int32)
  ids_restore_BN = jnp.argsort(ids_shuffle_BN, axis=1).astype(jnp.int32)
  return ids_shuffle_BN[:, :num_visible], ids_restore_BN, ids_restore_BN >= num_visible


class _Encoder(nn.Module):
  """Patches f32[B, N, P] (+ optional ids_keep [B, K]) -> normalised tokens f32[B, K or N, D]."""

  config: MAEConfig

  @nn.compact
  def __call__(self, patches_BNP: jax.Array, ids_keep_BK: jax.Array | None, *,
               deterministic: bool) -> jax.Array:
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    x_BND = nn.Dense(cfg.d_model, dtype=dtype, name="patch_embed")(patches_BNP.astype(dtype))
    pos_embed_ND = self.param("pos_embed", nn.initializers.normal(0.02),
                              (cfg.num_patches, cfg.d_model))
    x_BND = x_BND + pos_embed_ND.astype(dtype)[None]
    if ids_keep_BK is not None:
      x_BND = jnp.take_along_axis(x_BND, ids_keep_BK[..., None], axis=1)
    x_BND = nn.Dropout(cfg.dropout)(x_BND, deterministic=deterministic)
    for i in range(cfg.num_layers):
      x_BND = Block(cfg.num_heads, cfg.d_mlp, causal=False, dropout=cfg.dropout,
                    layer_norm_eps=cfg.layer_norm_eps, dtype=dtype,
                    name=f"block_{i}")(x_BND, deterministic=deterministic)
    return nn.LayerNorm(cfg.layer_norm_eps, dtype=jnp.float32, name="ln_f")(x_BND)


class _Decoder(nn.Module):
  """Visible latents f32[B, K, D] + ids_restore [B, N] -> predicted pixels f32[B, N, P]."""

  config: MAEConfig

  @nn.compact
  def __call__(self, latent_BKD: jax.Array, ids_restore_BN: jax.Array, *,
               deterministic: bool) -> jax.Array:
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    batch, num_visible, _ = latent_BKD.shape
    x_BKE = nn.Dense(cfg.decoder_d_model, dtype=dtype, name="embed")(latent_BKD.astype(dtype))
    mask_token_E = self.param("mask_token", nn.initializers.normal(0.02), (cfg.decoder_d_model,))
    mask_tokens = jnp.broadcast_to(mask_token_E.astype(dtype),
                                   (batch, cfg.num_patches - num_visible, cfg.decoder_d_model))
    x_BNE = jnp.concatenate([x_BKE, mask_tokens], axis=1)            # shuffled order
    x_BNE = jnp.take_along_axis(x_BNE, ids_restore_BN[..., None], axis=1)  # patch order
    pos_embed_NE = self.param("pos_embed", nn.initializers.normal(0.02),
                              (cfg.num_patches, cfg.decoder_d_model))
    x_BNE = x_BNE + pos_embed_NE.astype(dtype)[None]
    for i in range(cfg.decoder_layers):
      x_BNE = Block(cfg.decoder_num_heads, cfg.decoder_d_mlp, causal=False, dropout=cfg.dropout,
                    layer_norm_eps=cfg.layer_norm_eps, dtype=dtype,
                    name=f"block_{i}")(x_BNE, deterministic=deterministic)
    x_BNE = nn.LayerNorm(cfg.layer_norm_eps, dtype=jnp.float32, name="ln_f")(x_BNE)
    return nn.Dense(cfg.patch_dim, dtype=jnp.float32, name="pred")(x_BNE)


def _targets(patches_BNP: jax.Array, norm_pix_loss: bool) -> jax.Array:
  patches_BNP = patches_BNP.astype(jnp.float32)
  if not norm_pix_loss:
    return patches_BNP
  mean = patches_BNP.mean(axis=-1, keepdims=True)
  var = patches_BNP.var(axis=-1, keepdims=True)
  return (patches_BNP - mean) / jnp.sqrt(var + NORM_PIX_EPS)


ApplyFn = Callable[..., dict[str, jax.Array]]


@functools.partial(jax.jit, static_argnums=0)
def _init_params(config: MAEConfig, key: jax.Array) -> dict[str, Any]:
  # One compiled init per parameter-shaping config: far faster than eager op-by-op init.
  enc_key, dec_key = jax.random.split(key)
  n, k = config.num_patches, config.num_visible
  encoder_vars = _Encoder(config).init(enc_key, jnp.zeros((1, n, config.patch_dim)), None,
                                       deterministic=True)
  decoder_vars = _Decoder(config).init(dec_key, jnp.zeros((1, k, config.d_model)),
                                       jnp.arange(n)[None], deterministic=True)
  return {"encoder": encoder_vars["params"], "decoder": decoder_vars["params"]}


def make_apply_fn(config: MAEConfig) -> ApplyFn:
  """The pure forward function of an MAE with `config`, without initialising parameters.

  apply_fn(params, batch, *, train=False, rng=None):
    batch: {"image": f32[B, S, S, C]}, optionally "index": int[B] stable example indices that
    fix each example's mask independently of its batch position.
    Returns {"pred": f32[B, N, P], "target": f32[B, N, P], "masked": bool[B, N]}; exactly
    config.num_masked patches per example are masked. The mask comes from `rng` (the fixed
    NO_RNG_MASK_SEED key when rng is None, for deterministic scoring). train=True needs `rng`;
    it then also drives dropout (through a key split off the mask key). Pure and jittable
    (keep `train` static).
  """
  encoder, decoder = _Encoder(config), _Decoder(config)
  n, k = config.num_patches, config.num_visible

  def apply_fn(params: dict[str, Any], batch: dict[str, jax.Array], *, train: bool = False,
               rng: jax.Array | None = None) -> dict[str, jax.Array]:
    image_BHWC = batch["image"]
    patches.check_image(image_BHWC, config.image_size, config.channels)
    fields.dropout_rngs(train, rng)  # train=True without rng is an error, before any fallback.
    base_key = jax.random.key(NO_RNG_MASK_SEED) if rng is None else rng
    mask_key, dropout_key = jax.random.split(base_key)
    index_B = batch.get("index", jnp.arange(image_BHWC.shape[0]))
    ids_keep_BK, ids_restore_BN, masked_BN = random_masking(mask_key, index_B, n, k)

    patches_BNP = patches.patchify(image_BHWC, config.patch_size)
    rngs = fields.dropout_rngs(train, dropout_key)
    latent_BKD = encoder.apply({"params": params["encoder"]}, patches_BNP, ids_keep_BK,
                               deterministic=not train, rngs=rngs)
    pred_BNP = decoder.apply({"params": params["decoder"]}, latent_BKD, ids_restore_BN,
                             deterministic=not train, rngs=rngs)
    return {"pred": pred_BNP, "target": _targets(patches_BNP, config.norm_pix_loss),
            "masked": masked_BN}

  return apply_fn


def build(config: MAEConfig, key: jax.Array) -> tuple[ApplyFn, dict[str, Any]]:
  """Initialises an MAE: (make_apply_fn(config), params), params = {"encoder", "decoder"} dicts.

  The parameters depend on the architecture fields and `key` only: configs that differ in
  `dtype`, `dropout`, `mask_ratio` or `norm_pix_loss` get identical params from the same key.
  """
  shape_config = dataclasses.replace(config, dtype="float32", dropout=0.0, norm_pix_loss=False)
  return make_apply_fn(config), flax.core.unfreeze(_init_params(shape_config, key))


def make_encoder(config: MAEConfig) -> Callable[[dict[str, Any], dict[str, jax.Array]], jax.Array]:
  """encode_fn(params, batch) -> f32[B, D]: the encoder on all patches (no mask, no dropout),
  layer-normed and mean-pooled over patches; features for a linear probe. `params` is the full
  MAE tree from `build` (only params["encoder"] is read). Pure and jittable.
  """
  encoder = _Encoder(config)

  def encode_fn(params: dict[str, Any], batch: dict[str, jax.Array]) -> jax.Array:
    patches.check_image(batch["image"], config.image_size, config.channels)
    patches_BNP = patches.patchify(batch["image"], config.patch_size)
    tokens_BND = encoder.apply({"params": params["encoder"]}, patches_BNP, None,
                               deterministic=True)
    return tokens_BND.mean(axis=1)

  return encode_fn
