"""Example pools: a tfds split materialised as numpy arrays, each example carrying its stable int32 index.

`load_pool` builds the dataset with tfds (array_record files, no TensorFlow) on first use, opens it with
`as_data_source()` and reads it into memory once. Pools here are small enough for host memory (Fashion-MNIST
is 47 MB); the teacher then speaks only in indices and the batcher gathers rows by index.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np
import tensorflow_datasets as tfds
import tqdm

from attent_jax.data import sft
from attent_jax.data import tokenizer as tokenizer_lib
from attent_jax.data.builders import (arithmetic_problems, fashion_mnist_local, python_code, sft_jsonl,
                                      sklearn_digits)

DEFAULT_DATA_DIR = os.environ.get("ATTENT_JAX_DATA_DIR", str(pathlib.Path.home() / "tensorflow_datasets"))
_LOCAL_BUILDERS = {
    "fashion_mnist_local": fashion_mnist_local.FashionMnistLocal,
    "sklearn_digits": sklearn_digits.SklearnDigits,
    "python_code": python_code.PythonCode,
    "arithmetic_problems": arithmetic_problems.ArithmeticProblems,
    "sft_jsonl": sft_jsonl.SftJsonl,
}
LOCAL_DATASETS = tuple(_LOCAL_BUILDERS)


@dataclasses.dataclass(frozen=True)
class Pool:
  """One split in memory. `arrays` hold the raw features (leading dim = size) and "index" (int32 = row)."""

  name: str
  split: str
  arrays: dict[str, np.ndarray]
  image_scale: float = 255.0  # Pixel values are divided by this to land in [0, 1].

  @property
  def size(self) -> int:
    return len(self.arrays["index"])

  @property
  def kind(self) -> str:
    """"image" (image + label) or "tokens" (token sequences of length seq_len + 1; prompt/response
    pools also carry "response_mask", "prompt_length" and the texts "prompt" and "response")."""
    return "tokens" if "tokens" in self.arrays else "image"

  def take(self, count: int) -> Pool:
    """The first `count` examples (indices stay equal to positions)."""
    if not 0 < count <= self.size:
      raise ValueError(f"cannot take {count} examples from {self.name}/{self.split} of size {self.size}")
    return dataclasses.replace(self, arrays={k: v[:count] for k, v in self.arrays.items()})


def make_builder(name: str, *, data_dir: str | None = None, source_dir: str | None = None,
                 seq_len: int | None = None) -> tfds.core.DatasetBuilder:
  """The tfds builder for a local dataset name, or for any tfds catalog name (needs network to build)."""
  data_dir = data_dir or DEFAULT_DATA_DIR
  kwargs = {"data_dir": data_dir, "file_format": "array_record"}
  if name == "python_code":
    return python_code.PythonCode(config=python_code.config_for(seq_len or 128), source_dir=source_dir,
                                  **kwargs)
  if name == "sft_jsonl":
    if not source_dir:
      raise ValueError("dataset sft_jsonl needs a source_dir: a directory of <split>.jsonl files")
    return sft_jsonl.SftJsonl(config=sft_jsonl.config_for(source_dir), **kwargs)
  if name == "fashion_mnist_local":
    return fashion_mnist_local.FashionMnistLocal(
        source_dir=source_dir or fashion_mnist_local.DEFAULT_DIR, **kwargs)
  if name in _LOCAL_BUILDERS:
    return _LOCAL_BUILDERS[name](**kwargs)
  return tfds.builder(name, **kwargs)


def _read_all(source, description: str, count: int, skip: int = 0) -> dict[str, np.ndarray]:
  """`count` examples of a data source from position `skip` on, as columns."""
  chunk = 4096
  columns: dict[str, list[np.ndarray]] = {}
  for start in tqdm.trange(skip, skip + count, chunk, desc=f"reading {description}",
                           unit_scale=chunk, leave=False, disable=count <= 8 * chunk):
    for example in source.__getitems__(list(range(start, min(start + chunk, skip + count)))):
      for key, value in example.items():
        columns.setdefault(key, []).append(np.asarray(value))
  return {key: np.stack(values) for key, values in columns.items()}


def _text_to_tokens(texts: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
  """Byte-level tokens uint8[N, seq_len + 1] and their validity mask (False on padding)."""
  tokens = np.zeros((len(texts), seq_len + 1), np.uint8)
  valid = np.zeros((len(texts), seq_len + 1), bool)
  for row, text in enumerate(texts):
    data = np.frombuffer(bytes(text)[: seq_len + 1], np.uint8)
    tokens[row, : len(data)], valid[row, : len(data)] = data, True
  return tokens, valid


def _prompt_response_tokens(arrays: dict[str, np.ndarray], seq_len: int, tokenizer: str,
                            overlong: str) -> dict[str, np.ndarray]:
  """Tokenizes a prompt/response pool (attent_jax.data.sft); dropped examples leave the pool."""
  prompts = [bytes(p).decode("utf-8") for p in arrays["prompt"]]
  responses = [bytes(r).decode("utf-8") for r in arrays["response"]]
  tokens, _ = sft.tokenize_pairs(prompts, responses, tokenizer_lib.load(tokenizer), seq_len, overlong)
  kept = tokens.pop("kept")
  return {**{key: value[kept] for key, value in arrays.items()}, **tokens}


def load_pool(name: str, split: str, *, data_dir: str | None = None, source_dir: str | None = None,
              seq_len: int | None = None, limit: int | None = None, skip: int = 0,
              tokenizer: str = "", overlong: str = "truncate") -> Pool:
  """Builds (once) and reads a split into a `Pool`.

  Local names: fashion_mnist_local (`source_dir` = IDX directory), sklearn_digits, python_code
  (`source_dir` = a directory of .py files, default the standard library; `seq_len`), and the
  prompt/response datasets arithmetic_problems and sft_jsonl (`source_dir` = a directory of
  <split>.jsonl files), tokenized with `tokenizer` ("" = bytes, or a tokenizer.json / its directory)
  at `seq_len`, over-long examples handled by `overlong` ("truncate" | "drop"). Any other name is a
  tfds catalog dataset with "image"/"label" or "text" features (built with network on first use).
  `limit` keeps the first `limit` examples of the split after the first `skip` (only those are read;
  fewer remain if any over-long prompt/response example among them is dropped): `skip=n, limit=n`
  reads the n examples after a pool of `limit=n`, a held-out split of the same distribution. Pool
  indices count from the first example kept.
  """
  make = lambda: make_builder(name, data_dir=data_dir, source_dir=source_dir, seq_len=seq_len)  # noqa: E731
  builder = make()
  try:
    builder.download_and_prepare()
  except FileExistsError:
    # Another process (a multi-process run sharing data_dir) finished the same build first: read its.
    builder = make()
    builder.download_and_prepare()
  if split not in builder.info.splits:
    raise ValueError(f"dataset {name} has no split {split!r}; it has {sorted(builder.info.splits)}")
  source = builder.as_data_source(split=split)
  if not 0 <= skip < len(source):
    raise ValueError(f"skip={skip} leaves no example of {name}/{split}, which holds {len(source)}")
  count = min(limit, len(source) - skip) if limit else len(source) - skip
  arrays = _read_all(source, f"{name}/{split}", count, skip)
  if "text" in arrays and "tokens" not in arrays:
    arrays["tokens"], arrays["token_mask"] = _text_to_tokens(arrays.pop("text"), seq_len or 128)
  positions = np.arange(count, dtype=np.int32)
  if "index" in arrays and not np.array_equal(arrays["index"], skip + positions):
    raise ValueError(f"{name}/{split}: stored indices are not the example positions; rebuild the dataset")
  if "prompt" in arrays and "response" in arrays:
    arrays = _prompt_response_tokens(arrays, seq_len or 128, tokenizer, overlong)
    positions = np.arange(len(arrays["tokens"]), dtype=np.int32)  # Dropped examples leave no gap.
  arrays["index"] = positions
  return Pool(name=name, split=split, arrays=arrays, image_scale=16.0 if name == "sklearn_digits" else 255.0)
