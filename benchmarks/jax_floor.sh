#!/usr/bin/env bash
# The core's jax floor, checked in a clean venv: benchmarks/jax_floor.sh JAX_VERSION [VENV_DIR]
# Installs jax==JAX_VERSION with numpy and the test tools only (no flax, optax, orbax, tfds...), then runs
# the core tests, tests/selection and tests/ntk, against this checkout (put on PYTHONPATH, not installed).
# Left out: tests/ntk/test_ntk_params.py (it builds a GPT with flax) and the one test of
# attent_jax.ntk.report (matplotlib plots, not part of the core). Results: benchmarks/jax_floor.md.
set -euo pipefail
version=$1
venv=${2:-/tmp/attent_jax_floor_$version}
repo=$(cd "$(dirname "$0")/.." && pwd)
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "jax==$version" numpy pytest hypothesis
# chex's own requirements would upgrade jax; the tests need only its asserts.
"$venv/bin/pip" install --quiet --no-deps chex==0.1.92 absl-py==2.5.1 toolz typing_extensions
"$venv/bin/python" -c "import jax, numpy; print('jax', jax.__version__, 'numpy', numpy.__version__)"
cd /tmp
PYTHONPATH="$repo" "$venv/bin/python" -m pytest -rfE -p no:cacheprovider --rootdir="$repo" \
  -c "$repo/pyproject.toml" "$repo/tests/selection" "$repo/tests/ntk" \
  --ignore="$repo/tests/ntk/test_ntk_params.py" \
  -k "not test_save_report_writes_numbers_and_plots"
