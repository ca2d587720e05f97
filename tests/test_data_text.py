"""coursecnn.data.text: the shipped sentences and their checksums, names from Faker, the tokenizer,
the vocabulary, padded batches, and the sentence polarity download from a server on 127.0.0.1."""

from __future__ import annotations

import bz2
import hashlib
import importlib.util
import io
import socket
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from loopback import serve_folder

from coursecnn.data import samples
from coursecnn.data.text import (
    NAME_LANGUAGES,
    PAD_ID,
    SENTENCE_FILES,
    UNK_ID,
    Vocabulary,
    characters,
    embeddings,
    movie_reviews,
    names,
    pad_batch,
    polarity,
    sentences,
    text_loader,
    tokenize,
    tweets,
)
from coursecnn.data.text import faker_names as names_module

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"movie_reviews": (9510, 1056), "tweets": (3309, 827)}
LOADERS = {"movie_reviews": movie_reviews, "tweets": tweets}
SOURCE_ROWS = {"movie_reviews": 10605, "tweets": 4200}

# -- the shipped sentences ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIZES))
def test_sentences_sizes_types_and_labels_from_the_ratings(name):
    for split, n in zip(("train", "test"), SIZES[name], strict=True):
        x, y, r = LOADERS[name](split, ratings=True)
        assert isinstance(x, list) and len(x) == n and all(isinstance(s, str) and s for s in x)
        assert y.shape == r.shape == (n,) and y.dtype == np.int64 and r.dtype == np.float64
        assert np.array_equal(y, (r > 0).astype(np.int64)) and (r != 0).all()
        assert -4 <= r.min() and r.max() <= 4 and set(np.unique(y)) == {0, 1}
        x2, y2 = LOADERS[name](split)
        assert x2 == x and np.array_equal(y2, y)


def test_movie_reviews_are_balanced_and_tweets_keep_their_skew_in_both_splits():
    for split in ("train", "test"):
        _, y = movie_reviews(split)
        assert abs(y.mean() - 0.5) < 0.01
        _, y = tweets(split)
        assert 0.68 < y.mean() < 0.71
    # stratified: the same share of positives in both splits, to a row
    _, y_train = tweets("train")
    _, y_test = tweets("test")
    assert abs(y_train.mean() - y_test.mean()) < 2 / len(y_test)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_the_splits_share_no_sentence_not_even_by_case_or_spacing(name):
    train, _ = LOADERS[name]("train")
    test, _ = LOADERS[name]("test")
    keys = {sentences.dedup_key(s) for s in train}
    assert not any(sentences.dedup_key(s) in keys for s in test)
    assert len(keys) == len(train)  # no repeat inside a split either
    tokens = {tuple(tokenize(s)) for s in train}
    assert not any(tuple(tokenize(s)) in tokens for s in test)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_the_file_keeps_every_source_row_with_its_split(name):
    table = sentences.sentence_table(name)
    assert np.array_equal(table.ids, np.arange(1, SOURCE_ROWS[name] + 1))
    counts = {s: table.splits.count(s) for s in sentences.ROW_SPLITS}
    assert counts["train"] + counts["test"] == sum(SIZES[name])
    assert counts["zero"] == int((table.ratings == 0).sum())
    assert {"movie_reviews": (37, 2), "tweets": (4, 60)}[name] == (
        counts["zero"],
        counts["duplicate"],
    )
    first = {}
    for i, (text, split) in enumerate(zip(table.texts, table.splits, strict=True)):
        key = sentences.dedup_key(text)
        assert (split == "duplicate") == (key in first)
        first.setdefault(key, i)


def test_the_issue_counts_and_the_first_sentence():
    table = sentences.sentence_table("movie_reviews")
    signs = np.sign(table.ratings)
    assert (len(signs), (signs > 0).sum(), (signs < 0).sum(), (signs == 0).sum()) == (
        10605,
        5242,
        5326,
        37,
    )
    assert table.texts[0].startswith("The Rock is destined to be the 21st Century's new")
    assert len(sentences.sentence_table("tweets").texts) == 4200


def test_a_corrupted_sentence_file_is_refused_with_its_name(shipped_copy):
    path = shipped_copy / SENTENCE_FILES["tweets"]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"tweets\.tsv\.bz2.*corrupted.*git checkout"):
        tweets("train")
    movie_reviews("test")  # the other file is fine


def test_a_truncated_or_missing_sentence_file_is_refused(shipped_copy):
    path = shipped_copy / SENTENCE_FILES["movie_reviews"]
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"movie_reviews\.tsv\.bz2.*truncated"):
        movie_reviews("train")
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"git checkout -- data/movie_reviews\.tsv\.bz2"):
        movie_reviews("train")


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="split: expected one of"):
        movie_reviews("validation")
    with pytest.raises(ValueError, match="split"):
        names("dev")
    with pytest.raises(ValueError, match="ratings"):
        movie_reviews(original=True, ratings=True)
    with pytest.raises(ValueError, match="name: expected one of"):
        sentences.sentence_table("imdb")


def test_table_round_trip_and_malformed_tables():
    rows = [("1", "2.5", "train", "Good."), ("2", "0", "zero", "Meh"), ("3", "-1", "test", "Bad")]
    table = sentences.parse_table(sentences.format_table(rows))
    assert table.texts == ("Good.", "Meh", "Bad") and table.ratings.tolist() == [2.5, 0.0, -1.0]
    with pytest.raises(ValueError, match="tabs or newlines"):
        sentences.format_table([("1", "2", "train", "a\tb")])
    with pytest.raises(ValueError, match="split"):
        sentences.format_table([("1", "2", "dev", "a")])
    with pytest.raises(ValueError, match="header"):
        sentences.parse_table(b"a\tb\n")
    with pytest.raises(ValueError, match="line 2"):
        sentences.parse_table(b"id\trating\tsplit\ttext\n1\t2\ttrain\n")


def test_read_source_checks_ids_and_ratings():
    good = b"1\t2.5\tFine film\r\n2\t-0.5\tDull\r\n"
    assert sentences.read_source(good) == [("1", "2.5", "Fine film"), ("2", "-0.5", "Dull")]
    with pytest.raises(ValueError, match="line 2: expected '2"):
        sentences.read_source(b"1\t2\tA\r\n3\t1\tB\r\n")
    with pytest.raises(ValueError, match="in \\[-4, 4\\]"):
        sentences.read_source(b"1\t5.5\tA\r\n")


def _build_data_module():
    spec = importlib.util.spec_from_file_location("build_data", ROOT / "scripts" / "build_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_marks_zero_and_repeated_rows_and_stratifies_the_rest():
    build = _build_data_module()
    rows = [(str(i + 1), r, t) for i, (r, t) in enumerate(
        [("1", "A b"), ("0", "zero"), ("-1", "c"), ("2", "a  B"), ("-2", "d"), ("3", "e"),
         ("-3", "f"), ("1.5", "g"), ("-1.5", "h"), ("0.5", "i"), ("-0.5", "j")]
    )]  # fmt: skip
    out = build.split_sentences(rows, 0.2, np.random.default_rng(0))
    splits = [s for _, _, s, _ in out]
    assert splits[1] == "zero" and splits[3] == "duplicate"
    assert [r[:2] for r in out] == [r[:2] for r in rows]
    kept_pos = [s for (_, r, s, _) in out if s in ("train", "test") and float(r) > 0]
    kept_neg = [s for (_, r, s, _) in out if s in ("train", "test") and float(r) < 0]
    assert kept_pos.count("test") == round(0.2 * len(kept_pos)) == 1
    assert kept_neg.count("test") == round(0.2 * len(kept_neg)) == 1
    again = build.split_sentences(rows, 0.2, np.random.default_rng(0))
    assert again == out


def test_sentence_files_are_reproducible_bzip2():
    rows = [("1", "1", "train", "ok")]
    payload = sentences.format_table(rows)
    assert bz2.compress(payload, 9) == bz2.compress(payload, 9)
    assert bz2.decompress(bz2.compress(payload, 9)) == payload


# -- tokenizer, vocabulary, batches ------------------------------------------------------------


def test_tokenize_splits_words_clitics_and_punctuation():
    assert tokenize("It doesn't work, we're told.") == [
        "it", "does", "n't", "work", ",", "we", "'re", "told", ".",
    ]  # fmt: skip
    assert tokenize("The 21st Century's new ''Conan''") == [
        "the", "21st", "century", "'s", "new", '"', "conan", '"',
    ]  # fmt: skip
    assert tokenize("Clichés, Jirí!") == ["clichés", ",", "jirí", "!"]
    assert tokenize("@anonymous :D #fb") == ["@", "anonymous", ":", "d", "#", "fb"]
    assert tokenize("") == [] and tokenize("   ") == []
    assert characters("Müller-Ö") == list("müller-ö")
    with pytest.raises(ValueError, match="text: expected a str"):
        tokenize(["a"])


def test_vocabulary_ids_counts_and_order():
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "a", "b"], ["d"]])
    assert vocab.itos == ("<pad>", "<unk>", "b", "a", "c", "d")  # by count, then alphabetical
    assert vocab.pad_id == PAD_ID == 0 and vocab.unk_id == UNK_ID == 1
    assert vocab.encode(["a", "zzz", "b"]) == [3, 1, 2]
    assert vocab["zzz"] == 1 and "a" in vocab and "zzz" not in vocab and len(vocab) == 6
    assert vocab.decode([3, 1, 2, 0, 0]) == ["a", "<unk>", "b"]
    assert vocab.counts == {"b": 3, "a": 2, "c": 1, "d": 1}
    assert Vocabulary.build([["b", "a", "b"], ["a", "c"]], min_count=2).itos[2:] == ("a", "b")
    assert Vocabulary.build([["b", "a", "b"], ["a", "c"]], max_size=3).itos[2:] == ("a",)
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build([["a"]], min_count=0)
    with pytest.raises(ValueError, match="tokenize it first"):
        Vocabulary.build(["a sentence"])
    with pytest.raises(ValueError, match="tokenize it first"):
        vocab.encode("a b")
    with pytest.raises(ValueError, match="twice"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="ids: expected ids in"):
        vocab.decode([6])


def test_vocabulary_from_the_training_split_leaves_test_only_words_unknown():
    train, _ = movie_reviews("train")
    test, _ = movie_reviews("test")
    vocab = Vocabulary.from_sentences(train, min_count=2)
    train_tokens = {t for s in train for t in tokenize(s)}
    assert set(vocab.itos[2:]) <= train_tokens
    unseen = [t for s in test for t in tokenize(s) if t not in train_tokens]
    assert unseen and all(vocab[t] == UNK_ID for t in unseen)
    ids = [i for s in test for i in vocab.encode(tokenize(s))]
    assert PAD_ID not in ids and 0.03 < ids.count(UNK_ID) / len(ids) < 0.15


def test_pad_batch_right_pads_and_cuts():
    x = pad_batch([[5, 6, 7], [8], []])
    assert x.dtype == torch.long and x.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert pad_batch([[1]], min_length=4).tolist() == [[1, 0, 0, 0]]
    assert pad_batch([[1, 2, 3, 4, 5]], max_length=3).tolist() == [[1, 2, 3]]
    assert pad_batch([[1]], pad_id=9, min_length=2).tolist() == [[1, 9]]
    with pytest.raises(ValueError, match="sequences"):
        pad_batch([])
    with pytest.raises(ValueError, match="max_length"):
        pad_batch([[1]], min_length=5, max_length=3)


def test_text_loader_batches_are_padded_seeded_and_labelled():
    train, y = tweets("train")
    vocab = Vocabulary.from_sentences(train)
    loader = text_loader(train[:200], y[:200], vocab, batch_size=64, shuffle=True, seed=1)
    batches = list(loader)
    assert len(batches) == 4 and [len(b[1]) for b in batches] == [64, 64, 64, 8]
    for ids, labels in batches:
        assert ids.dtype == torch.long and labels.dtype == torch.long and ids.ndim == 2
        lengths = (ids != PAD_ID).sum(1)
        assert lengths.max() == ids.shape[1]  # each batch padded to its own longest
        assert all((row[n:] == PAD_ID).all() for row, n in zip(ids, lengths, strict=True))
    again = [b[1] for b in text_loader(train[:200], y[:200], vocab, 64, shuffle=True, seed=1)]
    assert all(a.equal(b[1]) for a, b in zip(again, batches, strict=True))
    ids, _ = next(iter(text_loader(train[:3], y[:3], vocab, batch_size=3)))
    assert ids[0].tolist()[: len(tokenize(train[0]))] == vocab.encode(tokenize(train[0]))
    fixed = text_loader(["ab", "abcdef"], [0, 1], Vocabulary(list("abc")), batch_size=2,
                        tokenizer=characters, min_length=4, max_length=4)  # fmt: skip
    ids, labels = next(iter(fixed))
    assert ids.tolist() == [[2, 3, 0, 0], [2, 3, 4, 1]] and labels.tolist() == [0, 1]
    with pytest.raises(ValueError, match="labels: expected shape"):
        text_loader(train[:3], y[:2], vocab)


# -- names from Faker --------------------------------------------------------------------------


def test_names_are_balanced_over_ten_or_more_languages_with_a_fixed_split():
    x_train, y_train = names("train")
    x_test, y_test = names("test")
    k = len(NAME_LANGUAGES)
    assert k >= 10 and y_train.dtype == np.int64
    per_train, per_test = np.bincount(y_train, minlength=k), np.bincount(y_test, minlength=k)
    assert (per_train == per_train[0]).all() and (per_test == per_test[0]).all()
    assert per_train[0] > 250 and abs(per_test[0] / (per_test[0] + per_train[0]) - 0.2) < 0.01
    assert not {n.casefold() for n in x_train} & {n.casefold() for n in x_test}
    assert len({n.casefold() for n in x_train}) == len(x_train)
    assert names("train")[0] == x_train  # fixed
    assert len(set(y_train[:50])) > 5  # mixed, not grouped by language


def test_shipped_names_carry_no_name_twice_and_only_letters():
    everything = names("train")[0] + names("test")[0]
    assert len({n.casefold() for n in everything}) == len(everything)
    assert all(all(ch.isalpha() or ch in " -'" for ch in n) and n == n.strip() for n in everything)
    assert names_module.faker_version() == names_module.FAKER


def test_a_corrupted_names_file_is_refused_with_its_name(tmp_path, monkeypatch):
    from coursecnn.data import samples

    copy = tmp_path / "data"
    copy.mkdir()
    payload = bytearray((samples.SHIPPED_DIR / names_module.NAMES_FILE).read_bytes())
    payload[100] ^= 0xFF
    (copy / names_module.NAMES_FILE).write_bytes(bytes(payload))
    monkeypatch.setattr(samples, "SHIPPED_DIR", copy)
    with pytest.raises(ValueError, match="names.tsv.bz2"):
        names("train")


NEEDS_FAKER = pytest.mark.skipif(
    names_module.installed_faker() is None,
    reason="Faker (the data extra, pip install -e '.[data]') rebuilds data/names.tsv.bz2",
)


@NEEDS_FAKER
def test_the_builder_rebuilds_the_shipped_names_from_the_same_faker():
    if names_module.installed_faker() != names_module.FAKER:
        pytest.skip(f"the shipped names were built from Faker {names_module.FAKER}")
    rows = names_module.build_rows()
    for split in ("train", "test"):
        texts, labels = names(split)
        built = [(n, lang) for n, lang, s in rows if s == split]
        assert built == [(t, NAME_LANGUAGES[c]) for t, c in zip(texts, labels, strict=True)]


@NEEDS_FAKER
def test_no_name_belongs_to_two_languages_and_every_name_is_letters():
    table = names_module.name_table()
    seen = {}
    for language, listed in table.items():
        for name in listed:
            assert name.casefold() not in seen, (name, language, seen.get(name.casefold()))
            seen[name.casefold()] = language
            assert all(ch.isalpha() or ch in " -'" for ch in name) and name == name.strip()
    # a name that several languages list, such as "Anna", is ambiguous and left out
    listed = {}
    for language, locales in names_module.NAME_LOCALES.items():
        for name in {n.casefold() for loc in locales for n in names_module.locale_names(loc)}:
            listed.setdefault(name, set()).add(language)
    shared = {n for n, langs in listed.items() if len(langs) > 1}
    assert "anna" in shared and len(shared) > 200 and not shared & set(seen)


@NEEDS_FAKER
def test_faker_name_lists_are_read_offline_from_the_package():
    found = names_module.locale_names("fi_FI")
    assert "Aaltonen" in found and "John" not in found and "Doe" not in found
    with pytest.raises(ValueError, match="locale: Faker has no person provider"):
        names_module.locale_names("xx_XX")
    assert names_module.installed_faker()[0].isdigit()


# -- Pang and Lee's sentence polarity data, downloaded from 127.0.0.1 --------------------------


def _polarity_archive() -> bytes:
    """A small archive laid out as rt-polaritydata.tar.gz, Latin-1 text, one sentence a line."""
    pos = [f"a fine film number {i} ." for i in range(30)] + ["caf\xe9 society is great ."]
    neg = [f"a dull film number {i} ." for i in range(30)] + ["A FINE FILM NUMBER 0 ."]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, lines in (("rt-polarity.pos", pos), ("rt-polarity.neg", neg)):
            payload = ("\n".join(lines) + "\n").encode("latin-1")
            info = tarfile.TarInfo(f"rt-polaritydata/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


@pytest.fixture
def server(tmp_path):
    """A server on 127.0.0.1 with the small archive at /good/ and a broken copy at /bad/."""
    archive = _polarity_archive()
    (tmp_path / "served" / "good").mkdir(parents=True)
    (tmp_path / "served" / "bad").mkdir()
    (tmp_path / "served" / "good" / polarity.POLARITY_FILE).write_bytes(archive)
    (tmp_path / "served" / "bad" / polarity.POLARITY_FILE).write_bytes(archive[:-10])
    with serve_folder(tmp_path / "served") as (url, log):
        yield url, archive, log


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No copy anywhere: an empty $COURSECNN_DATA (where downloads go) and an empty data/."""
    root = tmp_path / "root"
    monkeypatch.setenv("COURSECNN_DATA", str(root))
    monkeypatch.delenv("COURSECNN_OFFLINE", raising=False)
    monkeypatch.setattr(samples, "SHIPPED_DIR", tmp_path / "shipped")
    return root


def _expect(monkeypatch, archive: bytes, urls: list[str]) -> None:
    monkeypatch.setattr(polarity, "POLARITY_URLS", tuple(urls))
    monkeypatch.setattr(polarity, "POLARITY_SHA256", hashlib.sha256(archive).hexdigest())
    monkeypatch.setattr(polarity, "POLARITY_BYTES", len(archive))


def test_download_from_a_local_server_falls_back_to_the_next_url(server, nowhere, monkeypatch):
    url, archive, log = server
    name = polarity.POLARITY_FILE
    _expect(monkeypatch, archive, [f"{url}/missing/{name}", f"{url}/good/{name}"])
    x_train, y_train = movie_reviews("train", original=True)
    x_test, y_test = movie_reviews("test", original=True)
    assert log == [f"/missing/{name}", f"/good/{name}"]
    assert (nowhere / name).read_bytes() == archive
    assert not [p for p in nowhere.iterdir() if p.name != name]  # no temporary file left
    assert len(x_train) + len(x_test) == 61  # 62 lines, one repeat (case ignored) dropped
    assert "café society is great ." in x_train + x_test
    assert all(polarity.is_test_text(s) for s in x_test)
    assert not any(polarity.is_test_text(s) for s in x_train)
    labels = dict(zip(x_train + x_test, np.concatenate([y_train, y_test]).tolist(), strict=True))
    assert labels["a fine film number 3 ."] == 1 and labels["a dull film number 3 ."] == 0
    movie_reviews("test", original=True)
    assert len(log) == 2  # downloaded once, then found on disk
    assert polarity.find_polarity() == nowhere / name


def test_a_bad_checksum_is_refused_and_leaves_nothing(server, nowhere, monkeypatch):
    url, archive, _ = server
    _expect(monkeypatch, archive, [f"{url}/bad/{polarity.POLARITY_FILE}"])
    with pytest.raises(FileNotFoundError, match="(?s)download failed.*SHA-256.*not the expected"):
        movie_reviews("train", original=True)
    assert not nowhere.exists() or not list(nowhere.iterdir())


def test_a_corrupted_archive_on_disk_is_refused(server, nowhere, monkeypatch):
    _, archive, _ = server
    _expect(monkeypatch, archive, ["http://127.0.0.1:9/never"])
    nowhere.mkdir()
    (nowhere / polarity.POLARITY_FILE).write_bytes(archive[:-1] + b"x")
    with pytest.raises(ValueError, match="rt-polaritydata.tar.gz.*corrupted.*delete it"):
        movie_reviews("train", original=True)


def test_offline_with_no_copy_is_a_clear_error_not_a_hang(nowhere, monkeypatch):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(polarity, "POLARITY_URLS", (f"http://127.0.0.1:{port}/rt.tar.gz",))
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as err:
        movie_reviews("train", original=True)
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert "sentence polarity data" in message and str(nowhere / polarity.POLARITY_FILE) in message
    assert "COURSECNN_DATA" in message and "download failed" in message and "Connection" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not nowhere.exists() or not list(nowhere.iterdir())


def test_a_server_that_never_answers_times_out(nowhere, monkeypatch):
    with socket.socket() as silent:  # accepts connections (backlog), never sends a byte
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/rt.tar.gz"
        monkeypatch.setattr(polarity, "POLARITY_URLS", (url,))
        monkeypatch.setattr(polarity, "DOWNLOAD_TIMEOUT_S", 0.5)
        start = time.monotonic()
        with pytest.raises(FileNotFoundError, match="(?s)download failed.*timed out"):
            movie_reviews("test", original=True)
        assert time.monotonic() - start < 10


def test_offline_flag_and_no_download_skip_the_network(nowhere, monkeypatch):
    monkeypatch.setattr(polarity, "POLARITY_URLS", ("http://0.0.0.0:9/",))
    with pytest.raises(FileNotFoundError, match="run once with internet access"):
        movie_reviews("train", original=True, download=False)
    monkeypatch.setenv("COURSECNN_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="COURSECNN_OFFLINE"):
        movie_reviews("train", original=True)


def test_the_real_checksum_and_urls_are_recorded():
    assert len(polarity.POLARITY_SHA256) == 64 and polarity.POLARITY_BYTES == 487_770
    assert all(u.endswith("/rt-polaritydata.tar.gz") for u in polarity.POLARITY_URLS)
    readme = (ROOT / "data" / "README.md").read_text()
    assert polarity.POLARITY_SHA256 in readme and "rt-polaritydata.tar.gz" in readme


def test_tweet_tokenize_decodes_entities_and_keeps_emoticons_whole():
    from coursecnn.data.text import tweet_tokenize

    assert tweet_tokenize("so sad :( &amp; tired") == ["so", "sad", ":(", "&", "tired"]
    assert tweet_tokenize(":-) fun, <3 :D!") == [":-)", "fun", ",", "<3", ":D", "!"]
    # inside a word or a link, a colon is punctuation as before
    assert tweet_tokenize("see http://x.co") == tokenize("see http://x.co")
    assert tweet_tokenize("no emoticon here.") == tokenize("no emoticon here.")


def test_characters_lower_cases_turkish_dotted_capital_i_to_one_letter():
    assert characters("İlker") == ["i", "l", "k", "e", "r"]
    assert all(len(c) == 1 and c != "\u0307" for c in characters("İSTANBUL İzmir"))


# --- word vectors (data/word_vectors.npz, notebook 10's CNN-static and CNN-non-static) ---

GCIDE_SAMPLE = """Abuse \\A*buse"\\, v. t. [F. abus['e], L. abusus.]
   1. To put to a wrong use; to misapply; as, to abuse inherited gold.
      [1913 Webster]

            This principle (if one may so abuse the word) shoots
            rapidly into popularity.              --Froude.
      [1913 Webster]

   Syn: To maltreat; injure; {revile}.
        [WordNet 1.5]
"""


def test_gcide_paragraphs_keep_the_prose_and_drop_the_markup():
    got = list(embeddings.gcide_paragraphs(GCIDE_SAMPLE.encode()))
    assert got == [
        "Abuse , v. t. 1. To put to a wrong use; to misapply; as, to abuse inherited gold.",
        "This principle (if one may so abuse the word) shoots rapidly into popularity.",
        "Syn: To maltreat; injure; revile.",
    ]
    tokens = embeddings.corpus_tokens(got + ["  "])
    assert len(tokens) == 3 and tokens[2] == ["syn", ":", "to", "maltreat", ";", "injure", ";",
                                              "revile", "."]  # fmt: skip


def test_shipped_word_vectors_cover_the_movie_vocabulary_in_order():
    wv = embeddings.word_vectors()
    x_train, _ = movie_reviews("train")
    vocab = Vocabulary.from_sentences(x_train, min_count=2)
    assert wv.tokens == tuple(vocab.itos)
    assert wv.vectors.shape == (len(vocab), embeddings.WORD2VEC["vector_size"])
    assert wv.vectors.dtype == np.float32 and not wv.vectors.flags.writeable
    assert np.all(wv.vectors[~wv.found] == 0) and np.all(wv.counts[~wv.found] == 0)
    assert np.all(wv.counts[wv.found] >= embeddings.WORD2VEC["min_count"])
    assert 0.5 < wv.found.mean() < 1 and not wv.found[PAD_ID]
    assert 4_000_000 < wv.corpus_words < wv.corpus_tokens
    manifest = samples.manifest()[embeddings.WORD_VECTORS_FILE]
    path = ROOT / "data" / embeddings.WORD_VECTORS_FILE
    assert samples.sha256(path) == manifest["sha256"]


def test_pretrained_embedding_keeps_the_vectors_and_matches_their_variance():
    x_train, _ = movie_reviews("train")
    vocab = Vocabulary.from_sentences(x_train, min_count=2)
    wv = embeddings.word_vectors()
    table, found = embeddings.pretrained_embedding(vocab, wv, seed=0)
    assert table.shape == wv.vectors.shape and table.dtype == np.float32
    assert np.array_equal(table[found], wv.vectors[found]) and np.all(table[PAD_ID] == 0)
    drawn = table[~found][1:]  # not padding
    assert drawn.var() == pytest.approx(wv.vectors[found].var(), rel=0.1)
    again, _ = embeddings.pretrained_embedding(vocab, wv, seed=0)
    assert np.array_equal(table, again)
    with pytest.raises(ValueError, match="vocab"):
        embeddings.pretrained_embedding(Vocabulary.from_sentences(x_train[:50]), wv)


def test_word2vec_rebuilds_the_same_vectors_from_a_tiny_corpus():
    pytest.importorskip("gensim", reason="the data extra trains the vectors")
    corpus = [tokenize(s) for s in movie_reviews("train")[0][:300]]
    a = embeddings.train_word2vec(corpus, seed=1, vector_size=8, epochs=1)
    b = embeddings.train_word2vec(corpus, seed=1, vector_size=8, epochs=1)
    tokens = ["<pad>", "<unk>", "the", "film", "zzzz"]
    arrays = embeddings.vocabulary_vectors(a, tokens, corpus)
    assert np.array_equal(
        arrays["vectors"], embeddings.vocabulary_vectors(b, tokens, corpus)["vectors"]
    )
    assert arrays["found"].tolist() == [False, False, True, True, False]
    assert arrays["vectors"].dtype == np.float16 and arrays["vectors"].shape == (5, 8)
    assert arrays["corpus_tokens"] == sum(map(len, corpus)) > arrays["corpus_words"]
