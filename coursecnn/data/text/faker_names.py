"""Names by language, for character-level models, from the name lists that Faker ships.

Faker (MIT) keeps, for each locale, tuples of first and last names in its installed package
(``faker/providers/person/<locale>/__init__.py``): reading them needs no network. ``names``
takes the first and last names of the locales in ``NAME_LOCALES`` (twelve languages in Latin
script, so that a model must learn spelling, not the alphabet), and then

* keeps names made of letters, with single spaces, hyphens or apostrophes between them;
* drops, ignoring case, repeats within a language and every name found in two languages
  ("Anna", "Martin"): such a name has no single answer;
* keeps the same number of names, N, in every language (the smallest language's count),
  chosen by the SHA-256 of the name, and puts the first ``round(N / 5)`` of them in ``"test"``.

The split depends on the names alone, so it is fixed for a given Faker version (the notebook
prints which). Faker's lists are generated data sources, not a census: treat accuracies as
relative.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import unicodedata
from collections import Counter
from functools import cache

import numpy as np

from coursecnn.data.samples import check_split

#: language -> the Faker locales whose first and last names it takes
NAME_LOCALES: dict[str, tuple[str, ...]] = {
    "Croatian": ("hr_HR",),
    "Dutch": ("nl_NL",),
    "English": ("en_US",),
    "Finnish": ("fi_FI",),
    "French": ("fr_FR",),
    "German": ("de_DE", "de_AT"),
    "Indonesian": ("id_ID",),
    "Irish": ("ga_IE",),
    "Italian": ("it_IT",),
    "Polish": ("pl_PL",),
    "Spanish": ("es_ES", "es_MX"),
    "Turkish": ("tr_TR",),
}
NAME_LANGUAGES = tuple(NAME_LOCALES)
TEST_FRACTION = 0.2
_NAME = re.compile(r"[^\W\d_]+(?:[ '\-][^\W\d_]+)*")


def faker_version() -> str:
    """The installed Faker's version: the name lists, and so the splits, belong to it."""
    from importlib.metadata import version

    return version("Faker")


def locale_names(locale: str) -> set[str]:
    """Every first and last name in Faker's person provider for ``locale`` (e.g. ``"de_DE"``).

    Read from the class attributes whose name holds ``first_name`` or ``last_name`` (tuples,
    or dicts of name -> weight), of the locale's provider and its parents short of Faker's
    generic one (whose ``"John"``, ``"Jane"``, ``"Doe"`` are placeholders).
    """
    from faker.providers.person import Provider as Generic

    try:
        module = importlib.import_module(f"faker.providers.person.{locale}")
    except ModuleNotFoundError:
        raise ValueError(f"locale: Faker has no person provider {locale!r}") from None
    found: set[str] = set()
    for cls in module.Provider.__mro__:
        if cls is Generic or not issubclass(cls, Generic):
            continue
        for attr, value in vars(cls).items():
            if ("first_name" in attr or "last_name" in attr) and isinstance(
                value, list | tuple | dict
            ):
                found.update(str(v) for v in value)
    return found


def _clean(name: str) -> str | None:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    return name if _NAME.fullmatch(name) else None


def _rank(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


@cache
def name_table() -> dict[str, tuple[str, ...]]:
    """``{language: names}``: each language's usable names, cleaned and deduplicated, by rank."""
    per_language: dict[str, dict[str, str]] = {}
    for language, locales in NAME_LOCALES.items():
        kept: dict[str, str] = {}
        for name in sorted(n for loc in locales for n in locale_names(loc)):
            clean = _clean(name)
            if clean is not None:
                kept.setdefault(clean.casefold(), clean)
        per_language[language] = kept
    seen = Counter(key for kept in per_language.values() for key in kept)
    return {
        language: tuple(sorted((n for k, n in kept.items() if seen[k] == 1), key=_rank))
        for language, kept in per_language.items()
    }


@cache
def _split() -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    table = name_table()
    n = min(len(v) for v in table.values())
    n_test = round(TEST_FRACTION * n)
    out = {}
    for split, sl in (("test", slice(0, n_test)), ("train", slice(n_test, n))):
        pairs = [(name, c) for c, lang in enumerate(NAME_LANGUAGES) for name in table[lang][sl]]
        pairs.sort(key=lambda p: _rank(f"order {p[0]}"))  # languages mixed, in a fixed order
        out[split] = (tuple(p[0] for p in pairs), np.array([p[1] for p in pairs], np.int64))
    return out


def names(split: str = "train") -> tuple[list[str], np.ndarray]:
    """``(names, labels)``: labels index ``NAME_LANGUAGES``; every language equally often.

    With Faker 40.x: 12 languages x N names, N about 380, one fifth of them in ``"test"``.
    """
    check_split(split)
    texts, labels = _split()[split]
    return list(texts), labels.copy()
