"""MAE: exact mask counts, visible patches never reach the loss, mask randomness, encoder, golden value.

Compiles are the cost here: most tests share one jitted forward (batch with "index", rng given).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import losses
from attent_jax.models import mae, patches

# 16 patches of 2x2x3 = 12 pixels; mask_ratio 0.75 hides 12 and keeps 4.
TINY = mae.MAEConfig(image_size=8, patch_size=2, channels=3, num_layers=1, num_heads=4, d_model=32,
                     d_mlp=64, decoder_layers=1, decoder_num_heads=2, decoder_d_model=16,
                     decoder_d_mlp=32)
B, N, P = 4, 16, 12
INDEX_B = jnp.array([10, 11, 12, 13])


@pytest.fixture(scope="module")
def tiny():
  apply_fn, params = mae.build(TINY, jax.random.key(0))
  return apply_fn, params, jax.jit(apply_fn, static_argnames="train")


def _batch(seed: int = 1) -> dict[str, jax.Array]:
  images = np.random.default_rng(seed).uniform(size=(B, 8, 8, 3))
  return {"image": jnp.asarray(images, jnp.float32), "index": INDEX_B}


def test_output_shapes_and_exact_masked_count(tiny):
  _, params, run = tiny
  batch = _batch()
  out = run(params, batch, rng=jax.random.key(5))
  assert out["pred"].shape == out["target"].shape == (B, N, P)
  assert out["pred"].dtype == out["target"].dtype == jnp.float32
  assert out["masked"].dtype == jnp.bool_
  assert TINY.num_masked == 12 and TINY.num_visible == 4
  np.testing.assert_array_equal(out["masked"].sum(axis=1), [TINY.num_masked] * B)
  np.testing.assert_array_equal(out["target"], patches.patchify(batch["image"], 2))  # Raw pixels.


def test_visible_patches_never_enter_the_loss(tiny):
  _, params, run = tiny
  batch = _batch()
  out = run(params, batch, rng=jax.random.key(5))
  masked_BN = out["masked"]
  loss_B = losses.mae_reconstruction(out["pred"], out["target"], masked_BN)
  # Noise on the predictions of visible patches leaves the loss unchanged.
  noise = np.random.default_rng(9).normal(size=out["pred"].shape).astype(np.float32) * 10.0
  noisy_pred = jnp.where(masked_BN[..., None], out["pred"], out["pred"] + noise)
  np.testing.assert_array_equal(losses.mae_reconstruction(noisy_pred, out["target"], masked_BN),
                                loss_B)
  # The encoder sees only visible patches: changing the pixels of masked patches leaves every
  # prediction bit-identical (only the targets of those patches change).
  pixel_mask = patches.unpatchify(jnp.broadcast_to(masked_BN[..., None], (B, N, P)), 2, 8, 8)
  images = batch["image"]
  changed = run(params, {**batch, "image": jnp.where(pixel_mask, 1.0 - images, images)},
                rng=jax.random.key(5))
  np.testing.assert_array_equal(changed["masked"], masked_BN)
  np.testing.assert_array_equal(changed["pred"], out["pred"])
  assert not np.allclose(changed["target"], out["target"])


def test_mask_randomness(tiny):
  _, params, run = tiny
  batch = _batch()
  mask = lambda seed, b=batch: np.asarray(run(params, b, rng=jax.random.key(seed))["masked"])
  np.testing.assert_array_equal(mask(1), mask(1))
  assert not np.array_equal(mask(1), mask(2))
  assert len({row.tobytes() for row in mask(1)}) == B  # Each example draws its own mask.
  # An example keeps its mask (from its stable index) wherever it sits in the batch.
  order = np.array([2, 0, 3, 1])
  shuffled = {"image": batch["image"][order], "index": INDEX_B[order]}
  np.testing.assert_array_equal(mask(1)[order], mask(1, shuffled))
  # The model's mask is `random_masking`'s.
  _, _, masked_BN = mae.random_masking(jax.random.split(jax.random.key(1))[0], INDEX_B, N, 4)
  np.testing.assert_array_equal(mask(1), masked_BN)


def test_training_pass_needs_rng(tiny):
  _, params, run = tiny
  with pytest.raises(ValueError, match="rng"):
    run(params, _batch(), train=True)


def test_no_rng_uses_the_fixed_key_and_norm_pix_loss_in_bfloat16(tiny):
  _, params, run = tiny
  config = dataclasses.replace(TINY, norm_pix_loss=True, dtype="bfloat16")
  out = jax.jit(mae.make_apply_fn(config))(params, _batch())
  assert out["pred"].dtype == jnp.float32 and np.all(np.isfinite(out["pred"]))
  np.testing.assert_allclose(out["target"].mean(-1), 0.0, atol=1e-5)
  np.testing.assert_allclose(out["target"].std(-1), 1.0, atol=1e-3)
  fixed = run(params, _batch(), rng=jax.random.key(mae.NO_RNG_MASK_SEED))
  np.testing.assert_array_equal(out["masked"], fixed["masked"])
  np.testing.assert_allclose(out["pred"], fixed["pred"], atol=0.1)


def test_encoder_features(tiny):
  _, params, _ = tiny
  features_BD = jax.jit(mae.make_encoder(TINY))(params, _batch())
  assert features_BD.shape == (B, TINY.d_model) and features_BD.dtype == jnp.float32
  assert not np.allclose(features_BD[0], features_BD[1])


@pytest.mark.parametrize("change, field", [
    (dict(mask_ratio=1.0), "mask_ratio"),
    (dict(mask_ratio=0.01), "mask_ratio"),
    (dict(decoder_num_heads=3), "decoder_d_model"),
    (dict(patch_size=3), "image_size"),
    (dict(dtype="float64"), "dtype"),
])
def test_config_errors_name_the_field(change, field):
  with pytest.raises(ValueError, match=field):
    dataclasses.replace(TINY, **change)


# Golden value: mean masked-patch MSE (rng=None, so the fixed mask) after one optax.adam(1e-2) step
# from build(TINY, key(0)). Update it only when the model's init, masking or math changes on
# purpose: run
#   python -m pytest tests/models/test_mae.py -k golden
# and copy the value the failure message prints.
GOLDEN_LOSS_AFTER_ONE_STEP = 1.85248


def test_golden_loss_after_one_adam_step(tiny, loss_after_one_adam_step):
  apply_fn, params, _ = tiny
  batch = _batch(seed=2)

  def loss_fn(params):
    out = apply_fn(params, batch)
    return losses.mae_reconstruction(out["pred"], out["target"], out["masked"]).mean()

  loss = loss_after_one_adam_step(loss_fn, params)
  assert loss == pytest.approx(GOLDEN_LOSS_AFTER_ONE_STEP, rel=1e-5), f"new golden value: {loss:.6g}"
