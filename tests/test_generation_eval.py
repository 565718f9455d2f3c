"""Generation eval plumbing: prompts cut from the pool, generations cut at eos, exact match counted."""

import re

import numpy as np
import pytest

from attent_jax import data, generation_eval
from attent_jax.data import tokenizer
from attent_jax.data.builders import arithmetic_problems as ap

_BYTES = tokenizer.ByteTokenizer()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
  root = tmp_path_factory.mktemp("gen")
  (root / "jsonl").mkdir()
  ap.write_jsonl(root / "jsonl" / "test.jsonl", ap.generate(0, "test", 10))
  return data.load_pool("sft_jsonl", "test", data_dir=str(root / "tfds"), source_dir=str(root / "jsonl"),
                        seq_len=224)


def _oracle(pool, wrong_rows=()):
  """A generate function that answers each prompt with its reference (+ eos + junk); some wrongly."""
  prompts = [bytes(p).decode() for p in pool.arrays["prompt"]]
  responses = [bytes(r).decode() for r in pool.arrays["response"]]

  def generate_fn(params, prompts_BP, lengths_B):
    del params
    out = np.full((len(prompts_BP), 80), 5, np.int32)  # Junk after eos must be ignored.
    for row, (ids, length) in enumerate(zip(prompts_BP, lengths_B)):
      assert (ids[length:] == _BYTES.pad_id).all()
      index = prompts.index(_BYTES.decode(ids[:length]))
      text = responses[index]
      if index in wrong_rows:  # Off by one.
        text = re.sub(r"#### (\d+)", lambda m: f"#### {int(m.group(1)) + 1}", text)
      answer = [*_BYTES.encode(text), _BYTES.eos_id]
      out[row, :len(answer)] = answer
    return out

  return generate_fn


def test_exact_match_of_an_oracle_and_of_wrong_answers(pool):
  spec = generation_eval.prepare(pool, _BYTES, num_examples=7, batch_size=4, max_new_tokens=80,
                                 max_len=224)
  assert spec.count == 7 and spec.prompts_NP.shape[0] == 8  # Padded to whole batches.
  assert spec.prompts_NP.shape[1] == pool.arrays["prompt_length"][:7].max()
  assert generation_eval.evaluate(_oracle(pool), None, spec, _BYTES) == {"exact_match": 1.0}
  wrong = generation_eval.evaluate(_oracle(pool, wrong_rows=(0, 3)), None, spec, _BYTES)
  assert wrong == {"exact_match": pytest.approx(5 / 7)}


def test_detokenize_stops_at_eos():
  tokens = np.array([[*_BYTES.encode("#### 4"), 2, *_BYTES.encode("9")],
                     _BYTES.encode("#### 12345")[:8]])
  assert generation_eval.detokenize(tokens, _BYTES) == ["#### 4", "#### 123"]


def test_prepare_errors(pool):
  with pytest.raises(ValueError, match="exceeds the model's max_len=100"):
    generation_eval.prepare(pool, _BYTES, num_examples=4, batch_size=4, max_new_tokens=80, max_len=100)
  with pytest.raises(ValueError, match="num_examples must be positive"):
    generation_eval.prepare(pool, _BYTES, num_examples=0, batch_size=4, max_new_tokens=8)
  digits = data.Pool(name="x", split="y", arrays={"index": np.arange(2, dtype=np.int32),
                                                  "tokens": np.zeros((2, 5), np.uint8)})
  with pytest.raises(ValueError, match="needs a prompt/response pool"):
    generation_eval.prepare(digits, _BYTES, num_examples=1, batch_size=1, max_new_tokens=1)
