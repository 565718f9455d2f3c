"""init_state on a mesh: the state comes out already laid out by the partition rules (no device holds a
whole FSDP-sharded kernel), with the same values as the eager, unsharded init."""

import jax
import numpy as np
import optax
import pytest
from jax.sharding import PartitionSpec as P

from attent_jax import experiment, sharding
from attent_jax.configs import gpt_lora, vit_digits
from attent_jax.train import state as state_lib


@pytest.mark.parametrize("module", [vit_digits, gpt_lora], ids=["vit", "gpt_lora"])
def test_fsdp_init_is_sharded_by_the_rules_and_equals_the_unsharded_init(module):
  config = module.get_config("smoke")
  task = experiment.build_task(config)
  optimizer = optax.adamw(1e-3)
  mesh = sharding.make_mesh(8)
  sharded = state_lib.init_state(task, optimizer, config.seed, mesh=mesh, rules=sharding.FSDP_RULES)
  plain = state_lib.init_state(task, optimizer, config.seed)
  expected = state_lib.state_shardings(plain, optimizer, mesh, sharding.FSDP_RULES)
  leaves, wanted = jax.tree.leaves(sharded), jax.tree.leaves(expected)
  assert len(leaves) == len(wanted) == len(jax.tree.leaves(plain))
  for leaf, want in zip(leaves, wanted):
    assert leaf.sharding.is_equivalent_to(want, leaf.ndim), (leaf.sharding, want)
  # Large kernels (and, for LoRA, the frozen base's) really are split: 1/8 of the rows per device.
  split = [leaf for leaf in jax.tree.leaves((sharded.params, sharded.frozen))
           if leaf.sharding.spec == P(sharding.DATA_AXIS)]
  assert split and all(shard.data.shape[0] * 8 == leaf.shape[0]
                       for leaf in split for shard in leaf.addressable_shards)
  for a, b in zip(leaves, jax.tree.leaves(plain)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
