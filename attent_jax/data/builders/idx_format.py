"""Reader for the IDX files of (Fashion-)MNIST, gzip-compressed or raw, with errors that name the file."""

from __future__ import annotations

import gzip
import pathlib

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IdxFormatError(ValueError):
  """An IDX file is missing, truncated or malformed."""


def find_idx_file(directory: pathlib.Path, stem: str) -> pathlib.Path:
  """`directory/stem.gz` or `directory/stem`; FileNotFoundError naming both if neither exists."""
  for candidate in (directory / f"{stem}.gz", directory / stem):
    if candidate.is_file():
      return candidate
  raise FileNotFoundError(
      f"IDX file {stem}(.gz) not found in {directory}. Install Debian's dataset-fashion-mnist package "
      "(apt-get install dataset-fashion-mnist) or point the builder at a directory holding the files.")


def read_idx(path: pathlib.Path) -> np.ndarray:
  """Reads one IDX file into an array of its declared shape and dtype."""
  try:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
  except (OSError, EOFError, gzip.BadGzipFile) as error:
    raise IdxFormatError(f"{path}: cannot read or decompress ({error})") from error
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
    raise IdxFormatError(f"{path}: not an IDX file (bad magic number {raw[:4]!r})")
  dtype, ndim = np.dtype(_DTYPES[raw[2]]), raw[3]
  header_size = 4 + 4 * ndim
  if len(raw) < header_size:
    raise IdxFormatError(f"{path}: truncated header")
  shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
  expected = int(np.prod(shape)) * dtype.itemsize
  if len(raw) - header_size != expected:
    raise IdxFormatError(
        f"{path}: truncated or corrupt: header declares shape {shape} ({expected} bytes of data) but "
        f"the file holds {len(raw) - header_size}")
  return np.frombuffer(raw, dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))
