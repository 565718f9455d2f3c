"""The tensors of a local Hugging Face checkpoint directory, read lazily, whole or one slice at a time.

    files = hf_files.TensorFiles(directory)     # model.safetensors, or model.safetensors.index.json
    files.shape("model.norm.weight")            # from the header; no data read
    files.read("model.embed_tokens.weight", (slice(0, 512), slice(None)))   # only those rows

A sharded checkpoint's index maps each tensor name to its shard file ({"weight_map": {name: file}}).
Slices come from `safetensors.safe_open(...).get_slice`, which reads only the requested bytes, so a
sharded loader never holds a whole host copy of the model. Any stored dtype (float32, float16,
bfloat16) is read as it is; callers cast. Missing files raise FileNotFoundError, missing tensors
ValueError, both naming the file.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
from safetensors import numpy as safetensors_numpy
from safetensors import safe_open

WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


class TensorFiles:
  """Name -> (shard file, lazily opened handle) for one checkpoint directory."""

  def __init__(self, directory: str | pathlib.Path):
    directory = pathlib.Path(directory)
    single, index = directory / WEIGHTS_FILE, directory / INDEX_FILE
    if single.is_file():
      self.source = single
      with safe_open(single, framework="numpy") as handle:
        self._file_of = {name: single for name in handle.keys()}
    elif index.is_file():
      self.source = index
      try:
        weight_map = json.loads(index.read_text())["weight_map"]
      except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{index}: not a safetensors index with a 'weight_map' ({error})") from error
      self._file_of = {name: directory / file for name, file in weight_map.items()}
      for path in sorted(set(self._file_of.values())):
        if not path.is_file():
          raise FileNotFoundError(f"{index} names shard file {path.name}, which does not exist")
    else:
      raise FileNotFoundError(f"no weights in {directory}: expected {WEIGHTS_FILE} or {INDEX_FILE}")
    self._handles: dict[pathlib.Path, Any] = {}

  def names(self) -> set[str]:
    return set(self._file_of)

  def _handle(self, name: str):
    if name not in self._file_of:
      raise ValueError(f"{self.source}: missing tensor {name!r}")
    path = self._file_of[name]
    if path not in self._handles:
      self._handles[path] = safe_open(path, framework="numpy")
    return path, self._handles[path]

  def shape(self, name: str) -> tuple[int, ...]:
    """The stored shape of tensor `name` (header only)."""
    _, handle = self._handle(name)
    return tuple(handle.get_slice(name).get_shape())

  def file_of(self, name: str) -> pathlib.Path:
    return self._handle(name)[0]

  def read(self, name: str, index: tuple[slice, ...] | None = None) -> np.ndarray:
    """Tensor `name`, or its `index` (one slice per axis) reading only those bytes; stored dtype."""
    _, handle = self._handle(name)
    if index is None:
      return handle.get_tensor(name)
    return handle.get_slice(name)[tuple(index)]


def write(directory: str | pathlib.Path, tensors: dict[str, np.ndarray], shards: int = 1) -> None:
  """Writes `tensors` as model.safetensors, or (shards > 1) as that many shard files plus an index.

  Tensors are split between shards in insertion order, about evenly by count.
  """
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  arrays = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
  if shards == 1:
    safetensors_numpy.save_file(arrays, directory / WEIGHTS_FILE, metadata={"format": "pt"})
    return
  if not 1 < shards <= len(arrays):
    raise ValueError(f"shards must be in [1, {len(arrays)}] (one tensor at least each), got {shards}")
  names = list(arrays)
  weight_map = {}
  for i, part in enumerate(np.array_split(np.arange(len(names)), shards)):
    file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
    safetensors_numpy.save_file({names[j]: arrays[names[j]] for j in part}, directory / file,
                                metadata={"format": "pt"})
    weight_map.update({names[j]: file for j in part})
  total = sum(array.nbytes for array in arrays.values())
  (directory / INDEX_FILE).write_text(json.dumps(
      {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")
