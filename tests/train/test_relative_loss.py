"""The de-biased cached score "relative_loss": each training loss minus its batch's mean loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import experiment, sharding
from attent_jax import train
from attent_jax.configs import vit_digits
from attent_jax.selection import scores
from attent_jax.train import state as state_lib
from attent_jax.train import steps as steps_lib
from tests.offline_data import smoke_config


def test_relative_loss_subtracts_the_mean_of_real_rows():
  losses = jnp.array([1.0, 2.0, 6.0, 100.0])
  mask = jnp.array([True, True, True, False])
  np.testing.assert_allclose(scores.relative_loss(losses, mask), [-2.0, -1.0, 3.0, 0.0])
  assert "relative_loss" in scores.SCORE_KINDS


def _config(data_dirs, teacher, **overrides):
  config = smoke_config(vit_digits, data_dirs, epochs=3)
  config.teacher.name = teacher
  config.teacher.overrides = dict(score_kind="relative_loss", **overrides)
  return config


def test_train_step_records_relative_loss_for_a_cached_teacher(data_dirs):
  exp = experiment.build(_config(data_dirs, "attent_simple", source="cached"))
  assert exp.teacher.score_kinds == ("relative_loss",)
  state = state_lib.init_state(exp.task, exp.optimizer, 0)
  teacher_state = exp.teacher.init(jax.random.key(0))
  steps = steps_lib.CompiledSteps(exp.task, exp.optimizer, exp.teacher, exp.mesh, state,
                                  teacher_state, sharding.DATA_PARALLEL_RULES)
  state, teacher_state = steps.place(state, teacher_state)
  indices = np.arange(3, 23, dtype=np.int32)  # 20 of a 32-row batch: a padded tail too.
  _, teacher_state, metrics = steps.train(state, teacher_state, exp.batcher.batch(indices))
  losses = np.asarray(metrics["losses"])[:20]
  cached = exp.teacher.layout.by_example(teacher_state.scores["relative_loss"])
  np.testing.assert_allclose(cached[indices], losses - losses.mean(), rtol=1e-5, atol=1e-6)
  assert np.all(exp.teacher.layout.by_example(teacher_state.age["relative_loss"])[indices] == 0)
  assert np.all(cached[23:] == 0) and np.all(exp.teacher.layout.by_example(teacher_state.age["relative_loss"])[23:] == -1)


@pytest.mark.parametrize("teacher,overrides", [("attent_simple", {}),
                                               ("attent_complex", {"source": "fresh"})])
def test_relative_loss_teachers_train(data_dirs, tmp_path, teacher, overrides):
  result = train.run(_config(data_dirs, teacher, **overrides), tmp_path, progress=False)
  counts = [r["examples"] for r in result.history]
  assert counts[0] == 256 and min(counts) < 256
  assert np.isfinite(result.final["eval/accuracy"])
