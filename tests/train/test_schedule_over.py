"""config.train.schedule_over: "steps" (the optax schedule over the planned steps) or "epochs" (the LR on
nominal full-data epoch progress, fed to the step from the host; attent_jax.epoch_schedule)."""

import jax
import numpy as np
import pytest

from attent_jax import epoch_schedule
from attent_jax import experiment
from attent_jax import metrics
from attent_jax import train
from attent_jax.configs import vit_digits
from tests.offline_data import smoke_config


def _config(data_dirs, teacher, **overrides):
  config = smoke_config(vit_digits, data_dirs, epochs=4, **overrides)
  config.teacher.name = teacher
  return config


def test_nominal_steps_put_every_epoch_on_the_full_data_stretch():
  # A 2-batch subset epoch 1 of a run with 8-batch full epochs covers nominal steps 8..15 as well.
  np.testing.assert_allclose(epoch_schedule.nominal_steps(1, 2, 8), [11.0, 15.0])
  np.testing.assert_allclose(epoch_schedule.nominal_steps(0, 8, 8), np.arange(8.0))
  with pytest.raises(ValueError, match="batches"):
    epoch_schedule.nominal_steps(0, 0, 8)


def test_bad_schedule_over_is_named(data_dirs):
  config = _config(data_dirs, "full_data", schedule_over="epoch")
  with pytest.raises(ValueError, match="schedule_over"):
    experiment.build(config)


def test_infobatch_over_epochs_ends_at_the_floor_and_logs_the_fed_rate(data_dirs, tmp_path):
  config = _config(data_dirs, "infobatch", schedule_over="epochs", log_every_steps=1)
  result = train.run(config, tmp_path, progress=False)
  counts = [r["examples"] for r in result.history]
  assert counts[0] == 256 and min(counts) < 256  # Some epochs were really pruned.
  rates = [(r["step"], r["train/learning_rate"]) for r in metrics.read_metrics(tmp_path)
           if "train/learning_rate" in r]
  assert [s for s, _ in rates] == list(range(1, result.history[-1]["step"] + 1))
  floor = config.train.learning_rate * config.train.min_learning_rate_ratio
  assert rates[-1][1] == pytest.approx(floor, rel=1e-5)  # The last step, whatever the real counts.
  assert rates[2][1] > rates[1][1] > rates[0][1] == 0  # Warm-up from 0 (as optax under "steps").
  assert max(r for _, r in rates) == pytest.approx(config.train.learning_rate, rel=1e-5)
  # Each epoch's rates are those of the nominal full-data stretch it stands for.
  exp = experiment.build(config)
  start = 0
  for epoch, record in enumerate(result.history):
    fed = [r for s, r in rates if start < s <= record["step"]]
    np.testing.assert_allclose(fed, exp.epoch_learning_rates(epoch, len(fed)), rtol=1e-6)
    start = record["step"]


def test_resume_inside_an_epoch_over_epochs_is_bit_identical(data_dirs, tmp_path):
  whole = train.run(_config(data_dirs, "infobatch", schedule_over="epochs"), tmp_path / "whole",
                    progress=False)
  stop = 13  # Inside the second epoch.
  split = lambda: train.run(_config(data_dirs, "infobatch", schedule_over="epochs",  # noqa: E731
                                    stop_after_step=stop), tmp_path / "split", progress=False)
  assert split().preempted
  resumed = split()
  assert not resumed.preempted
  assert [r["selection_crc32"] for r in resumed.history] == [r["selection_crc32"] for r in whole.history]
  for a, b in zip(jax.tree.leaves(resumed.params), jax.tree.leaves(whole.params)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_grant_lr_floor_over_epochs_raises_at_the_epoch_after_each_reselection():
  import ml_collections  # pylint: disable=g-import-not-at-top
  from attent_jax import selection  # pylint: disable=g-import-not-at-top
  from attent_jax.selection.timetable import SELECT  # pylint: disable=g-import-not-at-top
  t = selection.make_teacher("grant_b", pool_size=64, total_epochs=40, batch_size=8)
  config = ml_collections.ConfigDict({"train": {
      "learning_rate": 0.01, "warmup_steps": 0, "min_learning_rate_ratio": 0.0, "grad_clip": 0.0,
      "weight_decay": 0.0, "schedule_over": "epochs"}})
  _, plain = experiment.make_optimizer(config, (8,) * 40)
  _, floored = experiment.make_optimizer(config, (8,) * 40, t.timetable)
  plain_rates = epoch_schedule.EpochProgressRates(plain, 8)
  rates = epoch_schedule.EpochProgressRates(floored, 8)
  reselected = [e for e in range(39) if t.timetable.phase[e] == SELECT]
  late = [e for e in reselected if plain_rates(e + 1, 3)[0] < 0.005]
  assert late  # Some raises happen where the plain schedule is below the floor.
  for epoch in late:
    # A 3-batch subset epoch after a re-selection starts at the floor, less the base schedule's decay
    # over the 8/3 - 1 nominal steps from the raise point r to its first step s.
    r, s = 8 * (epoch + 1), 8 * (epoch + 1) + 8 / 3 - 1
    expected = 0.005 * float(plain(np.float32(s))) / float(plain(r))
    assert rates(epoch + 1, 3)[0] == pytest.approx(expected, rel=1e-4)
    assert rates(epoch + 1, 3)[0] > plain_rates(epoch + 1, 3)[0]
    assert float(floored(8 * (epoch + 1))) == pytest.approx(0.005, rel=1e-5)
  assert rates(late[-1] + 1, 3)[0] > 2 * plain_rates(late[-1] + 1, 3)[0]
