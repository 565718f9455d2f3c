r"""Trains an attention learner under a teacher: `python -m experiments.train --config=... --workdir=...`.

  python -m experiments.train --config=attent_jax/configs/vit_fashion_mnist.py --workdir=runs/vit
  python -m experiments.train --config=attent_jax/configs/vit_digits.py:smoke --workdir=/tmp/smoke \
      --config.teacher.name=infobatch --config.train.epochs=5

Re-running the same command resumes from the newest good checkpoint in --workdir. On several hosts, run
the same command on each (JAX_COORDINATOR_ADDRESS / cluster env, or --coordinator_address,
--num_processes, --process_id); `jax.distributed.initialize()` is called before anything else.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from attent_jax import distributed, quiet_logs

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file[:smoke].",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, metrics and results go here.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  quiet_logs.keep_library_logs_to_warnings()
  distributed.initialize_from_flags()
  from attent_jax import train  # pylint: disable=g-import-not-at-top  (after distributed init)
  distributed.log_topology()
  result = train.run(_CONFIG.value, _WORKDIR.value)
  logging.info("final: %s", result.final)
  print({k: round(v, 4) if isinstance(v, float) else v for k, v in result.final.items()})


if __name__ == "__main__":
  app.run(main)
