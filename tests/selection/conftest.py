"""Fixtures for the selection tests (8 fake CPU devices come from tests/conftest.py)."""

import jax
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P


@pytest.fixture(scope="session")
def data_sharding():
  """NamedSharding over an 8-device `data` axis (Explicit mode, jax.make_mesh's default)."""
  assert jax.device_count() == 8, "tests/conftest.py should provide 8 fake CPU devices"
  return NamedSharding(jax.make_mesh((8,), ("data",)), P("data"))
