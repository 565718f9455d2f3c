"""Failure and resume: SIGKILL at random steps, SIGTERM, and non-finite losses."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from attent_jax import checkpoint, experiment, tasks, train
from attent_jax.configs import vit_digits
from tests.offline_data import smoke_config

ROOT = pathlib.Path(__file__).parents[2]


def command(data_dirs, workdir, *extra):
  tfds_dir, _, _ = data_dirs
  return [sys.executable, "-m", "experiments.train", "--config=attent_jax/configs/vit_digits.py:smoke",
          f"--workdir={workdir}", f"--config.data.data_dir={tfds_dir}", "--config.train.epochs=4",
          "--config.train.checkpoint_every_steps=1", *extra]


def environment(devices=8):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             JAX_PLATFORMS="cpu", JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
  env["JAX_COMPILATION_CACHE_DIR"] = str(jax.config.jax_compilation_cache_dir)
  return env


def final_state(workdir):
  summary = json.loads((pathlib.Path(workdir) / "summary.json").read_text())
  like = smoke_like_params()
  params = checkpoint.load_params(pathlib.Path(workdir) / "final_params", like)
  return [r["selection_crc32"] for r in summary["history"]], jax.tree.leaves(params)


def smoke_like_params():
  from attent_jax import experiment  # pylint: disable=g-import-not-at-top
  config = vit_digits.get_config("smoke")
  return experiment.build_task(config).params


def wait_for_checkpoint(workdir, step, process, timeout=240):
  """Waits until checkpoint `step` or later exists (the run is then past step `step`)."""
  directory = pathlib.Path(workdir) / "checkpoints"
  deadline = time.time() + timeout
  while time.time() < deadline:
    steps = [int(p.name) for p in directory.glob("*") if p.name.isdigit()] if directory.is_dir() else []
    if steps and max(steps) >= step:
      return max(steps)
    assert process.poll() is None, "the run ended before it could be killed"
    time.sleep(0.05)
  raise TimeoutError(f"no checkpoint {step} in {workdir}")


def test_sigkill_at_random_steps_then_resume_is_bit_identical(data_dirs, tmp_path):
  env = environment()
  subprocess.run(command(data_dirs, tmp_path / "whole"), cwd=ROOT, env=env, check=True,
                 capture_output=True)
  expected_crcs, expected_params = final_state(tmp_path / "whole")
  rng = np.random.default_rng(int(time.time()))
  kill_steps = sorted(rng.choice(np.arange(2, 16), size=2, replace=False).tolist())
  for kill_step in kill_steps:  # Two kills in the same workdir, at different steps.
    process = subprocess.Popen(command(data_dirs, tmp_path / "killed"), cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
      wait_for_checkpoint(tmp_path / "killed", kill_step, process)
    finally:
      process.send_signal(signal.SIGKILL)
      process.wait()
  subprocess.run(command(data_dirs, tmp_path / "killed"), cwd=ROOT, env=env, check=True,
                 capture_output=True)
  crcs, params = final_state(tmp_path / "killed")
  assert crcs == expected_crcs, f"selections differ after kills at steps {kill_steps}"
  for a, b in zip(params, expected_params):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_sigterm_checkpoints_before_exit(data_dirs, tmp_path):
  process = subprocess.Popen(command(data_dirs, tmp_path), cwd=ROOT, env=environment(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  wait_for_checkpoint(tmp_path, 3, process)
  process.send_signal(signal.SIGTERM)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 0, stderr[-2000:]
  assert "SIGTERM" in stderr
  assert not (tmp_path / "summary.json").exists()  # Stopped early: not finished.
  saved = checkpoint.Checkpointer(tmp_path, fingerprint={}).latest_step()
  assert saved is not None and saved >= 3


def test_non_finite_loss_stops_with_the_step_and_examples(data_dirs, tmp_path, monkeypatch):
  original = tasks.Task.losses_from_outputs
  config = smoke_config(vit_digits, data_dirs, epochs=2, log_every_steps=1, checkpoint_every_steps=1)
  config.teacher.name = "full_data"
  # An example of the second batch, so that a good checkpoint exists before it (the loop's seed).
  exp = experiment.build(config)
  _, plan = exp.teacher.next_epoch(exp.teacher.init(
      jax.random.fold_in(jax.random.key(config.seed), 0x7EAC)))
  indices, mask, _ = list(plan.batches(config.train.batch_size))[1]
  poisoned_example = int(indices[mask][0])

  def poisoned(self, outputs, batch):
    losses = original(self, outputs, batch)
    return jax.numpy.where(batch["index"] == poisoned_example, jax.numpy.nan, losses)

  monkeypatch.setattr(tasks.Task, "losses_from_outputs", poisoned)
  with pytest.raises(train.NonFiniteLossError, match=rf"\[{poisoned_example}\]") as error:
    train.run(config, tmp_path, progress=False)
  failing_step = int(re.search(r"at step (\d+)", str(error.value)).group(1))
  # The last good checkpoint stays; nothing from the failing step on was written.
  saver = checkpoint.Checkpointer(tmp_path, fingerprint={})
  assert saver.latest_step() == failing_step - 1
  assert failing_step > 1
