"""Helpers for the ANTK tests: a tiny pure-jax transformer (embedding, one attention layer, readout).

Params are a plain dict with the project's names (block_0/attn/{q,k,v,o}/kernel), so the ready-made
param filters apply. Shapes are tiny; compiles dominate test time, so tests share these functions
and shapes to reuse jit caches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

VOCAB, LENGTH, WIDTH, HEADS, OUT = 11, 5, 8, 2, 3


def init_tiny_transformer(seed: int, out: int = OUT) -> dict:
  """Random parameters from numpy (no compilation): a plain nested dict of f32 arrays."""
  rng = np.random.default_rng(seed)
  normal = lambda *shape, scale=1.0: jnp.asarray(scale * rng.standard_normal(shape), jnp.float32)
  dense = lambda *shape: normal(*shape, scale=shape[0] ** -0.5)
  return {
      "embed": normal(VOCAB, WIDTH),
      "pos_embed": normal(LENGTH, WIDTH, scale=0.5),
      "block_0": {"attn": {name: {"kernel": dense(WIDTH, WIDTH)} for name in "qkvo"}},
      "head": {"kernel": dense(WIDTH, out)},
  }


def tiny_transformer(params: dict, batch: dict) -> jax.Array:
  """{"inputs": int32[N, L]} -> per-position outputs f32[N, L, OUT] (causal attention)."""
  tokens_NL = batch["inputs"]
  h_NLD = params["embed"][tokens_NL] + params["pos_embed"][None, : tokens_NL.shape[1]]
  attn = params["block_0"]["attn"]
  proj = lambda name, x: x @ attn[name]["kernel"]
  split = lambda x: x.reshape(*x.shape[:2], HEADS, WIDTH // HEADS)
  q_NLHK, k_NLHK, v_NLHK = (split(proj(name, h_NLD)) for name in "qkv")
  logits_NHLM = jnp.einsum("NLHK,NMHK->NHLM", q_NLHK, k_NLHK) / jnp.sqrt(WIDTH // HEADS)
  causal_LM = jnp.tril(jnp.ones((tokens_NL.shape[1],) * 2, bool))
  probs_NHLM = jax.nn.softmax(jnp.where(causal_LM, logits_NHLM, -1e9), axis=-1)
  out_NLD = jnp.einsum("NHLM,NMHK->NLHK", probs_NHLM, v_NLHK).reshape(h_NLD.shape)
  h_NLD = h_NLD + proj("o", out_NLD)
  return jnp.tanh(h_NLD) @ params["head"]["kernel"]


def last_position(params: dict, batch: dict) -> jax.Array:
  """The tiny transformer's outputs at the last position: f32[N, OUT]."""
  return tiny_transformer(params, batch)[:, -1]


def make_batch(seed: int, n: int) -> dict:
  tokens = np.random.default_rng(seed).integers(0, VOCAB, (n, LENGTH))
  return {"inputs": jnp.asarray(tokens, jnp.int32)}


@jax.jit
def dense_jacobian(params: dict, x: dict) -> jax.Array:
  """The tiny transformer's Jacobian with the parameters raveled, by jax.jacrev: [N, L, C, P]."""
  flat, unravel = ravel_pytree(params)
  return jax.jacrev(lambda w: tiny_transformer(unravel(w), x))(flat)
