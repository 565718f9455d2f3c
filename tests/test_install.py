"""The core install is light: `pip install .` needs jax and numpy only, and the teacher (`selection`) and
the kernel tools (`ntk`) import nothing else. Every declared dependency is pinned in requirements.txt."""

import pathlib
import re
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE_MODULES = ("attent_jax", "attent_jax.selection", "attent_jax.ntk")
# Top-level modules of the [train] extra (and what it pulls in): none may load with the core.
HEAVY = ("flax", "optax", "chex", "orbax", "tensorflow_datasets", "tensorflow", "array_record",
         "etils", "ml_collections", "absl", "tensorboardX", "matplotlib", "tqdm", "safetensors",
         "sklearn", "grain", "tensorstore", "pyarrow", "IPython")


def _project():
  return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
  return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins() -> dict[str, str]:
  pins = {}
  for line in (ROOT / "requirements.txt").read_text().splitlines():
    line = line.split("#")[0].strip()
    if line:
      name, _, version = line.partition("==")
      assert version, f"requirements.txt pins exactly: {line!r}"
      pins[_name(name)] = version
  return pins


def test_core_dependencies_are_jax_and_numpy_only():
  assert sorted(_name(r) for r in _project()["dependencies"]) == ["jax", "numpy"]


def test_every_declared_dependency_is_pinned_at_or_above_its_floor():
  pins = _pins()
  project = _project()
  declared = list(project["dependencies"])
  for extra in project["optional-dependencies"].values():
    declared += [r for r in extra if _name(r) != "attent-jax"]
  version = lambda v: tuple(int(part) for part in v.split("."))
  for requirement in declared:
    name = _name(requirement)
    assert name in pins, f"{name} is declared in pyproject.toml but not pinned in requirements.txt"
    floor = re.search(r">=\s*([\d.]+)", requirement)
    assert floor, f"{requirement!r} declares no floor"
    assert version(pins[name]) >= version(floor.group(1)), (requirement, pins[name])
  assert "grain" not in pins  # pinned once, never imported


def test_selection_and_ntk_import_no_heavy_module():
  """In a fresh interpreter with every heavy module made unimportable, the core still imports and
  selects; and nothing heavy is in sys.modules afterwards."""
  script = f"""
import importlib.abc, sys
HEAVY = {HEAVY!r}
class Block(importlib.abc.MetaPathFinder):
  def find_spec(self, name, path=None, target=None):
    if name.split(".")[0] in HEAVY:
      raise ImportError(f"{{name}} is not part of the core install")
sys.meta_path.insert(0, Block())
import jax.numpy as jnp
import attent_jax
from attent_jax import ntk, selection
kept = selection.select(jnp.arange(8.0), 3, method="hard")
assert sorted(int(i) for i in kept) == [5, 6, 7], kept
print(sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY)))
"""
  result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
                          check=False)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip().splitlines()[-1] == "[]"
