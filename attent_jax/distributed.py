"""Multi-process start-up: `jax.distributed.initialize` from flags or the cluster environment."""

from __future__ import annotations

import os

import jax
from absl import flags, logging

_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "host:port of process 0 for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes in the run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's id in [0, num_processes).")
_CPU_COLLECTIVES = flags.DEFINE_string("cpu_collectives", "gloo",
                                       "CPU collectives implementation for multi-process CPU runs.")

# Environment variables set by launchers (SLURM, Cloud TPU, Kubernetes jobs) that mean "several hosts".
_CLUSTER_ENV = ("JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID", "TPU_WORKER_HOSTNAMES", "JOBSET_NAME")


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, cpu_collectives: str = "gloo") -> None:
  """Calls jax.distributed.initialize when the run spans several processes; a no-op otherwise."""
  explicit = coordinator_address is not None
  if not explicit and not any(os.environ.get(name) for name in _CLUSTER_ENV):
    return
  if cpu_collectives:
    jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
  if explicit:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
  else:
    jax.distributed.initialize()


def initialize_from_flags() -> None:
  initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value, _CPU_COLLECTIVES.value)


def log_topology() -> None:
  logging.info("process %d of %d; %d local / %d global devices: %s", jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count(), jax.devices())


def barrier(name: str, timeout_s: int = 900) -> None:
  """Waits until every process reaches the barrier `name` (a no-op in a one-process run).

  A coordination-service barrier, not a device collective: processes that reach their first
  collective far apart (one still compiling or building data) would otherwise trip CPU collectives'
  fixed 30 s rendezvous timeout. Call it at the same point, with the same name, on every process.
  """
  if jax.process_count() == 1:
    return
  from jax._src import distributed  # pylint: disable=g-import-not-at-top  (the runtime's client)
  distributed.global_state.client.wait_at_barrier(name, timeout_in_ms=timeout_s * 1000)
