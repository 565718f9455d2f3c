"""ViT classifier: shapes for both poolings, dtypes, dropout, errors, golden value."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import losses
from attent_jax.models import vit

# cls pooling; dropout is only active in training passes.
TINY = vit.ViTConfig(image_size=8, patch_size=4, channels=3, num_classes=5, num_layers=1,
                     num_heads=4, d_model=32, d_mlp=64, dropout=0.1)


def _images(batch: int = 3, seed: int = 1) -> jax.Array:
  return jnp.asarray(np.random.default_rng(seed).uniform(size=(batch, 8, 8, 3)), jnp.float32)


@pytest.fixture(scope="module")
def tiny():
  apply_fn, params = vit.build(TINY, jax.random.key(0))
  return apply_fn, params, jax.jit(apply_fn, static_argnames="train")


def _check_logits(run, params):
  images = _images()
  logits_BC = run(params, {"image": images})
  assert logits_BC.shape == (3, 5) and logits_BC.dtype == jnp.float32
  assert np.all(np.isfinite(logits_BC))
  # Rows are independent: reordering the batch reorders the logits.
  order = jnp.array([2, 0, 1])
  np.testing.assert_allclose(run(params, {"image": images[order]}), logits_BC[order],
                             rtol=1e-5, atol=1e-6)


def test_cls_pooling(tiny):
  _, params, run = tiny
  _check_logits(run, params)
  assert params["cls"].shape == (32,) and params["pos_embed"].shape == (5, 32)  # 4 patches + cls
  assert set(params["block_0"]["attn"]) == {"q", "k", "v", "o"}
  assert params["patch_embed"]["kernel"].shape == (4 * 4 * 3, 32)


def test_mean_pooling(tiny):
  # Mean pooling's params are cls pooling's without "cls" and its position (checked by shape).
  _, cls_params, _ = tiny
  config = dataclasses.replace(TINY, pool="mean")
  params = {**{k: v for k, v in cls_params.items() if k != "cls"},
            "pos_embed": cls_params["pos_embed"][1:]}
  expected = jax.eval_shape(lambda key: vit.build(config, key)[1], jax.random.key(0))
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, expected)
  assert "cls" not in expected and expected["pos_embed"].shape == (4, 32)
  _check_logits(jax.jit(vit.make_apply_fn(config)), params)


def test_bfloat16_compute_gives_float32_logits(tiny):
  _, params, run_f32 = tiny
  apply_bf16 = vit.make_apply_fn(dataclasses.replace(TINY, dtype="bfloat16"))
  logits_BC = jax.jit(apply_bf16)(params, {"image": _images()})
  assert logits_BC.dtype == jnp.float32
  np.testing.assert_allclose(logits_BC, run_f32(params, {"image": _images()}), atol=0.05)


def test_dropout_needs_rng_and_only_acts_in_training(tiny):
  _, params, run = tiny
  batch = {"image": _images()}
  with pytest.raises(ValueError, match="rng"):
    run(params, batch, train=True)
  eval_logits = run(params, batch)
  # Any key type works; "rbg" keys compile much faster than threefry ones on CPU.
  train_logits = run(params, batch, train=True, rng=jax.random.key(1, impl="rbg"))
  assert not np.allclose(train_logits, eval_logits)


def test_wrong_image_shape_is_an_error(tiny):
  _, params, run = tiny
  with pytest.raises(ValueError, match="8, 8, 3"):
    run(params, {"image": jnp.zeros((1, 8, 8, 1))})


@pytest.mark.parametrize("change, field", [
    (dict(pool="max"), "pool"),
    (dict(patch_size=3), "image_size"),
    (dict(num_heads=3), "d_model"),
    (dict(dtype="int8"), "dtype"),
    (dict(num_classes=0), "num_classes"),
])
def test_config_errors_name_the_field(change, field):
  with pytest.raises(ValueError, match=field):
    dataclasses.replace(TINY, **change)


# Golden value: mean classification CE (eval mode) after one optax.adam(1e-2) step from
# build(TINY, key(0)). Update it only when the model's init or math changes on purpose: run
#   python -m pytest tests/models/test_vit.py -k golden
# and copy the value the failure message prints.
GOLDEN_LOSS_AFTER_ONE_STEP = 1.45053


def test_golden_loss_after_one_adam_step(tiny, loss_after_one_adam_step):
  apply_fn, params, _ = tiny
  batch = {"image": _images(batch=4, seed=2)}
  labels_B = jnp.array([0, 1, 2, 3])

  def loss_fn(params):
    return losses.cross_entropy(apply_fn(params, batch), labels_B)[0].mean()

  loss = loss_after_one_adam_step(loss_fn, params)
  assert loss == pytest.approx(GOLDEN_LOSS_AFTER_ONE_STEP, rel=1e-5), f"new golden value: {loss:.6g}"
