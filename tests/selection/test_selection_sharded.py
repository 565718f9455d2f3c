"""8 fake devices give exactly the 1-device answer: select, rank and every teacher granularity."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.sharding import PartitionSpec as P
from selection_refs import drive, teacher, unsharded_plans

from attent_jax import selection

N = 64  # 8 per device
CASES = [(m, i, 5) for m in selection.METHODS for i in selection.IMPLS] + [
    ("hard", i, 40) for i in selection.IMPLS]


@pytest.mark.parametrize("method,impl,k", CASES)
@settings(max_examples=4, deadline=None)
@given(values=st.lists(st.sampled_from((0.0, 1.0, 2.5, np.nan, -np.inf, np.inf)), min_size=N,
                       max_size=N), seed=st.integers(0, 2**31 - 1))
def test_select_sharded_equals_single_device(data_sharding, method, impl, k, values, seed):
  scores = np.array(values, np.float32)
  key = jax.random.key(seed)
  sharded = jax.device_put(scores, data_sharding)
  args = dict(method=method, key=key, impl=impl)
  expected = selection.select(scores, k, **args)
  got = selection.select(sharded, k, **args)
  np.testing.assert_array_equal(got, expected)
  assert got.sharding.is_fully_replicated
  if impl == "gather" and k == 5:
    np.testing.assert_array_equal(selection.rank(sharded, method, key=key),
                                  selection.rank(scores, method, key=key))


# one teacher per pool rule; the group rules (grant_s, grant_b) need one logical shard
TEACHERS = [("attent_complex", {}), ("int", {}), ("online_batch", {}), ("infobatch", {}),
            ("nint", {}), ("attent_simple", {"drop_top": 0.1, "random_share": 0.3})]


@pytest.mark.parametrize("name,overrides", TEACHERS)
def test_teacher_sharded_equals_single_device(data_sharding, name, overrides):
  """With a fixed number of logical shards, 8 devices plan exactly what 1 device plans."""
  epochs = 6
  t = teacher(name, logical_shards=8, **overrides)
  state, plans = drive(t, epochs=epochs, sharding=data_sharding)
  _, expected_plans = drive(t, epochs=epochs)
  for got, expected in zip(plans, expected_plans):
    for a, b in zip(got, expected):
      np.testing.assert_array_equal(a, b)
  for kind, cache in state.scores.items():
    assert cache.sharding.spec[0] == "data", kind
  assert state.order.sharding.spec[0] == state.counts.sharding.spec[0] == "data"


def test_one_logical_shard_is_one_shuffle_of_the_whole_pool():
  plans = unsharded_plans("int")
  assert plans[0].indices.shape == (1, 96) and sorted(plans[0].indices[0]) == list(range(96))
  assert sorted(plans[1].examples()[0]) != plans[1].examples()[0].tolist()  # shuffled


@pytest.mark.parametrize("name", ["grant_s", "grant_b"])
def test_group_teachers_need_one_logical_shard(name):
  with pytest.raises(ValueError, match="needs logical_shards=1"):
    teacher(name, logical_shards=8)


def test_select_on_an_auto_mode_mesh_equals_single_device():
  mesh = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
  scores = np.random.default_rng(0).integers(0, 5, N).astype(np.float32)
  auto = jax.device_put(scores, jax.sharding.NamedSharding(mesh, P("data")))
  key = jax.random.key(1)
  for method in ("hard", "soft"):
    np.testing.assert_array_equal(selection.select(auto, 9, method=method, key=key),
                                  selection.select(scores, 9, method=method, key=key))


def test_init_rejects_logical_shards_that_do_not_split_over_the_devices(data_sharding):
  t = selection.make_teacher("int", pool_size=100, total_epochs=3, logical_shards=12)
  with pytest.raises(ValueError, match=r"logical_shards \(12\) must be a multiple of the 8 shards"):
    t.init(jax.random.key(0), data_sharding)
  odd_pool = selection.make_teacher("int", pool_size=100, total_epochs=3, logical_shards=16)
  assert odd_pool.init(0, data_sharding).order.shape == (16, 7)  # 12 padding entries


@settings(max_examples=20, deadline=None)
@given(values=st.lists(st.sampled_from((0.0, -0.0, 1.0, -2.5, 3e38, -1e-30, np.inf, -np.inf, np.nan)),
                       min_size=N, max_size=N), count=st.integers(0, N))
def test_bisection_top_count_mask_equals_top_k_on_one_and_eight_devices(data_sharding, values, count):
  keys = selection.selection_keys(jnp.asarray(np.array(values, np.float32)), "hard")
  expected = np.zeros(N, bool)
  expected[np.asarray(jax.lax.top_k(keys, N)[1])[:count]] = True
  mask = _top_count_mask(keys, count)
  np.testing.assert_array_equal(mask, expected)
  sharded = _top_count_mask(jax.device_put(keys, data_sharding), count)
  np.testing.assert_array_equal(sharded, expected)
  assert sharded.sharding.spec == P("data")


_top_count_mask = jax.jit(selection.sharded.top_count_mask)


def _largest_buffer(compiled) -> int:
  """Elements of the largest array shape in a compiled (partitioned, per-device) program."""
  shapes = re.findall(r"\[([\d,]+)\]", compiled.as_text())
  return max(math.prod(int(d) for d in shape.split(",")) for shape in shapes)


def test_sharded_selection_step_holds_no_pool_sized_buffer(data_sharding):
  n = 2**16
  mesh = data_sharding.mesh

  def selection_step(scores, seen, count):  # the teacher's pool rule on a sharded cache
    keys = selection.selection_keys(jnp.where(seen, scores, jnp.inf), "hard")
    return selection.top_count_mask(keys, count)

  args = (jax.ShapeDtypeStruct((n,), jnp.float32, sharding=data_sharding),
          jax.ShapeDtypeStruct((n,), jnp.bool_, sharding=data_sharding),
          jax.ShapeDtypeStruct((), jnp.int32, sharding=jax.sharding.NamedSharding(mesh, P())))
  compiled = jax.jit(selection_step).lower(*args).compile()
  assert _largest_buffer(compiled) <= n // 8
  memory = compiled.memory_analysis()
  per_device = (memory.argument_size_in_bytes + memory.output_size_in_bytes
                + memory.temp_size_in_bytes)
  assert per_device < 4 * n, memory  # less than one replicated f32 copy of the pool
  gathered = jax.jit(lambda keys: selection.global_top_k(keys, n // 2, "gather")).lower(
      args[0]).compile()
  assert _largest_buffer(gathered) >= n  # the replicated design does hold the whole pool


@pytest.mark.parametrize("name,overrides", [("attent_simple", {}), ("attent_complex", {}),
                                            ("infobatch", {}), ("nint", {})])
def test_planning_step_holds_no_pool_sized_buffer(data_sharding, name, overrides):
  """The whole compiled next_epoch (randomness, rule, shuffle, plan) on 8 devices: every buffer of
  its partitioned program is at most a few times N / 8 elements, and its memory far below one
  replicated f32 copy of the pool."""
  n = 2**16
  t = selection.make_teacher(name, pool_size=n, total_epochs=4, logical_shards=64, **overrides)
  state = t.init(0, data_sharding)._replace(epoch=jnp.int32(1))  # a subset epoch

  def plan_epoch(state):
    return t._plan(state, selection.teacher.epoch_randomness(state.key, state.epoch, state.order,
                                                             pool_size=n))

  compiled = jax.jit(plan_epoch).lower(state).compile()
  assert _largest_buffer(compiled) <= 2 * n // 8
  memory = compiled.memory_analysis()
  per_device = (memory.argument_size_in_bytes + memory.output_size_in_bytes
                + memory.temp_size_in_bytes)
  assert per_device < 20 * n, memory  # 3 int32/f32 words per example of the pool, 8 devices: 160 n
  new_state, plan = jax.jit(plan_epoch)(state)
  assert plan.indices.sharding.spec[0] == new_state.order.sharding.spec[0] == "data"


@pytest.mark.parametrize("name", ["infobatch", "attent_complex"])
def test_sharded_plan_batches_cover_the_epoch_and_rows_read_only_their_shards(data_sharding, name):
  """A plan of 8 logical shards sharded over 8 devices: its batches hold every kept example once,
  and `rows` aligned to the shards give those rows of every batch, read from those shards alone."""
  t = teacher(name, logical_shards=8)
  state, _ = drive(t, epochs=3, sharding=data_sharding)
  _, plan = t.next_epoch(state)
  assert plan.indices.sharding.spec[0] == "data"
  batch_size = 16  # 2 entries of every shard per batch
  whole = list(plan.batches(batch_size))
  indices, mask, weights = (np.concatenate(parts) for parts in zip(*whole))
  kept, kept_weights = plan.examples()
  assert mask.sum() == int(plan.count) == kept.size < t.pool_size
  assert np.unique(indices[mask]).size == kept.size
  order = np.argsort(indices[mask])
  np.testing.assert_array_equal(indices[mask][order], np.sort(kept))
  np.testing.assert_array_equal(weights[mask][order], kept_weights[np.argsort(kept)])
  for rows in (slice(4, 8), slice(3, 7)):  # shards 2-3 alone; a slice inside shards (read whole)
    got = list(plan.batches(batch_size, rows=rows))
    assert len(got) == len(whole)
    for part, full in zip(got, whole):
      for a, b in zip(part, full):
        np.testing.assert_array_equal(a, b[rows])
  poisoned = jax.device_get(plan)  # shards other than 2-3 overwritten: the aligned read ignores them
  other = np.ones(8, bool)
  other[2:4] = False
  poisoned = poisoned._replace(indices=np.where(other[:, None], -7, poisoned.indices),
                               weights=np.where(other[:, None], np.nan, poisoned.weights))
  for part, full in zip(plan.batches(batch_size, rows=slice(4, 8)),
                        poisoned.batches(batch_size, rows=slice(4, 8))):
    for a, b in zip(part, full):
      np.testing.assert_array_equal(a, b)
