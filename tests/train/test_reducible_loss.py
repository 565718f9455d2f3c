"""RHO-LOSS's reducible loss: a fresh score, training loss minus the loss of a model trained elsewhere
(config.teacher.irreducible_from), which scores the pool once at the start of the run."""

import jax
import numpy as np
import pytest

from attent_jax import checkpoint, experiment, sharding
from attent_jax import train
from attent_jax.configs import vit_digits
from attent_jax.train import irreducible, phases
from attent_jax.train import state as state_lib
from attent_jax.train import steps as steps_lib
from tests.offline_data import smoke_config


@pytest.fixture(scope="module")
def irreducible_run(data_dirs, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("irreducible")
  config = smoke_config(vit_digits, data_dirs, epochs=1)
  config.teacher.name = "full_data"
  train.run(config, workdir, progress=False)
  return str(workdir)


def _config(data_dirs, irreducible_from, teacher="attent_complex", **overrides):
  config = smoke_config(vit_digits, data_dirs, epochs=3)
  config.teacher.update(name=teacher, irreducible_from=irreducible_from,
                        overrides=dict(score_kind="reducible_loss", **overrides))
  return config


def _placed_with_irreducible_losses(exp):
  """(steps, placed train state, placed teacher state, the irreducible model's f32[N] pool losses)."""
  state = state_lib.init_state(exp.task, exp.optimizer, 0)
  teacher_state = exp.teacher.init(jax.random.key(0))
  steps = steps_lib.CompiledSteps(exp.task, exp.optimizer, exp.teacher, exp.mesh, state,
                                  teacher_state, sharding.DATA_PARALLEL_RULES)
  state, teacher_state = steps.place(state, teacher_state)
  return steps, state, teacher_state, irreducible.pool_losses(exp, steps, state)


def test_fresh_pass_records_loss_minus_the_irreducible_loss(data_dirs, irreducible_run):
  exp = experiment.build(_config(data_dirs, irreducible_run))
  steps, state, teacher_state, irreducible_N = _placed_with_irreducible_losses(exp)
  # The other model's own losses, computed directly.
  other = checkpoint.load_params(f"{irreducible_run}/final_params", exp.task.params)
  batch = jax.device_get(exp.score_batcher.batch(np.arange(40, dtype=np.int32)))
  direct = np.asarray(exp.task.scores(other, batch, "loss"))[:40]
  np.testing.assert_allclose(irreducible_N[:40], direct, rtol=1e-4, atol=1e-5)
  own = np.concatenate([np.asarray(steps.score(state, b)) for b in
                        exp.score_batcher.batches(np.arange(exp.train_pool.size, dtype=np.int32))])
  teacher_state = phases.score_pool(exp, steps, state, teacher_state, irreducible_N)
  reducible = own[:exp.train_pool.size] - irreducible_N
  np.testing.assert_allclose(exp.teacher.layout.by_example(teacher_state.scores["reducible_loss"]),
                             reducible - reducible.mean(), rtol=1e-5, atol=1e-5)


def test_train_step_records_the_batch_relative_reducible_loss(data_dirs, irreducible_run):
  """The cached score: every batch carries its examples' irreducible losses; the step records
  loss - irreducible minus the batch's mean of it."""
  exp = experiment.build(_config(data_dirs, irreducible_run, source="cached"))
  steps, state, teacher_state, irreducible_N = _placed_with_irreducible_losses(exp)
  exp.batcher.set_column("irreducible", irreducible_N)
  rows = np.arange(5, 5 + exp.config.train.batch_size, dtype=np.int32)
  batch = exp.batcher.batch(rows)
  np.testing.assert_allclose(np.asarray(batch["irreducible"]), irreducible_N[rows])
  _, teacher_state, metrics = steps.train(state, teacher_state, batch)
  reducible = np.asarray(metrics["losses"]) - irreducible_N[rows]
  recorded = exp.teacher.layout.by_example(teacher_state.scores["reducible_loss"])[rows]
  np.testing.assert_allclose(recorded, reducible - reducible.mean(), rtol=1e-4, atol=1e-5)
  with pytest.raises(KeyError, match="no column 'other'"):
    exp.batcher.set_column("other", irreducible_N)
  with pytest.raises(ValueError, match="needs 256 values"):
    exp.batcher.set_column("irreducible", irreducible_N[:3])


@pytest.mark.parametrize("source", ["fresh", "cached"])
def test_reducible_loss_teacher_trains(data_dirs, irreducible_run, tmp_path, source):
  result = train.run(_config(data_dirs, irreducible_run, source=source), tmp_path, progress=False)
  assert min(r["examples"] for r in result.history) < 256
  assert np.isfinite(result.final["eval/accuracy"])


def test_reducible_loss_misconfigurations_are_named(data_dirs, irreducible_run, tmp_path):
  with pytest.raises(ValueError, match="irreducible_from"):
    experiment.build(_config(data_dirs, ""))
  with pytest.raises(FileNotFoundError, match="irreducible_from"):
    experiment.build(_config(data_dirs, str(tmp_path / "nothing")))
  config = _config(data_dirs, irreducible_run)
  config.teacher.overrides = {}
  with pytest.raises(ValueError, match="reducible_loss"):
    experiment.build(config)
