"""Argument checks shared by every layer (`selection`, `models`, configs): pure Python, no imports.

Each raises ValueError naming the field and what it allows, and returns the checked value, so that a
bad argument fails before anything is traced or compiled.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable


def require_choice(name: str, value, choices: Iterable):
  """Returns `value`, or raises ValueError naming `name` and the allowed `choices`."""
  choices = tuple(choices)
  if value not in choices:
    raise ValueError(f"{name} must be one of {choices}, got {value!r}")
  return value


def require_int(name: str, value, minimum: int) -> int:
  """Returns `value` as an int, or raises ValueError unless it is an integer >= `minimum`."""
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
  return int(value)


def require_ratio(name: str, value) -> float:
  """Returns `value` as a float, or raises ValueError unless it is a number in (0, 1]."""
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
  if not 0.0 < float(value) <= 1.0:
    raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
  return float(value)
