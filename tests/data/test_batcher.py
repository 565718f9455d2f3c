"""The batcher: fixed shapes, padded tails, same indices -> same batches, sharded placement."""

import jax
import numpy as np
import pytest

from attent_jax import data, sharding


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
  return data.load_pool("sklearn_digits", "train", data_dir=str(tmp_path_factory.mktemp("tfds")))


def test_batches_have_fixed_shapes_and_a_masked_tail(digits):
  batcher = data.Batcher(digits, 16)
  batches = list(batcher.batches(np.arange(40, dtype=np.int32)))
  assert len(batches) == 3
  for batch in batches:
    assert batch["image"].shape == (16, 8, 8, 1) and batch["label"].shape == (16,)
  tail = batches[-1]
  np.testing.assert_array_equal(tail["mask"], np.arange(16) < 8)
  np.testing.assert_array_equal(tail["weight"], (np.arange(16) < 8).astype(np.float32))
  np.testing.assert_array_equal(tail["index"][:8], np.arange(32, 40))
  assert float(np.max(batches[0]["image"])) <= 1.0


def test_same_indices_give_the_same_batches(digits):
  order = np.random.default_rng(3).permutation(digits.size)[:50].astype(np.int32)
  one = list(data.Batcher(digits, 16).batches(order))
  two = list(data.Batcher(digits, 16).batches(order))
  for a, b in zip(one, two):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])
  np.testing.assert_array_equal(one[0]["label"], digits.arrays["label"][order[:16]])


def test_sharded_batches_over_eight_devices(digits):
  mesh = sharding.make_mesh(8)
  batcher = data.Batcher(digits, 16, sharding.batch_sharding(mesh))
  batch = batcher.batch(np.arange(10, dtype=np.int32))
  assert batch["image"].sharding.spec == jax.sharding.PartitionSpec("data")
  assert len(batch["image"].addressable_shards) == 8
  np.testing.assert_array_equal(np.asarray(batch["index"])[:10], np.arange(10))


def test_bad_batches_are_errors(digits):
  with pytest.raises(ValueError, match="not divisible"):
    data.Batcher(digits, 12, sharding.batch_sharding(sharding.make_mesh(8)))
  with pytest.raises(ValueError, match="do not fit"):
    data.Batcher(digits, 4).batch(np.arange(5))
  with pytest.raises(IndexError):
    data.Batcher(digits, 4).batch(np.array([digits.size]))


def test_plan_batches_feed_the_batcher_as_padded_batches(digits):
  indices = np.array([5, 9, 2, 0, 0, 0, 0, 0], np.int32)  # a plan's last batch: 3 real rows
  mask = np.arange(8) < 3
  weights = np.array([1.0, 2.0, 1.0, 0, 0, 0, 0, 0], np.float32)
  batch = data.Batcher(digits, 8).batch(indices, weights, mask)
  np.testing.assert_array_equal(batch["mask"], mask)
  np.testing.assert_array_equal(batch["weight"], weights)
  np.testing.assert_array_equal(batch["index"], indices)
  np.testing.assert_array_equal(batch["label"][:3], digits.arrays["label"][[5, 9, 2]])
  with pytest.raises(ValueError, match="must hold 8 rows"):
    data.Batcher(digits, 8).batch(indices[:4], None, mask[:4])
  with pytest.raises(IndexError):
    data.Batcher(digits, 8).batch(np.where(mask, 10**6, 0), None, mask)
