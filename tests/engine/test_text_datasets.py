"""Sequence datasets: IMDB/Reuters loaders on small files in Keras's formats, built-in sets."""

from __future__ import annotations

import json
import os
import pickle
import urllib.error
import urllib.request

import numpy as np
import pytest

import engine
from engine import layers
from engine.datasets import adding, imdb, restricted_npz, reuters, sentiment, sine
from engine.datasets import download as download_module


def object_array(seqs: list[list[int]]) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = list(s)
    return out


def random_sequences(rng: np.random.Generator, n: int, vocab: int) -> list[list[int]]:
    return [rng.integers(1, vocab, int(rng.integers(1, 12))).tolist() for _ in range(n)]


def keras_encode(seqs, labels, start_char, index_from, maxlen):
    """The reference encoding steps, written out as Keras's docstring describes them."""
    out, kept = [], []
    for seq, label in zip(seqs, labels):
        enc = ([start_char] if start_char is not None else []) + [w + index_from for w in seq]
        if maxlen and len(enc) >= maxlen:
            continue
        out.append(enc)
        kept.append(label)
    return out, kept


def keras_vocab(seqs, num_words, skip_top, oov_char):
    if not num_words:
        num_words = max(max(s) for s in seqs)
    if oov_char is None:
        return [[w for w in s if skip_top <= w < num_words] for s in seqs]
    return [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]


@pytest.fixture
def imdb_file(tmp_path):
    rng = np.random.default_rng(0)
    train, test = random_sequences(rng, 40, 30), random_sequences(rng, 30, 30)
    path = tmp_path / "imdb.npz"
    # The real file's layout: object arrays of int lists, pickled by NumPy.
    np.savez(
        path,
        x_train=object_array(train),
        y_train=rng.integers(0, 2, 40),
        x_test=object_array(test),
        y_test=rng.integers(0, 2, 30),
    )
    return path, train, test


IMDB_OPTIONS = [
    {},
    {"num_words": 20, "skip_top": 5},
    {"maxlen": 8, "num_words": 15},
    {"start_char": None, "oov_char": None, "num_words": 12, "index_from": 0},
    {"seed": 7, "start_char": 5, "oov_char": 4, "index_from": 6, "skip_top": 9},
]


@pytest.mark.parametrize("options", IMDB_OPTIONS)
def test_imdb_load_data_matches_keras_semantics(imdb_file, options):
    path, train, test = imdb_file
    with np.load(path, allow_pickle=True) as f:  # the test's own file, to build the reference
        y_train_raw, y_test_raw = f["y_train"], f["y_test"]
    opts = {"seed": 113, "start_char": 1, "oov_char": 2, "index_from": 3, "maxlen": None}
    opts.update({"num_words": None, "skip_top": 0})
    opts.update(options)
    rng = np.random.RandomState(opts["seed"])
    order_train = np.arange(len(train))
    rng.shuffle(order_train)
    order_test = np.arange(len(test))
    rng.shuffle(order_test)
    tr, ytr = keras_encode(
        [train[i] for i in order_train],
        y_train_raw[order_train],
        opts["start_char"],
        opts["index_from"],
        opts["maxlen"],
    )
    te, yte = keras_encode(
        [test[i] for i in order_test],
        y_test_raw[order_test],
        opts["start_char"],
        opts["index_from"],
        opts["maxlen"],
    )
    xs = keras_vocab(tr + te, opts["num_words"], opts["skip_top"], opts["oov_char"])

    (x_train, y_train), (x_test, y_test) = imdb.load_data(path, **options)
    assert x_train.dtype == object and x_train.ndim == 1
    assert [list(s) for s in x_train] == xs[: len(tr)]
    assert [list(s) for s in x_test] == xs[len(tr) :]
    np.testing.assert_array_equal(y_train, ytr)
    np.testing.assert_array_equal(y_test, yte)
    if options.get("num_words"):
        assert max(max(s) for s in x_train if s) < options["num_words"]


def test_imdb_maxlen_that_empties_a_split_and_unknown_arguments(imdb_file):
    path, _, _ = imdb_file
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(path, maxlen=2)
    with pytest.raises(TypeError, match="nb_words"):
        imdb.load_data(path, nb_words=10)


def test_reuters_load_data_split_and_labels(tmp_path):
    rng = np.random.default_rng(1)
    seqs = random_sequences(rng, 50, 40)
    labels = rng.integers(0, 46, 50)
    path = tmp_path / "reuters.npz"
    np.savez(path, x=object_array(seqs), y=labels)
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    enc, kept = keras_encode([seqs[i] for i in order], labels[order], 1, 3, 10)
    expected = keras_vocab(enc, 25, 4, 2)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(
        path, num_words=25, skip_top=4, maxlen=10, test_split=0.25
    )
    split = int(len(expected) * 0.75)
    assert [list(s) for s in x_train] == expected[:split]
    assert [list(s) for s in x_test] == expected[split:]
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), kept)
    assert len(reuters.get_label_names()) == 46 and reuters.get_label_names()[3] == "earn"
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(path, test_split=1.5)


def test_word_indices_read_from_json(tmp_path):
    index = {"the": 1, "and": 2, "film": 3}
    path = tmp_path / "imdb_word_index.json"
    path.write_text(json.dumps(index))
    assert imdb.get_word_index(path) == index
    assert reuters.get_word_index(path.as_posix()) == index
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(["the", "and"]))
    with pytest.raises(ValueError, match="word index"):
        imdb.get_word_index(bad)


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_anything_but_arrays_of_lists(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _Exploit(marker.as_posix())
    path = tmp_path / "evil.npz"
    np.savez(path, x_train=evil)
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os|nt)\.system"):
        restricted_npz.load_npz(path)
    assert not marker.exists()
    good = tmp_path / "good.npz"
    np.savez(good, x=object_array([[1, 2], [3]]), y=np.arange(2))
    arrays = restricted_npz.load_npz(good)
    assert [list(s) for s in arrays["x"]] == [[1, 2], [3]]
    np.testing.assert_array_equal(arrays["y"], np.arange(2))


def test_bare_names_go_through_the_downloader(monkeypatch, imdb_file):
    path, _, _ = imdb_file
    calls = []

    def fake_get_file(fname, origin, file_hash=None, **kwargs):
        calls.append((fname, origin, file_hash))
        return path

    monkeypatch.setattr(download_module, "get_file", fake_get_file)
    (x_train, _), _ = imdb.load_data()
    assert len(x_train) == 40
    assert calls == [
        (
            "imdb.npz",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz",
            imdb.IMDB_SHA256,
        )
    ]


@pytest.mark.parametrize(
    "loader,name",
    [
        (imdb.load_data, "imdb.npz"),
        (reuters.load_data, "reuters.npz"),
        (imdb.get_word_index, "imdb_word_index.json"),
        (reuters.get_word_index, "reuters_word_index.json"),
    ],
)
def test_offline_error_names_the_url_and_the_path(monkeypatch, tmp_path, loader, name):
    monkeypatch.setenv("KERASTUI_DATA_DIR", tmp_path.as_posix())

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(download_module.DownloadError) as info:
        loader()
    message = str(info.value)
    assert f"https://storage.googleapis.com/tensorflow/tf-keras-datasets/{name}" in message
    assert (tmp_path / name).as_posix() in message


# Built-in sequence sets ------------------------------------------------------------------
def test_sentiment_shapes_determinism_and_encoding():
    (x_train, y_train), (x_test, y_test) = sentiment.load_data(n_train=300, n_test=100, seed=3)
    assert x_train.shape == (300, 20) and x_train.dtype == np.int32
    assert x_test.shape == (100, 20) and y_train.dtype == np.int64
    assert set(np.unique(y_train)) == {0, 1} and abs(y_train.mean() - 0.5) < 0.1
    again = sentiment.load_data(n_train=300, n_test=100, seed=3)
    np.testing.assert_array_equal(again[0][0], x_train)
    np.testing.assert_array_equal(again[1][1], y_test)
    other = sentiment.load_data(n_train=300, n_test=100, seed=4)
    assert not np.array_equal(other[0][0], x_train)

    # Decoding with the word index gives back the generated sentences.
    texts, labels = sentiment.generate_sentences(400, seed=3)
    inverse = {i + 3: w for w, i in sentiment.get_word_index().items()}
    decoded = [" ".join(inverse[i] for i in row if i > 2) for row in x_train]
    assert decoded == texts[:300]
    np.testing.assert_array_equal(labels[:300], y_train)
    assert np.all(x_train[:, 0] == 0) and np.all((x_train == 1).sum(axis=1) == 1)

    (capped, _), _ = sentiment.load_data(num_words=10, n_train=50, n_test=10, seed=3)
    assert capped.max() == 9 and np.any(capped == 2)
    (short, _), _ = sentiment.load_data(maxlen=6, n_train=50, n_test=10, seed=3)
    assert short.shape == (50, 6)


def clause_is_positive(words: list[str]) -> bool:
    positive = set(sentiment._POSITIVE + sentiment._LIKE + sentiment._LIKE_BASE)
    negative = set(sentiment._NEGATIVE + sentiment._HATE + sentiment._HATE_BASE)
    polar = [w for w in words if w in positive or w in negative]
    assert len(polar) == 1, words
    return (polar[0] in positive) != ("not" in words)


def test_sentiment_labels_follow_the_deciding_clause():
    texts, labels = sentiment.generate_sentences(3000, seed=0)
    forms = {"single": 0, "but": 0, "although first": 0, "although second": 0}
    for text, label in zip(texts, labels):
        words = text.split(" ")
        if "but" in words:
            cut = words.index("but")
            main, other = words[cut + 1 :], words[:cut]
            forms["but"] += 1
        elif words[0] == "although":
            cut = words.index(",")
            main, other = words[cut + 1 :], words[1:cut]
            forms["although first"] += 1
        elif "although" in words:
            cut = words.index(",")
            main, other = words[:cut], words[cut + 2 :]
            forms["although second"] += 1
        else:
            main, other = words, None
            forms["single"] += 1
        assert clause_is_positive(main) == bool(label), text
        if other is not None:
            # The other clause always contrasts, so both labels share one bag of words.
            assert clause_is_positive(other) != bool(label), text
    assert min(forms.values()) > 300
    negated = sum(" not " in f" {t} " for t in texts) / len(texts)
    assert 0.3 < negated < 0.9


def bag_of_words(x: np.ndarray, vocab: int) -> np.ndarray:
    counts = np.zeros((len(x), vocab), dtype=np.float32)
    rows = np.repeat(np.arange(len(x)), x.shape[1])
    np.add.at(counts, (rows, x.ravel()), 1.0)
    counts[:, 0] = 0.0
    return counts


def test_bag_of_words_stays_near_chance_on_sentiment():
    (x_train, y_train), (x_test, y_test) = sentiment.load_data(n_train=3000, n_test=1000)
    vocab = int(x_train.max()) + 1
    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            layers.Dense(32, activation="relu", input_shape=(vocab,)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=engine.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(bag_of_words(x_train, vocab), y_train, epochs=15, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(bag_of_words(x_test, vocab), y_test, verbose=0)
    assert accuracy < 0.65


def test_bidirectional_lstm_learns_the_sentiment_set():
    (x_train, y_train), (x_test, y_test) = sentiment.load_data(n_train=3000, n_test=1000)
    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            engine.Input((x_train.shape[1],), dtype="int32"),
            layers.Embedding(int(x_train.max()) + 1, 16, mask_zero=True),
            layers.Bidirectional(layers.LSTM(16)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=engine.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x_train, y_train, epochs=4, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.85


def test_adding_problem():
    (x_train, y_train), (x_test, _) = adding.load_data(n_train=20000, n_test=10, length=30)
    assert x_test.shape == (10, 30, 2)
    assert x_train.shape == (20000, 30, 2) and x_train.dtype == np.float32
    assert y_train.shape == (20000, 1) and y_train.dtype == np.float32
    markers = x_train[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :15].sum(axis=1) == 1)
    np.testing.assert_allclose(y_train[:, 0], (x_train[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert abs(np.mean((y_train - 1.0) ** 2) - adding.BASELINE_MSE) < 0.01
    again, _ = adding.load_data(n_train=20000, n_test=10, length=30)
    np.testing.assert_array_equal(again[0], x_train)
    with pytest.raises(ValueError, match="length"):
        adding.make_adding(5, length=1)


def test_sine_windows():
    (x_train, y_train), (x_test, _) = sine.load_data(
        n_train=200, n_test=50, window=40, horizon=3, noise=0.0
    )
    assert x_test.shape == (50, 40, 1)
    assert x_train.shape == (200, 40, 1) and y_train.shape == (200, 3)
    assert x_train.dtype == np.float32 and y_train.dtype == np.float32
    assert np.abs(y_train).max() <= 1.0 + 1e-6
    # Without noise, the continuation is smooth: the first target is close to the last input.
    step = np.abs(y_train[:, 0] - x_train[:, -1, 0])
    assert step.max() < 0.8 and step.mean() < 0.3
    noisy, _ = sine.load_data(n_train=200, n_test=50, window=40, horizon=3, noise=0.1)
    assert 0.05 < np.std(noisy[0] - x_train) < 0.15
    np.testing.assert_array_equal(noisy[1], y_train)
    with pytest.raises(ValueError, match="noise"):
        sine.make_sine_windows(2, noise=-1.0)
