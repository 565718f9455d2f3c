"""Empirical attention NTK (ANTK) tools: kernels, kernel-vector products, spectra, drift.

The paper's ANTK is K_t(S, S') = <df_t(S)/dθ, df_t(S')/dθ>. Everything here is built from
jax.vjp / jax.jvp / jax.linearize / jax.vmap, so it handles embedding lookups, scans and remat, and
takes any `apply_fn(params, x) -> f[N, ...]` (models are passed in; nothing here imports flax).

    from attent_jax import ntk
    apply = lambda p, x: gpt_apply(p, x)[:, -1]                 # next-token logits f32[N, V]
    K = ntk.empirical_ntk(apply, params, batch)                  # f32[N, N], traced over V
    K_qkv = ntk.empirical_ntk(apply, params, batch, param_filter=ntk.attention_qkv)
    top = ntk.top_eigenpairs(apply, params, pool, k=20, chunk_size=64)     # matrix-free
    scores = ntk.ntk_guided_scores(apply, params, pool, loss_fn)           # NINT, f32[N]

Modules: kernel (empirical_ntk), cost (method="auto"'s cost model), products (matrix-free products
and NTK-guided scores), spectrum, drift, params (param filters), axes (kernel layout), batching.
This package depends on jax and numpy only, and on nothing of the training stack: training runs that
record a probe kernel, and their JSON and PNG report, live beside their binary
(`experiments/antk_runs.py`, `experiments/antk_report.py`, run by `experiments/antk_spectrum.py`).
"""

from attent_jax.ntk.cost import MethodCost, NTKCost, estimate_cost
from attent_jax.ntk.drift import DriftRecord, DriftRecorder, relative_drift
from attent_jax.ntk.kernel import empirical_ntk
from attent_jax.ntk.params import (ParamFilter, ParamPath, Paths, attention_qkv, lora_only,
                                   num_params)
from attent_jax.ntk.products import ntk_guided_scores, ntk_operator, ntk_vector_product
from attent_jax.ntk.spectrum import (Eigenpairs, effective_rank, kernel_eigh, kernel_matrix,
                                     kernel_target_alignment, lanczos_eigenpairs, top_eigenpairs)

__all__ = [
    "DriftRecord", "DriftRecorder", "Eigenpairs", "MethodCost", "NTKCost", "ParamFilter",
    "ParamPath", "Paths", "attention_qkv", "effective_rank", "empirical_ntk", "estimate_cost",
    "kernel_eigh", "kernel_matrix", "kernel_target_alignment", "lanczos_eigenpairs", "lora_only",
    "ntk_guided_scores", "ntk_operator", "ntk_vector_product", "num_params", "relative_drift",
    "top_eigenpairs",
]
