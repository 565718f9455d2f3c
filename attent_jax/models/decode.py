"""Greedy decoding with a per-layer KV cache, compiled once per shape (no recompilation per token).

    new_tokens_BN = decode.greedy_generate(config, params, prompts_BP, prompt_lengths_B,
                                           max_new_tokens=32, eos_id=eos, pad_id=0)

Works for `llama.LlamaConfig` and `gpt.GPTConfig` models (each module's `init_cache` and
`make_cached_apply_fn`). LoRA-wrapped params decode once the adapters are folded in:
`greedy_generate(config, lora.merge(params, lora_config), ...)` (merge computes W + (alpha/r) A @ B,
the same function `lora.wrap`'s apply computes).

How: one prefill pass over the right-padded prompts [B, P] fills cache slots 0..P-1 (slots at and
after a row's length hold padding). Row b's first new token is the argmax of the logits at its last
prompt position len_b - 1; step t then feeds row b's previous token at position len_b + t, which
overwrites that slot before attending to slots 0..len_b + t. Every shape is fixed by (B, P,
max_new_tokens), so ragged prompts share one compiled program: a `lax.scan` over the new tokens.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.models import gpt, llama

_DECODERS = {llama.LlamaConfig: llama, gpt.GPTConfig: gpt}


def _decoder(config: Any):
  module = _DECODERS.get(type(config))
  if module is None:
    raise ValueError(f"KV-cache decoding supports {[cls.__name__ for cls in _DECODERS]}, "
                     f"not {type(config).__name__}")
  return module


@functools.partial(jax.jit, static_argnames=("config", "max_new_tokens", "eos_id", "pad_id"))
def _generate(params: Any, prompts_BP: jax.Array, prompt_lengths_B: jax.Array, *, config: Any,
              max_new_tokens: int, eos_id: int | None, pad_id: int) -> jax.Array:
  module = _decoder(config)
  batch, prompt_len = prompts_BP.shape
  cached_apply = module.make_cached_apply_fn(config)
  cache = module.init_cache(config, batch, prompt_len + max_new_tokens)

  positions_BP = jnp.broadcast_to(jnp.arange(prompt_len), (batch, prompt_len))
  logits_BPV, cache = cached_apply(params, prompts_BP, positions_BP, cache)
  last_BV = jnp.take_along_axis(logits_BPV, (prompt_lengths_B - 1)[:, None, None], axis=1)[:, 0]
  token_B = jnp.argmax(last_BV, axis=-1).astype(jnp.int32)
  done_B = jnp.zeros((batch,), bool)

  def emit(token_B, done_B):
    out_B = jnp.where(done_B, pad_id, token_B)
    if eos_id is not None:
      done_B = done_B | (token_B == eos_id)
    return out_B, done_B

  first_B, done_B = emit(token_B, done_B)

  def step(carry, t):
    cache, token_B, done_B = carry
    positions_B1 = (prompt_lengths_B + t)[:, None]
    logits_B1V, cache = cached_apply(params, token_B[:, None], positions_B1, cache)
    token_B = jnp.argmax(logits_B1V[:, 0], axis=-1).astype(jnp.int32)
    out_B, done_B = emit(token_B, done_B)
    return (cache, token_B, done_B), out_B

  _, rest_NB = jax.lax.scan(step, (cache, token_B, done_B), jnp.arange(max_new_tokens - 1))
  return jnp.concatenate([first_B[:, None], rest_NB.T], axis=1)


def greedy_generate(config: Any, params: Any, prompts_BP: jax.Array, prompt_lengths_B: jax.Array,
                    *, max_new_tokens: int, eos_id: int | None = None, pad_id: int = 0
                    ) -> jax.Array:
  """The greedy continuation of each prompt: int32[B, max_new_tokens].

  prompts_BP: int32[B, P], right-padded (anything may follow a row's prompt); prompt_lengths_B:
  int32[B], each in [1, P]. With `eos_id`, a row's eos token is kept and every later token is
  `pad_id`. Needs P + max_new_tokens <= config.max_len. `params` are the model's plain params
  (merge LoRA adapters first, see the module docstring); they may be sharded like training params.
  Jitted: one compilation per (config, B, P, max_new_tokens, eos_id, pad_id).
  """
  _decoder(config)
  prompts_BP = jnp.asarray(prompts_BP, jnp.int32)
  prompt_lengths_B = jnp.asarray(prompt_lengths_B, jnp.int32)
  if prompts_BP.ndim != 2 or prompt_lengths_B.shape != prompts_BP.shape[:1]:
    raise ValueError(f"prompts must be int[B, P] and prompt_lengths int[B], got shapes "
                     f"{prompts_BP.shape} and {prompt_lengths_B.shape}")
  if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
    raise ValueError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
  if prompts_BP.shape[1] + max_new_tokens > config.max_len:
    raise ValueError(f"prompt length {prompts_BP.shape[1]} + max_new_tokens {max_new_tokens} "
                     f"exceeds the model's max_len={config.max_len}")
  try:
    lengths = np.asarray(prompt_lengths_B)
  except jax.errors.TracerArrayConversionError:  # Called under jit: nothing concrete to check.
    lengths = None
  if lengths is not None and lengths.size:
    if lengths.min() < 1 or lengths.max() > prompts_BP.shape[1]:
      raise ValueError(f"prompt_lengths must lie in [1, {prompts_BP.shape[1]}], got "
                       f"min {lengths.min()} and max {lengths.max()}")
  return _generate(params, prompts_BP, prompt_lengths_B, config=config,
                   max_new_tokens=max_new_tokens, eos_id=eos_id, pad_id=pad_id)
