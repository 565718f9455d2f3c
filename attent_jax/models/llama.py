"""LLaMA-family decoder (LLaMA, Mistral, Qwen2): RMSNorm, SwiGLU, grouped-query attention, RoPE.

    config = llama.LlamaConfig(vocab_size=100, max_len=64, num_layers=2, num_heads=4,
                               num_kv_heads=2, d_model=64, d_mlp=128)
    apply_fn, params = llama.build(config, jax.random.key(0))
    logits_BLV = apply_fn(params, {"inputs": tokens_BL})                      # f32[B, L, V]
    logits_BLV, hidden = apply_fn(params, batch, return_intermediates=True)  # hidden["block_0"]: BLD

Parameter tree (plain nested dict, float32; every Dense kernel is [in, out]):
    "embed": {"embedding": [V, D]},
    "block_{i}": {"ln1": {"scale": [D]},
                  "attn": {"q": {"kernel": [D, H*K], "bias"?}, "k"/"v": {"kernel": [D, G*K], "bias"?},
                           "o": {"kernel": [H*K, D]}},
                  "ln2": {"scale": [D]},
                  "mlp": {"gate"/"up": {"kernel": [D, F]}, "down": {"kernel": [F, D]}}},
    "ln_f": {"scale": [D]}, "head": {"kernel": [D, V]} (untied only).
q/k/v biases exist only with qkv_bias (Qwen2). The semantics are Hugging Face's LlamaForCausalLM:
RMSNorm x * rsqrt(mean(x^2) + eps) * scale (in float32, then the compute dtype), rotate-half RoPE
with inv_freq = rope_theta^(-2i/K), key/value head h // (H/G) for query head h, and the MLP
down(silu(gate(x)) * up(x)). Attention logits, softmax, the final norm and the logits are float32
whatever the compute dtype. Initialisation: N(0, 0.02) weights, zero biases, unit norm scales.
Decoding with a KV cache: `init_cache` + `make_cached_apply_fn`, driven by `decode.greedy_generate`.
Checkpoints: `pretrained.load` / `pretrained.save` (Hugging Face llama, mistral, qwen2).
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
from attent_jax.models.attention import IMPLEMENTATIONS, attend, attend_with_cache
from attent_jax.models.layers import rotary_embed, rotary_inv_freq

INIT_STDDEV = 0.02
ROPE_SCALINGS = ("none", "linear", "llama3")
Cache = tuple[tuple[jax.Array, jax.Array], ...]  # Per layer (k_BCGK, v_BCGK).


@dataclasses.dataclass(frozen=True, kw_only=True)
class LlamaConfig:
  """Hyperparameters of a LLaMA-family decoder.

  num_kv_heads (G) must divide num_heads (H); head_dim (K) defaults to d_model // num_heads and
  must be even. rope_scaling is "none", "linear" (every frequency divided by rope_factor) or
  "llama3" (Llama 3.1's: low frequencies divided by rope_factor, high ones kept, a smooth blend in
  between, from rope_low_freq_factor, rope_high_freq_factor and rope_original_max_len), as in HF's
  rope_scaling of that rope_type.
  `dtype` is the compute dtype ("float32" | "bfloat16"; parameters stay float32), `attention` the
  attention math ("einsum" | "dot_product"), `remat` recomputes each block in the backward pass.
  """

  vocab_size: int
  max_len: int
  num_layers: int
  num_heads: int
  d_model: int
  d_mlp: int
  num_kv_heads: int | None = None
  head_dim: int | None = None
  rope_theta: float = 10_000.0
  rope_scaling: str = "none"
  rope_factor: float = 1.0
  rope_low_freq_factor: float = 1.0
  rope_high_freq_factor: float = 4.0
  rope_original_max_len: int = 8192
  rms_norm_eps: float = 1e-6
  tie_embeddings: bool = False
  qkv_bias: bool = False
  attention: str = "einsum"
  dtype: str = "float32"
  remat: bool = False

  def __post_init__(self):
    if self.num_kv_heads is None:
      object.__setattr__(self, "num_kv_heads", self.num_heads)
    if self.head_dim is None:
      fields.require_positive(num_heads=self.num_heads)
      fields.require_divisible("d_model", self.d_model, "num_heads", self.num_heads)
      object.__setattr__(self, "head_dim", self.d_model // self.num_heads)
    fields.require_positive(vocab_size=self.vocab_size, max_len=self.max_len,
                            num_layers=self.num_layers, num_heads=self.num_heads,
                            num_kv_heads=self.num_kv_heads, d_model=self.d_model,
                            d_mlp=self.d_mlp, head_dim=self.head_dim, rope_theta=self.rope_theta,
                            rope_factor=self.rope_factor,
                            rope_low_freq_factor=self.rope_low_freq_factor,
                            rope_original_max_len=self.rope_original_max_len,
                            rms_norm_eps=self.rms_norm_eps)
    fields.require_choice("rope_scaling", self.rope_scaling, ROPE_SCALINGS)
    if self.rope_high_freq_factor <= self.rope_low_freq_factor:
      raise ValueError(f"rope_high_freq_factor={self.rope_high_freq_factor} must exceed "
                       f"rope_low_freq_factor={self.rope_low_freq_factor}")
    fields.require_divisible("num_heads", self.num_heads, "num_kv_heads", self.num_kv_heads)
    if self.head_dim % 2:
      raise ValueError(f"head_dim must be even for rotary embeddings, got {self.head_dim}")
    fields.require_choice("attention", self.attention, IMPLEMENTATIONS)
    fields.require_dtype(self.dtype)
    for name in ("tie_embeddings", "qkv_bias", "remat"):
      if not isinstance(getattr(self, name), bool):
        raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")


def rope_inv_freq(config: LlamaConfig) -> jax.Array:
  """The rotary frequencies f32[head_dim // 2] after `config.rope_scaling` (HF's inv_freq)."""
  inv_freq_F = rotary_inv_freq(config.head_dim, config.rope_theta)
  if config.rope_scaling == "linear":
    return inv_freq_F / config.rope_factor
  if config.rope_scaling == "llama3":
    factor, low, high = config.rope_factor, config.rope_low_freq_factor, config.rope_high_freq_factor
    context = config.rope_original_max_len
    wavelen_F = 2 * math.pi / inv_freq_F
    scaled_F = jnp.where(wavelen_F > context / low, inv_freq_F / factor, inv_freq_F)
    smooth_F = (context / wavelen_F - low) / (high - low)
    smoothed_F = (1 - smooth_F) * scaled_F / factor + smooth_F * scaled_F
    medium_F = (wavelen_F >= context / high) & (wavelen_F <= context / low)
    return jnp.where(medium_F, smoothed_F, scaled_F)
  return inv_freq_F


class _RMSNorm(nn.Module):
  """x * rsqrt(mean(x^2) + eps) computed in float32, cast to `dtype`, times the "scale" parameter."""

  eps: float
  dtype: Any

  @nn.compact
  def __call__(self, x_BLD: jax.Array) -> jax.Array:
    scale_D = self.param("scale", nn.initializers.ones, (x_BLD.shape[-1],), jnp.float32)
    x_BLD = x_BLD.astype(jnp.float32)
    normed_BLD = x_BLD * jax.lax.rsqrt(jnp.mean(x_BLD * x_BLD, -1, keepdims=True) + self.eps)
    return normed_BLD.astype(self.dtype) * scale_D.astype(self.dtype)


def _dense(features: int, name: str, dtype: Any, use_bias: bool = False) -> nn.Dense:
  return nn.Dense(features, use_bias=use_bias, dtype=dtype, param_dtype=jnp.float32,
                  kernel_init=nn.initializers.normal(INIT_STDDEV), name=name)


class _Attention(nn.Module):
  """Grouped-query self-attention with RoPE; with a KV cache, writes this call's keys first."""

  config: LlamaConfig

  @nn.compact
  def __call__(self, x_BLD: jax.Array, positions: jax.Array, cache: tuple | None):
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    batch, length, _ = x_BLD.shape
    heads, groups, head_dim = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
    def project(name: str, num: int) -> jax.Array:  # [B, L, num, head_dim]
      return _dense(num * head_dim, name, dtype, cfg.qkv_bias)(x_BLD).reshape(
          batch, length, num, head_dim)

    q_BLHK, k_BLGK, v_BLGK = project("q", heads), project("k", groups), project("v", groups)
    inv_freq_F = rope_inv_freq(cfg)
    q_BLHK = rotary_embed(q_BLHK, positions, inv_freq_F)
    k_BLGK = rotary_embed(k_BLGK, positions, inv_freq_F)

    if cache is None:
      out_BLHK = attend(q_BLHK, k_BLGK, v_BLGK, causal=True, implementation=cfg.attention)
    else:
      out_BLHK, cache = attend_with_cache(q_BLHK, k_BLGK, v_BLGK,
                                          jnp.broadcast_to(positions, (batch, length)), cache,
                                          implementation=cfg.attention)
    out_BLD = _dense(cfg.d_model, "o", dtype)(out_BLHK.reshape(batch, length, heads * head_dim))
    return out_BLD, cache


class _Mlp(nn.Module):
  """SwiGLU: down(silu(gate(x)) * up(x))."""

  config: LlamaConfig

  @nn.compact
  def __call__(self, x_BLD: jax.Array) -> jax.Array:
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    gate_BLF = _dense(cfg.d_mlp, "gate", dtype)(x_BLD)
    up_BLF = _dense(cfg.d_mlp, "up", dtype)(x_BLD)
    return _dense(cfg.d_model, "down", dtype)(jax.nn.silu(gate_BLF) * up_BLF)


class _Block(nn.Module):
  """Pre-norm block: h = x + attn(ln1(x)); y = h + mlp(ln2(h)). Returns (y, updated cache)."""

  config: LlamaConfig

  @nn.compact
  def __call__(self, x_BLD: jax.Array, positions: jax.Array, cache: tuple | None):
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    attn_BLD, cache = _Attention(cfg, name="attn")(
        _RMSNorm(cfg.rms_norm_eps, dtype, name="ln1")(x_BLD), positions, cache)
    h_BLD = x_BLD + attn_BLD
    return h_BLD + _Mlp(cfg, name="mlp")(_RMSNorm(cfg.rms_norm_eps, dtype, name="ln2")(h_BLD)), cache


class _Llama(nn.Module):
  config: LlamaConfig

  @nn.compact
  def __call__(self, inputs_BL: jax.Array, positions: jax.Array, caches: Cache | None):
    cfg = self.config
    dtype = fields.compute_dtype(cfg.dtype)
    embed = nn.Embed(cfg.vocab_size, cfg.d_model, dtype=dtype, param_dtype=jnp.float32,
                     embedding_init=nn.initializers.normal(INIT_STDDEV), name="embed")
    h_BLD = embed(inputs_BL)
    block_cls = nn.remat(_Block) if cfg.remat else _Block
    hidden, new_caches = {}, []
    for i in range(cfg.num_layers):
      h_BLD, cache = block_cls(cfg, name=f"block_{i}")(
          h_BLD, positions, None if caches is None else caches[i])
      hidden[f"block_{i}"] = h_BLD
      new_caches.append(cache)
    h_BLD = _RMSNorm(cfg.rms_norm_eps, jnp.float32, name="ln_f")(h_BLD)
    if cfg.tie_embeddings:
      logits_BLV = jnp.einsum("BLD,VD->BLV", h_BLD, embed.embedding)
    else:
      logits_BLV = _dense(cfg.vocab_size, "head", jnp.float32)(h_BLD)
    return logits_BLV, hidden, (None if caches is None else tuple(new_caches))


ApplyFn = Callable[..., Any]


@functools.partial(jax.jit, static_argnums=0)
def _init_params(config: LlamaConfig, key: jax.Array) -> dict[str, Any]:
  return _Llama(config).init(key, jnp.zeros((1, 1), jnp.int32), jnp.arange(1), None)["params"]


def _check_inputs(config: LlamaConfig, inputs_BL: jax.Array) -> None:
  if inputs_BL.ndim != 2:
    raise ValueError(f"batch['inputs'] must be int[B, L], got shape {inputs_BL.shape}")
  if inputs_BL.shape[1] > config.max_len:
    raise ValueError(f"sequence length {inputs_BL.shape[1]} exceeds LlamaConfig.max_len="
                     f"{config.max_len}")


def make_apply_fn(config: LlamaConfig) -> ApplyFn:
  """The pure forward function of a LLaMA-family model with `config`, without initialising params.

  apply_fn(params, batch, *, train=False, rng=None, return_intermediates=False):
    batch: {"inputs": int32[B, L]} with L <= max_len (longer is a ValueError at trace time).
    Returns logits f32[B, L, V], or (logits, {"block_i": h_BLD}) with the residual stream after
    each block (compute dtype) when return_intermediates=True. The model has no dropout, so
    `train` and `rng` change nothing (they are accepted for the training loop's sake).
    Pure and jittable; params may be a loaded checkpoint (`pretrained.load`).
  """
  model = _Llama(config)

  def apply_fn(params: dict[str, Any], batch: dict[str, jax.Array], *, train: bool = False,
               rng: jax.Array | None = None, return_intermediates: bool = False):
    del train, rng  # No dropout.
    inputs_BL = batch["inputs"]
    _check_inputs(config, inputs_BL)
    logits_BLV, hidden, _ = model.apply({"params": params}, inputs_BL,
                                        jnp.arange(inputs_BL.shape[1]), None)
    return (logits_BLV, hidden) if return_intermediates else logits_BLV

  return apply_fn


def init_cache(config: LlamaConfig, batch: int, length: int) -> Cache:
  """An empty KV cache: per layer (k, v) zeros [batch, length, num_kv_heads, head_dim], compute dtype."""
  shape = (batch, length, config.num_kv_heads, config.head_dim)
  zeros = lambda: jnp.zeros(shape, fields.compute_dtype(config.dtype))
  return tuple((zeros(), zeros()) for _ in range(config.num_layers))


def make_cached_apply_fn(config: LlamaConfig) -> Callable[..., tuple[jax.Array, Cache]]:
  """The forward pass over a KV cache, for decoding.

  cached_apply(params, tokens_BL, positions_BL, cache) -> (logits f32[B, L, V], cache):
    writes the keys/values of tokens_BL (int32[B, L]) at slots positions_BL (int32[B, L], each
    row's own positions, < the cache length C) of `cache` (`init_cache(config, B, C)`), then lets
    the token at position p attend to slots 0..p. Slots above p are ignored, so a row's padding
    written at p is harmless once a later call overwrites p. Pure and jittable.
  """
  model = _Llama(config)

  def cached_apply(params: dict[str, Any], tokens_BL: jax.Array, positions_BL: jax.Array,
                   cache: Cache) -> tuple[jax.Array, Cache]:
    _check_inputs(config, tokens_BL)
    logits_BLV, _, cache = model.apply({"params": params}, tokens_BL, positions_BL, cache)
    return logits_BLV, cache

  return cached_apply


def build(config: LlamaConfig, key: jax.Array) -> tuple[ApplyFn, dict[str, Any]]:
  """Initialises a LLaMA-family model: (make_apply_fn(config), params), a nested dict of float32.

  The parameters depend on the architecture fields and `key` only: configs that differ in
  `dtype`, `attention` or `remat` get identical params from the same key.
  """
  shape_config = dataclasses.replace(config, dtype="float32", attention="einsum", remat=False)
  return make_apply_fn(config), flax.core.unfreeze(_init_params(shape_config, key))
