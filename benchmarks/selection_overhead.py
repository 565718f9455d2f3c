"""Selection overhead on 8 fake CPU devices: the two exact cross-shard top-k implementations side by side.

Times `selection.select` on scores of pool size N (default 60000) sharded over a `data` axis of 8
devices, k = 0.3 N (and a small k = 0.01 N, where the local candidates are far fewer than a shard),
for every method, and `next_epoch` of the attent_complex teacher on a subset epoch (soft re-draw from
sharded scores). "gather" = one reshard to replicated, then top-k; "merge" = shard_map local top-k,
all-gather of candidates, top-k merge (attent_jax/selection/sharded.py). Each cell: median and min
wall-clock milliseconds over --repeats calls, after one compile-and-warm-up call; every result is
checked equal across the two implementations.

    python -m benchmarks.selection_overhead [--pool 60000] [--repeats 40]   (from the repository root)
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"  # before jax is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from attent_jax import selection  # noqa: E402


def _time(fns: dict, repeats: int) -> tuple[dict, dict]:
  """Median and min milliseconds of each zero-argument function, calls interleaved round-robin so
  that load from other processes hits every implementation alike; plus each one's result."""
  results = {impl: jax.block_until_ready(fn()) for impl, fn in fns.items()}  # compile + warm up
  samples = {impl: [] for impl in fns}
  for _ in range(repeats):
    for impl, fn in fns.items():
      start = time.perf_counter()
      jax.block_until_ready(fn())
      samples[impl].append((time.perf_counter() - start) * 1e3)
  return {impl: (statistics.median(s), min(s)) for impl, s in samples.items()}, results


def _row(label: str, fns: dict, repeats: int) -> None:
  times, results = _time(fns, repeats)
  cells = [f"{times[impl][0]:10.2f} / {times[impl][1]:8.2f}" for impl in selection.IMPLS]
  print(f"{label:34s} {cells[0]:>22s} {cells[1]:>22s}  {_same(*results.values())}", flush=True)


def _same(a, b) -> bool:
  return all(np.array_equal(np.asarray(x), np.asarray(y))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--pool", type=int, default=60000)
  parser.add_argument("--repeats", type=int, default=40)
  args = parser.parse_args()
  n = args.pool
  mesh = jax.make_mesh((8,), ("data",))
  sharding = NamedSharding(mesh, P("data"))
  scores = jax.device_put(np.random.default_rng(0).gamma(2.0, 1.0, n).astype(np.float32), sharding)
  key = jax.random.key(0)
  print(f"jax {jax.__version__}, {len(jax.devices())} {jax.devices()[0].platform} devices, "
        f"{os.cpu_count()} host cores, {platform.processor() or platform.machine()}; pool {n}, "
        f"scores sharded {scores.sharding.spec}; {args.repeats} timed calls per cell")
  print(f"{'what':34s} {'gather median/min ms':>22s} {'merge median/min ms':>22s}  equal")

  for k in (int(0.3 * n), int(0.01 * n)):
    for method in selection.METHODS:
      fns = {}
      for impl in selection.IMPLS:
        fn = jax.jit(lambda s, key, impl=impl, method=method, k=k: selection.select(
            s, k, method=method, key=key, impl=impl))
        fns[impl] = lambda fn=fn: fn(scores, key)
      _row(f"select k={k} {method}", fns, args.repeats)

  fns = {}
  for impl in selection.IMPLS:
    teacher = selection.make_teacher("attent_complex", pool_size=n, total_epochs=20, impl=impl)
    state = teacher.init(key, sharding=sharding)
    state = teacher.record(state, jax.device_put(np.arange(n, dtype=np.int32), sharding), scores,
                           kind="loss")
    state = state._replace(epoch=jax.device_put(np.int32(2), state.epoch.sharding))  # a re-draw epoch
    fns[impl] = lambda t=teacher, s=state: t.next_epoch(s)[1]
  _row("attent_complex next_epoch (soft)", fns, args.repeats)
  print(f"default implementation: {selection.DEFAULT_IMPL}")


if __name__ == "__main__":
  main()
