"""Text for CNNs: rated sentences, names by language, a tokenizer, a vocabulary, padded batches.

Offline first, like the image data: the sentences are shipped in ``data/`` and checked against
their SHA-256; the names come from the Faker package; only Pang and Lee's original data is
downloaded, on request.

    movie_reviews(split="train")      9,510 / 1,056 Rotten Tomatoes sentences rated by people
                                      (VADER's data); labels 1 positive, 0 negative
    movie_reviews(split, original=True)
                                      Pang and Lee's sentence polarity data (10,662 sentences,
                                      labelled by review), found on disk or downloaded
    tweets(split="train")             3,308 / 828 tweets rated the same way (VADER's data)
        each returns (sentences: list[str], labels: int64 (N,)); ratings=True adds the mean
        ratings in [-4, 4]; the two splits are fixed and share no sentence
    names(split="train")              (names, labels): names of 12 languages from Faker,
                                      balanced; labels index NAME_LANGUAGES
    tokenize(text), characters(text)  word tokens (lower-cased), or characters
    tweet_tokenize(text)              tokenize, with HTML entities decoded and emoticons whole
    Vocabulary.build(token_lists, min_count=1)
                                      ids: 0 padding, 1 unknown, then tokens by training count
    word_vectors(), pretrained_embedding(vocab)
                                      word2vec vectors (trained offline on a dictionary's
                                      text) of the movie vocabulary, for Kim's CNN-static
    pad_batch(id_lists), text_loader(texts, labels, vocab, batch_size=50, shuffle=...)
                                      (N, L) LongTensors; a DataLoader of (ids, labels) batches

Example::

    from coursecnn.data.text import Vocabulary, movie_reviews, text_loader, tokenize
    train_x, train_y = movie_reviews("train")
    vocab = Vocabulary.from_sentences(train_x)        # the training split only
    loader = text_loader(train_x, train_y, vocab, batch_size=50, shuffle=True)
"""

from __future__ import annotations

import numpy as np

from coursecnn.data.text.embeddings import (
    WORD_VECTORS_FILE,
    WordVectors,
    pretrained_embedding,
    word_vectors,
)
from coursecnn.data.text.faker_names import NAME_LANGUAGES, NAME_LOCALES, faker_version, names
from coursecnn.data.text.polarity import (
    POLARITY_FILE,
    download_polarity,
    find_polarity,
    polarity_sentences,
)
from coursecnn.data.text.sentences import SENTENCE_FILES, SENTIMENT_CLASSES, load_sentences
from coursecnn.data.text.vocab import (
    PAD,
    PAD_ID,
    UNK,
    UNK_ID,
    Collate,
    TextDataset,
    Vocabulary,
    characters,
    pad_batch,
    text_loader,
    tokenize,
    tweet_tokenize,
)


def movie_reviews(
    split: str = "train", original: bool = False, download: bool = True, ratings: bool = False
) -> tuple[list[str], np.ndarray] | tuple[list[str], np.ndarray, np.ndarray]:
    """Movie-review sentences and labels (1 positive, 0 negative).

    original=False: the shipped 10,566 Rotten Tomatoes sentences of VADER's data, labelled by
    the sign of the mean of 20 or more people's ratings (``ratings=True`` adds those means):
    9,510 ``"train"``, 1,056 ``"test"`` (a tenth, stratified, as one fold of Kim's 10-fold
    cross-validation). original=True: Pang and Lee's sentence polarity data, labelled by the
    review each sentence comes from, found on disk or (``download``) downloaded.
    """
    if original:
        if ratings:
            raise ValueError("ratings: the original polarity data has no ratings, got True")
        return polarity_sentences(split, download=download)
    return load_sentences("movie_reviews", split, ratings=ratings)


def tweets(
    split: str = "train", ratings: bool = False
) -> tuple[list[str], np.ndarray] | tuple[list[str], np.ndarray, np.ndarray]:
    """VADER's 4,200 tweet-like texts, rated as the movie sentences; labels by sign.

    3,308 ``"train"`` and 828 ``"test"`` (a fifth, stratified); about 70 % are positive.
    """
    return load_sentences("tweets", split, ratings=ratings)


__all__ = [
    "NAME_LANGUAGES",
    "NAME_LOCALES",
    "PAD",
    "PAD_ID",
    "POLARITY_FILE",
    "SENTENCE_FILES",
    "SENTIMENT_CLASSES",
    "UNK",
    "UNK_ID",
    "WORD_VECTORS_FILE",
    "WordVectors",
    "Collate",
    "TextDataset",
    "Vocabulary",
    "characters",
    "download_polarity",
    "faker_version",
    "find_polarity",
    "movie_reviews",
    "names",
    "pad_batch",
    "polarity_sentences",
    "pretrained_embedding",
    "text_loader",
    "tokenize",
    "tweet_tokenize",
    "tweets",
    "word_vectors",
]
