"""Exact match of a final numeric answer, GSM8K style: the number after `####` in a generation.

    parse_answer("3 + 4 = 7\\n#### 7")          -> "7"
    parse_answer("#### -1,234.50")              -> "-1234.5"
    parse_answer("no marker here")              -> None
    is_match("... #### 7.0", "... #### 7")     -> True

Rules: the first marker wins (`####`, or, when a text has no `####`, MetaMathQA's "The answer is:"), and
only its first occurrence counts; the number right after it may carry a sign, a `$`, thousands commas and
a decimal part; numbers compare by value (7.0 == 7). A generation without a parsable answer never matches.
Pure Python; no jax.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Sequence

MARKERS = ("####", "The answer is:")
_NUMBER = re.compile(r"\s*([-+]?)\s*\$?\s*(\d[\d,]*(?:\.\d+)?|\.\d+)")


def parse_answer(text: str, markers: Sequence[str] = MARKERS) -> str | None:
  """The canonical number after the first present marker ("-1234.5", "7"), or None if there is none."""
  for marker in markers:
    position = text.find(marker)
    if position < 0:
      continue
    match = _NUMBER.match(text, position + len(marker))
    if match is None:
      return None
    sign, digits = match.groups()
    value = decimal.Decimal(digits.replace(",", ""))
    if sign == "-":
      value = -value
    if value == 0:
      return "0"
    return format(value.normalize(), "f")
  return None


def is_match(generation: str, reference: str) -> bool:
  """True when both texts carry an answer and the two numbers are equal."""
  expected = parse_answer(reference)
  if expected is None:
    raise ValueError(f"reference has no final answer after '####': {reference[-80:]!r}")
  return parse_answer(generation) == expected


def exact_match_rate(generations: Sequence[str], references: Sequence[str]) -> float:
  """The fraction of generations whose answer equals their reference's (0 for no examples)."""
  if len(generations) != len(references):
    raise ValueError(f"{len(generations)} generations for {len(references)} references")
  if not generations:
    return 0.0
  return sum(is_match(g, r) for g, r in zip(generations, references)) / len(generations)
