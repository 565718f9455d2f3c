"""GPT: causality by Jacobians (learned and rotary positions), dtypes, dropout, errors, golden value.

Compiles are the cost here, so tests share two jitted models (learned+tied, rotary+untied).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import losses
from attent_jax.models import gpt

# Learned positions, tied embeddings; dropout is only active in training passes.
TINY = gpt.GPTConfig(vocab_size=50, max_len=16, num_layers=2, num_heads=4, d_model=32, d_mlp=64,
                     dropout=0.1)
ROTARY = dataclasses.replace(TINY, positions="rotary", tie_embeddings=False)
LENGTH = 8
LATER_LS = np.triu(np.ones((LENGTH, LENGTH), bool), k=1)  # [t, s]: True where s is after t.


def _tokens(batch: int = 1, seed: int = 0) -> jax.Array:
  """[batch, LENGTH] tokens, distinct within a row: each embedding row belongs to one position."""
  rng = np.random.default_rng(seed)
  return jnp.asarray([rng.permutation(TINY.vocab_size)[:LENGTH] for _ in range(batch)], jnp.int32)


def _projection() -> jax.Array:
  return jnp.asarray(np.random.default_rng(1).normal(size=TINY.vocab_size), jnp.float32)


@pytest.fixture(scope="module")
def tiny():
  apply_fn, params = gpt.build(TINY, jax.random.key(0))
  return apply_fn, params, jax.jit(apply_fn, static_argnames=("train", "return_intermediates"))


def _assert_causal(jac_LSD: np.ndarray) -> None:
  """jac[t, s] = d logits(t) / d input(s): exactly zero for s > t, nonzero otherwise."""
  size_LS = np.abs(np.asarray(jac_LSD)).sum(-1)
  assert np.all(size_LS[LATER_LS] == 0.0)
  assert np.all(size_LS[~LATER_LS] > 0.0)


def test_learned_positions_logits_at_t_ignore_later_positions(tiny):
  apply_fn, params, _ = tiny
  tokens_1L = _tokens()

  def projected_logits(pos_embed_MD):
    return apply_fn({**params, "pos_embed": pos_embed_MD}, {"inputs": tokens_1L})[0] @ _projection()

  jac_LMD = jax.jit(jax.jacrev(projected_logits))(params["pos_embed"])
  _assert_causal(jac_LMD[:, :LENGTH])
  assert np.all(np.asarray(jac_LMD)[:, LENGTH:] == 0.0)  # Positions beyond the sequence.


def test_rotary_positions_logits_at_t_ignore_later_tokens(tiny):
  # ROTARY's params are TINY's without "pos_embed", plus an untied "head" (checked by shape).
  _, tiny_params, _ = tiny
  head_DV = np.random.default_rng(2).normal(0.0, 0.02, (TINY.d_model, TINY.vocab_size))
  params = {**{k: v for k, v in tiny_params.items() if k != "pos_embed"},
            "head": {"kernel": jnp.asarray(head_DV, jnp.float32)}}
  expected = jax.eval_shape(lambda key: gpt.build(ROTARY, key)[1], jax.random.key(0))
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, expected)
  apply_fn = gpt.make_apply_fn(ROTARY)
  tokens_1L = _tokens()

  def projected_logits(embedding_VD):
    p = {**params, "embed": {"embedding": embedding_VD}}
    return apply_fn(p, {"inputs": tokens_1L})[0] @ _projection()

  jac_LVD = jax.jit(jax.jacrev(projected_logits))(params["embed"]["embedding"])
  _assert_causal(np.asarray(jac_LVD)[:, np.asarray(tokens_1L[0])])  # Rows in position order.


def test_param_tree_follows_gpt2_structure(tiny):
  _, params, _ = tiny
  assert set(params) == {"embed", "pos_embed", "block_0", "block_1", "ln_f"}  # Tied: no head.
  block = params["block_0"]
  assert set(block) == {"ln1", "attn", "ln2", "mlp"}
  assert set(block["attn"]) == {"q", "k", "v", "o"} and set(block["mlp"]) == {"up", "down"}
  assert set(block["attn"]["q"]) == {"kernel", "bias"} and set(block["ln1"]) == {"scale", "bias"}
  assert block["mlp"]["up"]["kernel"].shape == (32, 64)
  assert params["embed"]["embedding"].shape == (50, 32) and params["pos_embed"].shape == (16, 32)
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(params))
  # dtype and dropout do not change the parameters.
  _, bf16_params = gpt.build(dataclasses.replace(TINY, dtype="bfloat16", dropout=0.0),
                             jax.random.key(0))
  jax.tree.map(np.testing.assert_array_equal, bf16_params, params)


def test_bfloat16_compute_gives_float32_logits_close_to_float32(tiny):
  _, params, run_f32 = tiny
  apply_bf16 = gpt.make_apply_fn(dataclasses.replace(TINY, dtype="bfloat16"))
  batch = {"inputs": _tokens(batch=2)}
  logits_bf16 = jax.jit(apply_bf16)(params, batch)
  assert logits_bf16.dtype == jnp.float32 and logits_bf16.shape == (2, LENGTH, TINY.vocab_size)
  logits_f32, _ = run_f32(params, batch, return_intermediates=True)
  np.testing.assert_allclose(logits_bf16, logits_f32, atol=0.05)


def test_intermediates_and_dropout(tiny):
  _, params, run = tiny
  batch = {"inputs": _tokens(batch=2)}
  logits, hidden = run(params, batch, return_intermediates=True)
  assert logits.shape == (2, LENGTH, TINY.vocab_size)
  assert sorted(hidden) == ["block_0", "block_1"]
  assert hidden["block_1"].shape == (2, LENGTH, TINY.d_model)
  with pytest.raises(ValueError, match="rng"):
    run(params, batch, train=True)
  # Any key type works; "rbg" keys compile much faster than threefry ones on CPU.
  train_a = run(params, batch, train=True, rng=jax.random.key(1, impl="rbg"))
  train_b = run(params, batch, train=True, rng=jax.random.key(2, impl="rbg"))
  assert not np.allclose(train_a, logits) and not np.allclose(train_a, train_b)


def test_sequence_longer_than_max_len_is_an_error(tiny):
  _, params, run = tiny
  with pytest.raises(ValueError, match="max_len=16"):
    run(params, {"inputs": jnp.zeros((1, 17), jnp.int32)})


@pytest.mark.parametrize("change, field", [
    (dict(num_heads=5), "d_model"),
    (dict(positions="alibi"), "positions"),
    (dict(dtype="float16"), "dtype"),
    (dict(num_layers=0), "num_layers"),
    (dict(dropout=1.0), "dropout"),
    (dict(num_heads=32, positions="rotary"), "rotary"),
])
def test_config_errors_name_the_field(change, field):
  with pytest.raises(ValueError, match=field):
    dataclasses.replace(TINY, **change)


# Golden value: mean token cross-entropy (eval mode) after one optax.adam(1e-2) step from
# build(TINY, key(0)). Update it only when the model's init or math changes on purpose: run
#   python -m pytest tests/models/test_gpt.py -k golden
# and copy the value the failure message prints.
GOLDEN_LOSS_AFTER_ONE_STEP = 3.64746


def test_golden_loss_after_one_adam_step(tiny, loss_after_one_adam_step):
  apply_fn, params, _ = tiny
  tokens_BL = jnp.asarray(np.random.default_rng(7).integers(0, TINY.vocab_size, (4, 12)), jnp.int32)
  mask_BL = jnp.ones((4, 11), bool)

  def loss_fn(params):
    logits_BLV = apply_fn(params, {"inputs": tokens_BL[:, :-1]})
    return losses.cross_entropy(logits_BLV, tokens_BL[:, 1:], mask_BL)[0].mean()

  loss = loss_after_one_adam_step(loss_fn, params)
  assert loss == pytest.approx(GOLDEN_LOSS_AFTER_ONE_STEP, rel=1e-5), f"new golden value: {loss:.6g}"


def test_dot_product_attention_matches_einsum(tiny):
  _, params, run = tiny
  batch = {"inputs": _tokens(batch=2)}
  fused = dataclasses.replace(TINY, dropout=0.0, attention="dot_product")
  np.testing.assert_allclose(jax.jit(gpt.make_apply_fn(fused))(params, batch), run(params, batch),
                             atol=1e-5)
  with pytest.raises(ValueError, match="attention='dot_product' takes no dropout"):
    dataclasses.replace(TINY, attention="dot_product")
