"""Fixtures for the ANTK tests: a tiny pure-jax transformer (embedding, one attention layer, readout).

Params are a plain dict with the project's names (block_0/attn/{q,k,v,o}/kernel), so the ready-made
param filters apply. Shapes are tiny so every test compiles in well under a second.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

VOCAB, LENGTH, WIDTH, HEADS, OUT = 11, 5, 8, 2, 3


def init_tiny_transformer(key: jax.Array, out: int = OUT) -> dict:
  keys = jax.random.split(key, 7)
  dense = lambda k, shape: jax.random.normal(k, shape) / jnp.sqrt(shape[0])
  return {
      "embed": jax.random.normal(keys[0], (VOCAB, WIDTH)),
      "pos_embed": 0.5 * jax.random.normal(keys[1], (LENGTH, WIDTH)),
      "block_0": {"attn": {name: {"kernel": dense(k, (WIDTH, WIDTH)), "bias": jnp.zeros(WIDTH)}
                           for name, k in zip("qkvo", keys[2:6])}},
      "head": {"kernel": dense(keys[6], (WIDTH, out))},
  }


def tiny_transformer(params: dict, batch: dict) -> jax.Array:
  """{"inputs": int32[N, L]} -> per-position outputs f32[N, L, OUT] (causal attention)."""
  tokens_NL = batch["inputs"]
  h_NLD = params["embed"][tokens_NL] + params["pos_embed"][None, : tokens_NL.shape[1]]
  attn = params["block_0"]["attn"]
  proj = lambda name, x: x @ attn[name]["kernel"] + attn[name]["bias"]
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


def make_batch(key: jax.Array, n: int) -> dict:
  return {"inputs": jax.random.randint(key, (n, LENGTH), 0, VOCAB, dtype=jnp.int32)}


@pytest.fixture(scope="session")
def params() -> dict:
  return init_tiny_transformer(jax.random.key(0))


@pytest.fixture(scope="session")
def batch1() -> dict:
  return make_batch(jax.random.key(1), 5)


@pytest.fixture(scope="session")
def batch2() -> dict:
  return make_batch(jax.random.key(2), 4)
