"""Tokenizers for prompt/response data: a checkpoint's `tokenizer.json`, or a byte-level fallback.

    tok = tokenizer.load("")                       # ByteTokenizer: no file needed (the offline default)
    tok = tokenizer.load("/path/to/llama-2-7b")     # HFTokenizer from <dir>/tokenizer.json
    ids = tok.encode("2 + 3 = 5")                   # list[int], no special tokens added
    text = tok.decode(ids)                          # special tokens (bos/eos/pad) are skipped

Both expose `vocab_size`, `bos_id` (None when the tokenizer has no beginning-of-sequence token, as
Qwen2's), `eos_id` and `pad_id`. Callers add bos/eos themselves (`attent_jax.data.sft`), so encoding is the
same whatever the tokenizer's own post-processor would add.

Why bytes by default: the offline arithmetic problems are learned digit by digit; a byte vocabulary keeps
every digit its own token, whereas a BPE trained on the problems would merge frequent numbers into single
tokens and make the arithmetic harder to learn for a small model.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence

BYTES = "bytes"
_BYTE_OFFSET = 3  # Ids 0, 1, 2 are pad, bos, eos; byte b is id b + 3.
# Names of special tokens in common checkpoints, tried when no tokenizer_config.json names them.
_BOS_NAMES = ("<s>", "<|begin_of_text|>", "<bos>")
_EOS_NAMES = ("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>")
_PAD_NAMES = ("<pad>", "<|pad|>", "[PAD]")


class ByteTokenizer:
  """UTF-8 bytes as tokens: pad 0, bos 1, eos 2, byte b -> b + 3 (vocab 259). Deterministic, no file."""

  vocab_size = 256 + _BYTE_OFFSET
  pad_id, bos_id, eos_id = 0, 1, 2
  name = BYTES

  def encode(self, text: str) -> list[int]:
    return [b + _BYTE_OFFSET for b in text.encode("utf-8")]

  def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
    return [self.encode(text) for text in texts]

  def decode(self, ids: Sequence[int]) -> str:
    data = bytes(int(i) - _BYTE_OFFSET for i in ids if _BYTE_OFFSET <= int(i) < self.vocab_size)
    return data.decode("utf-8", errors="replace")


def _token_text(value) -> str | None:
  """A tokenizer_config.json special-token entry: a string, {"content": ...}, or null."""
  if isinstance(value, dict):
    return value.get("content")
  return value if isinstance(value, str) else None


class HFTokenizer:
  """A Hugging Face `tokenizer.json` (the `tokenizers` package), with its checkpoint's special tokens.

  Special tokens come from tokenizer_config.json ("bos_token", "eos_token", "pad_token") next to the
  file, else config.json's *_token_id, else the usual names (<s>, </s>, <|endoftext|>, ...). An eos
  token is required; without a pad token the eos id pads (padding never enters the loss).
  """

  def __init__(self, path: str | pathlib.Path):
    import tokenizers  # pylint: disable=g-import-not-at-top  (a Rust wheel; only needed here)

    path = pathlib.Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
      raise FileNotFoundError(f"tokenizer file {file} does not exist (expected a tokenizer.json or a "
                              "directory holding one)")
    try:
      self._tokenizer = tokenizers.Tokenizer.from_file(str(file))
    except Exception as error:  # The Rust side raises a bare Exception on malformed files.
      raise ValueError(f"{file} is not a valid tokenizer.json: {error}") from error
    self.name = str(file)
    self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)
    names, ids = self._configured_specials(file.parent)
    self.bos_id = self._resolve("bos", names.get("bos"), ids.get("bos"), _BOS_NAMES)
    self.eos_id = self._resolve("eos", names.get("eos"), ids.get("eos"), _EOS_NAMES)
    if self.eos_id is None:
      raise ValueError(f"{file}: no end-of-sequence token found (set eos_token in "
                       "tokenizer_config.json or eos_token_id in config.json)")
    pad_id = self._resolve("pad", names.get("pad"), ids.get("pad"), _PAD_NAMES)
    self.pad_id = self.eos_id if pad_id is None else pad_id

  @staticmethod
  def _configured_specials(directory: pathlib.Path) -> tuple[dict, dict]:
    names, ids = {}, {}
    tokenizer_config = directory / "tokenizer_config.json"
    if tokenizer_config.is_file():
      fields = json.loads(tokenizer_config.read_text())
      names = {k: _token_text(fields.get(f"{k}_token")) for k in ("bos", "eos", "pad")}
    model_config = directory / "config.json"
    if model_config.is_file():
      fields = json.loads(model_config.read_text())
      ids = {k: fields.get(f"{k}_token_id") for k in ("bos", "eos", "pad")}
      ids = {k: v[0] if isinstance(v, list) and v else v for k, v in ids.items()}
    return names, ids

  def _resolve(self, role: str, name: str | None, token_id: int | None, defaults) -> int | None:
    if name is not None:
      found = self._tokenizer.token_to_id(name)
      if found is None:
        raise ValueError(f"{self.name}: the {role} token {name!r} named in tokenizer_config.json is not "
                         "in the vocabulary")
      return found
    if isinstance(token_id, int) and 0 <= token_id < self.vocab_size:
      return token_id
    for candidate in defaults:
      found = self._tokenizer.token_to_id(candidate)
      if found is not None:
        return found
    return None

  def encode(self, text: str) -> list[int]:
    return self._tokenizer.encode(text, add_special_tokens=False).ids

  def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
    return [e.ids for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

  def decode(self, ids: Sequence[int]) -> str:
    return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)


Tokenizer = ByteTokenizer | HFTokenizer


def spec_for(tokenizer: str, checkpoint: str = "") -> str:
  """The tokenizer a run uses: `tokenizer` if set, else the init checkpoint's tokenizer.json if it is a
  directory holding one, else "bytes"."""
  if tokenizer:
    return tokenizer
  if checkpoint and (pathlib.Path(checkpoint) / "tokenizer.json").is_file():
    return str(checkpoint)
  return BYTES


def load(spec: str | pathlib.Path) -> Tokenizer:
  """"" or "bytes": the byte tokenizer; otherwise a tokenizer.json file or a directory holding one."""
  if str(spec) in ("", BYTES):
    return ByteTokenizer()
  return HFTokenizer(spec)
