"""LLaMA-family model: attention/dtype/remat variants agree, KV-cache decoding equals recomputation."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import models
from attent_jax.models import attention, decode, gpt, llama, lora

TINY = llama.LlamaConfig(vocab_size=97, max_len=24, num_layers=2, num_heads=4, num_kv_heads=2,
                         d_model=32, d_mlp=64, rope_theta=500.0)
TOKENS_BL = np.random.default_rng(0).integers(0, 97, (2, 12)).astype(np.int32)


@pytest.fixture(scope="module")
def params():
  _, params = llama.build(TINY, jax.random.key(0))
  # Larger weights than the N(0, 0.02) init, so attention is far from uniform and errors show.
  return jax.tree.map(lambda p: p * 8.0 if p.ndim == 2 else p, params)


def _logits(config, params, tokens_BL=TOKENS_BL):
  return jax.jit(llama.make_apply_fn(config))(params, {"inputs": jnp.asarray(tokens_BL)})


def test_parameter_names_and_shapes(params):
  block = params["block_0"]
  assert block["attn"]["q"]["kernel"].shape == (32, 32)
  assert block["attn"]["k"]["kernel"].shape == block["attn"]["v"]["kernel"].shape == (32, 16)
  assert set(block["mlp"]) == {"gate", "up", "down"} and set(block) == {"ln1", "attn", "ln2", "mlp"}
  assert "bias" not in block["attn"]["q"] and "head" in params
  tied = dataclasses.replace(TINY, tie_embeddings=True, qkv_bias=True, head_dim=4)
  _, tied_params = llama.build(tied, jax.random.key(0))
  assert "head" not in tied_params and tied_params["block_0"]["attn"]["k"]["bias"].shape == (8,)
  assert tied_params["block_0"]["attn"]["o"]["kernel"].shape == (16, 32)
  assert "bias" not in tied_params["block_0"]["attn"]["o"]
  adapters = lora.init_adapters(params, lora.LoRAConfig(rank=2, alpha=2.0), jax.random.key(1))
  assert set(adapters["block_1"]["mlp"]) == {"gate", "up", "down"}


def test_attention_dtype_and_remat_variants_agree(params):
  reference_BLV = _logits(TINY, params)
  dot = _logits(dataclasses.replace(TINY, attention="dot_product"), params)
  np.testing.assert_allclose(dot, reference_BLV, atol=1e-5, rtol=0)
  bf16 = _logits(dataclasses.replace(TINY, dtype="bfloat16"), params)
  assert bf16.dtype == jnp.float32
  # bfloat16 keeps 8 mantissa bits: relative error ~2^-8 per op, a few percent of the logit scale.
  scale = float(jnp.abs(reference_BLV).max())
  assert float(jnp.abs(bf16 - reference_BLV).max()) < 0.05 * scale
  bf16_dot = _logits(dataclasses.replace(TINY, dtype="bfloat16", attention="dot_product"), params)
  assert float(jnp.abs(bf16_dot - reference_BLV).max()) < 0.05 * scale

  def loss(config):
    def fn(p):
      logits_BLV = llama.make_apply_fn(config)(p, {"inputs": jnp.asarray(TOKENS_BL)})
      return -jnp.mean(jax.nn.log_softmax(logits_BLV)[..., 0])
    return jax.jit(jax.value_and_grad(fn))

  # Forward mode (the ANTK's jax.jvp) through the einsum path.
  forward = lambda p: llama.make_apply_fn(TINY)(p, {"inputs": TOKENS_BL})
  _, tangent_BLV = jax.jit(lambda p: jax.jvp(forward, (p,), (p,)))(params)
  assert jnp.isfinite(tangent_BLV).all() and float(jnp.abs(tangent_BLV).max()) > 0

  value, grads = loss(TINY)(params)
  remat_value, remat_grads = loss(dataclasses.replace(TINY, remat=True))(params)
  np.testing.assert_allclose(remat_value, value, rtol=1e-6)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
               remat_grads, grads)


def test_grouped_query_einsum_equals_repeated_heads():
  keys = jax.random.split(jax.random.key(3), 3)
  q_BLHK = jax.random.normal(keys[0], (2, 5, 6, 8))
  k_BMGK, v_BMGK = (jax.random.normal(k, (2, 5, 2, 8)) for k in keys[1:])
  repeated = [jnp.repeat(x, 3, axis=2) for x in (k_BMGK, v_BMGK)]  # HF repeat_kv.
  expected = attention.attend(q_BLHK, *repeated, causal=True)
  for implementation in attention.IMPLEMENTATIONS:
    got = attention.attend(q_BLHK, k_BMGK, v_BMGK, causal=True, implementation=implementation)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _recompute_greedy(apply_fn, params, prompts_BP, lengths_B, max_new_tokens):
  """Greedy decoding by a full forward pass over each row's whole sequence at every step."""
  batch, prompt_len = prompts_BP.shape
  sequences_BS = np.zeros((batch, prompt_len + max_new_tokens), np.int32)
  sequences_BS[:, :prompt_len] = prompts_BP
  forward = jax.jit(apply_fn)
  lengths_B = np.array(lengths_B)
  for _ in range(max_new_tokens):
    logits_BSV = np.asarray(forward(params, {"inputs": jnp.asarray(sequences_BS)}))
    next_B = logits_BSV[np.arange(batch), lengths_B - 1].argmax(-1)
    sequences_BS[np.arange(batch), lengths_B] = next_B
    lengths_B += 1
  return np.stack([sequences_BS[b, n - max_new_tokens:n] for b, n in enumerate(lengths_B)])


def test_kv_cache_decoding_equals_recomputation_with_ragged_prompts(params):
  rng = np.random.default_rng(4)
  prompts_BP = rng.integers(1, 97, (3, 7)).astype(np.int32)
  lengths_B = np.array([7, 2, 5], np.int32)
  prompts_BP[1, 2:] = 0  # Right padding (its value is irrelevant).
  new_BN = decode.greedy_generate(TINY, params, prompts_BP, lengths_B, max_new_tokens=9)
  assert new_BN.shape == (3, 9) and new_BN.dtype == jnp.int32
  expected_BN = _recompute_greedy(llama.make_apply_fn(TINY), params, prompts_BP, lengths_B, 9)
  np.testing.assert_array_equal(new_BN, expected_BN)
  assert len({tuple(row) for row in expected_BN.tolist()}) == 3  # Not a degenerate constant.

  fused = dataclasses.replace(TINY, attention="dot_product")
  np.testing.assert_array_equal(
      decode.greedy_generate(fused, params, prompts_BP, lengths_B, max_new_tokens=9), expected_BN)

  eos = int(expected_BN[0, 3])  # Row 0 stops at its 4th token (or earlier if it recurs).
  stopped_BN = np.asarray(decode.greedy_generate(TINY, params, prompts_BP, lengths_B,
                                                 max_new_tokens=9, eos_id=eos, pad_id=-1))
  for row, full in zip(stopped_BN, expected_BN):
    hits = np.flatnonzero(full == eos)
    stop = hits[0] + 1 if hits.size else len(full)
    np.testing.assert_array_equal(row[:stop], full[:stop])
    assert (row[stop:] == -1).all()
  assert (stopped_BN[0, 4:] == -1).all()


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_gpt_kv_cache_decoding_equals_recomputation(positions):
  config = gpt.GPTConfig(vocab_size=97, max_len=16, num_layers=2, num_heads=4, d_model=32,
                         d_mlp=64, positions=positions, dropout=0.1)
  apply_fn, gpt_params = gpt.build(config, jax.random.key(7))
  gpt_params = jax.tree.map(lambda p: p * 8.0 if p.ndim == 2 else p, gpt_params)
  prompts_BP = np.random.default_rng(8).integers(1, 97, (3, 6)).astype(np.int32)
  lengths_B = np.array([6, 1, 4], np.int32)
  new_BN = decode.greedy_generate(config, gpt_params, prompts_BP, lengths_B, max_new_tokens=7)
  expected_BN = _recompute_greedy(apply_fn, gpt_params, prompts_BP, lengths_B, 7)
  np.testing.assert_array_equal(new_BN, expected_BN)
  assert len({tuple(row) for row in expected_BN.tolist()}) == 3


def test_lora_params_decode_after_merge(params):
  lora_cfg = lora.LoRAConfig(rank=2, alpha=4.0)
  lora_apply, wrapped = lora.wrap(llama.make_apply_fn(TINY), params, lora_cfg, jax.random.key(5))
  wrapped["lora"] = jax.tree.map(lambda b: b + 0.5, wrapped["lora"])  # Non-zero updates.
  prompts_BP = np.random.default_rng(6).integers(1, 97, (2, 5)).astype(np.int32)
  lengths_B = np.array([5, 3], np.int32)
  merged = lora.merge(wrapped, lora_cfg)
  new_BN = decode.greedy_generate(TINY, merged, prompts_BP, lengths_B, max_new_tokens=6)
  np.testing.assert_array_equal(new_BN, _recompute_greedy(lora_apply, wrapped, prompts_BP,
                                                          lengths_B, 6))
  plain_BN = decode.greedy_generate(TINY, params, prompts_BP, lengths_B, max_new_tokens=6)
  assert (np.asarray(plain_BN) != np.asarray(new_BN)).any()


def test_bad_configs_and_decode_arguments_are_clear_errors(params):
  with pytest.raises(ValueError, match="num_heads=4 must be divisible by num_kv_heads=3"):
    dataclasses.replace(TINY, num_kv_heads=3)
  with pytest.raises(ValueError, match="attention must be one of .*'flash'"):
    dataclasses.replace(TINY, attention="flash")
  with pytest.raises(ValueError, match="head_dim must be even"):
    dataclasses.replace(TINY, head_dim=5)
  with pytest.raises(ValueError, match="exceeds the model's max_len=24"):
    decode.greedy_generate(TINY, params, np.ones((1, 20), np.int32), [3], max_new_tokens=5)
  with pytest.raises(ValueError, match=r"prompt_lengths must lie in \[1, 4\]"):
    decode.greedy_generate(TINY, params, np.ones((2, 4), np.int32), [0, 4], max_new_tokens=2)
  with pytest.raises(ValueError, match="KV-cache decoding supports"):
    decode.greedy_generate({}, {}, np.ones((1, 2), np.int32), [1], max_new_tokens=1)
  with pytest.raises(ValueError, match="exceeds LlamaConfig.max_len=24"):
    llama.make_apply_fn(TINY)(params, {"inputs": jnp.ones((1, 25), jnp.int32)})


def test_dispatcher_builds_every_model_kind():
  apply_fn, built = models.build(TINY, jax.random.key(0))
  np.testing.assert_array_equal(apply_fn(built, {"inputs": jnp.asarray(TOKENS_BL)}),
                                models.make_apply_fn(TINY)(built, {"inputs": jnp.asarray(TOKENS_BL)}))
  assert models.module_for(gpt.GPTConfig(vocab_size=9, max_len=8, num_layers=1, num_heads=1,
                                         d_model=4, d_mlp=4)) is gpt
  with pytest.raises(ValueError, match="no model for config type dict"):
    models.make_apply_fn({})
