"""A built-in, offline sentiment set that needs word order: negations and contrasting clauses.

Sentences are generated from templates over a small movie-review vocabulary:

- one clause, possibly negated or intensified: "the plot was not very good" (0);
- two clauses of opposite sentiment joined so that one decides:
  "the acting was bad but the story was great" (1),
  "although i did not hate the film , the ending was awful" (0),
  "the cast was superb , although the script was not good" (1).

A clause's sentiment is its word's polarity, flipped by "not". In the two-clause
sentences the deciding clause is the one after "but", or the one not introduced by
"although"; the other clause always has the opposite sentiment and is drawn from the
same distributions, so both labels produce the same bag of words and only the order
tells them apart. A bag-of-words classifier stays near chance on those sentences
(about 55% overall); a Bidirectional LSTM learns them.

Sequences are encoded like `engine.datasets.imdb`: a start marker 1, words as their
rank in `get_word_index()` plus 3, out-of-vocabulary words (beyond `num_words`) as 2,
and are padded with 0 at the front to `maxlen`.
"""

from __future__ import annotations

import numpy as np

from engine.utils.sequence_utils import pad_sequences

START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3

_NOUNS = (
    "movie", "film", "plot", "acting", "story", "cast", "script", "ending", "soundtrack",
    "dialogue", "direction", "pacing", "cinematography", "characters", "performances",
)  # fmt: skip
_POSITIVE = (
    "good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "superb", "moving",
    "fun", "beautiful", "clever", "charming",
)  # fmt: skip
_NEGATIVE = (
    "bad", "awful", "terrible", "boring", "dull", "poor", "weak", "horrible", "predictable",
    "clumsy", "tedious", "bland",
)  # fmt: skip
_INTENSIFIERS = ("very", "really", "quite", "truly", "extremely", "rather")
_LIKE = ("liked", "loved", "enjoyed", "admired")
_LIKE_BASE = ("like", "love", "enjoy", "admire")
_HATE = ("hated", "disliked", "loathed")
_HATE_BASE = ("hate", "dislike", "loathe")
_FUNCTION_WORDS = ("the", "was", "not", "i", "did", "but", "although", ",", "is", "were", "are")

_VOCABULARY = (
    *_FUNCTION_WORDS,
    *_NOUNS,
    *_POSITIVE,
    *_NEGATIVE,
    *_INTENSIFIERS,
    *_LIKE,
    *_LIKE_BASE,
    *_HATE,
    *_HATE_BASE,
)
_WORD_INDEX = {word: rank for rank, word in enumerate(_VOCABULARY, start=1)}


def get_word_index() -> dict[str, int]:
    """The word -> rank dict of the vocabulary (add 3 to match the encoded sequences).

    Example:
        >>> get_word_index()["the"]
        1
    """
    return dict(_WORD_INDEX)


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def _clause(rng: np.random.Generator, positive: bool) -> list[str]:
    """One clause with the given sentiment: an adjective or a verb, maybe negated."""
    negated = bool(rng.random() < 0.5)
    # The word's own polarity: flipped when the clause is negated.
    word_positive = positive != negated
    if rng.random() < 0.7:
        adjective = _pick(rng, _POSITIVE if word_positive else _NEGATIVE)
        noun = _pick(rng, _NOUNS)
        past = rng.random() < 0.7
        if noun.endswith("s"):
            verb_be = "were" if past else "are"
        else:
            verb_be = "was" if past else "is"
        words = ["the", noun, verb_be]
        if negated:
            words.append("not")
        if rng.random() < 0.4:
            words.append(_pick(rng, _INTENSIFIERS))
        return [*words, adjective]
    if negated:
        verb = _pick(rng, _LIKE_BASE if word_positive else _HATE_BASE)
        return ["i", "did", "not", verb, "the", _pick(rng, _NOUNS)]
    verb = _pick(rng, _LIKE if word_positive else _HATE)
    words = ["i"]
    if rng.random() < 0.3:
        words.append(_pick(rng, _INTENSIFIERS[:2]))
    return [*words, verb, "the", _pick(rng, _NOUNS)]


def _sentence(rng: np.random.Generator, label: int) -> list[str]:
    positive = bool(label)
    form = rng.random()
    if form < 0.2:
        return _clause(rng, positive)
    main, other = _clause(rng, positive), _clause(rng, not positive)
    if form < 0.6:
        return [*other, "but", *main]
    if form < 0.8:
        return ["although", *other, ",", *main]
    return [*main, ",", "although", *other]


def generate_sentences(n_samples: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Raw sentences and their labels (1 positive, 0 negative), half of each label.

    Args:
        n_samples: the number of sentences.
        seed: the random seed (same seed, same sentences).

    Example:
        >>> texts, labels = generate_sentences(2, seed=1)
        >>> len(texts), labels.dtype
        (2, dtype('int64'))
    """
    if n_samples < 1:
        raise ValueError(f"generate_sentences needs n_samples >= 1, got {n_samples}.")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples, dtype=np.int64) % 2
    rng.shuffle(labels)
    texts = [" ".join(_sentence(rng, int(label))) for label in labels]
    return texts, labels


def _encode(texts: list[str], num_words: int | None, maxlen: int) -> np.ndarray:
    sequences = []
    for text in texts:
        seq = [START_CHAR]
        for word in text.split(" "):
            index = _WORD_INDEX[word] + INDEX_FROM
            seq.append(index if num_words is None or index < num_words else OOV_CHAR)
        sequences.append(seq)
    return pad_sequences(sequences, maxlen=maxlen)


def load_data(
    num_words: int | None = None,
    maxlen: int = 20,
    n_train: int = 4000,
    n_test: int = 1000,
    seed: int = 0,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((x_train, y_train), (x_test, y_test))`: padded word-index sequences and 0/1 labels.

    Args:
        num_words: indices from `num_words` on become the OOV index 2; all
            words are kept when None (the vocabulary has 70 words, so indices
            stay below 74).
        maxlen: the padded length (pre-padding and pre-truncation, as
            `pad_sequences`); every sentence (at most 15 tokens with the start
            marker) fits in the default 20.
        n_train: the number of training sentences.
        n_test: the number of test sentences (independent of the training ones).
        seed: the random seed.

    Returns:
        int32 arrays `(n, maxlen)` and int64 label arrays `(n,)`.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(n_train=100, n_test=20)
        >>> x_train.shape, x_train.dtype, y_train.shape
        ((100, 20), dtype('int32'), (100,))
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(
            f"sentiment.load_data needs n_train, n_test >= 1, got {n_train}, {n_test}."
        )
    texts, labels = generate_sentences(n_train + n_test, seed=seed)
    x = _encode(texts, num_words, maxlen)
    return (x[:n_train], labels[:n_train]), (x[n_train:], labels[n_train:])
