"""Several hosts for real: 2 local processes (2 fake CPU devices each, gloo collectives) against one
process with 4 devices. Each process feeds only its own rows through make_array_from_process_local_data.

The gradient all-reduce runs through gloo in one case and inside one process in the other, so float sums
differ in their last bits; Adam turns such differences in near-zero gradients into full-size steps for a
few parameters. Hence: selections must be identical, eval metrics equal to 1e-5, and parameters equal to
within a fraction of one Adam step (the learning rate is 3e-3).
"""

import json
import pathlib
import socket
import subprocess

import numpy as np

from attent_jax import checkpoint
from tests.train.test_failures import ROOT, command, environment, smoke_like_params


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def result(workdir):
  summary = json.loads((pathlib.Path(workdir) / "summary.json").read_text())
  params = checkpoint.load_params(pathlib.Path(workdir) / "final_params", smoke_like_params())
  return summary["history"], params


def test_two_processes_equal_one_process_on_four_devices(data_dirs, tmp_path):
  extra = ["--config.teacher.name=attent_complex", "--config.train.checkpoint_every_steps=0"]
  subprocess.run(command(data_dirs, tmp_path / "single", *extra), cwd=ROOT, env=environment(4),
                 check=True, capture_output=True)
  port = free_port()
  processes = [
      subprocess.Popen(command(data_dirs, tmp_path / "multi", *extra,
                               f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2",
                               f"--process_id={i}"),
                       cwd=ROOT, env=environment(2), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
      for i in range(2)]
  for process in processes:
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
  single_history, single_params = result(tmp_path / "single")
  multi_history, multi_params = result(tmp_path / "multi")
  assert [r["selection_crc32"] for r in multi_history] == [r["selection_crc32"] for r in single_history]
  for multi, single in zip(multi_history, single_history):
    np.testing.assert_allclose(multi["eval/loss"], single["eval/loss"], rtol=1e-5)
    assert multi["eval/accuracy"] == single["eval/accuracy"]
  for a, b in zip(jax_leaves(multi_params), jax_leaves(single_params)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def jax_leaves(tree):
  import jax  # pylint: disable=g-import-not-at-top
  return [np.asarray(x) for x in jax.tree.leaves(tree)]
