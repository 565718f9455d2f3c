#!/usr/bin/env bash
# The core's jax floor, checked in a clean venv: benchmarks/jax_floor.sh JAX_VERSION [VENV_DIR]
# (NUMPY=2.0.0 benchmarks/jax_floor.sh ... pins numpy too). Installs jax==JAX_VERSION with numpy and the
# test tools only (no flax, optax, orbax, tfds...); shows what `pip install .` of this checkout would add
# (at the floor: attent_jax alone; below it: a newer jax), installs it without dependencies and imports
# it from outside the checkout; then runs the core tests, tests/selection and tests/ntk, against the
# checkout (on PYTHONPATH).
# Left out: tests/ntk/test_ntk_params.py (it builds a GPT with flax) and the one test of
# attent_jax.ntk.report (matplotlib plots, not part of the core). Results: benchmarks/jax_floor.md.
set -euo pipefail
version=$1
venv=${2:-/tmp/attent_jax_floor_$version}
repo=$(cd "$(dirname "$0")/.." && pwd)
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "jax==$version" "numpy${NUMPY:+==$NUMPY}" pytest hypothesis
# chex's own requirements would upgrade jax; the tests need only its asserts.
"$venv/bin/pip" install --quiet --no-deps chex==0.1.92 absl-py==2.5.1 toolz typing_extensions
# The core install itself: what `pip install .` would add to this venv (without changing it).
"$venv/bin/pip" install --dry-run --quiet --report - "$repo" | "$venv/bin/python" -c "
import json, sys
print('pip install . would install:', [p['metadata']['name'] + '==' + p['metadata']['version']
                                       for p in json.load(sys.stdin)['install']])"
"$venv/bin/pip" install --quiet --no-deps "$repo"
cd /tmp
"$venv/bin/python" -c "
import jax, numpy, attent_jax
from attent_jax import ntk, selection
print('jax', jax.__version__, 'numpy', numpy.__version__, 'attent_jax from', attent_jax.__file__)
print(selection.select(jax.numpy.arange(8.0), 3))"
"$venv/bin/pip" uninstall --quiet --yes attent_jax  # the tests below run on the checkout itself
PYTHONPATH="$repo" "$venv/bin/python" -m pytest -rfE -p no:cacheprovider --rootdir="$repo" \
  -c "$repo/pyproject.toml" "$repo/tests/selection" "$repo/tests/ntk" \
  --ignore="$repo/tests/ntk/test_ntk_params.py" \
  -k "not test_save_report_writes_numbers_and_plots"
