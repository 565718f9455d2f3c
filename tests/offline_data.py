"""Small offline data the tests write themselves, and configs pointed at it."""

import gzip
import json
import pathlib

import numpy as np


def write_idx(path: pathlib.Path, array: np.ndarray, *, compress=True, truncate=0) -> None:
  header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
      int(d).to_bytes(4, "big") for d in array.shape)
  raw = header + array.astype(np.uint8).tobytes()
  raw = raw[: len(raw) - truncate]
  if compress:
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(raw))
  else:
    path.write_bytes(raw)


def write_fashion_mnist(directory: pathlib.Path, n_train=40, n_test=12, **kwargs) -> None:
  rng = np.random.default_rng(0)
  directory.mkdir(parents=True, exist_ok=True)
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    write_idx(directory / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), **kwargs)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, **kwargs)


def smoke_config(module, data_dirs, **train_overrides):
  """The module's :smoke config pointed at the session's offline data."""
  tfds_dir, idx_dir, code_dir = data_dirs
  config = module.get_config("smoke")
  config.data.data_dir = tfds_dir
  if config.data.name == "fashion_mnist_local":
    config.data.source_dir = idx_dir
  if config.data.name == "python_code":
    config.data.source_dir = code_dir
  config.train.update(train_overrides)
  return config


_BPE_TEXT = ["Mia has 7 pens. Mia gets 5 more.", "7 + 5 = 12\n#### 12", "héllo wörld, naïve café"] * 20


def write_bpe(directory, specials=("<pad>", "<s>", "</s>"), config=None):
  """A small byte-level BPE trained here (nothing downloaded), saved as <directory>/tokenizer.json."""
  import tokenizers  # pylint: disable=g-import-not-at-top
  from tokenizers import decoders, models, pre_tokenizers, trainers  # pylint: disable=g-import-not-at-top

  bpe = tokenizers.Tokenizer(models.BPE())
  bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  bpe.decoder = decoders.ByteLevel()
  bpe.train_from_iterator(_BPE_TEXT, trainers.BpeTrainer(
      vocab_size=300, special_tokens=list(specials),
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
  directory.mkdir(parents=True, exist_ok=True)
  bpe.save(str(directory / "tokenizer.json"))
  if config is not None:
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
  return directory
