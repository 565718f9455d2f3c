"""How the ANTK moves during training: relative drift, and a per-epoch recorder callback.

`DriftRecorder` is a training-loop callback, `cb(step, epoch, params, apply_fn) -> dict[str, float]`:
on a fixed probe batch it computes the kernel traced over all output axes,
K_t(S, S') = sum_o <df_o(S)/dθ, df_o(S')/dθ>  (f32[N, N]),
and records its drift from the first call's kernel K_0, its spectrum, effective rank, and (given
labels) kernel-target alignment. It keeps the history for plotting (`as_arrays`). Pure jax + numpy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.ntk.batching import Batch
from attent_jax.ntk.kernel import ApplyFn, empirical_ntk
from attent_jax.ntk.params import ParamFilter
from attent_jax.ntk.spectrum import effective_rank, kernel_eigh, kernel_target_alignment

OutputFn = Callable[[Any, Batch], jax.Array]


@jax.jit
def relative_drift(kernel_t: jax.Array, kernel_0: jax.Array) -> jax.Array:
  """||K_t - K_0||_F / ||K_0||_F, a float32 scalar (any matching shapes)."""
  kernel_t = jnp.asarray(kernel_t, jnp.float32)
  kernel_0 = jnp.asarray(kernel_0, jnp.float32)
  return jnp.linalg.norm((kernel_t - kernel_0).ravel()) / jnp.linalg.norm(kernel_0.ravel())


@dataclasses.dataclass(frozen=True)
class DriftRecord:
  """One recorder call: where in training, and the probe kernel's statistics."""

  step: int
  epoch: int
  drift: float
  trace: float
  effective_rank: float
  alignment: float | None
  eigenvalues: np.ndarray  # f32[N], largest first


class DriftRecorder:
  """Records the probe-batch ANTK over a training run; a callback for the training loop.

  Args:
    probe: a fixed batch pytree [N, ...] (keep N small: the kernel is N x N and costs N
      backward passes per output).
    output_fn: maps the model's raw output and the probe batch to the function whose kernel
      is recorded, e.g. `lambda logits, batch: logits[:, -1]` (default: apply_fn's output,
      which must then be an array f[N, ...]; pass an output_fn for tuple or dict outputs).
    labels: optional targets of the probe (int[N] classes or f32[N, ...]) for alignment.
    param_filter: restrict the kernel to some parameters (e.g. `attention_qkv`).
    top_k: how many top eigenvalues are returned as scalars each call.
    method, chunk_size: passed to `empirical_ntk`.
    prefix: prefix of the returned metric names.

  Calling it returns {prefix+"drift", "trace", "effective_rank", "eig_1".."eig_k"[, "alignment"]}
  as floats. The first call's kernel is K_0 (drift 0).
  """

  def __init__(self, probe: Batch, *, output_fn: OutputFn | None = None,
               labels: jax.Array | None = None, param_filter: ParamFilter | None = None,
               top_k: int = 5, method: str = "auto", chunk_size: int | None = None,
               prefix: str = "antk/"):
    self.probe = probe
    self.output_fn = output_fn
    self.labels = labels
    self.param_filter = param_filter
    self.top_k = top_k
    self.method = method
    self.chunk_size = chunk_size
    self.prefix = prefix
    self.kernel_0: jax.Array | None = None
    self._history: list[DriftRecord] = []
    self._functions: dict[Any, ApplyFn] = {}

  @property
  def history(self) -> list[DriftRecord]:
    return list(self._history)

  def _function(self, apply_fn: Callable[..., Any]) -> ApplyFn:
    """The recorded function: apply_fn itself, or output_fn composed with it (built once per
    apply_fn, so the kernel's compilations are reused across calls)."""
    if self.output_fn is None:
      return apply_fn
    if apply_fn not in self._functions:
      output_fn = self.output_fn
      self._functions[apply_fn] = lambda params, batch: output_fn(apply_fn(params, batch), batch)
    return self._functions[apply_fn]

  def kernel(self, params: Any, apply_fn: Callable[..., Any]) -> jax.Array:
    """The probe kernel at `params`, traced over every output axis: f32[N, N]."""
    function = self._function(apply_fn)
    ndim = len(jax.eval_shape(function, params, self.probe).shape)
    return empirical_ntk(function, params, self.probe, trace_axes=tuple(range(1, ndim)),
                         method=self.method, param_filter=self.param_filter,
                         chunk_size=self.chunk_size)

  def __call__(self, step: int, epoch: int, params: Any,
               apply_fn: Callable[..., Any]) -> dict[str, float]:
    kernel = self.kernel(params, apply_fn)
    if self.kernel_0 is None:
      self.kernel_0 = kernel
    eigenvalues, _ = kernel_eigh(kernel)
    alignment = (None if self.labels is None
                 else float(kernel_target_alignment(kernel, self.labels)))
    record = DriftRecord(step=int(step), epoch=int(epoch),
                         drift=float(relative_drift(kernel, self.kernel_0)),
                         trace=float(jnp.trace(kernel)),
                         effective_rank=float(effective_rank(eigenvalues)),
                         alignment=alignment, eigenvalues=np.asarray(eigenvalues))
    self._history.append(record)
    metrics = {"drift": record.drift, "trace": record.trace,
               "effective_rank": record.effective_rank}
    metrics.update({f"eig_{i + 1}": float(v) for i, v in enumerate(eigenvalues[: self.top_k])})
    if alignment is not None:
      metrics["alignment"] = alignment
    return {self.prefix + name: value for name, value in metrics.items()}

  def as_arrays(self) -> dict[str, np.ndarray]:
    """The history as arrays for plotting: step, epoch, drift, trace, effective_rank [T],
    eigenvalues [T, N], and alignment [T] (NaN where no labels were given)."""
    records = self._history
    return {
        "step": np.array([r.step for r in records], np.int64),
        "epoch": np.array([r.epoch for r in records], np.int64),
        "drift": np.array([r.drift for r in records], np.float64),
        "trace": np.array([r.trace for r in records], np.float64),
        "effective_rank": np.array([r.effective_rank for r in records], np.float64),
        "alignment": np.array([np.nan if r.alignment is None else r.alignment for r in records],
                              np.float64),
        "eigenvalues": (np.stack([r.eigenvalues for r in records]) if records
                        else np.zeros((0, 0), np.float32)),
    }
