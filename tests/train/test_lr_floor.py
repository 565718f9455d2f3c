"""GraNT's LR floor: a pure schedule transform, checked against GraNT's own update rule."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from attent_jax import experiment, selection
from attent_jax.selection.timetable import SELECT
from attent_jax import lr_floor


def _grant_reference(base, raises, floor, total):
  """GraNT's loop on a per-step scale: lr = max(floor, lr) at each raise step, and in between the
  LR follows the base schedule's relative decay (its ReduceLROnPlateau decays multiplicatively)."""
  lr, out = float(base(0)), []
  for step in range(total):
    if step > 0:
      previous = float(base(step - 1))
      lr = lr * float(base(step)) / previous if previous > 0 else float(base(step))
    if step in raises:
      lr = max(floor, lr)
    out.append(lr)
  return np.array(out)


def test_raise_steps_are_the_first_step_after_each_reselection():
  reselected = [False, True, False, True, True]
  assert lr_floor.raise_steps(reselected, [4, 3, 3, 2, 2]).tolist() == [7, 12]  # not past the end


def test_floor_matches_grants_rule_on_a_decaying_schedule():
  total, peak = 60, 0.01
  base = optax.cosine_decay_schedule(peak, total)
  raises = np.array([10, 20, 40])
  floored = lr_floor.with_lr_floor(base, raises, 0.005, total)
  values = np.asarray(jax.vmap(floored)(jnp.arange(total)))
  np.testing.assert_allclose(values, _grant_reference(base, set(raises.tolist()), 0.005, total),
                             rtol=1e-5)
  assert np.all(values[:10] == np.asarray(jax.vmap(base)(jnp.arange(10))))  # before any raise
  assert values[40] == pytest.approx(0.005) and values[39] < 0.005 < values[19]


def test_floor_never_exceeds_the_peak_during_warmup():
  base = optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=20, decay_steps=50)
  floored = lr_floor.with_lr_floor(base, np.array([2]), 0.5, 50)
  values = np.asarray(jax.vmap(floored)(jnp.arange(50)))
  assert values[2] == pytest.approx(0.5) and values.max() <= 1.0 + 1e-6


def test_grant_presets_enable_the_floor_in_make_optimizer():
  t = selection.make_teacher("grant_b", pool_size=64, total_epochs=40, batch_size=8)
  assert t.timetable.lr_floor == 0.5
  assert selection.make_teacher("int", pool_size=64, total_epochs=4).timetable.lr_floor is None
  control = selection.make_teacher("random_subset", like="grant_b", pool_size=64, total_epochs=40,
                                   batch_size=8)
  assert control.timetable.lr_floor == 0.5  # the control keeps the whole timetable
  config = ml_collections.ConfigDict({"train": {
      "learning_rate": 0.01, "warmup_steps": 0, "min_learning_rate_ratio": 0.0, "grad_clip": 0.0,
      "weight_decay": 0.0}})
  steps = tuple(int(np.ceil(t.expected_count(e) / 8)) for e in range(40))
  _, plain = experiment.make_optimizer(config, steps)
  _, floored = experiment.make_optimizer(config, steps, t.timetable)
  raises = lr_floor.raise_steps(t.timetable.phase == SELECT, steps)
  assert len(raises) > 3
  last = int(raises[-1])
  assert float(plain(last)) < 0.005 and float(floored(last)) == pytest.approx(0.005)
  assert float(floored(0)) == float(plain(0))
