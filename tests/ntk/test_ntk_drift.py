"""Kernel drift and the DriftRecorder training callback."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.ntk.ntk_tiny_models import tiny_transformer

from attent_jax import ntk


def test_relative_drift():
  k0 = jnp.array([[2.0, 0.0], [0.0, 2.0]])
  assert float(ntk.relative_drift(k0, k0)) == 0.0
  assert float(ntk.relative_drift(1.5 * k0, k0)) == pytest.approx(0.5)


def test_drift_recorder_records_kernel_statistics(params, batch1, jacobians):
  labels = jnp.array([0, 1, 0, 1, 1])
  recorder = ntk.DriftRecorder(batch1, labels=labels, top_k=3)
  first = recorder(0, 0, params, tiny_transformer)
  expected = np.einsum("ilcp,jlcp->ij", jacobians[0], jacobians[0])  # traced over L and C
  np.testing.assert_allclose(recorder.kernel_0, expected, rtol=2e-5, atol=2e-5)
  assert first["antk/drift"] == 0.0
  assert set(first) == {"antk/drift", "antk/trace", "antk/effective_rank", "antk/alignment",
                        "antk/eig_1", "antk/eig_2", "antk/eig_3"}
  assert first["antk/trace"] == pytest.approx(np.trace(expected), rel=1e-5)
  assert first["antk/eig_1"] == pytest.approx(np.linalg.eigvalsh(expected)[-1], rel=1e-4)

  moved = jax.tree.map(lambda p: 1.1 * p, params)
  second = recorder(7, 1, moved, tiny_transformer)
  kernel_t = recorder.kernel(moved, tiny_transformer)
  assert second["antk/drift"] == pytest.approx(
      float(ntk.relative_drift(kernel_t, expected)), rel=1e-4)
  assert second["antk/drift"] > 0.01
  assert 0.0 < second["antk/alignment"] <= 1.0

  arrays = recorder.as_arrays()
  np.testing.assert_array_equal(arrays["step"], [0, 7])
  np.testing.assert_array_equal(arrays["epoch"], [0, 1])
  assert arrays["eigenvalues"].shape == (2, 5)
  assert np.all(np.diff(arrays["eigenvalues"], axis=1) <= 0)  # largest first
  assert len(recorder.history) == 2
