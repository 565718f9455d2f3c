"""Seeded arithmetic word problems in GSM8K's answer format: the offline stand-in for MetaMathQA/GSM8K.

    prompt:   "Mia has 7 pens. Mia gets 5 more. Mia gives away 3. How many pens now?"
    response: "7 + 5 = 12\n12 - 3 = 9\n#### 9"

Each problem has 1 to 4 steps (add, take away, double or triple), one reasoning line per step, then
`#### <answer>`. Difficulty varies on two axes, drawn per problem: the number of steps (1 to 4, in
proportions 4:3:2:1), and the size of the numbers (level "small": operands 1-9, "medium": 2-30, "large":
10-99, in proportions 5:3:2; every value stays in 1..999). Easy problems are the most common so that a
small model trained for minutes on a CPU gets a measurable share right; the hard ones keep it honest.
Generation is pure Python seeded by (seed, split), so it is identical on every machine. The test split
holds no prompt that the train split holds.

`ArithmeticProblems` is the tfds builder ({"prompt", "response": text, "index": int32}); `write_jsonl`
writes the same problems as MetaMathQA-style {"query", "response"} lines.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import random

import tensorflow_datasets as tfds

from attent_jax.data.builders import sft_jsonl

NAMES = ("Ava", "Ben", "Cara", "Dan", "Eli", "Fay", "Gus", "Ivy", "Jo", "Kim", "Leo", "Mia", "Ned",
         "Ola", "Pia", "Sam", "Tom", "Uma", "Vic", "Zoe")
ITEMS = ("apples", "pens", "cards", "coins", "books", "shells", "eggs", "cups", "stamps", "beads")
LEVELS = {"small": (1, 9), "medium": (2, 30), "large": (10, 99)}
LEVEL_WEIGHTS = {"small": 5, "medium": 3, "large": 2}
STEP_WEIGHTS = {1: 4, 2: 3, 3: 2, 4: 1}  # Easy problems are the most common, as a curriculum would have.
MAX_VALUE = 999
SPLITS = ("train", "test")
_ADD_VERBS = ("gets {b} more", "finds {b} more", "buys {b} more")
_SUB_VERBS = ("gives away {b}", "loses {b}", "sells {b}")
_MULTIPLIERS = {2: "doubles them", 3: "triples them"}


@dataclasses.dataclass(frozen=True)
class Problem:
  prompt: str
  response: str
  answer: int
  steps: int
  level: str


def _step(rng: random.Random, value: int, low: int, high: int) -> tuple[str, str, int]:
  """One operation on `value`: (sentence tail, reasoning line, new value); results stay in 1..999."""
  choices = []
  if value + low <= MAX_VALUE:
    choices.append("add")
  if value > 1:
    choices.append("sub")
  if value * 2 <= MAX_VALUE:
    choices.append("mul")
  operation = rng.choice(choices)
  if operation == "add":
    b = rng.randint(low, min(high, MAX_VALUE - value))
    return rng.choice(_ADD_VERBS).format(b=b), f"{value} + {b} = {value + b}", value + b
  if operation == "sub":
    b = rng.randint(1, min(high, value - 1))
    return rng.choice(_SUB_VERBS).format(b=b), f"{value} - {b} = {value - b}", value - b
  factor = rng.choice([k for k in _MULTIPLIERS if value * k <= MAX_VALUE])
  return _MULTIPLIERS[factor], f"{value} * {factor} = {value * factor}", value * factor


def make_problem(rng: random.Random) -> Problem:
  """One problem with a random number of steps (1-4) and number size level (see the module docstring)."""
  steps = rng.choices(list(STEP_WEIGHTS), weights=list(STEP_WEIGHTS.values()))[0]
  level = rng.choices(list(LEVEL_WEIGHTS), weights=list(LEVEL_WEIGHTS.values()))[0]
  low, high = LEVELS[level]
  name, item = rng.choice(NAMES), rng.choice(ITEMS)
  value = rng.randint(low, high)
  sentences, lines = [f"{name} has {value} {item}."], []
  for _ in range(steps):
    tail, line, value = _step(rng, value, low, high)
    sentences.append(f"{name} {tail}.")
    lines.append(line)
  sentences.append(f"How many {item} now?")
  return Problem(prompt=" ".join(sentences), response="\n".join([*lines, f"#### {value}"]),
                 answer=value, steps=steps, level=level)


def generate(seed: int, split: str, count: int, exclude: frozenset[str] = frozenset()) -> list[Problem]:
  """`count` problems of `split`, seeded by (seed, split); prompts in `exclude` are skipped."""
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
  if count <= 0:
    raise ValueError(f"count must be positive, got {count}")
  rng = random.Random(f"arithmetic-problems/{seed}/{split}")
  problems = []
  while len(problems) < count:
    problem = make_problem(rng)
    if problem.prompt not in exclude:
      problems.append(problem)
  return problems


def generate_splits(seed: int, train_size: int, test_size: int) -> dict[str, list[Problem]]:
  """Both splits; the test split holds no prompt of the train split."""
  train = generate(seed, "train", train_size)
  test = generate(seed, "test", test_size, exclude=frozenset(p.prompt for p in train))
  return {"train": train, "test": test}


def write_jsonl(path: str | pathlib.Path, problems: list[Problem]) -> None:
  """MetaMathQA-style lines {"query": prompt, "response": response} (readable by `sft_jsonl`)."""
  lines = [json.dumps({"query": p.prompt, "response": p.response}) for p in problems]
  pathlib.Path(path).write_text("\n".join(lines) + "\n")


@dataclasses.dataclass
class ArithmeticProblemsConfig(tfds.core.BuilderConfig):
  seed: int = 0
  train_size: int = 20000
  test_size: int = 1000


class ArithmeticProblems(sft_jsonl.PromptResponseBuilder):
  """Prompt/response pairs: {"prompt": text, "response": text, "index": int32}."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [ArithmeticProblemsConfig(name="default")]

  def _split_generators(self, dl_manager):
    del dl_manager
    config = self.builder_config
    splits = generate_splits(config.seed, config.train_size, config.test_size)
    return {split: self._generate_examples((p.prompt, p.response) for p in problems)
            for split, problems in splits.items()}
