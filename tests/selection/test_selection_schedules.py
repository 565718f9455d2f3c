"""ratio_schedule and interval_schedule against hand-written references, on python and traced ints."""

import math

import chex
import jax
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
def test_ratio_schedule_python_and_traced(kind, start, end):
  chex.clear_trace_counter()
  schedule = selection.ratio_schedule(kind, start=start, end=end, total_steps=37, stages=10)
  steps = list(range(-2, 41))
  expected = [_reference_ratio(kind, start, end, 37, 10, s) for s in steps]
  host = [schedule(s) for s in steps]
  assert all(isinstance(v, float) for v in host)
  np.testing.assert_allclose(host, expected, rtol=0, atol=1e-12)
  assert host[2] == start  # step 0; step total_steps: end (constant: start)
  assert host[-4] == pytest.approx(start if kind == "constant" else end)
  traced = jax.jit(jax.vmap(chex.assert_max_traces(schedule, n=1)))(jnp.arange(-2, 41))
  np.testing.assert_allclose(traced, expected, rtol=0, atol=1e-6)


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
  # INT on a long run: every step for the first 25%, then intervals 10, 20, 30, 40, 50, 50, ...
  steps = _steps(selection.interval_schedule("incremental", total_steps=1000), 1000)
  assert steps[:250] == list(range(250))
  gaps = np.diff(steps[249:]).tolist()
  assert gaps[:5] == [10, 20, 30, 40, 50] and set(gaps[5:]) == {50} and steps[-1] + 50 >= 1000
  # a short run grows by 1, 2, 3, ... instead
  assert _steps(selection.interval_schedule("incremental", total_steps=20), 20) == [
      0, 1, 2, 3, 4, 5, 7, 10, 14, 19]


def test_interval_curriculum_follows_grant():
  steps = _steps(selection.interval_schedule("curriculum", total_steps=500), 500)
  assert steps[:50] == list(range(50))  # the first 10% every step
  gaps = np.diff(steps[49:])
  assert gaps[0] == 5 and 45 <= gaps[-1] <= 50 and np.all(np.diff(gaps) >= 0)  # 5 -> 50, growing


def test_interval_traced_matches_host():
  reselect = selection.interval_schedule("incremental", total_steps=50)
  traced = jax.jit(jax.vmap(reselect))(jnp.arange(-1, 52))
  np.testing.assert_array_equal(traced, [reselect(s) for s in range(-1, 52)])


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
