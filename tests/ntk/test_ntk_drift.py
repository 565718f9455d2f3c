"""Kernel drift, the DriftRecorder training callback, and the JSON/PNG report of its history."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import ntk
from experiments import antk_report as ntk_report
from tests.ntk.ntk_tiny_models import tiny_transformer

LABELS = jnp.array([0, 1, 0, 1, 1])


def test_relative_drift():
  k0 = jnp.array([[2.0, 0.0], [0.0, 2.0]])
  assert float(ntk.relative_drift(k0, k0)) == 0.0
  assert float(ntk.relative_drift(1.5 * k0, k0)) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def recorded(params, batch1):
  """A recorder called at init and after moving the parameters; its two metric dicts."""
  recorder = ntk.DriftRecorder(batch1, labels=LABELS, top_k=3)
  first = recorder(0, 0, params, tiny_transformer)
  moved = jax.tree.map(lambda p: 1.1 * p, params)
  second = recorder(7, 1, moved, tiny_transformer)
  return recorder, first, second, moved


def test_drift_recorder_records_kernel_statistics(recorded, jacobians):
  recorder, first, second, moved = recorded
  expected = np.einsum("ilcp,jlcp->ij", jacobians[0], jacobians[0])  # traced over L and C
  np.testing.assert_allclose(recorder.kernel_0, expected, rtol=2e-5, atol=2e-5)
  assert first["antk/drift"] == 0.0
  assert set(first) == {"antk/drift", "antk/trace", "antk/effective_rank", "antk/alignment",
                        "antk/eig_1", "antk/eig_2", "antk/eig_3"}
  assert first["antk/trace"] == pytest.approx(np.trace(expected), rel=1e-5)
  assert first["antk/eig_1"] == pytest.approx(np.linalg.eigvalsh(expected)[-1], rel=1e-4)

  kernel_t = recorder.kernel(moved, tiny_transformer)
  assert second["antk/drift"] == pytest.approx(
      float(ntk.relative_drift(kernel_t, expected)), rel=1e-4)
  assert second["antk/drift"] > 0.01
  assert second["antk/alignment"] == pytest.approx(
      float(ntk.kernel_target_alignment(kernel_t, LABELS)), rel=1e-5)

  arrays = recorder.as_arrays()
  np.testing.assert_array_equal(arrays["step"], [0, 7])
  np.testing.assert_array_equal(arrays["epoch"], [0, 1])
  assert arrays["eigenvalues"].shape == (2, 5)
  assert np.all(np.diff(arrays["eigenvalues"], axis=1) <= 0)  # largest first
  assert len(recorder.history) == 2


def test_save_report_writes_numbers_and_plots(recorded, tmp_path):
  recorder = recorded[0]
  unlabelled = ntk.DriftRecorder(recorder.probe)  # the same records, as if without labels
  unlabelled._history = [dataclasses.replace(r, alignment=None) for r in recorder.history]
  numbers = ntk_report.save_report({"teacher": recorder, "full_data": unlabelled}, tmp_path)
  on_disk = json.loads((tmp_path / "antk_spectrum.json").read_text())
  assert on_disk == numbers
  assert on_disk["teacher"]["drift"] == pytest.approx(recorder.as_arrays()["drift"].tolist())
  assert on_disk["full_data"]["alignment"] == [None, None]
  assert len(on_disk["teacher"]["eigenvalues"]) == 2
  for name in ("antk_drift.png", "antk_spectra.png"):
    assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
