"""The ANTK eigenspectra notebook: paired with its jupytext script, committed without outputs, and
runs end to end at smoke size (nbclient, a fresh kernel)."""

import os
import pathlib

import jax
import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "antk_eigenspectra.ipynb"
SCRIPT = ROOT / "notebooks" / "antk_eigenspectra.py"
# The smoke run is dominated by XLA compiles; cheaper LLVM passes make them ~30% faster and do not
# change results.
FAST_COMPILE = "--xla_llvm_disable_expensive_passes=true --xla_backend_optimization_level=0"


def test_notebook_is_paired_with_its_script_and_has_no_outputs():
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  script = jupytext.read(SCRIPT)
  assert [(c.cell_type, c.source) for c in notebook.cells] == [
      (c.cell_type, c.source) for c in script.cells], "re-run: jupytext --sync " + str(SCRIPT)
  assert not any(c.get("outputs") or c.get("execution_count") for c in notebook.cells)


def test_notebook_runs_at_smoke_size(monkeypatch):
  kernel_env = {
      "ANTK_NOTEBOOK_SIZE": "smoke", "XLA_FLAGS": FAST_COMPILE, "JAX_PLATFORMS": "cpu",
      "MPLBACKEND": "Agg",
      "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
  }
  cache_dir = jax.config.jax_compilation_cache_dir  # the test session's persistent cache, if any
  if cache_dir:
    kernel_env.update(JAX_COMPILATION_CACHE_DIR=cache_dir,
                      JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                      JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
  for name, value in kernel_env.items():
    monkeypatch.setenv(name, value)
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  NotebookClient(notebook, timeout=300, kernel_name="python3",
                 resources={"metadata": {"path": str(ROOT)}}).execute()
  printed = "".join(output.get("text", "") for cell in notebook.cells
                    for output in cell.get("outputs", []))
  assert "size=smoke" in printed
  assert "auto picks 'jacobian'" in printed
  assert "converged=True" in printed
