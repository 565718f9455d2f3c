"""The pool picks of the ranking presets: drop_top (exclude the highest-loss tail), random_share
(hard and random picks mixed) and classes (class-balanced picks)."""

import jax
import numpy as np
import pytest

from attent_jax import selection
from tests.selection.selection_refs import drive

N, EPOCHS = 96, 4
SCORES = np.random.default_rng(0).permutation(N).astype(np.float32)  # distinct: no ties
CLASSES = np.arange(N) % 5  # class sizes 20, 19, 19, 19, 19


def _subset(teacher, scores=SCORES, sharding=None):
  """The examples of the first subset epoch of attent_simple (epoch 1) given cached `scores`."""
  put = (lambda x: jax.device_put(x, sharding)) if sharding is not None else (lambda x: x)
  state = teacher.init(0, sharding)
  state, _ = teacher.next_epoch(state)
  state = teacher.record(state, put(np.arange(N, dtype=np.int32)), put(scores), kind="loss")
  state, plan = teacher.next_epoch(state)
  plan = jax.device_get(plan)
  return set(plan.examples()[0].tolist())


def _simple(**overrides):
  return selection.make_teacher("attent_simple", pool_size=N, total_epochs=EPOCHS, **overrides)


def _top(count, among=range(N)):
  among = np.asarray(list(among))
  return set(among[np.argsort(-SCORES[among], kind="stable")][:count].tolist())


def test_drop_top_excludes_the_highest_scored_tail_then_takes_the_top():
  got = _subset(_simple(ratio_start=0.5, drop_top=0.25))
  dropped = _top(24)
  assert len(got) == 48
  assert not got & dropped
  assert got == _top(48, sorted(set(range(N)) - dropped))


def test_drop_top_leaves_at_least_the_count():
  # 0.7 kept and 0.5 dropped do not fit: only N - count = 29 are dropped.
  got = _subset(_simple(ratio_start=0.7, drop_top=0.5))
  assert got == _top(67, sorted(set(range(N)) - _top(29)))


def test_random_share_keeps_the_top_and_fills_the_rest_at_random():
  teacher = _simple(ratio_start=0.5, random_share=0.25)
  got = _subset(teacher)
  assert len(got) == 48
  ranked = _top(36)
  assert ranked <= got  # floor(0.25 * 48) = 12 random picks, the other 36 by rank
  random_part = got - ranked
  assert random_part != _top(48) - ranked  # the next 12 by rank are not what was drawn
  # another seed draws other random picks, and the same ranked ones
  state = teacher.init(1)
  state, _ = teacher.next_epoch(state)
  state = teacher.record(state, np.arange(N, dtype=np.int32), SCORES, kind="loss")
  _, plan = teacher.next_epoch(state)
  other = set(plan.examples()[0].tolist())
  assert ranked <= other and other != got


def test_random_picks_never_take_the_dropped_tail():
  got = _subset(_simple(ratio_start=0.5, random_share=0.5, drop_top=0.3))
  assert len(got) == 48 and not got & _top(29)


def test_class_balanced_picks_keep_each_class_share_by_rank():
  got = _subset(_simple(ratio_start=0.5, classes=CLASSES))
  for c in range(5):
    members = np.flatnonzero(CLASSES == c)
    quota = int(np.floor(len(members) * 0.5 + 0.5))  # count_for rounds half up
    assert got & set(members.tolist()) == _top(quota, members), c


@pytest.mark.parametrize("overrides", [
    dict(drop_top=0.25), dict(random_share=0.25), dict(classes=CLASSES),
    dict(drop_top=0.2, random_share=0.5)])
def test_picks_on_a_sharded_pool_equal_one_device(data_sharding, overrides):
  teacher = _simple(ratio_start=0.5, logical_shards=8, **overrides)
  assert _subset(teacher, sharding=data_sharding) == _subset(teacher)


def test_attent_complex_with_picks_runs_the_documented_loop():
  t = selection.make_teacher("attent_complex", pool_size=N, total_epochs=8, source="cached",
                             drop_top=0.1, random_share=0.2, ratio_kind="constant", ratio_start=0.5,
                             ratio_end=0.5)
  _, plans = drive(t, epochs=8)
  assert [int(p.count) for p in plans][1:] == [t.expected_count(e) for e in range(1, 8)]


def test_random_subset_like_a_dropping_teacher_still_reads_losses():
  t = selection.make_teacher("random_subset", pool_size=N, total_epochs=EPOCHS,
                             like="attent_simple", drop_top=0.25)
  assert t.reads == ("loss",)
  got = _subset(t)
  assert len(got) == 67 and not got & _top(24)


@pytest.mark.parametrize("overrides, message", [
    (dict(drop_top=1.0), "drop_top must lie in"),
    (dict(random_share=-0.1), "random_share must lie in"),
    (dict(drop_top=True), "drop_top must lie in"),
    (dict(classes=np.zeros(N - 1, int)), r"classes must be .* shape \(96,\)"),
    (dict(classes=np.full(N, -1)), "classes must be non-negative"),
    (dict(classes=np.zeros(N)), "integer class ids"),
    (dict(classes=CLASSES, drop_top=0.1), "cannot be combined"),
    (dict(granularity="within_batch", batch_size=8, drop_top=0.1), "granularity 'pool' only"),
])
def test_bad_picks_are_clear_errors(overrides, message):
  with pytest.raises(ValueError, match=message):
    _simple(**overrides)


def test_presets_without_pool_picks_reject_them():
  with pytest.raises(ValueError, match="does not accept"):
    selection.make_teacher("grant_b", pool_size=N, total_epochs=EPOCHS, batch_size=8, drop_top=0.1)
  with pytest.raises(ValueError, match="does not accept"):
    selection.make_teacher("online_batch", pool_size=N, total_epochs=EPOCHS, random_share=0.1)
