"""Checkpoints: round trip, a corrupt newest step falls back to the previous one, nothing non-finite."""

import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import checkpoint


def tree(value):
  return {"w": jnp.full((3, 2), value, jnp.float32), "step": jnp.int32(7), "n": np.arange(4)}


def test_round_trip_and_fallback_from_a_corrupt_newest_step(tmp_path):
  saver = checkpoint.Checkpointer(tmp_path, fingerprint={"model": "a"})
  saver.save(1, tree(1.0), {"epoch": 1})
  saver.save(2, tree(2.0), {"epoch": 2})
  restored, meta = saver.restore(tree(0.0))
  assert meta["epoch"] == 2 and float(restored["w"][0, 0]) == 2.0
  saver.close()
  # Corrupt step 2's array data: restore must warn, move it aside, and use step 1.
  for path in (tmp_path / "checkpoints" / "2" / "state").rglob("*"):
    if path.is_file() and "manifest" in path.name:
      path.write_bytes(b"garbage")
  again = checkpoint.Checkpointer(tmp_path, fingerprint={"model": "a"})
  restored, meta = again.restore(tree(0.0))
  assert meta["epoch"] == 1 and float(restored["w"][0, 0]) == 1.0
  assert (tmp_path / "checkpoints_corrupt" / "2").is_dir()
  again.save(2, tree(3.0), {"epoch": 2})  # The step number is free again.
  assert again.latest_step() == 2


def test_half_written_metadata_falls_back(tmp_path):
  saver = checkpoint.Checkpointer(tmp_path, fingerprint={})
  saver.save(5, tree(5.0), {"epoch": 5})
  saver.save(6, tree(6.0), {"epoch": 6})
  saver.close()
  (pathlib.Path(tmp_path) / "checkpoints" / "6" / "meta" / "metadata").write_text("{truncated")
  restored, meta = checkpoint.Checkpointer(tmp_path, fingerprint={}).restore(tree(0.0))
  assert meta["epoch"] == 5


def test_non_finite_values_are_never_written(tmp_path):
  saver = checkpoint.Checkpointer(tmp_path, fingerprint={})
  saver.save(1, tree(1.0), {})
  with pytest.raises(checkpoint.NonFiniteError, match="step 2"):
    saver.save(2, tree(float("nan")), {})
  assert saver.latest_step() == 1


def test_checkpoint_of_a_different_model_is_a_clear_error(tmp_path):
  checkpoint.Checkpointer(tmp_path, fingerprint={"model": "vit"}).save(1, tree(1.0), {})
  with pytest.raises(checkpoint.IncompatibleCheckpointError, match="different model"):
    checkpoint.Checkpointer(tmp_path, fingerprint={"model": "gpt"}).restore(tree(0.0))


def test_params_save_and_load(tmp_path):
  checkpoint.save_params(tmp_path / "p", tree(4.0))
  loaded = checkpoint.load_params(tmp_path / "p", tree(0.0))
  np.testing.assert_array_equal(loaded["w"], tree(4.0)["w"])


def test_read_saved_without_a_template(tmp_path):
  assert checkpoint.saved_steps(tmp_path) == []
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    checkpoint.read_saved(tmp_path)
  saver = checkpoint.Checkpointer(tmp_path, fingerprint={})
  saver.save(3, tree(3.0), {})
  saver.save(4, tree(4.0), {})
  saver.close()
  assert checkpoint.saved_steps(tmp_path) == [3, 4]
  step, restored = checkpoint.read_saved(tmp_path)
  assert step == 4
  np.testing.assert_array_equal(restored["w"], tree(4.0)["w"])
  np.testing.assert_array_equal(restored["n"], np.arange(4))
  assert float(checkpoint.read_saved(tmp_path, 3)[1]["w"][0, 0]) == 3.0
  with pytest.raises(FileNotFoundError, match="saved: \\[3, 4\\]"):
    checkpoint.read_saved(tmp_path, 5)
