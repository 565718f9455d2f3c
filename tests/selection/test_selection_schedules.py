"""ratio_schedule and interval_schedule against hand-written references and the relatives' code."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import selection


def _reference_ratio(kind, start, end, total, stages, step):
  t = min(max(step, 0), total) / total
  fraction = {"constant": 0.0, "linear": t, "step": math.floor(stages * t + 1e-12) / stages,
              "cosine": (1 - math.cos(math.pi * t)) / 2}[kind]
  return start + (end - start) * fraction


@pytest.mark.parametrize("kind", selection.RATIO_KINDS)
@pytest.mark.parametrize("start,end", [(0.2, 1.0), (0.9, 0.3)])
def test_ratio_schedule_matches_the_reference(kind, start, end):
  schedule = selection.ratio_schedule(kind, start=start, end=end, total_steps=37, stages=10)
  steps = list(range(-2, 41))
  expected = [_reference_ratio(kind, start, end, 37, 10, s) for s in steps]
  host = [schedule(s) for s in steps]
  assert all(isinstance(v, float) for v in host)
  np.testing.assert_allclose(host, expected, rtol=0, atol=1e-12)
  assert host[2] == start  # step 0; step total_steps: end (constant: start)
  assert host[-4] == pytest.approx(start if kind == "constant" else end)
  with pytest.raises(ValueError, match="step"):
    schedule(jnp.int32(3))  # host planning only: a jitted consumer looks values up in a table


def test_step_schedule_has_stages_equal_steps():
  schedule = selection.ratio_schedule("step", start=0.2, total_steps=100, stages=10)
  values = [schedule(s) for s in range(100)]
  assert sorted(set(values)) == pytest.approx([0.2 + 0.08 * i for i in range(10)])
  assert all(values.count(v) == 10 for v in set(values))  # INT: r0 + stage (1 - r0) / 10


def _steps(reselect, total):
  return [s for s in range(total) if reselect(s)]


def test_interval_dense_and_fixed():
  assert _steps(selection.interval_schedule("dense", total_steps=6), 6) == list(range(6))
  assert _steps(selection.interval_schedule("fixed", total_steps=10, every=4), 10) == [0, 4, 8]


def test_interval_incremental_follows_int():
  # INT's released `incremental` strategy on its own 5000-step runs (growth defaults to 10 there):
  # steps 0-1249 dense, then 5 phases of 750 steps at the multiples of 10, 20, 30, 40, 50.
  steps = _steps(selection.interval_schedule("incremental", total_steps=5000), 5000)
  assert steps[:1250] == list(range(1250))
  phases = [[s for s in steps if 1250 + 750 * p <= s < 2000 + 750 * p] for p in range(5)]
  assert [len(p) for p in phases] == [75, 38, 25, 19, 15] and len(steps) == 1422
  assert [p[:2] for p in phases] == [[1250, 1260], [2000, 2020], [2760, 2790], [3520, 3560],
                                     [4250, 4300]]
  assert all(np.all(np.diff(p) == 10 * (i + 1)) for i, p in enumerate(phases))
  # the same absolute intervals on a 1000-step run (INT's numbers): 285 re-selections
  assert len(_steps(selection.interval_schedule("incremental", total_steps=1000, growth=10),
                    1000)) == 285
  # scaled to an epoch budget: 25% dense, then phases of 3 epochs at multiples of 1, 2, 3, 4, 5
  assert _steps(selection.interval_schedule("incremental", total_steps=20), 20) == [
      0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16]


def test_interval_curriculum_follows_grant():
  # GraNT's released `simple_curriculum` (5 -> 50, startup 0.1) on a 500-epoch run: dense for the
  # first 50 epochs, a catch-up to epoch 56 (its trigger counter restarts at 0), then 64, 74, ...
  steps = _steps(selection.interval_schedule("curriculum", total_steps=500), 500)
  assert steps[:57] == list(range(57)) and len(steps) == 76
  assert steps[57:] == [64, 74, 85, 97, 110, 124, 140, 157, 176, 196, 218, 242, 268, 297, 328,
                        362, 399, 439, 483]
  # on its 600-epoch ogbg-molhiv run with short=5, long=50: 91 re-selections, dense to epoch 67
  steps = _steps(selection.interval_schedule("curriculum", total_steps=600, short=5, long=50), 600)
  assert len(steps) == 91 and steps[:68] == list(range(68)) and steps[68:71] == [73, 83, 94]


def test_interval_outside_the_run_and_non_int_steps():
  reselect = selection.interval_schedule("incremental", total_steps=50)
  assert not reselect(-1) and not reselect(50) and reselect(np.int64(0))
  with pytest.raises(ValueError, match="step"):
    reselect(1.0)


def test_count_for_rounds_half_up():
  assert [selection.count_for(r, 10) for r in (0.01, 0.25, 0.29, 0.7, 1.0)] == [1, 3, 3, 7, 10]
  assert selection.count_for(0.5, 0) == 0


@pytest.mark.parametrize("call,match", [
    (lambda: selection.ratio_schedule("exp", start=0.2, total_steps=5), "kind"),
    (lambda: selection.ratio_schedule("linear", start=0.0, total_steps=5), "start"),
    (lambda: selection.ratio_schedule("linear", start=0.2, end=1.5, total_steps=5), "end"),
    (lambda: selection.ratio_schedule("linear", start=0.2, total_steps=0), "total_steps"),
    (lambda: selection.interval_schedule("weekly", total_steps=5), "kind"),
    (lambda: selection.interval_schedule("fixed", total_steps=5, every=0), "every"),
    (lambda: selection.interval_schedule("dense", total_steps=5, growth=2), "growth"),
])
def test_schedules_reject_bad_arguments(call, match):
  with pytest.raises(ValueError, match=match):
    call()
