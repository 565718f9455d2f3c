"""Tokenizers: a BPE trained here on local text (nothing downloaded) round-trips, specials resolve."""

import json

import pytest
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from attent_jax.data import tokenizer

_TEXT = ["Mia has 7 pens. Mia gets 5 more.", "7 + 5 = 12\n#### 12", "héllo wörld, naïve café"] * 20


def _write_bpe(directory, specials=("<pad>", "<s>", "</s>"), config=None):
  bpe = tokenizers.Tokenizer(models.BPE())
  bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  bpe.decoder = decoders.ByteLevel()
  bpe.train_from_iterator(_TEXT, trainers.BpeTrainer(
      vocab_size=300, special_tokens=list(specials),
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
  directory.mkdir(parents=True, exist_ok=True)
  bpe.save(str(directory / "tokenizer.json"))
  if config is not None:
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
  return directory


def test_trained_bpe_round_trips_and_finds_special_tokens(tmp_path):
  tok = tokenizer.load(_write_bpe(tmp_path / "ckpt"))
  assert (tok.pad_id, tok.bos_id, tok.eos_id) == (0, 1, 2)
  for text in ["Mia has 7 pens.\n#### 12", "héllo wörld", "unseen words: zebra 98765"]:
    ids = tok.encode(text)
    assert tok.bos_id not in ids and tok.eos_id not in ids
    assert tok.decode(ids) == text
    assert tok.decode([tok.bos_id, *ids, tok.eos_id, tok.pad_id]) == text  # Specials are skipped.
  assert tok.encode_batch(["7 + 5", "x"]) == [tok.encode("7 + 5"), tok.encode("x")]
  assert len(tok.encode("Mia has 7 pens.")) < len("Mia has 7 pens.")  # Merges were learned.


def test_tokenizer_config_names_the_special_tokens(tmp_path):
  directory = _write_bpe(tmp_path / "ckpt", specials=("<unk>", "<|im_end|>", "<|endoftext|>"),
                         config={"bos_token": None, "eos_token": {"content": "<|im_end|>"},
                                 "pad_token": "<|endoftext|>"})
  tok = tokenizer.load(directory / "tokenizer.json")
  assert (tok.bos_id, tok.eos_id, tok.pad_id) == (None, 1, 2)


def test_pad_defaults_to_eos_and_missing_eos_is_an_error(tmp_path):
  tok = tokenizer.load(_write_bpe(tmp_path / "a", specials=("<s>", "</s>")))
  assert tok.pad_id == tok.eos_id == 1
  with pytest.raises(ValueError, match="no end-of-sequence token"):
    tokenizer.load(_write_bpe(tmp_path / "b", specials=("<unk>",)))
  with pytest.raises(ValueError, match="'<end>' named in tokenizer_config.json"):
    tokenizer.load(_write_bpe(tmp_path / "c", config={"eos_token": "<end>"}))


def test_bad_tokenizer_files_are_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="tokenizer.json"):
    tokenizer.load(tmp_path)
  (tmp_path / "tokenizer.json").write_text("{not json")
  with pytest.raises(ValueError, match="not a valid tokenizer.json"):
    tokenizer.load(tmp_path)


def test_byte_tokenizer_round_trips_any_text():
  tok = tokenizer.load("")
  assert tok.vocab_size == 259 and (tok.pad_id, tok.bos_id, tok.eos_id) == (0, 1, 2)
  text = "12 * 3 = 36\n#### 36 — ünïcode ✓"
  ids = tok.encode(text)
  assert min(ids) >= 3 and max(ids) < 259 and len(ids) == len(text.encode())
  assert tok.decode([tok.bos_id, *ids, tok.eos_id, tok.pad_id, tok.pad_id]) == text
