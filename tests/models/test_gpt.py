"""GPT: causality by Jacobians (learned and rotary positions), dtypes, dropout, errors, golden value."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import losses
from attent_jax.models import gpt

TINY = gpt.GPTConfig(vocab_size=50, max_len=16, num_layers=2, num_heads=4, d_model=32, d_mlp=64)
LENGTH = 8


def _tokens(seed: int = 0) -> jax.Array:
  """[1, LENGTH] distinct tokens, so each embedding row belongs to exactly one position."""
  return jax.random.permutation(jax.random.key(seed), TINY.vocab_size)[:LENGTH][None].astype(jnp.int32)


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_logits_at_t_do_not_depend_on_later_positions(positions):
  config = dataclasses.replace(TINY, positions=positions, tie_embeddings=False)
  apply_fn, params = gpt.build(config, jax.random.key(0))
  tokens_1L = _tokens()
  projection_V = jax.random.normal(jax.random.key(1), (config.vocab_size,))

  def projected_logits(embedding, pos_embed):
    p = {**params, "embed": {"embedding": embedding}}
    if pos_embed is not None:
      p["pos_embed"] = pos_embed
    return apply_fn(p, {"inputs": tokens_1L})[0] @ projection_V  # [L]

  jac_LVD, jac_pos_LMD = jax.jit(jax.jacrev(projected_logits, argnums=(0, 1)))(
      params["embed"]["embedding"], params.get("pos_embed"))
  # jac[t, tokens[s]] is d logits(t) / d embedding(input at s): zero exactly when s > t.
  per_position_LS = np.abs(np.asarray(jac_LVD)[:, np.asarray(tokens_1L[0])]).sum(-1)
  later_LS = np.triu(np.ones((LENGTH, LENGTH), bool), k=1)
  assert np.all(per_position_LS[later_LS] == 0.0)
  assert np.all(per_position_LS[~later_LS] > 0.0)
  if positions == "learned":
    pos_LS = np.abs(np.asarray(jac_pos_LMD)[:, :LENGTH]).sum(-1)
    assert np.all(pos_LS[later_LS] == 0.0) and np.all(pos_LS[~later_LS] > 0.0)
    assert np.all(np.asarray(jac_pos_LMD)[:, LENGTH:] == 0.0)  # Unused positions.
  else:
    assert "pos_embed" not in params


def test_param_tree_follows_gpt2_structure():
  _, params = gpt.build(dataclasses.replace(TINY, tie_embeddings=False), jax.random.key(0))
  assert set(params) == {"embed", "pos_embed", "block_0", "block_1", "ln_f", "head"}
  block = params["block_0"]
  assert set(block) == {"ln1", "attn", "ln2", "mlp"}
  assert set(block["attn"]) == {"q", "k", "v", "o"} and set(block["mlp"]) == {"up", "down"}
  assert block["mlp"]["up"]["kernel"].shape == (32, 64)
  assert params["embed"]["embedding"].shape == (50, 32) and params["pos_embed"].shape == (16, 32)
  assert params["head"] == {"kernel": params["head"]["kernel"]}  # No bias, as GPT-2's lm_head.
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(params))


def test_bfloat16_compute_gives_float32_logits_close_to_float32():
  config = dataclasses.replace(TINY, dtype="bfloat16", positions="rotary")
  apply_bf16, params = gpt.build(config, jax.random.key(0))
  apply_f32, _ = gpt.build(dataclasses.replace(config, dtype="float32"), jax.random.key(0))
  batch = {"inputs": _tokens()}
  logits_bf16 = apply_bf16(params, batch)
  assert logits_bf16.dtype == jnp.float32 and logits_bf16.shape == (1, LENGTH, TINY.vocab_size)
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(params))
  np.testing.assert_allclose(logits_bf16, apply_f32(params, batch), atol=0.05)


def test_intermediates_and_dropout():
  apply_fn, params = gpt.build(dataclasses.replace(TINY, dropout=0.2), jax.random.key(0))
  batch = {"inputs": jnp.concatenate([_tokens(0), _tokens(1)])}
  logits, hidden = apply_fn(params, batch, return_intermediates=True)
  assert sorted(hidden) == ["block_0", "block_1"]
  assert hidden["block_1"].shape == (2, LENGTH, TINY.d_model)
  np.testing.assert_array_equal(logits, apply_fn(params, batch, rng=jax.random.key(3)))
  with pytest.raises(ValueError, match="rng"):
    apply_fn(params, batch, train=True)
  train_a = apply_fn(params, batch, train=True, rng=jax.random.key(1))
  train_b = apply_fn(params, batch, train=True, rng=jax.random.key(2))
  assert not np.allclose(train_a, logits) and not np.allclose(train_a, train_b)


def test_sequence_longer_than_max_len_is_an_error():
  apply_fn, params = gpt.build(dataclasses.replace(TINY, num_layers=1), jax.random.key(0))
  with pytest.raises(ValueError, match="max_len=16"):
    jax.jit(apply_fn)(params, {"inputs": jnp.zeros((1, 17), jnp.int32)})


@pytest.mark.parametrize("change, field", [
    (dict(num_heads=5), "d_model"),
    (dict(positions="alibi"), "positions"),
    (dict(dtype="float16"), "dtype"),
    (dict(num_layers=0), "num_layers"),
    (dict(dropout=1.0), "dropout"),
    (dict(num_heads=16, positions="rotary"), "rotary"),
])
def test_config_errors_name_the_field(change, field):
  with pytest.raises(ValueError, match=field):
    dataclasses.replace(TINY, **change)


# Golden value: the mean token cross-entropy after one optax.adam(1e-2) step from build(TINY, key(0)).
# Update it only when the model's init or math changes on purpose: run
#   python -m pytest tests/models/test_gpt.py -k golden
# and copy the value the failure message prints.
GOLDEN_LOSS_AFTER_ONE_STEP = 3.66498


def test_golden_loss_after_one_adam_step(loss_after_one_adam_step):
  apply_fn, params = gpt.build(TINY, jax.random.key(0))
  tokens_BL = jax.random.randint(jax.random.key(7), (4, 12), 0, TINY.vocab_size)
  mask_BL = jnp.ones((4, 11), bool)

  def loss_fn(params):
    logits_BLV = apply_fn(params, {"inputs": tokens_BL[:, :-1]})
    return losses.token_cross_entropy(logits_BLV, tokens_BL[:, 1:], mask_BL)[0].mean()

  loss = loss_after_one_adam_step(loss_fn, params)
  assert loss == pytest.approx(GOLDEN_LOSS_AFTER_ONE_STEP, rel=1e-5), f"new golden value: {loss:.6g}"
