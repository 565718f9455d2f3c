"""Inputs that used to fail silently raise clear errors: outside jit always, inside under jit_checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify
from selection_refs import POOL, teacher

from attent_jax import selection


@pytest.mark.parametrize("indices,scores,match", [
    ([3, -1], [1.0, 2.0], r"outside \[0, 96\)"),
    ([3, POOL], [1.0, 2.0], r"outside \[0, 96\)"),
    (np.array([3.0, 4.0]), [1.0, 2.0], "integers"),
    ([3, 4], [1.0, np.nan], "not finite"),
    ([3, 4], [np.inf, 2.0], "not finite"),
    ([3, 4, 5], [1.0, 2.0], "one length"),
])
def test_record_rejects_bad_indices_and_scores(indices, scores, match):
  t = teacher("attent_simple")
  state = t.init(0)
  with pytest.raises(ValueError, match=match):
    t.record(state, indices, scores, kind="loss")


def test_record_ignores_bad_entries_that_are_masked_out():
  t = teacher("attent_simple")
  state = t.record(t.init(0), [3, -1, 4], [1.0, np.nan, 2.0], [True, False, True], kind="loss")
  assert t.layout.by_example(state.scores["loss"])[[3, 4]].tolist() == [1.0, 2.0]


def _jitted_record(t):
  return jax.jit(lambda s, i, v: t.record(s, i, v, kind="loss"))


def test_traced_record_drops_out_of_range_without_checks_and_fails_with_them():
  t = teacher("attent_simple")
  state = t.init(0)
  new = _jitted_record(t)(state, jnp.array([-1, POOL, 5]), jnp.array([7.0, 8.0, 9.0]))
  scores = t.layout.by_example(new.scores["loss"])
  assert scores[5] == 9.0 and scores.sum() == 9.0  # -1 did not wrap around to the last example
  with selection.jit_checks():
    checked = jax.jit(checkify.checkify(lambda s, i, v: t.record(s, i, v, kind="loss"),
                                        errors=checkify.user_checks))
    err, _ = checked(state, jnp.array([-1, 5]), jnp.array([7.0, 9.0]))
    with pytest.raises(checkify.JaxRuntimeError, match=r"index -1 is outside \[0, 96\)"):
      err.throw()
    err, _ = checked(state, jnp.array([4, 5]), jnp.array([jnp.nan, 9.0]))
    with pytest.raises(checkify.JaxRuntimeError, match="example 4 is not finite"):
      err.throw()
    err, _ = checked(state, jnp.array([4, 5]), jnp.array([1.0, 9.0]))
    err.throw()  # no error


def test_record_rejects_float_indices_even_traced():
  t = teacher("attent_simple")
  with pytest.raises(ValueError, match="integers"):
    _jitted_record(t)(t.init(0), jnp.array([1.0, 2.0]), jnp.array([1.0, 2.0]))


def test_next_epoch_past_the_last_epoch_raises():
  t = selection.make_teacher("full_data", pool_size=8, total_epochs=2)
  state = t.init(0)
  for _ in range(2):
    state, _ = t.next_epoch(state)
  with pytest.raises(ValueError, match="past the last epoch"):
    t.next_epoch(state)
  with selection.jit_checks():
    checked = jax.jit(checkify.checkify(t.next_epoch, errors=checkify.user_checks))
    err, _ = checked(state)
  with pytest.raises(checkify.JaxRuntimeError, match="past the last epoch"):
    err.throw()


def test_a_subset_epoch_with_no_score_of_the_teachers_kind_raises():
  t = selection.make_teacher("attent_simple", pool_size=16, total_epochs=3, score_kind="discrepancy")
  state = t.init(0)
  state, plan = t.next_epoch(state)  # epoch 0: full data, needs no score
  state = t.record(state, plan.indices, jnp.ones(16), kind="loss")  # only losses: not its kind
  with pytest.raises(ValueError, match="no 'discrepancy' score was ever recorded"):
    t.next_epoch(state)
  state = t.record(state, jnp.arange(16), jnp.arange(16.0), kind="discrepancy")
  t.next_epoch(state)  # now fine
  random = selection.make_teacher("random_subset", pool_size=16, total_epochs=3)
  random.next_epoch(random.next_epoch(random.init(0))[0])  # random picks read no score


def test_init_takes_an_int_seed_and_select_a_list():
  t = teacher("int")
  assert selection.TeacherState is type(t.init(3))
  np.testing.assert_array_equal(t.init(3).key, t.init(jax.random.key(3)).key)
  np.testing.assert_array_equal(selection.select([1.0, 3.0, 2.0], 2), [1, 2])
  np.testing.assert_array_equal(selection.rank([1, 3, 2]), [1, 2, 0])
  with pytest.raises(ValueError, match="numbers"):
    selection.select(["a", "b"], 1)
