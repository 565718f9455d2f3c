"""The teacher's input guards: clear errors for inputs that would otherwise fail silently.

Outside `jit` (concrete arrays) every guard runs always and raises ValueError. Inside `jit` the values
are not known, so the value guards (an index out of range, a non-finite score, an epoch past the
timetable) run only while `jit_checks` is on, as `checkify` checks; the function that traces them must
then be wrapped with `jax.experimental.checkify.checkify`:

    from jax.experimental import checkify
    with selection.jit_checks():                                  # on while tracing
      checked = jax.jit(checkify.checkify(train_step, errors=checkify.user_checks))
      err, out = checked(params, opt_state, teacher_state, idx, mask, weight)
    err.throw()                                                   # ValueError-like JaxRuntimeError

The switch is read when a function is traced, so turn it on before the first call of the jitted
function. With it off (the default), a traced `record` drops masked-in entries whose index is out of
range (negative ones too: they never wrap around) and writes non-finite scores as given. Dtype guards
(float indices) need no values and always raise, traced or not.
"""

from __future__ import annotations

import contextlib
import threading

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

_STATE = threading.local()


def jit_checks_enabled() -> bool:
  """Whether value guards are traced into jitted code (as checkify checks) right now."""
  return getattr(_STATE, "enabled", False)


@contextlib.contextmanager
def jit_checks(enabled: bool = True):
  """Context manager: while on, functions traced call `checkify.check` for the value guards (see the
  module docstring). Thread-local; nests."""
  previous = jit_checks_enabled()
  _STATE.enabled = enabled
  try:
    yield
  finally:
    _STATE.enabled = previous


def is_traced(*arrays) -> bool:
  """True if any of `arrays` is a tracer (its values are unknown here)."""
  return any(isinstance(a, jax.core.Tracer) for a in arrays)


def integer_indices(indices) -> jax.Array:
  """`indices` as int32[B]; raises ValueError for a float or bool dtype (traced or not)."""
  dtype = getattr(indices, "dtype", None) or np.asarray(indices).dtype
  if not jnp.issubdtype(dtype, jnp.integer):
    raise ValueError(f"indices must be integers (example ids in [0, pool_size)), got dtype {dtype}")
  return jnp.asarray(indices, jnp.int32).reshape(-1)


@jax.jit
def _record_violations(indices_B, scores_B, mask_B, n):
  """(#masked-in indices outside [0, n), first such index, #masked-in non-finite scores, first one)."""
  bad_index_B = mask_B & ((indices_B < 0) | (indices_B >= n))
  bad_score_B = mask_B & ~jnp.isfinite(scores_B)
  return (bad_index_B.sum(), _example(bad_index_B, indices_B), bad_score_B.sum(),
          _example(bad_score_B, indices_B))


def _example(bad_B, indices_B):
  """The smallest index among the flagged entries (a reduction: no gather from a sharded array)."""
  return jnp.where(bad_B, indices_B, jnp.iinfo(jnp.int32).max).min()


def check_record(indices_B, scores_B, mask_B, n: int) -> None:
  """The value guards of `record`: every masked-in index in [0, n), every masked-in score finite.

  Concrete inputs: raises ValueError. Traced inputs: a checkify check when `jit_checks` is on, else
  nothing (the caller then drops out-of-range entries).
  """
  if is_traced(indices_B, scores_B, mask_B):
    if jit_checks_enabled():
      bad_index_B = mask_B & ((indices_B < 0) | (indices_B >= n))
      checkify.check(~bad_index_B.any(), "record: index {i} is outside [0, {n}) (pool size)",
                     i=_example(bad_index_B, indices_B), n=jnp.int32(n))
      bad_score_B = mask_B & ~jnp.isfinite(scores_B)
      checkify.check(~bad_score_B.any(), "record: the score of example {i} is not finite",
                     i=_example(bad_score_B, indices_B))
    return
  bad_indices, index, bad_scores, example = (
      int(v) for v in jax.device_get(_record_violations(indices_B, scores_B, mask_B, n)))
  if bad_indices:
    raise ValueError(f"record: {bad_indices} indices lie outside [0, {n}) (the pool size), e.g. "
                     f"{index}; negative ids do not wrap around")
  if bad_scores:
    raise ValueError(f"record: {bad_scores} scores are not finite (NaN or inf), e.g. that of example "
                     f"{example}; a non-finite score cannot be ranked")


def check_epoch(epoch, total_epochs: int) -> None:
  """`next_epoch` guard: the epoch to plan lies in [0, total_epochs). Concrete: ValueError; traced:
  a checkify check when `jit_checks` is on."""
  if is_traced(epoch):
    if jit_checks_enabled():
      checkify.check(epoch < total_epochs, "next_epoch: epoch {e} is past the last epoch ({t} total)",
                     e=epoch, t=jnp.int32(total_epochs))
    return
  if int(epoch) >= total_epochs:
    raise ValueError(f"next_epoch: epoch {int(epoch)} is past the last epoch: the teacher was built "
                     f"for total_epochs={total_epochs}")


def check_scored(selects, scored, kind: str) -> None:
  """`next_epoch` guard: an epoch that `selects` by score of `kind` has `scored` (some example's score
  of that kind was recorded). Concrete: ValueError; traced: a checkify check under `jit_checks`."""
  message = (f"next_epoch: this epoch selects by {kind!r} scores, but no {kind!r} score was ever "
             f"recorded: call teacher.record(..., kind={kind!r}) first (a loop that records only "
             "training losses needs a teacher whose score_kind is 'loss')")
  if is_traced(selects, scored):
    if jit_checks_enabled():
      checkify.check(~selects | scored, message.replace("{", "{{").replace("}", "}}"))
    return
  if bool(selects) and not bool(scored):
    raise ValueError(message)
