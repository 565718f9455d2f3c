"""Shared fixtures for training tests: one tfds data dir and small offline corpora per test session."""

import pathlib
import sysconfig

import pytest

from tests.data.test_builders import write_fashion_mnist


@pytest.fixture(scope="session")
def data_dirs(tmp_path_factory):
  """(tfds data_dir, Fashion-MNIST IDX dir, code corpus dir) shared by the session's runs."""
  root = tmp_path_factory.mktemp("data")
  write_fashion_mnist(root / "idx", n_train=600, n_test=300)
  code = pathlib.Path(sysconfig.get_paths()["stdlib"]) / "email"  # A real, small part of the stdlib.
  return str(root / "tfds"), str(root / "idx"), str(code)


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
