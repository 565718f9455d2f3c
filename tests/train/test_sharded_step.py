"""One step of the sharded train step on 8 fake devices equals the same step on 1 device."""

import jax
import numpy as np

from attent_jax import experiment, sharding
from attent_jax.configs import vit_digits
from attent_jax.train import state as state_lib
from attent_jax.train import steps as steps_lib
from tests.offline_data import smoke_config


def one_step(data_dirs, num_devices, rules=sharding.DATA_PARALLEL_RULES):
  config = smoke_config(vit_digits, data_dirs, num_devices=num_devices)
  exp = experiment.build(config)
  state = state_lib.init_state(exp.task, exp.optimizer, config.seed)
  teacher_state = exp.teacher.init(jax.random.key(0))
  steps = steps_lib.CompiledSteps(exp.task, exp.optimizer, exp.teacher, exp.mesh, state,
                                  teacher_state, rules)
  state, teacher_state = steps.place(state, teacher_state)
  batch = exp.batcher.batch(np.arange(20, dtype=np.int32))  # A padded tail too.
  state, teacher_state, metrics = steps.train(state, teacher_state, batch)
  assert len(batch["image"].sharding.device_set) == num_devices
  if rules is sharding.FSDP_RULES:  # Large kernels really are split over the data axis.
    specs = [leaf.sharding.spec for leaf in jax.tree.leaves(state.params)]
    assert jax.sharding.PartitionSpec("data") in specs
  return jax.device_get((state.params, metrics["losses"]))


def test_eight_devices_equal_one(data_dirs):
  (params8, losses8), (params1, losses1) = one_step(data_dirs, 8), one_step(data_dirs, 1)
  np.testing.assert_allclose(losses8, losses1, rtol=1e-6, atol=1e-6)
  for a, b in zip(jax.tree.leaves(params8), jax.tree.leaves(params1)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fsdp_partition_rules_give_the_same_step(data_dirs):
  (params_fsdp, losses_fsdp), (params1, losses1) = (
      one_step(data_dirs, 8, sharding.FSDP_RULES), one_step(data_dirs, 1))
  np.testing.assert_allclose(losses_fsdp, losses1, rtol=1e-6, atol=1e-6)
  for a, b in zip(jax.tree.leaves(params_fsdp), jax.tree.leaves(params1)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
