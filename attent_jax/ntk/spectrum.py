"""Spectra of the empirical ANTK: matrix-free top-k eigenpairs, dense eigh, effective rank, alignment.

  top_eigenpairs          top-k eigenpairs of K(x, x) for a pool too large to materialise: Lanczos
                          with full reorthogonalisation, driven by `ntk_vector_product`.
  lanczos_eigenpairs      the same on any symmetric linear operator given as a matvec.
  kernel_eigh             the full spectrum of a materialised kernel (jnp.linalg.eigh).
  effective_rank          entropy-based (default) or participation-ratio rank of a spectrum.
  kernel_target_alignment <K, y y^T>_F / (||K||_F ||y y^T||_F), optionally centred.

Lanczos keeps its basis on the device (a [m, dim] array, updated in place) and only the small
tridiagonal matrix on the host. Pure jax + numpy.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.ntk.batching import Batch
from attent_jax.ntk.params import ParamFilter
from attent_jax.ntk.products import ApplyFn, ntk_operator

_HIGHEST = jax.lax.Precision.HIGHEST
# A Lanczos residual below this fraction of the largest Ritz value means an invariant subspace.
_BREAKDOWN = 1e-6


@dataclasses.dataclass(frozen=True)
class Eigenpairs:
  """Top eigenpairs of a symmetric operator, largest eigenvalue first.

  values: f64[k]; vectors: f32[k, *shape] (orthonormal when flattened); residual_norms: f64[k],
  the Lanczos estimates of ||A v - lambda v||; num_matvecs: operator applications used;
  converged: every residual is below tol * values[0].
  """

  values: np.ndarray
  vectors: jax.Array
  residual_norms: np.ndarray
  num_matvecs: int
  converged: bool


def _orthogonalise(basis_MD: jax.Array, w_D: jax.Array) -> tuple[jax.Array, jax.Array]:
  """w minus its projection on the rows of `basis` (zero rows are harmless), twice (DGKS)."""
  for _ in range(2):
    w_D = w_D - jnp.matmul(jnp.matmul(basis_MD, w_D, precision=_HIGHEST), basis_MD,
                           precision=_HIGHEST)
  return w_D, jnp.linalg.norm(w_D)


@jax.jit
def _lanczos_update(basis_MD: jax.Array, q_D: jax.Array, aq: jax.Array
                    ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(alpha = q.Aq, Aq orthogonalised against the basis, its norm beta)."""
  aq_D = jnp.ravel(aq).astype(jnp.float32)
  return (jnp.dot(q_D, aq_D, precision=_HIGHEST),) + _orthogonalise(basis_MD, aq_D)


@functools.partial(jax.jit, static_argnums=(2,))
def _random_unit(key: jax.Array, basis_MD: jax.Array, orthogonal: bool) -> jax.Array:
  """A random unit vector, orthogonal to the basis rows when `orthogonal`."""
  w_D = jax.random.normal(key, basis_MD.shape[1:], jnp.float32)
  if orthogonal:
    w_D, _ = _orthogonalise(basis_MD, w_D)
  return w_D / jnp.linalg.norm(w_D)


@functools.partial(jax.jit, donate_argnums=(0,))
def _set_row(basis_MD: jax.Array, row: jax.Array, q_D: jax.Array) -> jax.Array:
  return basis_MD.at[row].set(q_D)


def lanczos_eigenpairs(
    matvec: Callable[[jax.Array], jax.Array], shape: Sequence[int], k: int, *,
    key: jax.Array | None = None, max_iters: int | None = None, tol: float = 1e-5,
) -> Eigenpairs:
  """Top-k eigenpairs of a symmetric operator by Lanczos with full reorthogonalisation.

  Args:
    matvec: v f32[*shape] -> A v f32[*shape], A symmetric (e.g. a kernel, PSD).
    shape: the operator's vector shape; dim = prod(shape).
    k: number of eigenpairs (k <= dim).
    key: PRNG key of the start vector (default: key 0).
    max_iters: Krylov dimension cap (default min(dim, max(2k + 40, 4k))). Memory: max_iters *
      dim floats for the basis.
    tol: stop when every top-k Ritz residual is below tol * (largest Ritz value).

  Returns:
    Eigenpairs. On an invariant subspace (e.g. a kernel of rank < k) the iteration restarts from
    a random vector orthogonal to the basis, so zero eigenvalues are returned correctly.
  """
  dim = math.prod(shape)
  if not 1 <= k <= dim:
    raise ValueError(f"k must be in [1, {dim}], got {k}")
  max_iters = min(dim, max_iters or max(2 * k + 40, 4 * k))
  if max_iters < k:
    raise ValueError(f"max_iters={max_iters} is below k={k}")
  key = jax.random.key(0) if key is None else key
  basis = jnp.zeros((max_iters, dim), jnp.float32)
  q = _random_unit(key, basis, False)
  basis = _set_row(basis, 0, q)
  alphas: list[float] = []
  betas: list[float] = []
  for j in range(max_iters):
    alpha, w, beta = _lanczos_update(basis, q, matvec(q.reshape(shape)))
    alphas.append(float(alpha))
    beta = float(beta)
    tridiagonal = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    values, vectors_S = np.linalg.eigh(tridiagonal)
    top = np.argsort(values)[::-1][:k]
    ritz, vectors_S = values[top], vectors_S[:, top]
    residuals = np.abs(beta * vectors_S[-1])
    scale = max(abs(ritz[0]), np.finfo(np.float32).tiny)
    if len(alphas) >= k and np.all(residuals <= tol * scale):
      break
    if j + 1 == max_iters:
      break
    if beta <= _BREAKDOWN * scale:  # invariant subspace: continue in its complement
      q, beta = _random_unit(jax.random.fold_in(key, j + 1), basis, True), 0.0
    else:
      q = w / beta
    betas.append(beta)
    basis = _set_row(basis, j + 1, q)
  steps = len(alphas)
  vectors = jnp.matmul(jnp.asarray(vectors_S.T, jnp.float32), basis[:steps], precision=_HIGHEST)
  return Eigenpairs(values=ritz, vectors=vectors.reshape(k, *shape), residual_norms=residuals,
                    num_matvecs=steps, converged=bool(np.all(residuals <= tol * scale)))


def top_eigenpairs(
    apply_fn: ApplyFn, params: Any, x: Batch, k: int, *, trace_axes: Iterable[int] = (),
    param_filter: ParamFilter | None = None, chunk_size: int | None = None,
    key: jax.Array | None = None, max_iters: int | None = None, tol: float = 1e-5,
) -> Eigenpairs:
  """Top-k eigenpairs of the empirical NTK K(x, x) of a pool, matrix-free.

  Each Lanczos step is one `ntk_vector_product` (one VJP + one JVP over the pool, chunked by
  `chunk_size`), so memory is the basis (max_iters * dim floats, dim = N * outputs per example
  after `trace_axes`) plus one chunk's passes. Default trace_axes=(): the full kernel on output
  space; tracing an axis multiplies each step's cost by that axis' size (see
  `ntk_vector_product`). Eigenvectors have shape [k, N, *untraced output dims].
  """
  matvec, shape = ntk_operator(apply_fn, params, x, param_filter=param_filter,
                               chunk_size=chunk_size, trace_axes=trace_axes)
  return lanczos_eigenpairs(matvec, shape, k, key=key, max_iters=max_iters, tol=tol)


def kernel_matrix(kernel: jax.Array) -> jax.Array:
  """A kernel [N, N, a, a, b, b, ...] (all output axes as pairs) as a square [N a b.., N a b..]."""
  if kernel.ndim % 2 or any(kernel.shape[i] != kernel.shape[i + 1]
                            for i in range(0, kernel.ndim, 2)):
    raise ValueError(f"kernel must be [N, N] plus pairs of equal axes, got {kernel.shape}")
  order = tuple(range(0, kernel.ndim, 2)) + tuple(range(1, kernel.ndim, 2))
  side = math.prod(kernel.shape[0::2])
  return jnp.transpose(kernel, order).reshape(side, side)


@jax.jit
def kernel_eigh(kernel: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The full spectrum of a materialised symmetric kernel, largest first.

  kernel: [N, N] or [N, N, a, a, ...] (no diagonal axes). Returns (values f32[M], vectors
  f32[M, N, a, ...]) with M = N * a * ...; vectors[i] is the eigenvector of values[i].
  """
  values, vectors = jnp.linalg.eigh(kernel_matrix(kernel), symmetrize_input=True)
  return values[::-1], vectors[:, ::-1].T.reshape(-1, *kernel.shape[0::2])


@functools.partial(jax.jit, static_argnames=("kind",))
def effective_rank(eigenvalues: jax.Array, kind: str = "entropy") -> jax.Array:
  """Effective rank of a PSD spectrum (negative round-off is clipped to 0).

  kind="entropy" (default; Roy & Vetterli 2007): exp(H(p)), p = lambda / sum(lambda), H the
  Shannon entropy in nats; equals r for r equal non-zero eigenvalues. kind="participation":
  (sum lambda)^2 / sum lambda^2, the participation ratio; also r for r equal eigenvalues, and
  more weighted toward the top of the spectrum.
  """
  lam = jnp.clip(jnp.asarray(eigenvalues, jnp.float32), 0.0)
  total = jnp.sum(lam)
  if kind == "entropy":
    p = lam / total
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))
  if kind == "participation":
    return jnp.square(total) / jnp.sum(jnp.square(lam))
  raise ValueError(f"unknown kind {kind!r}; expected 'entropy' or 'participation'")


def kernel_target_alignment(kernel: jax.Array, targets: jax.Array, *,
                            centered: bool = False) -> jax.Array:
  """Kernel-target alignment <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F) (Cristianini et al. 2002).

  kernel: f32[N, N]. targets: f32[N] or f32[N, C] regression targets, or int[N] class labels
  (one-hot encoded). centered=True centres both K and Y Y^T with H = I - 11^T/N first
  (Cortes et al. 2012). Returns a scalar in [-1, 1] (in [0, 1] for PSD K, uncentred).
  """
  if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
    raise ValueError(f"kernel must be [N, N], got {kernel.shape}")
  targets = jnp.asarray(targets)
  if jnp.issubdtype(targets.dtype, jnp.integer):
    if targets.ndim != 1:
      raise ValueError("integer targets must be class labels int[N]")
    targets = jax.nn.one_hot(targets, int(np.max(targets)) + 1)
  return _alignment(kernel, targets.reshape(targets.shape[0], -1), centered)


@functools.partial(jax.jit, static_argnums=(2,))
def _alignment(kernel: jax.Array, y: jax.Array, centered: bool) -> jax.Array:
  kernel, y = kernel.astype(jnp.float32), y.astype(jnp.float32)
  if centered:
    kernel = kernel - kernel.mean(0, keepdims=True)
    kernel = kernel - kernel.mean(1, keepdims=True)
    y = y - y.mean(0, keepdims=True)
  target = jnp.matmul(y, y.T, precision=_HIGHEST)
  return jnp.sum(kernel * target) / (jnp.linalg.norm(kernel) * jnp.linalg.norm(target))
