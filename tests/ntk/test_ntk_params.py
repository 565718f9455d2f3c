"""Param filters and the (theta, merge) split: pure Python on paths and abstract shapes (no compiles)."""

import jax
import jax.numpy as jnp
import pytest

from attent_jax import ntk
from attent_jax.models import gpt
from attent_jax.ntk.params import partition


@pytest.mark.parametrize("path, expected", [
    (("block_0", "attn", "q", "kernel"), True),
    (("block_3", "attn", "v", "bias"), True),
    (("block_0", "attn", "o", "kernel"), False),
    (("block_0", "mlp", "up", "kernel"), False),
    (("embed", "embedding"), False),
    (("encoder", "attention", "query", "kernel"), True),    # flax linen MultiHeadDotProductAttention
    (("block_0", "attn", "k", "kernel", "value"), True),    # a variable's array stored as .value
    (("block_0", "attn", "o", "kernel", "value"), False),
    (("lora", "block_0", "attn", "q", "a"), True),
    (("layers", 0, "self_attn", "k_proj", "weight"), True),
])
def test_attention_qkv(path, expected):
  assert ntk.attention_qkv(path) is expected


def test_lora_only():
  assert ntk.lora_only(("lora", "block_0", "attn", "q", "a"))
  assert ntk.lora_only(("block_0", "attn", "q", "lora_b"))
  assert not ntk.lora_only(("base", "block_0", "attn", "q", "kernel"))


def test_filters_on_the_project_gpt():
  config = gpt.GPTConfig(vocab_size=16, max_len=8, num_layers=2, num_heads=2, d_model=8, d_mlp=16)
  params = jax.eval_shape(lambda key: gpt.build(config, key)[1], jax.random.key(0))
  # q, k, v kernels [8, 8] and biases [8] in each of 2 blocks
  assert ntk.num_params(params, ntk.attention_qkv) == 2 * 3 * (8 * 8 + 8)
  assert ntk.num_params(params) == sum(leaf.size for leaf in jax.tree.leaves(params))


def test_partition_merges_back_and_skips_integer_leaves():
  params = {"w": jnp.ones((2, 3)), "step": jnp.array(4), "attn": {"q": {"kernel": jnp.zeros(2)}}}
  theta, merge = partition(params, None)
  assert [leaf.shape for leaf in theta] == [(2,), (2, 3)]  # tree order: attn, step (int), w
  rebuilt = merge([t + 1 for t in theta])
  assert rebuilt["step"] is params["step"] and float(rebuilt["w"][0, 0]) == 2.0
  theta, _ = partition(params, ntk.attention_qkv)
  assert len(theta) == 1
  with pytest.raises(ValueError, match="selects no"):
    partition(params, ntk.lora_only)


def test_paths_filter_selects_marked_leaves_and_compares_by_value():
  marks = {"base": {"w": False, "b": False}, "lora": {"a": True, "b": True}}
  paths = ntk.Paths.of_marked(marks)
  assert paths == ntk.Paths.of_marked(marks) and hash(paths) == hash(ntk.Paths.of_marked(marks))
  assert paths(("lora", "a")) and not paths(("base", "b"))
  params = {"base": {"w": jnp.ones(2), "b": jnp.ones(3)}, "lora": {"a": jnp.ones(4), "b": jnp.ones(5)}}
  theta, _ = partition(params, paths)
  assert sorted(leaf.size for leaf in theta) == [4, 5]
