"""Selection at scale on 8 fake CPU devices: seconds and per-device bytes, sharded vs replicated designs.

For pools of 1e6, 1e7 and 1e8 examples (scores sharded P('data') over 8 devices) it compiles and, where
the machine's memory allows, runs:

  next_epoch         the teacher's whole planning step of `attent_simple` (hard top 70%, a SELECT
                     epoch) in 1024 logical shards, state sharded: the epoch's per-shard shuffle, the
                     bisection top-count, the kept-first order and the plan all stay sharded;
  select/replicated  the selection step alone, replicated design: one all-gather of the keys, then
                     `lax.top_k` of k = 0.7 N and a kept mask (`global_top_k(..., "gather")`);
  select/sharded     the selection step alone, sharded design: `top_count_mask` (bisection over the
                     key bits with scalar psums; the kept mask stays sharded).

Bytes per device are `compiled.memory_analysis()` (arguments + outputs + temporaries of the
partitioned program) and need no execution, so they are given for every size; "largest buffer" is the
largest array shape in the partitioned program (`compiled.as_text()`). Seconds are one wall-clock
median over --repeats calls after a warm-up call, skipped where the replicated design would need more
than --max-gib of host memory for the 8 fake devices together.

    python -m benchmarks.selection_scale [--pools 1e6,1e7,1e8] [--repeats 3] [--max-gib 8] [--designs ...]
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"  # before jax is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from attent_jax import selection  # noqa: E402

RATIO = 0.7
LOGICAL_SHARDS = 1024


def _largest_buffer(compiled) -> int:
  shapes = re.findall(r"\[([\d,]+)\]", compiled.as_text())
  return max(math.prod(int(d) for d in shape.split(",")) for shape in shapes)


def _bytes(compiled) -> int:
  m = compiled.memory_analysis()
  return m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes


def _keys(scores, seen):
  return selection.selection_keys(jnp.where(seen, scores, jnp.inf), "hard")


def _replicated_select(scores, seen, count, *, k):
  top = selection.global_top_k(_keys(scores, seen), k, "gather")
  return jnp.zeros(scores.shape[0], bool).at[top].set(jnp.arange(k) < count)


def _sharded_select(scores, seen, count):
  return selection.top_count_mask(_keys(scores, seen), count)


def _median_seconds(fn, args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _teacher_state(teacher, sharding, scalar, concrete: bool):
  """The state of a SELECT epoch (epoch 1, every example scored), concrete or abstract."""
  shape = teacher.layout.shape
  if not concrete:
    table = lambda dtype: jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)  # noqa: E731
    one = lambda dtype: jax.ShapeDtypeStruct((), dtype, sharding=scalar)  # noqa: E731
    return selection.TeacherState(
        scores={"loss": table(jnp.float32)}, age={"loss": table(jnp.int32)},
        order=table(jnp.int32), weights=table(jnp.float32),
        counts=jax.ShapeDtypeStruct(shape[:1], jnp.int32, sharding=sharding),
        epoch=one(jnp.int32), key=jax.ShapeDtypeStruct((2,), jnp.uint32, sharding=scalar))
  state = teacher.init(0, sharding)
  scores = jax.jit(lambda: jax.random.uniform(jax.random.key(1), shape), out_shardings=sharding)()
  age = jax.jit(lambda: jnp.zeros(shape, jnp.int32), out_shardings=sharding)()
  return state._replace(scores={"loss": scores}, age={"loss": age},
                        epoch=jax.device_put(jnp.int32(1), scalar))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--pools", default="1e6,1e7,1e8")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--max-gib", type=float, default=8.0)
  parser.add_argument("--designs", default="next_epoch,select/replicated,select/sharded")
  args = parser.parse_args()
  mesh = jax.make_mesh((8,), ("data",))
  sharding, scalar = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
  print(f"jax {jax.__version__}, {len(jax.devices())} {jax.devices()[0].platform} devices, "
        f"{os.cpu_count()} host cores, {platform.machine()}; {args.repeats} timed calls per cell")
  print(f"{'pool':>11s} {'design':18s} {'MiB/device':>11s} {'largest buffer':>15s} {'seconds':>9s}")
  for n in (int(float(p)) for p in args.pools.split(",")):
    teacher = selection.make_teacher("attent_simple", pool_size=n, total_epochs=3,
                                     ratio_start=RATIO, logical_shards=LOGICAL_SHARDS)
    k = selection.count_for(RATIO, n)
    count = jax.device_put(jnp.int32(k), scalar)
    vector = lambda dtype: jax.ShapeDtypeStruct((n,), dtype, sharding=sharding)  # noqa: E731, B023
    abstract_select = (vector(jnp.float32), vector(jnp.bool_), jax.ShapeDtypeStruct(
        (), jnp.int32, sharding=scalar))
    designs = {
        "next_epoch": (jax.jit(teacher.next_epoch),
                       (_teacher_state(teacher, sharding, scalar, False),)),
        "select/replicated": (jax.jit(lambda s, v, c, k=k: _replicated_select(s, v, c, k=k)),
                              abstract_select),
        "select/sharded": (jax.jit(_sharded_select), abstract_select),
    }
    concrete = None
    for name, (fn, abstract) in designs.items():
      if name not in args.designs.split(","):
        continue
      compiled = fn.lower(*abstract).compile()
      per_device = _bytes(compiled)
      seconds = float("nan")
      if per_device * 8 <= args.max_gib * 2**30:
        if name == "next_epoch":
          call_args = (_teacher_state(teacher, sharding, scalar, True),)
        else:
          if concrete is None:
            scores = jax.device_put(jax.random.uniform(jax.random.key(1), (n,)), sharding)
            concrete = (scores, jax.device_put(jnp.ones((n,), bool), sharding), count)
          call_args = concrete
        seconds = _median_seconds(compiled, call_args, args.repeats if n <= 10**6 else 1)
        del call_args
      print(f"{n:11.0e} {name:18s} {per_device / 2**20:11.1f} {_largest_buffer(compiled):15d} "
            f"{seconds:9.3f}", flush=True)


if __name__ == "__main__":
  main()
