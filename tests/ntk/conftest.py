"""Fixtures for the ANTK tests: tiny-transformer parameters, two batches, their dense Jacobians."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.ntk.ntk_tiny_models import dense_jacobian, init_tiny_transformer, make_batch


@pytest.fixture(scope="session")
def params() -> dict:
  return init_tiny_transformer(0)


@pytest.fixture(scope="session")
def batch1() -> dict:
  return make_batch(1, 5)


@pytest.fixture(scope="session")
def batch2() -> dict:
  return make_batch(2, 4)


@pytest.fixture(scope="session")
def jacobians(params, batch1, batch2) -> tuple[np.ndarray, np.ndarray]:
  """Dense Jacobians of batch1 [5, L, C, P] and batch2 [4, L, C, P], from one compile."""
  both = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), batch1, batch2)
  jac = np.asarray(dense_jacobian(params, both))
  return jac[:5], jac[5:]
