"""Training: `run(config, workdir)` trains an attention learner under a teacher, resumably."""

from attent_jax.train.loop import NonFiniteLossError, RunResult, run
from attent_jax.train.state import TrainState, init_state

__all__ = ["NonFiniteLossError", "RunResult", "TrainState", "init_state", "run"]
