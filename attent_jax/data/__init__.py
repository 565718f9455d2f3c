"""Offline data: tfds sources whose examples carry stable int32 indices, and the index batcher."""

from attent_jax.data.batcher import Batcher, model_features
from attent_jax.data.sources import DEFAULT_DATA_DIR, LOCAL_DATASETS, Pool, load_pool, make_builder

__all__ = ["Batcher", "DEFAULT_DATA_DIR", "LOCAL_DATASETS", "Pool", "load_pool", "make_builder",
           "model_features"]
