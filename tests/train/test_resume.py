"""Stopping after step n and re-running continues exactly: bit-identical params and selections."""

import jax
import numpy as np
import pytest

from attent_jax import train
from attent_jax.configs import vit_digits
from tests.offline_data import smoke_config


def run(data_dirs, workdir, teacher, **overrides):
  config = smoke_config(vit_digits, data_dirs, epochs=4, **overrides)
  config.teacher.name = teacher
  return train.run(config, workdir, progress=False)


@pytest.mark.parametrize("teacher,stop", [("attent_complex", 5), ("infobatch", 13)])
def test_stop_and_resume_is_bit_identical(data_dirs, tmp_path, teacher, stop):
  whole = run(data_dirs, tmp_path / "whole", teacher)
  first = run(data_dirs, tmp_path / "split", teacher, stop_after_step=stop)
  assert first.preempted and first.history[-1]["step"] <= stop if first.history else first.preempted
  resumed = run(data_dirs, tmp_path / "split", teacher, stop_after_step=stop)
  assert not resumed.preempted
  assert [r["selection_crc32"] for r in resumed.history] == [r["selection_crc32"] for r in whole.history]
  assert [r["step"] for r in resumed.history] == [r["step"] for r in whole.history]
  for a, b in zip(jax.tree.leaves(resumed.params), jax.tree.leaves(whole.params)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
