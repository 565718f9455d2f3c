"""Test set-up: 8 fake CPU devices so sharding tests run anywhere, float32 matmuls at full precision."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pathlib  # noqa: E402
import sysconfig  # noqa: E402

import jax  # noqa: E402  (must come after XLA_FLAGS)
import pytest  # noqa: E402

from tests.offline_data import write_fashion_mnist  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

# Identical programs (the same tiny model compiled by several runs in a test) compile once per session.
jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("ATTENT_JAX_TEST_CACHE", "/tmp/attent_jax_test_compilation_cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(scope="session")
def data_dirs(tmp_path_factory):
  """(tfds data_dir, Fashion-MNIST IDX dir, code corpus dir) shared by the session's runs."""
  root = tmp_path_factory.mktemp("data")
  write_fashion_mnist(root / "idx", n_train=600, n_test=300)
  code = pathlib.Path(sysconfig.get_paths()["stdlib"]) / "email"  # A real, small part of the stdlib.
  return str(root / "tfds"), str(root / "idx"), str(code)
