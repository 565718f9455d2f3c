"""Test set-up: 8 fake CPU devices so sharding tests run anywhere, float32 matmuls at full precision."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402  (must come after XLA_FLAGS)

jax.config.update("jax_default_matmul_precision", "highest")

# Identical programs (the same tiny model compiled by several runs in a test) compile once per session.
jax.config.update("jax_compilation_cache_dir",
                  os.environ.get("ATTENT_JAX_TEST_CACHE", "/tmp/attent_jax_test_compilation_cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
