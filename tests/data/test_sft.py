"""Prompt/response data: JSONL reading and its errors, the prompt mask, over-long examples, the pool."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import data, kinds
from attent_jax.data import sft, tokenizer

_BYTES = tokenizer.ByteTokenizer()


def _write(path, lines):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
  return path


def test_read_jsonl_accepts_query_or_prompt_and_skips_blank_lines(tmp_path):
  path = _write(tmp_path / "train.jsonl", [{"query": "q1", "response": "r1", "type": "GSM_Rephrased"},
                                           "", {"prompt": "q2", "response": "r2"}])
  assert sft.read_jsonl(path) == [("q1", "r1"), ("q2", "r2")]


@pytest.mark.parametrize("lines, message", [
    ([{"query": "q", "response": "r"}, "{oops"], "line 2 is not JSON"),
    (['[{"query": "q", "response": "r"}]'], "line 1 is a JSON list, not an object"),
    ([{"question": "q", "response": "r"}], "line 1 has no prompt field.*'query', 'prompt'"),
    ([{"query": "q", "answer": "r"}], "line 1 has no 'response' field"),
    ([{"query": "q", "response": "r"}, {"query": "q", "response": "  \n"}], "line 2: empty response"),
    ([{"query": 3, "response": "r"}], "field 'query' must be a string"),
    ([""], "holds no examples"),
])
def test_read_jsonl_errors_name_the_line(tmp_path, lines, message):
  path = _write(tmp_path / "train.jsonl", lines)
  with pytest.raises(ValueError, match=message):
    sft.read_jsonl(path)


def test_tokens_are_bos_prompt_response_eos_with_response_mask():
  arrays, counts = sft.tokenize_pairs(["ab"], ["xyz"], _BYTES, seq_len=8)
  assert counts == {"kept": 1, "truncated": 0, "dropped": 0}
  expected = [1, *_BYTES.encode("ab"), *_BYTES.encode("xyz"), 2, 0, 0]
  np.testing.assert_array_equal(arrays["tokens"][0], expected)
  np.testing.assert_array_equal(arrays["token_mask"][0], [1] * 7 + [0] * 2)
  np.testing.assert_array_equal(arrays["response_mask"][0], [0, 0, 0, 1, 1, 1, 1, 0, 0])
  assert arrays["prompt_length"][0] == 3


def test_overlong_examples_are_truncated_or_dropped():
  prompts, responses = ["a", "abcdef", "abcdefghij"], ["xy", "xyz", "x"]
  arrays, counts = sft.tokenize_pairs(prompts, responses, _BYTES, seq_len=7, overlong="truncate")
  # Lengths with bos/eos: 5 (fits 8), 11 (cut to 8, 1 response token left), 13 (prompt fills it).
  assert counts == {"kept": 2, "truncated": 1, "dropped": 1}
  np.testing.assert_array_equal(arrays["kept"], [0, 1])
  np.testing.assert_array_equal(arrays["response_mask"][1], [0] * 7 + [1])
  arrays, counts = sft.tokenize_pairs(prompts, responses, _BYTES, seq_len=7, overlong="drop")
  assert counts == {"kept": 1, "truncated": 0, "dropped": 2}
  with pytest.raises(ValueError, match="overlong must be one of"):
    sft.tokenize_pairs(prompts, responses, _BYTES, seq_len=7, overlong="wrap")
  with pytest.raises(ValueError, match="no example fits seq_len=1"):
    sft.tokenize_pairs(prompts, responses, _BYTES, seq_len=1)


def test_loss_ignores_prompt_positions(tmp_path):
  """The per-example loss is the mean over response targets: prompt logits and tokens do not move it."""
  pool_dir = tmp_path / "jsonl"
  _write(pool_dir / "train.jsonl", [{"query": "What is 2 + 3?", "response": "2 + 3 = 5\n#### 5"},
                                    {"query": "Ava has 4 pens. She gets 1 more.", "response": "#### 5"}])
  pool = data.load_pool("sft_jsonl", "train", data_dir=str(tmp_path / "tfds"), source_dir=str(pool_dir),
                        seq_len=48)
  assert pool.size == 2 and pool.kind == "tokens"
  assert bytes(pool.arrays["response"][1]).decode() == "#### 5"
  batch = data.model_features(pool, np.arange(2))
  loss_mask = batch["loss_mask"]
  prompt_length = pool.arrays["prompt_length"]
  for row in range(2):  # Target t predicts token t + 1: the first counted one is the response's first.
    assert not loss_mask[row, :prompt_length[row] - 1].any()
    assert loss_mask[row, prompt_length[row] - 1]
  assert loss_mask.sum(axis=1).tolist() == [len("2 + 3 = 5\n#### 5") + 1, len("#### 5") + 1]
  logits = np.random.default_rng(0).normal(size=(2, 48, _BYTES.vocab_size)).astype(np.float32)
  loss_fn = kinds.get("llama").losses  # The training loss of the llama kind.
  batch["mask"] = np.ones(2, bool)
  loss = loss_fn(jnp.asarray(logits), batch)
  changed_logits, changed_targets = logits.copy(), batch["targets"].copy()
  prompt_positions = ~loss_mask
  changed_logits[prompt_positions] = 50.0 * np.random.default_rng(1).normal(
      size=(prompt_positions.sum(), _BYTES.vocab_size))
  changed_targets[prompt_positions] = 7
  changed = loss_fn(jnp.asarray(changed_logits), {**batch, "targets": changed_targets})
  np.testing.assert_array_equal(np.asarray(changed), np.asarray(loss))
  # The loss is the mean over response targets only.
  log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  nll = -np.take_along_axis(log_probs, batch["targets"][..., None], -1)[..., 0]
  expected = [(nll[r] * loss_mask[r]).sum() / loss_mask[r].sum() for r in range(2)]
  np.testing.assert_allclose(np.asarray(loss), expected, rtol=1e-5)


def test_dropped_examples_leave_the_pool_with_dense_indices(tmp_path):
  pool_dir = tmp_path / "jsonl"
  _write(pool_dir / "train.jsonl", [{"query": "q", "response": "short"},
                                    {"query": "q" * 20, "response": "a long response"},
                                    {"prompt": "q", "response": "also short"}])
  kwargs = dict(data_dir=str(tmp_path / "tfds"), source_dir=str(pool_dir), seq_len=24)
  pool = data.load_pool("sft_jsonl", "train", overlong="drop", **kwargs)
  assert pool.size == 2
  np.testing.assert_array_equal(pool.arrays["index"], [0, 1])
  assert [bytes(r).decode() for r in pool.arrays["response"]] == ["short", "also short"]
  assert data.load_pool("sft_jsonl", "train", overlong="truncate", **kwargs).size == 3


def test_sft_jsonl_builder_errors(tmp_path):
  with pytest.raises(ValueError, match="needs a source_dir"):
    data.load_pool("sft_jsonl", "train", data_dir=str(tmp_path / "tfds"))
  with pytest.raises(FileNotFoundError, match="does not exist"):
    data.load_pool("sft_jsonl", "train", data_dir=str(tmp_path / "tfds"), source_dir=str(tmp_path / "x"))
  (tmp_path / "empty").mkdir()
  with pytest.raises(ValueError, match="holds no <split>.jsonl"):
    data.load_pool("sft_jsonl", "train", data_dir=str(tmp_path / "tfds"),
                   source_dir=str(tmp_path / "empty"))
  _write(tmp_path / "bad" / "train.jsonl", [{"query": "q", "response": "r"}, "not json"])
  with pytest.raises(ValueError, match="train.jsonl, line 2 is not JSON"):
    data.load_pool("sft_jsonl", "train", data_dir=str(tmp_path / "tfds"), source_dir=str(tmp_path / "bad"))
