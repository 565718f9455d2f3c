"""Prompt/response pairs from local JSONL files: one `<split>.jsonl` per split in a directory.

    my_data/train.jsonl   {"query": "...", "response": "... #### 18"}   (MetaMathQA's field names)
    my_data/test.jsonl    {"prompt": "...", "response": "..."}         ("prompt" is accepted too)

Examples keep their file order; "index" is the line's example position. The builder config is named after
the directory and a CRC32 of its files, so editing a file builds a fresh dataset instead of reusing a stale
one. Lines are checked by `attent_jax.data.sft.read_jsonl` (errors name the file and line).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import zlib

import numpy as np
import tensorflow_datasets as tfds

from attent_jax.data import sft

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def split_files(source_dir: str | pathlib.Path) -> dict[str, pathlib.Path]:
  """{split: path} of the directory's *.jsonl files; errors if there is none or a name is not a split."""
  root = pathlib.Path(source_dir)
  if not root.is_dir():
    raise FileNotFoundError(f"SFT data directory {root} does not exist (expected <split>.jsonl files)")
  files = {path.stem: path for path in sorted(root.glob("*.jsonl"))}
  if not files:
    raise ValueError(f"SFT data directory {root} holds no <split>.jsonl file")
  for split in files:
    if not _SPLIT_NAME.match(split):
      raise ValueError(f"{root / (split + '.jsonl')}: a split name may hold only letters, digits and _")
  return files


@dataclasses.dataclass
class SftJsonlConfig(tfds.core.BuilderConfig):
  source_dir: str = ""


def config_for(source_dir: str | pathlib.Path) -> SftJsonlConfig:
  """A config named <directory>_<crc32 of its split files' names and bytes>."""
  root = pathlib.Path(source_dir)
  crc = 0
  for split, path in split_files(root).items():
    crc = zlib.crc32(path.read_bytes(), zlib.crc32(split.encode(), crc))
  stem = re.sub(r"[^A-Za-z0-9_]", "_", root.resolve().name) or "data"
  return SftJsonlConfig(name=f"{stem}_{crc:08x}", source_dir=str(root))


class PromptResponseBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder of {"prompt": text, "response": text, "index": int32} examples, in their given order;
  subclasses yield (prompt, response) pairs per split from `_pairs`."""

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "prompt": tfds.features.Text(),
            "response": tfds.features.Text(),
            "index": tfds.features.Scalar(dtype=np.int32),
        }),
        disable_shuffling=True,
    )

  def _generate_examples(self, pairs):
    for i, (prompt, response) in enumerate(pairs):
      yield i, {"prompt": prompt, "response": response, "index": i}


class SftJsonl(PromptResponseBuilder):
  """{"prompt": text, "response": text, "index": int32} from <source_dir>/<split>.jsonl."""

  VERSION = tfds.core.Version("1.0.0")

  def _split_generators(self, dl_manager):
    del dl_manager
    files = split_files(self.builder_config.source_dir)
    return {split: self._generate_examples(sft.read_jsonl(path)) for split, path in files.items()}
