"""The ANTK eigenspectra notebook: paired with its jupytext script, committed with the outputs of a
"small" run (figures included, the file kept small), and runs end to end at smoke size from its own
folder (nbclient, a fresh kernel; the committed file is read, never rewritten)."""

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


def test_notebook_is_paired_with_its_script_and_ships_its_small_run():
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  script = jupytext.read(SCRIPT)
  assert [(c.cell_type, c.source) for c in notebook.cells] == [
      (c.cell_type, c.source) for c in script.cells], "re-run: jupytext --sync " + str(SCRIPT)
  outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
  printed = "".join(output.get("text", "") for output in outputs)
  figures = [output for output in outputs if "image/png" in output.get("data", {})]
  assert "size=small" in printed and "converged=True" in printed
  assert len(figures) == 4  # kernels, matrix-free spectra, drift, NTK-guided scores
  assert not any(output.get("output_type") == "error" for output in outputs)
  assert NOTEBOOK.stat().st_size < 1_000_000


def test_notebook_runs_at_smoke_size(monkeypatch):
  kernel_env = {
      "ANTK_NOTEBOOK_SIZE": "smoke", "XLA_FLAGS": FAST_COMPILE, "JAX_PLATFORMS": "cpu",
      "MPLBACKEND": "Agg",
      # `make` installs the package into .venv; the path also covers a checkout where it is not.
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
  for cell in notebook.cells:  # Start from a clean slate: no output of the committed run can pass.
    if cell.cell_type == "code":
      cell.outputs, cell.execution_count = [], None
  NotebookClient(notebook, timeout=300, kernel_name="python3",
                 resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
  printed = "".join(output.get("text", "") for cell in notebook.cells
                    for output in cell.get("outputs", []))
  assert "size=smoke" in printed
  assert "auto picks 'jacobian'" in printed
  assert "converged=True" in printed
