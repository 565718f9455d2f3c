"""The offline arithmetic word problems: seeded, GSM8K's answer format, varied difficulty, disjoint splits."""

import collections
import re

import numpy as np

from attent_jax import data
from attent_jax.data import sft
from attent_jax.data.builders import arithmetic_problems as ap
from attent_jax.exact_match import parse_answer


def test_generation_is_deterministic_and_seeded():
  assert ap.generate(0, "train", 50) == ap.generate(0, "train", 50)
  assert ap.generate(0, "train", 50) != ap.generate(1, "train", 50)
  assert ap.generate(0, "train", 50) != ap.generate(0, "test", 50)


def test_answers_follow_the_reasoning_lines_in_gsm8k_format():
  problems = ap.generate(3, "train", 400)
  for problem in problems:
    *lines, final = problem.response.split("\n")
    assert final == f"#### {problem.answer}" and parse_answer(problem.response) == str(problem.answer)
    assert len(lines) == problem.steps and problem.prompt.count(".") == problem.steps + 1
    value = int(re.match(r"\S+ has (\d+) ", problem.prompt).group(1))
    for line in lines:  # Each line applies one step to the running value and is arithmetically right.
      left, op, right, _, result = line.split(" ")
      assert int(left) == value
      value = {"+": int(left) + int(right), "-": int(left) - int(right),
               "*": int(left) * int(right)}[op]
      assert value == int(result) and 1 <= value <= ap.MAX_VALUE
    assert value == problem.answer
  # Difficulty varies: every step count and number-size level occurs.
  assert set(collections.Counter(p.steps for p in problems)) == {1, 2, 3, 4}
  assert set(collections.Counter(p.level for p in problems)) == set(ap.LEVELS)


def test_splits_are_disjoint_and_jsonl_round_trips(tmp_path):
  splits = ap.generate_splits(0, train_size=300, test_size=100)
  assert not {p.prompt for p in splits["train"]} & {p.prompt for p in splits["test"]}
  ap.write_jsonl(tmp_path / "test.jsonl", splits["test"])
  assert sft.read_jsonl(tmp_path / "test.jsonl") == [(p.prompt, p.response) for p in splits["test"]]


def test_builder_pool_matches_the_generator(data_dirs):
  pool = data.load_pool("arithmetic_problems", "test", data_dir=data_dirs[0], seq_len=224, limit=64)
  problems = ap.generate_splits(0, 20000, 1000)["test"][:64]
  assert pool.size == 64 and pool.kind == "tokens"
  assert [bytes(p).decode() for p in pool.arrays["prompt"]] == [p.prompt for p in problems]
  assert pool.arrays["response_mask"].sum() == sum(len(p.response) + 1 for p in problems)
  np.testing.assert_array_equal(pool.arrays["index"], np.arange(64))
