"""Selection overhead on 8 fake CPU devices: the two exact cross-shard top-k implementations compared.

Times `selection.select` on scores of pool size N (default 60000) sharded over a `data` axis of 8
devices, k = 0.3 N (and a small k = 0.01 N, where each shard's candidates are far fewer than a shard),
for every method, and `next_epoch` of the attent_complex teacher (8 logical shards) on a subset epoch
(a soft re-draw), its state sharded over the 8 devices against the same teacher on one device (the
teacher's own top-count is the bisection of `sharded.top_count_mask`; the plans are checked equal). "gather" = one reshard to
replicated, then top-k; "merge" = shard_map local top-k, all-gather of the candidates, top-k merge
(attent_jax/selection/sharded.py). Each cell: median and min wall-clock ms and median process-CPU ms
(all threads) over --repeats calls, after one compile-and-warm-up call, the implementations' calls
interleaved; every result is checked equal across the two implementations.

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
  """Per zero-argument function: (median wall ms, min wall ms, median CPU ms) and its result.

  Calls are interleaved round-robin so that load from other processes hits every implementation
  alike. Process CPU time (all threads) measures the work done; on a shared machine it is steadier
  than wall time."""
  results = {name: jax.block_until_ready(fn()) for name, fn in fns.items()}  # compile + warm up
  wall = {name: [] for name in fns}
  cpu = {name: [] for name in fns}
  for _ in range(repeats):
    for name, fn in fns.items():
      start, start_cpu = time.perf_counter(), time.process_time()
      jax.block_until_ready(fn())
      cpu[name].append((time.process_time() - start_cpu) * 1e3)
      wall[name].append((time.perf_counter() - start) * 1e3)
  times = {name: (statistics.median(wall[name]), min(wall[name]), statistics.median(cpu[name]))
           for name in fns}
  return times, results


def _same(trees: list) -> bool:
  first = jax.tree.leaves(trees[0])
  return all(all(np.array_equal(np.asarray(a), np.asarray(b))
                 for a, b in zip(first, jax.tree.leaves(tree))) for tree in trees[1:])


def _row(label: str, fns: dict, repeats: int) -> None:
  times, results = _time(fns, repeats)
  cells = " ".join(f"{'%8.2f /%7.2f /%8.2f' % times[name]:>28s}" for name in fns)
  equal = f"  {_same(list(results.values()))}" if len(fns) > 1 else ""
  print(f"{label:34s} {cells}{equal}", flush=True)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--pool", type=int, default=60000)
  parser.add_argument("--repeats", type=int, default=40)
  args = parser.parse_args()
  n = args.pool
  mesh = jax.make_mesh((8,), ("data",))
  sharding = NamedSharding(mesh, P("data"))
  host_scores = np.random.default_rng(0).gamma(2.0, 1.0, n).astype(np.float32)
  scores = jax.device_put(host_scores, sharding)
  key = jax.random.key(0)
  print(f"jax {jax.__version__}, {len(jax.devices())} {jax.devices()[0].platform} devices, "
        f"{os.cpu_count()} host cores, {platform.machine()}; pool {n}, scores sharded "
        f"{scores.sharding.spec}; {args.repeats} timed calls per cell")
  print(f"{'ms: wall median / wall min / cpu':34s} {'gather':>28s} {'merge':>28s}  equal")

  for k in (int(0.3 * n), int(0.01 * n)):
    for method in selection.METHODS:
      fns = {}
      for impl in selection.IMPLS:
        fn = jax.jit(lambda s, key, impl=impl, method=method, k=k: selection.select(
            s, k, method=method, key=key, impl=impl))
        fns[impl] = lambda fn=fn: fn(scores, key)
      _row(f"select k={k} {method}", fns, args.repeats)

  fns = {}
  indices = jax.device_put(np.arange(n, dtype=np.int32), sharding)
  # The teacher's own top-count is the bisection (no implementation to choose): its state sharded
  # over the 8 devices (8 logical shards) against the same teacher on 1 device.
  teacher = selection.make_teacher("attent_complex", pool_size=n, total_epochs=20, logical_shards=8)
  sharded_state = teacher.record(teacher.init(key, sharding=sharding), indices, scores, kind="loss")
  sharded_state = sharded_state._replace(  # a re-draw
      epoch=jax.device_put(np.int32(2), sharded_state.epoch.sharding))
  state = teacher.record(teacher.init(key), np.arange(n, dtype=np.int32), host_scores, kind="loss")
  state = state._replace(epoch=np.int32(2))
  print(f"{'':34s} {'8 devices':>28s} {'1 device':>28s}  equal")
  _row("attent_complex next_epoch (soft)", {
      "8 devices": lambda: teacher.next_epoch(sharded_state)[1],
      "1 device": lambda: teacher.next_epoch(state)[1]}, args.repeats)
  print(f"default implementation: {selection.DEFAULT_IMPL}")


if __name__ == "__main__":
  main()
