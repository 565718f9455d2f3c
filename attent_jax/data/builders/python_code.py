"""A byte-level code corpus from the Python standard library's own `.py` files (present wherever Python is).

Files are assigned to splits by a CRC32 of their relative path (stable across machines), concatenated in
path order and cut into non-overlapping sequences of `seq_len + 1` bytes (inputs and shifted targets).
Splits: `train` (70% of files), `validation` (10%), `finetune` (10%) and `finetune_validation` (10%):
the last two are held out for LoRA fine-tuning of a model pre-trained on `train`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sysconfig
import zlib

import numpy as np
import tensorflow_datasets as tfds

VOCAB_SIZE = 256  # Bytes.
_SKIP_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "__pycache__"})
_SPLIT_OF_BUCKET = {**{b: "train" for b in range(7)}, 7: "validation", 8: "finetune",
                    9: "finetune_validation"}
SPLITS = tuple(dict.fromkeys(_SPLIT_OF_BUCKET.values()))


def default_source_dir() -> str:
  return sysconfig.get_paths()["stdlib"]


def corpus_files(source_dir: str | pathlib.Path) -> list[pathlib.Path]:
  """The corpus's `.py` files in a stable order; errors if the directory is missing or holds none."""
  root = pathlib.Path(source_dir)
  if not root.is_dir():
    raise FileNotFoundError(f"code corpus directory {root} does not exist")
  files = sorted(p for p in root.rglob("*.py")
                 if not _SKIP_DIRS.intersection(p.relative_to(root).parts[:-1]))
  if not files:
    raise ValueError(f"code corpus {root} holds no .py files")
  return files


def split_bytes(source_dir: str | pathlib.Path, split: str) -> bytes:
  """All bytes of one split, files joined by blank lines. Non-UTF-8 or empty corpora are errors."""
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
  root = pathlib.Path(source_dir)
  chunks = []
  for path in corpus_files(root):
    relative = path.relative_to(root).as_posix()
    if _SPLIT_OF_BUCKET[zlib.crc32(relative.encode()) % 10] != split:
      continue
    data = path.read_bytes()
    try:
      data.decode("utf-8")
    except UnicodeDecodeError as error:
      raise ValueError(f"code corpus file {path} is not valid UTF-8 ({error})") from error
    chunks.append(data)
  corpus = b"\n\n".join(chunks)
  if not corpus.strip():
    raise ValueError(f"code corpus {root}: split {split!r} is empty")
  return corpus


def cut_sequences(corpus: bytes, seq_len: int) -> np.ndarray:
  """uint8[num_sequences, seq_len + 1]: non-overlapping windows; the remainder is dropped."""
  window = seq_len + 1
  count = len(corpus) // window
  if count == 0:
    raise ValueError(f"corpus of {len(corpus)} bytes is shorter than one sequence of {window}")
  return np.frombuffer(corpus, np.uint8, count=count * window).reshape(count, window)


@dataclasses.dataclass
class PythonCodeConfig(tfds.core.BuilderConfig):
  seq_len: int = 128


def config_for(seq_len: int) -> PythonCodeConfig | str:
  """The registered config name for a standard length, else a custom config."""
  if seq_len <= 0:
    raise ValueError(f"seq_len must be positive, got {seq_len}")
  name = f"seq{seq_len}"
  if name in {c.name for c in PythonCode.BUILDER_CONFIGS}:
    return name
  return PythonCodeConfig(name=f"custom_seq{seq_len}", seq_len=seq_len)


class PythonCode(tfds.core.GeneratorBasedBuilder):
  """Byte sequences of Python source: {"tokens": uint8[seq_len + 1], "index": int32}."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [PythonCodeConfig(name=f"seq{n}", seq_len=n) for n in (64, 128, 256, 512)]

  def __init__(self, *, source_dir: str | None = None, **kwargs):
    self._source_dir = source_dir or default_source_dir()
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "tokens": tfds.features.Tensor(shape=(self.builder_config.seq_len + 1,), dtype=np.uint8),
            "index": tfds.features.Scalar(dtype=np.int32),
        }),
        disable_shuffling=True,
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(split) for split in SPLITS}

  def _generate_examples(self, split):
    sequences = cut_sequences(split_bytes(self._source_dir, split), self.builder_config.seq_len)
    for i, tokens in enumerate(sequences):
      yield i, {"tokens": tokens, "index": i}
