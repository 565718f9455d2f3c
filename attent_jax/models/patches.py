"""Images <-> flattened non-overlapping patches, shared by the ViT classifier and the MAE. Pure jax."""

from __future__ import annotations

import jax


def patchify(image_BHWC: jax.Array, patch_size: int) -> jax.Array:
  """[B, H, W, C] -> [B, N, P]: N = (H/p)*(W/p) patches in row-major order, P = p*p*C pixels each.

  Each patch is flattened as (row, column, channel). H and W must be multiples of `patch_size`.
  """
  batch, height, width, channels = image_BHWC.shape
  if height % patch_size or width % patch_size:
    raise ValueError(f"image {height}x{width} is not divisible into {patch_size}x{patch_size} patches")
  rows, cols = height // patch_size, width // patch_size
  x = image_BHWC.reshape(batch, rows, patch_size, cols, patch_size, channels)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(batch, rows * cols, patch_size * patch_size * channels)


def unpatchify(patches_BNP: jax.Array, patch_size: int, height: int, width: int) -> jax.Array:
  """Inverse of `patchify`: [B, N, P] -> [B, H, W, C] for an H x W image."""
  batch, _, pixels = patches_BNP.shape
  channels = pixels // (patch_size * patch_size)
  rows, cols = height // patch_size, width // patch_size
  x = patches_BNP.reshape(batch, rows, cols, patch_size, patch_size, channels)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(batch, height, width, channels)


def check_image(image_BHWC: jax.Array, image_size: int, channels: int) -> None:
  """Raises ValueError (at trace time) unless the image batch is [B, image_size, image_size, channels]."""
  if image_BHWC.ndim != 4 or image_BHWC.shape[1:] != (image_size, image_size, channels):
    raise ValueError(f"batch['image'] must be f32[B, {image_size}, {image_size}, {channels}], "
                     f"got shape {image_BHWC.shape}")
