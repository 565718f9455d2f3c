"""Checks shared by the model config dataclasses, and the two run-time arguments every model resolves.

Configs call these from `__post_init__` so a bad field fails when the config is made, with a
ValueError that names the field. Pure Python plus jax.numpy dtypes; no flax.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from attent_jax.checks import require_choice  # noqa: F401  (re-exported for the configs)

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def require_positive(**fields: int | float) -> None:
  """Raises ValueError naming the first field that is not > 0 (booleans are not numbers here)."""
  for name, value in fields.items():
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
      raise ValueError(f"{name} must be a positive number, got {value!r}")


def require_divisible(name: str, value: int, by_name: str, by: int) -> None:
  """Raises ValueError if `value` (field `name`) is not a multiple of `by` (field `by_name`)."""
  if value % by:
    raise ValueError(f"{name}={value} must be divisible by {by_name}={by}")


def require_dropout(value: float, name: str = "dropout") -> None:
  """Raises ValueError unless 0 <= value < 1."""
  if not 0.0 <= value < 1.0:
    raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def require_dtype(value: str, name: str = "dtype") -> None:
  """Raises ValueError unless `value` names a supported compute dtype ("float32" or "bfloat16")."""
  require_choice(name, value, COMPUTE_DTYPES)


def compute_dtype(name: str) -> jnp.dtype:
  """The jnp dtype for a validated compute-dtype name. Parameters always stay float32."""
  return jnp.dtype(COMPUTE_DTYPES[name])


def dropout_rngs(train: bool, rng: jax.Array | None) -> dict[str, jax.Array]:
  """The `rngs` dict for a flax apply: {"dropout": rng} when training, {} otherwise.

  Raises ValueError when train=True and no rng is given: a training pass is never silently
  deterministic. An rng passed with train=False is ignored (no dropout at inference).
  """
  if not train:
    return {}
  if rng is None:
    raise ValueError("train=True needs an rng (a jax.random key) for dropout; pass rng=...")
  return {"dropout": rng}
