"""Transformer building blocks shared by GPT, ViT and MAE: attention, MLP, the pre-norm block.

Parameter names are the contract the GPT-2 loader and LoRA rely on: a block holds "ln1",
"attn" {"q", "k", "v", "o"}, "ln2", "mlp" {"up", "down"}; every Dense has "kernel" [in, out] and
(with use_bias) "bias". Parameters are float32; activations run in the module's `dtype`; attention
logits and the softmax are always float32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from attent_jax.models.attention import attend, attend_with_cache

Initializer = Callable[..., jax.Array]
ROTARY_BASE = 10_000.0


def rotary_inv_freq(head_dim: int, base: float = ROTARY_BASE) -> jax.Array:
  """The rotary frequencies f32[head_dim // 2]: base^(-2i / head_dim), as HF's `inv_freq`."""
  half = head_dim // 2
  return base ** (-jnp.arange(half, dtype=jnp.float32) / half)


def rotary_embed(x_BLHK: jax.Array, positions: jax.Array, inv_freq_F: jax.Array | None = None
                 ) -> jax.Array:
  """Rotary position embedding (half-split / GPT-NeoX / HF `rotate_half` convention), in float32.

  x_BLHK: [B, L, H, K] with K even; positions: int[L] (shared by the batch) or int[B, L];
  inv_freq_F: f32[K // 2] (default `rotary_inv_freq(K)`). Returns the rotated x in x's dtype.
  Pure function.
  """
  if inv_freq_F is None:
    inv_freq_F = rotary_inv_freq(x_BLHK.shape[-1])
  angles_LF = positions.astype(jnp.float32)[..., None] * inv_freq_F  # [L, F] or [B, L, F].
  sin_L1F = jnp.sin(angles_LF)[..., None, :]
  cos_L1F = jnp.cos(angles_LF)[..., None, :]
  x1, x2 = jnp.split(x_BLHK.astype(jnp.float32), 2, axis=-1)
  rotated = jnp.concatenate([x1 * cos_L1F - x2 * sin_L1F, x2 * cos_L1F + x1 * sin_L1F], -1)
  return rotated.astype(x_BLHK.dtype)


class Attention(nn.Module):
  """Multi-head self-attention over x_BLD -> y_BLD, with submodules "q", "k", "v", "o".

  `causal` masks attention to later positions; `rotary` rotates q and k by position;
  `implementation` is "einsum" or "dot_product" (see `attention.attend`). Given a KV `cache`
  (k_BCHK, v_BCHK) and `positions_BL`, it attends over the cache instead (`attend_with_cache`)
  and returns (y_BLD, updated cache).
  """

  num_heads: int
  causal: bool
  rotary: bool = False
  use_bias: bool = True
  dropout: float = 0.0
  implementation: str = "einsum"
  dtype: Any = jnp.float32
  kernel_init: Initializer = nn.initializers.xavier_uniform()
  out_kernel_init: Initializer = nn.initializers.xavier_uniform()

  @nn.compact
  def __call__(self, x_BLD: jax.Array, *, deterministic: bool,
               positions_BL: jax.Array | None = None, cache: tuple | None = None):
    batch, length, d_model = x_BLD.shape
    head_dim = d_model // self.num_heads

    def dense(name: str, init: Initializer) -> nn.Dense:
      return nn.Dense(d_model, use_bias=self.use_bias, dtype=self.dtype,
                      param_dtype=jnp.float32, kernel_init=init, name=name)

    split = lambda y_BLD: y_BLD.reshape(batch, length, self.num_heads, head_dim)
    q_BLHK = split(dense("q", self.kernel_init)(x_BLD))
    k_BLHK = split(dense("k", self.kernel_init)(x_BLD))
    v_BLHK = split(dense("v", self.kernel_init)(x_BLD))
    if self.rotary:
      positions = jnp.arange(length) if positions_BL is None else positions_BL
      q_BLHK = rotary_embed(q_BLHK, positions)
      k_BLHK = rotary_embed(k_BLHK, positions)
    if cache is not None:
      out_BLHK, cache = attend_with_cache(q_BLHK, k_BLHK, v_BLHK, positions_BL, cache,
                                          implementation=self.implementation)
      return dense("o", self.out_kernel_init)(out_BLHK.reshape(batch, length, d_model)), cache

    probs_fn = None
    if self.dropout > 0 and not deterministic:
      probs_fn = lambda p: nn.Dropout(self.dropout)(p, deterministic=False)
    out_BLHK = attend(q_BLHK, k_BLHK, v_BLHK, causal=self.causal,
                      implementation=self.implementation, probs_fn=probs_fn)
    return dense("o", self.out_kernel_init)(out_BLHK.reshape(batch, length, d_model))


class Mlp(nn.Module):
  """Position-wise MLP x_BLD -> y_BLD: "up" (d_mlp), GELU (tanh approximation, as GPT-2), "down"."""

  d_mlp: int
  use_bias: bool = True
  dtype: Any = jnp.float32
  kernel_init: Initializer = nn.initializers.xavier_uniform()
  out_kernel_init: Initializer = nn.initializers.xavier_uniform()

  @nn.compact
  def __call__(self, x_BLD: jax.Array) -> jax.Array:
    h_BLF = nn.Dense(self.d_mlp, use_bias=self.use_bias, dtype=self.dtype,
                     param_dtype=jnp.float32, kernel_init=self.kernel_init, name="up")(x_BLD)
    h_BLF = jax.nn.gelu(h_BLF, approximate=True)
    return nn.Dense(x_BLD.shape[-1], use_bias=self.use_bias, dtype=self.dtype,
                    param_dtype=jnp.float32, kernel_init=self.out_kernel_init, name="down")(h_BLF)


class Block(nn.Module):
  """Pre-norm transformer block: h = x + attn(ln1(x)); y = h + mlp(ln2(h)).

  Dropout (rate `dropout`) on the attention probabilities and on both residual branches, active
  only when deterministic=False. x_BLD -> y_BLD in `dtype`; with a KV `cache` (see Attention),
  -> (y_BLD, updated cache).
  """

  num_heads: int
  d_mlp: int
  causal: bool
  rotary: bool = False
  use_bias: bool = True
  dropout: float = 0.0
  layer_norm_eps: float = 1e-5
  dtype: Any = jnp.float32
  kernel_init: Initializer = nn.initializers.xavier_uniform()
  out_kernel_init: Initializer = nn.initializers.xavier_uniform()
  attention: str = "einsum"

  @nn.compact
  def __call__(self, x_BLD: jax.Array, *, deterministic: bool,
               positions_BL: jax.Array | None = None, cache: tuple | None = None):
    norm = lambda name: nn.LayerNorm(self.layer_norm_eps, dtype=self.dtype,
                                     param_dtype=jnp.float32, name=name)
    attn = Attention(self.num_heads, causal=self.causal, rotary=self.rotary,
                     use_bias=self.use_bias, dropout=self.dropout,
                     implementation=self.attention, dtype=self.dtype,
                     kernel_init=self.kernel_init, out_kernel_init=self.out_kernel_init,
                     name="attn")
    mlp = Mlp(self.d_mlp, use_bias=self.use_bias, dtype=self.dtype,
              kernel_init=self.kernel_init, out_kernel_init=self.out_kernel_init, name="mlp")
    branch_dropout = nn.Dropout(self.dropout)

    if cache is not None:  # Decoding (no dropout).
      attn_BLD, cache = attn(norm("ln1")(x_BLD), deterministic=True, positions_BL=positions_BL,
                             cache=cache)
      h_BLD = x_BLD + attn_BLD
      return h_BLD + mlp(norm("ln2")(h_BLD)), cache
    h_BLD = x_BLD + branch_dropout(attn(norm("ln1")(x_BLD), deterministic=deterministic),
                                   deterministic=deterministic)
    return h_BLD + branch_dropout(mlp(norm("ln2")(h_BLD)), deterministic=deterministic)
