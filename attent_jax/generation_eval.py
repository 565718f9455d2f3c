"""Generation-based evaluation of prompt/response models: greedy answers judged by exact match.

    spec = generation_eval.prepare(eval_pool, tok, num_examples=256, batch_size=64, max_new_tokens=80)
    evaluator = generation_eval.make_evaluator(model_cfg, spec, tok)  # jitted KV-cache greedy decoding
    metrics = evaluator(params)                                       # {"exact_match": 0.41}

The first `num_examples` prompts of the eval pool (right-padded with pad_id to the longest of them) are
decoded greedily for `max_new_tokens` tokens in batches of fixed shape (one compilation); each generation
is cut at its first eos, detokenized, and its number after `####` compared with the reference response's
(`attent_jax.exact_match`). Host-side numpy except for the generate function.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from attent_jax import exact_match
from attent_jax.data import tokenizer as tokenizer_lib
from attent_jax.data.sources import Pool
from attent_jax.models import lora

GenerateFn = Callable[[Any, np.ndarray, np.ndarray], jax.Array]  # (params, prompts_BP, lengths_B) -> [B, T]


@dataclasses.dataclass(frozen=True)
class GenerationSpec:
  """What to decode: prompts int32[N, P] (N a multiple of batch_size; rows >= count repeat row 0)."""

  prompts_NP: np.ndarray
  prompt_lengths_N: np.ndarray
  references: tuple[str, ...]
  count: int
  batch_size: int
  max_new_tokens: int


def prepare(pool: Pool, tokenizer: tokenizer_lib.Tokenizer, *, num_examples: int, batch_size: int,
            max_new_tokens: int, max_len: int | None = None) -> GenerationSpec:
  """The first `num_examples` prompts of a prompt/response pool (all if it is smaller).

  Errors before anything compiles: a pool without prompts, non-positive sizes, or prompts plus
  `max_new_tokens` longer than the model's `max_len`.
  """
  if "prompt_length" not in pool.arrays:
    raise ValueError(f"generation eval needs a prompt/response pool; {pool.name}/{pool.split} has none "
                     "(use arithmetic_problems or sft_jsonl)")
  for name, value in (("num_examples", num_examples), ("batch_size", batch_size),
                      ("max_new_tokens", max_new_tokens)):
    if value <= 0:
      raise ValueError(f"generation eval: {name} must be positive, got {value}")
  count = min(num_examples, pool.size)
  lengths = pool.arrays["prompt_length"][:count].astype(np.int32)
  prompt_len = int(lengths.max())
  if max_len is not None and prompt_len + max_new_tokens > max_len:
    raise ValueError(f"generation eval: the longest eval prompt ({prompt_len} tokens) + max_new_tokens "
                     f"({max_new_tokens}) exceeds the model's max_len={max_len}")
  prompts = pool.arrays["tokens"][:count, :prompt_len].astype(np.int32)
  prompts[np.arange(prompt_len)[None, :] >= lengths[:, None]] = tokenizer.pad_id
  padded = -(-count // batch_size) * batch_size
  rows = np.concatenate([np.arange(count), np.zeros(padded - count, int)])
  references = tuple(bytes(r).decode("utf-8") for r in pool.arrays["response"][:count])
  return GenerationSpec(prompts_NP=prompts[rows], prompt_lengths_N=lengths[rows], references=references,
                        count=count, batch_size=batch_size, max_new_tokens=max_new_tokens)


def detokenize(tokens_NT: np.ndarray, tokenizer: tokenizer_lib.Tokenizer) -> list[str]:
  """Each row up to (not including) its first eos, decoded (special tokens skipped)."""
  texts = []
  for row in np.asarray(tokens_NT):
    ends = np.flatnonzero(row == tokenizer.eos_id)
    texts.append(tokenizer.decode(row[: ends[0]] if len(ends) else row))
  return texts


def generate(generate_fn: GenerateFn, params: Any, spec: GenerationSpec) -> np.ndarray:
  """int32[count, max_new_tokens]: the generations of the spec's prompts, batch by batch."""
  chunks = []
  for start in range(0, len(spec.prompts_NP), spec.batch_size):
    rows = slice(start, start + spec.batch_size)
    chunks.append(np.asarray(jax.device_get(
        generate_fn(params, spec.prompts_NP[rows], spec.prompt_lengths_N[rows]))))
  return np.concatenate(chunks)[: spec.count]


def evaluate(generate_fn: GenerateFn, params: Any, spec: GenerationSpec,
             tokenizer: tokenizer_lib.Tokenizer) -> dict[str, float]:
  """{"exact_match": fraction of the spec's prompts whose generated answer equals the reference's}."""
  generations = detokenize(generate(generate_fn, params, spec), tokenizer)
  return {"exact_match": exact_match.exact_match_rate(generations, spec.references)}


def from_config(config, task, eval_pool: Pool) -> Callable[[Any], dict[str, float]] | None:
  """The run's exact-match evaluator (a kind's `make_host_eval`), or None if config.eval.generate_examples
  is 0. Built before anything compiles, so its errors come first: `config.eval.max_new_tokens` must fit
  the model's max_len beside the longest eval prompt. LoRA adapters are merged first."""
  if not config.eval.generate_examples:
    return None
  tokenizer = tokenizer_lib.load(tokenizer_lib.spec_for(config.data.tokenizer, config.init.checkpoint))
  spec = prepare(eval_pool, tokenizer, num_examples=config.eval.generate_examples,
                 batch_size=config.train.eval_batch_size, max_new_tokens=config.eval.max_new_tokens,
                 max_len=getattr(task.model_config, "max_len", None))
  merge_fn = None
  if config.lora.enabled:
    lora_cfg = lora.LoRAConfig(rank=config.lora.rank, alpha=config.lora.alpha,
                               targets=tuple(config.lora.targets))
    merge_fn = functools.partial(lora.merge, config=lora_cfg)
  return make_evaluator(task.model_config, spec, tokenizer, merge_fn=merge_fn)


def greedy_fn(model_cfg: Any, *, eos_id: int, pad_id: int, max_new_tokens: int) -> GenerateFn:
  """KV-cache greedy decoding of `model_cfg` (attent_jax.models.decode) on plain (non-LoRA) params."""
  from attent_jax.models import decode  # pylint: disable=g-import-not-at-top  (pulls in flax)

  def generate_fn(params, prompts_BP: np.ndarray, lengths_B: np.ndarray) -> jax.Array:
    return decode.greedy_generate(model_cfg, params, prompts_BP, lengths_B,
                                  max_new_tokens=max_new_tokens, eos_id=eos_id, pad_id=pad_id)

  return generate_fn


def make_evaluator(model_cfg: Any, spec: GenerationSpec, tokenizer: tokenizer_lib.Tokenizer, *,
                   merge_fn: Callable[[Any], Any] | None = None) -> Callable[[Any], dict[str, float]]:
  """`params -> {"exact_match": ...}` by greedy decoding; `merge_fn` folds LoRA adapters into the base
  weights once per call (e.g. `functools.partial(lora.merge, config=lora_cfg)`)."""
  generate_fn = greedy_fn(model_cfg, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id,
                          max_new_tokens=spec.max_new_tokens)

  def evaluator(params) -> dict[str, float]:
    return evaluate(generate_fn, merge_fn(params) if merge_fn is not None else params, spec, tokenizer)

  return evaluator
