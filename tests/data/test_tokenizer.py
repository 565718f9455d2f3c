"""Tokenizers: a BPE trained here on local text (nothing downloaded) round-trips, specials resolve."""

import pytest

from attent_jax.data import tokenizer
from tests.offline_data import write_bpe as _write_bpe


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


def test_a_run_uses_the_checkpoints_tokenizer_unless_one_is_named(tmp_path):
  checkpoint = _write_bpe(tmp_path / "ckpt")
  assert tokenizer.spec_for("", "") == tokenizer.spec_for("", str(tmp_path)) == "bytes"
  assert tokenizer.spec_for("", str(checkpoint)) == str(checkpoint)
  assert tokenizer.spec_for("/other/tokenizer.json", str(checkpoint)) == "/other/tokenizer.json"
