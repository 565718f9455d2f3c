"""Several hosts for real: 2 local processes (2 fake CPU devices each, gloo collectives) against one
process with 4 devices, and a preemption notice that reaches only one of two processes. Each process
feeds only its own rows through make_array_from_process_local_data. The tests share one uninterrupted
two-process run (one xdist group, so `make test` runs it once).

The gradient all-reduce runs through gloo in one case and inside one process in the other, so float sums
differ in their last bits; Adam turns such differences in near-zero gradients into full-size steps for a
few parameters. Hence: selections must be identical, eval metrics equal to 1e-5, and parameters equal to
within a fraction of one Adam step (the learning rate is 3e-3).
"""

import json
import pathlib
import re
import signal
import socket
import subprocess

import numpy as np
import pytest

from attent_jax import checkpoint, data
from tests.train.test_failures import (ROOT, command, environment, smoke_like_params,
                                       wait_for_checkpoint)


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def result(workdir):
  summary = json.loads((pathlib.Path(workdir) / "summary.json").read_text())
  params = checkpoint.load_params(pathlib.Path(workdir) / "final_params", smoke_like_params())
  return summary["history"], params


TEACHER = "--config.teacher.name=attent_complex"


@pytest.fixture(scope="module")
def whole_two_process_run(data_dirs, tmp_path_factory):
  """An uninterrupted two-process run (2 devices each); returns its workdir."""
  for split in ("train", "test"):  # Built here, so that the processes start alike.
    data.load_pool("sklearn_digits", split, data_dir=data_dirs[0])
  workdir = tmp_path_factory.mktemp("multi")
  _finish(_two_processes(data_dirs, workdir, TEACHER, "--config.train.checkpoint_every_steps=0"))
  return workdir


@pytest.mark.xdist_group("two_processes")
def test_two_processes_equal_one_process_on_four_devices(data_dirs, tmp_path, whole_two_process_run):
  subprocess.run(command(data_dirs, tmp_path / "single", TEACHER,
                         "--config.train.checkpoint_every_steps=0"),
                 cwd=ROOT, env=environment(4), check=True, capture_output=True)
  single_history, single_params = result(tmp_path / "single")
  multi_history, multi_params = result(whole_two_process_run)
  assert [r["selection_crc32"] for r in multi_history] == [r["selection_crc32"] for r in single_history]
  for multi, single in zip(multi_history, single_history):
    np.testing.assert_allclose(multi["eval/loss"], single["eval/loss"], rtol=1e-5)
    assert multi["eval/accuracy"] == single["eval/accuracy"]
  for a, b in zip(jax_leaves(multi_params), jax_leaves(single_params)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def jax_leaves(tree):
  import jax  # pylint: disable=g-import-not-at-top
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _two_processes(data_dirs, workdir, *extra):
  port = free_port()
  return [subprocess.Popen(command(data_dirs, workdir, *extra, f"--coordinator_address=127.0.0.1:{port}",
                                   "--num_processes=2", f"--process_id={i}"),
                           cwd=ROOT, env=environment(2), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
          for i in range(2)]


def _finish(processes):
  stderrs = []
  for process in processes:
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    stderrs.append(stderr)
  return stderrs


@pytest.mark.xdist_group("two_processes")
def test_sigterm_to_one_process_stops_both_at_the_same_step_and_resumes_exactly(
    data_dirs, tmp_path, whole_two_process_run):
  """Only process 1 gets SIGTERM; both agree on one step, save it together and exit cleanly; the
  re-run resumes from it and ends bit-identical to an uninterrupted two-process run."""
  processes = _two_processes(data_dirs, tmp_path / "stopped", TEACHER)
  wait_for_checkpoint(tmp_path / "stopped", 3, processes[0])
  processes[1].send_signal(signal.SIGTERM)
  stderrs = _finish(processes)
  stopped_at = [re.findall(r"stopping at step (\d+) \(SIGTERM", stderr) for stderr in stderrs]
  assert stopped_at[0] and stopped_at[0] == stopped_at[1], stopped_at
  assert not (tmp_path / "stopped" / "summary.json").exists()
  saved = checkpoint.Checkpointer(tmp_path / "stopped", fingerprint={}).latest_step()
  assert saved == int(stopped_at[0][0])
  _finish(_two_processes(data_dirs, tmp_path / "stopped", TEACHER))
  whole_history, whole_params = result(whole_two_process_run)
  resumed_history, resumed_params = result(tmp_path / "stopped")
  assert [r["selection_crc32"] for r in resumed_history] == [r["selection_crc32"] for r in whole_history]
  for a, b in zip(jax_leaves(resumed_params), jax_leaves(whole_params)):
    np.testing.assert_array_equal(a, b)
