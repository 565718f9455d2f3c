"""GPT: a decoder-only causal language model with GPT-2's structure and parameter names.

    config = gpt.GPTConfig(vocab_size=256, max_len=128, num_layers=2, num_heads=4, d_model=64,
                           d_mlp=256)
    apply_fn, params = gpt.build(config, jax.random.key(0))
    logits_BLV = apply_fn(params, {"inputs": tokens_BL})                      # f32[B, L, V]
    logits_BLV, hidden = apply_fn(params, batch, return_intermediates=True)  # hidden["block_0"]: BLD

Parameter tree (plain nested dict, float32):
    "embed": {"embedding": [V, D]}, "pos_embed": [max_len, D] (learned positions only),
    "block_{i}": {"ln1": {"scale", "bias"}, "attn": {"q", "k", "v", "o"}, "ln2", "mlp": {"up", "down"}},
    "ln_f": {"scale", "bias"}, "head": {"kernel": [D, V]} (untied only; no bias, as GPT-2's lm_head).
Initialisation follows GPT-2: N(0, 0.02) weights, residual output projections ("o", "down") scaled by
1/sqrt(2 * num_layers), zero biases, unit layer-norm scales.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import flax.core
import flax.linen as nn
import jax
import jax.numpy as jnp

from attent_jax.models import fields
from attent_jax.models.attention import IMPLEMENTATIONS
from attent_jax.models.layers import Block

POSITIONS = ("learned", "rotary")
INIT_STDDEV = 0.02


@dataclasses.dataclass(frozen=True, kw_only=True)
class GPTConfig:
  """Hyperparameters of a GPT. `dtype` is the compute dtype ("float32" | "bfloat16").

  `attention` picks the attention math ("einsum" | "dot_product", see `attention.attend`);
  "dot_product" takes no attention dropout.
  """

  vocab_size: int
  max_len: int
  num_layers: int
  num_heads: int
  d_model: int
  d_mlp: int
  positions: str = "learned"
  tie_embeddings: bool = True
  use_bias: bool = True
  dropout: float = 0.0
  dtype: str = "float32"
  layer_norm_eps: float = 1e-5
  attention: str = "einsum"

  def __post_init__(self):
    fields.require_positive(vocab_size=self.vocab_size, max_len=self.max_len,
                            num_layers=self.num_layers, num_heads=self.num_heads,
                            d_model=self.d_model, d_mlp=self.d_mlp,
                            layer_norm_eps=self.layer_norm_eps)
    fields.require_divisible("d_model", self.d_model, "num_heads", self.num_heads)
    fields.require_choice("positions", self.positions, POSITIONS)
    if self.positions == "rotary" and (self.d_model // self.num_heads) % 2:
      raise ValueError(f"positions='rotary' needs an even head size; d_model // num_heads = "
                       f"{self.d_model // self.num_heads}")
    fields.require_dropout(self.dropout)
    fields.require_dtype(self.dtype)
    fields.require_choice("attention", self.attention, IMPLEMENTATIONS)
    if self.attention == "dot_product" and self.dropout:
      raise ValueError(f"attention='dot_product' takes no dropout, got dropout={self.dropout}; "
                       "use attention='einsum'")


class _GPT(nn.Module):
  config: GPTConfig

  @nn.compact
  def __call__(self, inputs_BL: jax.Array, *, deterministic: bool,
               positions_BL: jax.Array | None = None, caches: tuple | None = None):
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    normal = nn.initializers.normal(INIT_STDDEV)
    embed = nn.Embed(cfg.vocab_size, cfg.d_model, dtype=dtype, param_dtype=jnp.float32,
                     embedding_init=normal, name="embed")
    h_BLD = embed(inputs_BL)
    if cfg.positions == "learned":
      pos_embed_MD = self.param("pos_embed", nn.initializers.normal(0.01),
                                (cfg.max_len, cfg.d_model))
      if positions_BL is None:
        h_BLD = h_BLD + pos_embed_MD[: inputs_BL.shape[1]].astype(dtype)[None]
      else:
        h_BLD = h_BLD + pos_embed_MD[positions_BL].astype(dtype)
    h_BLD = nn.Dropout(cfg.dropout)(h_BLD, deterministic=deterministic)

    out_init = nn.initializers.normal(INIT_STDDEV / math.sqrt(2 * cfg.num_layers))
    hidden, new_caches = {}, []
    for i in range(cfg.num_layers):
      block = Block(cfg.num_heads, cfg.d_mlp, causal=True, rotary=cfg.positions == "rotary",
                    use_bias=cfg.use_bias, dropout=cfg.dropout, layer_norm_eps=cfg.layer_norm_eps,
                    dtype=dtype, kernel_init=normal, out_kernel_init=out_init,
                    attention=cfg.attention, name=f"block_{i}")
      if caches is None:
        h_BLD = block(h_BLD, deterministic=deterministic)
      else:
        h_BLD, cache = block(h_BLD, deterministic=True, positions_BL=positions_BL, cache=caches[i])
        new_caches.append(cache)
      hidden[f"block_{i}"] = h_BLD

    # Final norm and the output projection run in float32 whatever the compute dtype.
    h_BLD = nn.LayerNorm(cfg.layer_norm_eps, dtype=jnp.float32, name="ln_f")(h_BLD)
    if cfg.tie_embeddings:
      logits_BLV = jnp.einsum("BLD,VD->BLV", h_BLD, embed.embedding)
    else:
      logits_BLV = nn.Dense(cfg.vocab_size, use_bias=False, dtype=jnp.float32,
                            kernel_init=normal, name="head")(h_BLD)
    if caches is not None:
      return logits_BLV, hidden, tuple(new_caches)
    return logits_BLV, hidden


ApplyFn = Callable[..., Any]


@functools.partial(jax.jit, static_argnums=0)
def _init_params(config: GPTConfig, key: jax.Array) -> dict[str, Any]:
  # One compiled init per parameter-shaping config: far faster than eager op-by-op init.
  return _GPT(config).init(key, jnp.zeros((1, 1), jnp.int32), deterministic=True)["params"]


def make_apply_fn(config: GPTConfig) -> ApplyFn:
  """The pure forward function of a GPT with `config`, without initialising parameters.

  apply_fn(params, batch, *, train=False, rng=None, return_intermediates=False):
    batch: {"inputs": int32[B, L]} with L <= max_len (a longer L is a ValueError at trace time).
    Returns logits f32[B, L, V], or (logits, {"block_i": h_BLD}) with the residual stream after
    each block (in the compute dtype) when return_intermediates=True.
    Pure and jittable (keep `train` and `return_intermediates` static). Dropout is applied only
    when train=True, which requires `rng`. Use it with loaded params (`pretrained.load_gpt2`).
  """
  model = _GPT(config)

  def apply_fn(params: dict[str, Any], batch: dict[str, jax.Array], *, train: bool = False,
               rng: jax.Array | None = None, return_intermediates: bool = False):
    inputs_BL = batch["inputs"]
    if inputs_BL.ndim != 2:
      raise ValueError(f"batch['inputs'] must be int[B, L], got shape {inputs_BL.shape}")
    if inputs_BL.shape[1] > config.max_len:
      raise ValueError(f"sequence length {inputs_BL.shape[1]} exceeds GPTConfig.max_len="
                       f"{config.max_len}")
    logits_BLV, hidden = model.apply({"params": params}, inputs_BL, deterministic=not train,
                                     rngs=fields.dropout_rngs(train, rng))
    return (logits_BLV, hidden) if return_intermediates else logits_BLV

  return apply_fn


def init_cache(config: GPTConfig, batch: int, length: int) -> tuple:
  """An empty KV cache: per layer (k, v) zeros [batch, length, num_heads, head_dim], compute dtype."""
  shape = (batch, length, config.num_heads, config.d_model // config.num_heads)
  zeros = lambda: jnp.zeros(shape, fields.compute_dtype(config.dtype))
  return tuple((zeros(), zeros()) for _ in range(config.num_layers))


def make_cached_apply_fn(config: GPTConfig) -> Callable[..., tuple[jax.Array, tuple]]:
  """The forward pass over a KV cache, for decoding (no dropout).

  cached_apply(params, tokens_BL, positions_BL, cache) -> (logits f32[B, L, V], cache): writes
  the keys/values of tokens_BL at slots positions_BL (int32[B, L], < the cache length) of `cache`
  (`init_cache`), then lets the token at position p attend to slots 0..p. Pure and jittable.
  """
  model = _GPT(config)

  def cached_apply(params: dict[str, Any], tokens_BL: jax.Array, positions_BL: jax.Array,
                   cache: tuple) -> tuple[jax.Array, tuple]:
    logits_BLV, _, cache = model.apply({"params": params}, tokens_BL, deterministic=True,
                                       positions_BL=positions_BL, caches=cache)
    return logits_BLV, cache

  return cached_apply


def build(config: GPTConfig, key: jax.Array) -> tuple[ApplyFn, dict[str, Any]]:
  """Initialises a GPT: (make_apply_fn(config), params), params a plain nested dict of float32.

  The parameters depend on the architecture fields and `key` only: configs that differ in
  `dtype`, `dropout` or `attention` get identical params from the same key.
  """
  shape_config = dataclasses.replace(config, dtype="float32", dropout=0.0, attention="einsum")
  return make_apply_fn(config), flax.core.unfreeze(_init_params(shape_config, key))
