"""The teacher protocol: record, one compile per run, checkpoint round trips and exact resume."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from selection_refs import EPOCHS, POOL, drive, fresh_scores, teacher, unsharded_run

from attent_jax import selection


def _equal_trees(a, b) -> bool:
  leaves_a, tree_a = jax.tree.flatten(a)
  leaves_b, tree_b = jax.tree.flatten(b)
  return tree_a == tree_b and all(np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b))


def test_record_writes_only_unmasked_entries_and_ages_them():
  t = teacher("attent_simple")
  state = t.init(jax.random.key(0))
  state = t.record(state, jnp.array([5, 7, 5, 9]), jnp.array([1.0, 2.0, 3.0, 4.0]),
                   jnp.array([True, True, False, True]), kind="loss")
  scores, age = (t.layout.by_example(x) for x in (state.scores["loss"], state.age["loss"]))
  assert scores[[5, 7, 9]].tolist() == [1.0, 2.0, 4.0] and scores.sum() == 7.0
  assert age[[5, 7, 9]].tolist() == [0, 0, 0] and (age == -1).sum() == POOL - 3
  assert t.record(state, jnp.arange(4), jnp.ones(4), kind="ntk") is state  # not tracked: no-op
  state, _ = t.next_epoch(state)
  assert t.layout.by_example(state.age["loss"])[[5, 7, 9]].tolist() == [1, 1, 1]
  with pytest.raises(ValueError, match="kind"):
    t.record(state, jnp.arange(4), jnp.ones(4), kind="grad")


def test_next_epoch_compiles_once_for_a_whole_schedule():
  chex.clear_trace_counter()
  t = teacher("int")
  counted = jax.jit(chex.assert_max_traces(t.next_epoch, n=1))
  state = t.init(jax.random.key(0))
  for epoch in range(EPOCHS + 2):  # every phase, and past the end
    if t.wants_fresh_scores(epoch):
      state = t.record(state, jnp.arange(POOL), fresh_scores(epoch), kind="loss")
    state, plan = counted(state)
    state = t.record(state, plan.indices, jnp.ones(POOL), jnp.arange(POOL) < plan.count,
                     kind="loss")
  assert int(plan.count) == POOL  # past the last epoch: full data
  unsharded_run("attent_complex")
  assert teacher("attent_complex")._next_epoch_jit._cache_size() == 1


def test_state_round_trips_through_files_and_resume_is_exact(tmp_path):
  t = teacher("attent_complex")  # soft: every subset epoch draws from the key in the state
  _, uninterrupted = unsharded_run("attent_complex")
  state, first = drive(t, epochs=7)
  leaves, treedef = jax.tree.flatten(state)
  assert _equal_trees(jax.tree.unflatten(treedef, leaves), state)
  for i, leaf in enumerate(leaves):
    np.save(tmp_path / f"{i}.npy", np.asarray(leaf))
  restored = jax.tree.unflatten(treedef, [np.load(tmp_path / f"{i}.npy") for i in range(len(leaves))])
  assert _equal_trees(restored, state)
  assert _equal_trees(t.current_plan(restored), first[-1])  # the current epoch's plan, for mid-epoch resume
  _, rest = drive(t, epochs=EPOCHS - 7, state=restored, start=7)
  assert all(_equal_trees(a, b) for a, b in zip(first + rest, uninterrupted))


def test_host_queries():
  t = teacher("int")
  state = t.init(jax.random.key(0))
  assert t.wants_fresh_scores(0) and not t.wants_fresh_scores(9)
  assert not t.wants_fresh_scores(EPOCHS)
  with pytest.raises(ValueError, match="epoch"):
    t.expected_count(EPOCHS)
  assert t.score_kinds == ("loss",) and teacher("nint").score_kinds == ("ntk", "loss")
  assert isinstance(t, selection.Teacher) and "int" in repr(t)


@pytest.mark.parametrize("name", ["infobatch", "attent_complex"])
@pytest.mark.parametrize("batch_size", [1, 7, POOL])
def test_plan_batches_cover_the_kept_examples_once_in_training_order(name, batch_size):
  _, plans = unsharded_run(name)
  for plan in plans[:6]:
    batches = list(plan.batches(batch_size))
    assert len(batches) == plan.num_batches(batch_size)
    indices, mask, weights = (np.concatenate(parts) for parts in zip(*batches))
    assert all(b[0].shape == b[1].shape == b[2].shape == (batch_size,) for b in batches)
    assert indices.dtype == np.int32 and mask.dtype == bool and weights.dtype == np.float32
    count = int(plan.count)
    np.testing.assert_array_equal(indices[mask], plan.examples()[0])  # one logical shard: in order
    np.testing.assert_array_equal(weights[mask], plan.examples()[1])
    assert mask.sum() == count and not mask[count:].any() and np.all(weights[~mask] == 0)
    resumed = list(plan.batches(batch_size, start=1))
    assert len(resumed) == len(batches) - 1 and all(
        np.array_equal(a[0], b[0]) for a, b in zip(resumed, batches[1:]))


def test_a_registered_custom_rule_is_a_teacher():
  def every_other(n, e, **overrides):
    table = selection.timetable.select_once(e, warmup=0, ratio=0.5, fresh=False)

    def rule(scores, seen, randomness, epoch):
      del scores, seen, randomness, epoch
      kept = jnp.arange(n) % 2 == 0
      return kept, jnp.where(kept, 2.0, 1.0)
    return selection.Recipe(table, rule, reads=())

  selection.register("every_other_for_test", every_other)
  try:
    t = selection.make_teacher("every_other_for_test", pool_size=10, total_epochs=2)
    state, plan = t.next_epoch(t.init(0))
    assert sorted(plan.examples()[0].tolist()) == [0, 2, 4, 6, 8]
    assert np.all(plan.examples()[1] == 2.0) and t.expected_count(0) == 5
    with pytest.raises(ValueError, match="exists already"):
      selection.register("every_other_for_test", every_other)
  finally:
    del selection.PRESETS["every_other_for_test"]
