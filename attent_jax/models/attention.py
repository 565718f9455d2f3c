"""Scaled dot-product attention shared by every model here, in two interchangeable implementations.

    out_BLHK = attention.attend(q_BLHK, k_BMGK, v_BMGK, causal=True, implementation="einsum")

"einsum": explicit einsums, float32 logits and softmax. Differentiable in forward and reverse mode
(the ANTK's `jax.jvp` needs forward mode) and the only path that takes a dropout on the probabilities.
"dot_product": `jax.nn.dot_product_attention`: cuDNN's fused flash attention on a GPU when the inputs
are bfloat16/float16 and there is no explicit mask (falling back, with a warning, where cuDNN
rejects the shapes), XLA's path otherwise (CPU, float32, masks).
Both support grouped-query attention: G key/value heads shared by H = G * R query heads, query head h
using key/value head h // R (Hugging Face's `repeat_kv`). Pure functions, no parameters.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp

IMPLEMENTATIONS = ("einsum", "dot_product")


def _dot_product_backend(dtype: jnp.dtype, has_mask: bool) -> str:
  fused_dtype = dtype in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
  return "cudnn" if jax.default_backend() == "gpu" and fused_dtype and not has_mask else "xla"


def attend(q_BLHK: jax.Array, k_BMGK: jax.Array, v_BMGK: jax.Array, *, causal: bool,
           mask_BLM: jax.Array | None = None, implementation: str = "einsum",
           probs_fn: Callable[[jax.Array], jax.Array] | None = None) -> jax.Array:
  """softmax(q k^T / sqrt(K) [masked]) v for queries at L positions over keys at M positions.

  q_BLHK: [B, L, H, K]; k_BMGK, v_BMGK: [B, M, G, K] with H a multiple of G. `causal` lets query i
  see keys j <= i (needs L == M); `mask_BLM` (bool, True = may attend) restricts further, e.g. to the
  filled part of a KV cache. `probs_fn` maps the float32 probabilities [B, H, L, M] before they
  weight the values (dropout); einsum only. Returns [B, L, H, K] in q's dtype. A query row whose
  keys are all masked out gets a uniform average (never NaN).
  """
  batch, length, heads, head_dim = q_BLHK.shape
  groups, keys = k_BMGK.shape[2], k_BMGK.shape[1]
  if heads % groups:
    raise ValueError(f"{heads} query heads are not a multiple of {groups} key/value heads")
  if causal and length != keys:
    raise ValueError(f"causal attention needs as many queries as keys, got {length} and {keys}")
  if implementation == "dot_product":
    if probs_fn is not None:
      raise ValueError("attention='dot_product' takes no dropout on the attention probabilities; "
                       "use attention='einsum' or dropout=0")
    mask = None if mask_BLM is None else mask_BLM[:, None]
    fused = functools.partial(jax.nn.dot_product_attention, q_BLHK, k_BMGK.astype(q_BLHK.dtype),
                              v_BMGK.astype(q_BLHK.dtype), mask=mask, is_causal=causal)
    backend = _dot_product_backend(q_BLHK.dtype, mask is not None)
    if backend == "cudnn":
      try:
        return fused(implementation="cudnn")
      except (ValueError, NotImplementedError, RuntimeError) as error:  # Shape/version unsupported.
        warnings.warn(f"cuDNN flash attention unavailable ({error}); using XLA's attention")
    return fused(implementation="xla")
  if implementation != "einsum":
    raise ValueError(f"unknown attention implementation {implementation!r}; expected one of "
                     f"{IMPLEMENTATIONS}")

  repeats = heads // groups
  if repeats == 1:
    logits_BHLM = jnp.einsum("BLHK,BMHK->BHLM", q_BLHK, k_BMGK, preferred_element_type=jnp.float32)
  else:  # Query head h = g * R + r reads key/value head g, without materialising repeated keys.
    q_BLGRK = q_BLHK.reshape(batch, length, groups, repeats, head_dim)
    logits_BHLM = jnp.einsum("BLGRK,BMGK->BGRLM", q_BLGRK, k_BMGK,
                             preferred_element_type=jnp.float32).reshape(batch, heads, length, keys)
  logits_BHLM = logits_BHLM / math.sqrt(head_dim)
  allowed_BHLM = None
  if causal:
    allowed_BHLM = jnp.tril(jnp.ones((length, keys), dtype=bool))[None, None]
  if mask_BLM is not None:
    allowed_BHLM = mask_BLM[:, None] if allowed_BHLM is None else allowed_BHLM & mask_BLM[:, None]
  if allowed_BHLM is not None:
    logits_BHLM = jnp.where(allowed_BHLM, logits_BHLM, jnp.finfo(jnp.float32).min)
  probs_BHLM = jax.nn.softmax(logits_BHLM, axis=-1)
  if probs_fn is not None:
    probs_BHLM = probs_fn(probs_BHLM)

  probs_BHLM = probs_BHLM.astype(q_BLHK.dtype)
  if repeats == 1:
    return jnp.einsum("BHLM,BMHK->BLHK", probs_BHLM, v_BMGK.astype(q_BLHK.dtype))
  probs_BGRLM = probs_BHLM.reshape(batch, groups, repeats, length, keys)
  out_BLGRK = jnp.einsum("BGRLM,BMGK->BLGRK", probs_BGRLM, v_BMGK.astype(q_BLHK.dtype))
  return out_BLGRK.reshape(batch, length, heads, head_dim)


def attend_with_cache(q_BLHK: jax.Array, k_BLGK: jax.Array, v_BLGK: jax.Array,
                      positions_BL: jax.Array, cache: tuple[jax.Array, jax.Array], *,
                      implementation: str = "einsum") -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
  """Attention over a KV cache, for decoding: returns (out_BLHK, updated cache).

  cache: (k_BCGK, v_BCGK) with C slots. Writes k/v of this call at slots positions_BL (int[B, L],
  each row its own positions, < C), then lets the query at position p attend to slots 0..p. Slots
  above p are ignored, so stale values there (a row's padding) are harmless once overwritten.
  """
  k_BCGK, v_BCGK = cache
  rows_B1 = jnp.arange(k_BCGK.shape[0])[:, None]
  k_BCGK = k_BCGK.at[rows_B1, positions_BL].set(k_BLGK.astype(k_BCGK.dtype))
  v_BCGK = v_BCGK.at[rows_B1, positions_BL].set(v_BLGK.astype(v_BCGK.dtype))
  mask_BLC = jnp.arange(k_BCGK.shape[1])[None, None, :] <= positions_BL[:, :, None]
  out_BLHK = attend(q_BLHK, k_BCGK, v_BCGK, causal=False, mask_BLM=mask_BLC,
                    implementation=implementation)
  return out_BLHK, (k_BCGK, v_BCGK)
