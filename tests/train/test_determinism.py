"""Same config and seed: bit-identical results run to run, on 1 device and on 8 fake devices."""

import jax
import numpy as np
import pytest

from attent_jax import train
from attent_jax.configs import vit_digits
from tests.offline_data import smoke_config


@pytest.mark.parametrize("num_devices", [1, 8])
def test_run_to_run_bit_identical(data_dirs, tmp_path, num_devices):
  config = smoke_config(vit_digits, data_dirs, num_devices=num_devices)
  config.teacher.name = "attent_complex"  # Soft (Gumbel) selection: randomness must be reproducible.
  first = train.run(config, tmp_path / "first", progress=False)
  second = train.run(config, tmp_path / "second", progress=False)
  assert [r["selection_crc32"] for r in first.history] == [r["selection_crc32"] for r in second.history]
  assert [r["eval/loss"] for r in first.history] == [r["eval/loss"] for r in second.history]
  for a, b in zip(jax.tree.leaves(first.params), jax.tree.leaves(second.params)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
