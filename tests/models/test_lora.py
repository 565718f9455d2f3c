"""LoRA: fresh adapters are exact no-ops, training moves only adapters, partition/combine/merge."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from attent_jax import losses
from attent_jax.models import gpt, lora

BASE = gpt.GPTConfig(vocab_size=50, max_len=16, num_layers=1, num_heads=4, d_model=32, d_mlp=64)
CONFIG = lora.LoRAConfig(rank=4, alpha=8.0)
TOKENS_BL = jnp.asarray(np.random.default_rng(0).integers(0, 50, (2, 9)), jnp.int32)
BATCH = {"inputs": TOKENS_BL[:, :-1]}


@pytest.fixture(scope="module")
def wrapped():
  # Random base weights from numpy (no init compile); the tree comes from gpt.build's shapes.
  shapes = jax.eval_shape(lambda key: gpt.build(BASE, key)[1], jax.random.key(0))
  rng = np.random.default_rng(0)
  base_params = jax.tree.map(
      lambda s: jnp.asarray(rng.normal(0.0, 0.3, s.shape), jnp.float32), shapes)
  base_apply = gpt.make_apply_fn(BASE)
  apply_fn, params = lora.wrap(base_apply, base_params, CONFIG, jax.random.key(1))
  return jax.jit(base_apply), base_params, (apply_fn, jax.jit(apply_fn)), params


def _loss(logits_BLV):
  return losses.cross_entropy(logits_BLV, TOKENS_BL[:, 1:], jnp.ones((2, 8), bool))[0].mean()


def test_adapters_for_every_target_and_fresh_ones_change_nothing(wrapped):
  base_run, base_params, (_, run), params = wrapped
  assert params["base"] is base_params
  adapters = params["lora"]["block_0"]
  assert set(adapters) == {"attn", "mlp"}
  assert set(adapters["attn"]) == {"q", "k", "v", "o"} and set(adapters["mlp"]) == {"up", "down"}
  assert adapters["mlp"]["up"]["lora_a"].shape == (32, 4)
  assert adapters["mlp"]["up"]["lora_b"].shape == (4, 64)
  assert np.all(adapters["attn"]["q"]["lora_b"] == 0) and np.any(adapters["attn"]["q"]["lora_a"] != 0)
  np.testing.assert_array_equal(run(params, BATCH), base_run(base_params, BATCH))


def test_training_adapters_changes_output_and_leaves_base_bit_identical(wrapped):
  base_run, base_params, (apply_fn, run), params = wrapped
  base_before = jax.tree.map(np.array, base_params)
  optimizer = optax.adam(1e-2)

  @jax.jit
  def step(trainable, opt_state, frozen):
    loss_fn = lambda t, f: _loss(apply_fn(lora.combine(t, f), BATCH))
    grads, frozen_grads = jax.grad(loss_fn, argnums=(0, 1))(trainable, frozen)
    updates, opt_state = optimizer.update(grads, opt_state, trainable)
    return optax.apply_updates(trainable, updates), opt_state, grads, frozen_grads

  trainable, frozen = lora.partition(params)
  opt_state = optimizer.init(trainable)
  for i in range(3):
    trainable, opt_state, grads, frozen_grads = step(trainable, opt_state, frozen)
    assert all(np.all(g == 0) for g in jax.tree.leaves(frozen_grads))  # stop_gradient on the base
    if i == 0:  # B = 0 at init: only B gets a gradient on the first step.
      q_grads = grads["block_0"]["attn"]["q"]
      assert np.all(q_grads["lora_a"] == 0) and np.any(q_grads["lora_b"] != 0)

  trained = lora.combine(trainable, frozen)
  jax.tree.map(np.testing.assert_array_equal, frozen, base_before)
  logits = run(trained, BATCH)
  assert not np.allclose(logits, base_run(base_params, BATCH))
  assert _loss(logits) < _loss(base_run(base_params, BATCH))
  # Export: merged weights reproduce the adapted model with the base apply_fn.
  merged = lora.merge(trained, CONFIG)
  assert jax.tree.structure(merged) == jax.tree.structure(base_params)
  np.testing.assert_allclose(base_run(merged, BATCH), logits, rtol=1e-5, atol=1e-5)
  jax.tree.map(np.testing.assert_array_equal, frozen, base_before)


def test_partition_combine_round_trip(wrapped):
  *_, params = wrapped
  trainable, frozen = lora.partition(params)
  assert trainable is params["lora"] and frozen is params["base"]
  again = lora.combine(trainable, frozen)
  assert jax.tree.structure(again) == jax.tree.structure(params)
  assert all(a is b for a, b in zip(jax.tree.leaves(again), jax.tree.leaves(params)))
  with pytest.raises(ValueError, match="base"):
    lora.partition(frozen)


def test_targets_found_by_name_in_any_tree():
  dense = lambda n_in, n_out: {"kernel": jnp.ones((n_in, n_out)), "bias": jnp.zeros(n_out)}
  tree = {"encoder": {"block_0": {"attn": {"q": dense(32, 8), "o": dense(8, 32)}}},
          "decoder": {"pred": dense(32, 5), "mlp": {"up": dense(32, 16)}}}
  adapters = lora.init_adapters(tree, lora.LoRAConfig(rank=4, alpha=4.0, targets=("q", "up")),
                                jax.random.key(0))
  assert jax.tree.map(jnp.shape, adapters) == {
      "encoder": {"block_0": {"attn": {"q": {"lora_a": (32, 4), "lora_b": (4, 8)}}}},
      "decoder": {"mlp": {"up": {"lora_a": (32, 4), "lora_b": (4, 16)}}}}


def test_errors():
  with pytest.raises(ValueError, match="rank"):
    lora.LoRAConfig(rank=0, alpha=1.0)
  with pytest.raises(ValueError, match="alpha"):
    lora.LoRAConfig(rank=2, alpha=0.0)
  with pytest.raises(ValueError, match="no LoRA target"):
    lora.init_adapters({"head": {"kernel": jnp.ones((3, 3))}},
                       lora.LoRAConfig(rank=2, alpha=2.0, targets=("q",)), jax.random.key(0))
  with pytest.raises(ValueError, match="2-D"):
    lora.init_adapters({"q": {"kernel": jnp.ones((2, 3, 3))}}, CONFIG, jax.random.key(0))
