"""Offline tfds builders: real `tfds.core.GeneratorBasedBuilder`s that need no network.

Each writes array_record files (no TensorFlow) and stores an int32 `index` equal to the example's position
in its split (shuffling is disabled, so the index is stable and equals the data-source position).
"""
