"""Prompt/response pairs for supervised fine-tuning: reading JSONL and tokenizing with a prompt mask.

    pairs = read_jsonl("train.jsonl")                    # [(prompt, response)], checked line by line
    arrays, counts = tokenize_pairs(prompts, responses, tok, seq_len=256, overlong="truncate")

Each example becomes `tokens = bos + prompt + response + eos` (bos only if the tokenizer has one), cut or
padded to seq_len + 1 tokens (inputs are tokens[:-1], targets tokens[1:]). `response_mask` is True exactly
on the response tokens and the eos, so the loss counts only target positions that predict the response:
the per-example loss (`attent_jax.losses.cross_entropy` over the target mask) is the mean over response
tokens. The paper's released code averages over padding positions too; ours never counts padding or
prompt.

Over-long examples (more than seq_len + 1 tokens) are cut at the end ("truncate") or left out ("drop");
an example whose prompt alone leaves no response token inside the window is always left out. Counts of
both are logged and returned.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence

import numpy as np
from absl import logging

from attent_jax.data import tokenizer as tokenizer_lib

PROMPT_FIELDS = ("query", "prompt")  # MetaMathQA's name first; either is accepted.
RESPONSE_FIELD = "response"
OVERLONG = ("truncate", "drop")


def read_jsonl(path: str | pathlib.Path) -> list[tuple[str, str]]:
  """(prompt, response) per line of a JSONL file of {"query"|"prompt": str, "response": str} objects.

  Blank lines are skipped. Errors name the file and line: not JSON, not an object, a missing or
  non-string field, an empty response; a file with no example is an error too.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"JSONL file {path} does not exist")
  pairs = []
  with path.open(encoding="utf-8") as lines:
    for number, line in enumerate(lines, start=1):
      if not line.strip():
        continue
      where = f"{path}, line {number}"
      try:
        record = json.loads(line)
      except json.JSONDecodeError as error:
        raise ValueError(f"{where} is not JSON ({error.msg}); expected one JSON object per line "
                         "(JSONL), e.g. {\"query\": ..., \"response\": ...}") from error
      if not isinstance(record, dict):
        raise ValueError(f"{where} is a JSON {type(record).__name__}, not an object with "
                         f"{PROMPT_FIELDS[0]!r}/{PROMPT_FIELDS[1]!r} and {RESPONSE_FIELD!r}")
      prompt_field = next((f for f in PROMPT_FIELDS if f in record), None)
      if prompt_field is None:
        raise ValueError(f"{where} has no prompt field; expected one of {PROMPT_FIELDS}, got keys "
                         f"{sorted(record)}")
      if RESPONSE_FIELD not in record:
        raise ValueError(f"{where} has no {RESPONSE_FIELD!r} field; got keys {sorted(record)}")
      prompt, response = record[prompt_field], record[RESPONSE_FIELD]
      for name, value in ((prompt_field, prompt), (RESPONSE_FIELD, response)):
        if not isinstance(value, str):
          raise ValueError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
      if not response.strip():
        raise ValueError(f"{where}: empty response")
      pairs.append((prompt, response))
  if not pairs:
    raise ValueError(f"JSONL file {path} holds no examples")
  return pairs


def tokenize_pairs(prompts: Sequence[str], responses: Sequence[str], tokenizer: tokenizer_lib.Tokenizer,
                   seq_len: int, overlong: str = "truncate") -> tuple[dict[str, np.ndarray], dict]:
  """Token arrays of the kept examples, and counts {"kept", "truncated", "dropped"}.

  Arrays (N = kept examples, in input order):
    tokens          int[N, seq_len + 1]   bos + prompt + response + eos, then pad_id
    token_mask      bool[N, seq_len + 1]  False on padding
    response_mask   bool[N, seq_len + 1]  True on response tokens and eos
    prompt_length   int32[N]              bos + prompt tokens (where generation starts)
    kept            int32[N]              each kept example's position in the input
  """
  if overlong not in OVERLONG:
    raise ValueError(f"overlong must be one of {OVERLONG}, got {overlong!r}")
  if seq_len <= 0:
    raise ValueError(f"seq_len must be positive, got {seq_len}")
  if len(prompts) != len(responses):
    raise ValueError(f"{len(prompts)} prompts for {len(responses)} responses")
  window = seq_len + 1
  head = [] if tokenizer.bos_id is None else [tokenizer.bos_id]
  rows, counts = [], {"kept": 0, "truncated": 0, "dropped": 0}
  for position, (prompt_ids, response_ids) in enumerate(
      zip(tokenizer.encode_batch(prompts), tokenizer.encode_batch(responses))):
    prompt_ids, response_ids = head + prompt_ids, response_ids + [tokenizer.eos_id]
    total = len(prompt_ids) + len(response_ids)
    if total > window and (overlong == "drop" or len(prompt_ids) >= window):
      counts["dropped"] += 1
      continue
    counts["truncated"] += total > window
    rows.append((position, prompt_ids, response_ids))
  counts["kept"] = len(rows)
  logging.info("prompt/response data at seq_len %d: %d examples kept, %d of them truncated, %d dropped "
               "(overlong=%s)", seq_len, counts["kept"], counts["truncated"], counts["dropped"], overlong)
  if not rows:
    raise ValueError(f"no example fits seq_len={seq_len} (all {len(prompts)} dropped); raise seq_len")
  dtype = np.uint16 if tokenizer.vocab_size <= 2**16 else np.int32
  tokens = np.full((len(rows), window), tokenizer.pad_id, dtype)
  token_mask = np.zeros((len(rows), window), bool)
  response_mask = np.zeros((len(rows), window), bool)
  prompt_length = np.zeros(len(rows), np.int32)
  for row, (_, prompt_ids, response_ids) in enumerate(rows):
    ids = (prompt_ids + response_ids)[:window]
    tokens[row, :len(ids)] = ids
    token_mask[row, :len(ids)] = True
    response_mask[row, len(prompt_ids):len(ids)] = True
    prompt_length[row] = len(prompt_ids)
  arrays = {"tokens": tokens, "token_mask": token_mask, "response_mask": response_mask,
            "prompt_length": prompt_length, "kept": np.array([r[0] for r in rows], np.int32)}
  return arrays, counts
