"""attent_jax: AtteNT (nonparametric teaching of attention learners) and empirical ANTK tools in JAX.

Subpackages are imported on demand, so that `attent_jax.selection`, `attent_jax.ntk` and
`attent_jax.losses` need nothing but jax and numpy: the core install (`pip install .`); the rest needs the
`[train]` extra (see the README's "Install"; tests/test_install.py checks this):

  attent_jax.models     attention learners behind a pure `build(config) -> (apply_fn, params)` boundary
  attent_jax.losses     per-example, masked, float32 losses
  attent_jax.selection  the teacher: scoring, selection, schedules, presets
  attent_jax.ntk        empirical attention NTK, kernel-vector products, spectra
  attent_jax.data       offline tfds sources and the index batcher
"""

__version__ = "0.1.0"
