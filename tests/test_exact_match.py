"""Exact match: the number after the first `####`, commas, signs, decimals; no answer never matches."""

import pytest

from attent_jax.exact_match import exact_match_rate, is_match, parse_answer


@pytest.mark.parametrize("text, expected", [
    ("3 + 4 = 7\n#### 7", "7"),
    ("#### 1,234", "1234"),
    ("####-5", "-5"),
    ("#### - 5", "-5"),
    ("#### +5", "5"),
    ("#### $1,000.50 dollars", "1000.5"),
    ("#### 3.0", "3"),
    ("#### .5", "0.5"),
    ("#### -0", "0"),
    ("#### 12.\nmore text", "12"),
    ("#### 7 #### 9", "7"),            # The first #### wins.
    ("The answer is: 18", "18"),       # MetaMathQA's ending, when there is no ####.
    ("The answer is: 3\n#### 4", "4"),  # #### is preferred to it.
    ("no marker at all 42", None),
    ("#### seven", None),
    ("#### ", None),
    ("", None),
])
def test_parse_answer(text, expected):
  assert parse_answer(text) == expected


def test_is_match_compares_values():
  assert is_match("1 + 1 = 2\n#### 2.00", "#### 2")
  assert is_match("#### 1,000", "#### 1000")
  assert not is_match("#### -2", "#### 2")
  assert not is_match("2", "#### 2")  # A generation without #### never matches.
  with pytest.raises(ValueError, match="reference has no final answer"):
    is_match("#### 2", "2")


def test_exact_match_rate():
  assert exact_match_rate(["#### 1", "#### 3", "oops"], ["#### 1", "#### 2", "#### 3"]) == 1 / 3
  assert exact_match_rate([], []) == 0.0
  with pytest.raises(ValueError, match="2 generations for 1 references"):
    exact_match_rate(["a", "b"], ["#### 1"])
