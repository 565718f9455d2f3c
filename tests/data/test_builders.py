"""Offline tfds builders: stable indices, the IDX reader's errors, the code corpus, no TensorFlow."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from attent_jax import data
from attent_jax.data.builders import fashion_mnist_local, idx_format, python_code
from tests.offline_data import write_fashion_mnist, write_idx


def test_fashion_mnist_builder_on_small_idx_files(tmp_path):
  write_fashion_mnist(tmp_path / "idx")
  pool = data.load_pool("fashion_mnist_local", "train", data_dir=str(tmp_path / "tfds"),
                        source_dir=str(tmp_path / "idx"))
  assert pool.size == 40 and pool.kind == "image"
  np.testing.assert_array_equal(pool.arrays["index"], np.arange(40))
  np.testing.assert_array_equal(pool.arrays["label"], np.arange(40) % 10)  # Order is kept.
  images, _ = fashion_mnist_local.read_split(tmp_path / "idx", "train")
  np.testing.assert_array_equal(pool.arrays["image"][..., 0], images)
  test_pool = data.load_pool("fashion_mnist_local", "test", data_dir=str(tmp_path / "tfds"),
                             source_dir=str(tmp_path / "idx"))
  assert test_pool.size == 12


def test_skip_reads_the_held_out_examples_after_a_limited_pool(tmp_path):
  write_fashion_mnist(tmp_path / "idx")
  load = lambda **kw: data.load_pool("fashion_mnist_local", "train", data_dir=str(tmp_path / "tfds"),
                                     source_dir=str(tmp_path / "idx"), **kw)
  whole, held_out = load(), load(skip=15, limit=15)
  assert held_out.size == 15
  np.testing.assert_array_equal(held_out.arrays["index"], np.arange(15))  # pool-relative
  np.testing.assert_array_equal(held_out.arrays["image"], whole.arrays["image"][15:30])
  np.testing.assert_array_equal(load(skip=30).arrays["label"], whole.arrays["label"][30:])
  with pytest.raises(ValueError, match="skip=40 leaves no example"):
    load(skip=40)


def test_truncated_idx_file_is_a_clear_error(tmp_path):
  write_fashion_mnist(tmp_path, compress=False)
  write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((40, 28, 28)), compress=False, truncate=5)
  with pytest.raises(idx_format.IdxFormatError, match="train-images-idx3-ubyte.*truncated"):
    fashion_mnist_local.read_split(tmp_path, "train")


def test_corrupt_gzip_is_a_clear_error(tmp_path):
  write_fashion_mnist(tmp_path)
  (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
  with pytest.raises(idx_format.IdxFormatError, match="train-labels-idx1-ubyte.gz"):
    fashion_mnist_local.read_split(tmp_path, "train")


def test_missing_idx_file_names_it(tmp_path):
  write_fashion_mnist(tmp_path)
  (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
  with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
    fashion_mnist_local.read_split(tmp_path, "test")


def test_missing_dataset_directory(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    data.load_pool("fashion_mnist_local", "train", data_dir=str(tmp_path / "tfds"),
                   source_dir=str(tmp_path / "nowhere"))


def test_digits_indices_are_stable_and_unique(tmp_path):
  first = data.load_pool("sklearn_digits", "train", data_dir=str(tmp_path))
  again = data.load_pool("sklearn_digits", "train", data_dir=str(tmp_path))
  assert first.size == 1437
  assert len(np.unique(first.arrays["index"])) == first.size
  for key in first.arrays:
    np.testing.assert_array_equal(first.arrays[key], again.arrays[key])


def _split_or_empty(source, split):
  try:
    return python_code.split_bytes(source, split)
  except ValueError:
    return b""


def test_code_corpus_splits_by_file_and_cuts_sequences(tmp_path):
  source = tmp_path / "code"
  (source / "pkg").mkdir(parents=True)
  for i in range(30):
    (source / "pkg" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n" * 20)
  (source / "tests").mkdir()
  (source / "tests" / "skipped.py").write_text("x = 1\n" * 100)
  pool = data.load_pool("python_code", "train", data_dir=str(tmp_path / "tfds"),
                        source_dir=str(source), seq_len=16)
  assert pool.kind == "tokens" and pool.arrays["tokens"].shape[1] == 17
  train_text = python_code.split_bytes(source, "train")
  np.testing.assert_array_equal(pool.arrays["tokens"][0], np.frombuffer(train_text[:17], np.uint8))
  assert b"x = 1" not in train_text
  texts = [_split_or_empty(source, split) for split in python_code.SPLITS]
  for i in range(30):  # Every file lands in exactly one split.
    assert sum(f"def f{i}():".encode() in text for text in texts) == 1

def test_non_utf8_and_empty_corpora_are_errors(tmp_path):
  (tmp_path / "bad").mkdir()
  (tmp_path / "bad" / "a.py").write_bytes(b"x = '\xff\xfe'\n" * 10)
  with pytest.raises(ValueError, match="not valid UTF-8"):
    for split in python_code.SPLITS:
      python_code.split_bytes(tmp_path / "bad", split)
  (tmp_path / "empty").mkdir()
  with pytest.raises(ValueError, match="no .py files"):
    python_code.corpus_files(tmp_path / "empty")


def test_importing_and_building_pipelines_never_imports_tensorflow(tmp_path):
  code = (
      "import sys, attent_jax, attent_jax.data as d, attent_jax.selection, attent_jax.train\n"
      f"p = d.load_pool('sklearn_digits', 'train', data_dir={str(tmp_path)!r})\n"
      "b = d.Batcher(p, 8).batch(p.arrays['index'][:3])\n"
      "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n")
  subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(__file__).parents[2])
