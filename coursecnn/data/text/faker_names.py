"""Names by language, for character-level models, built from the name lists that Faker ships.

``names(split)`` reads ``data/names.tsv.bz2`` (checked against its SHA-256, like every shipped
file), so that the names and their split do not change with the installed Faker.
``scripts/build_data.py`` builds that file with :func:`build_rows` from Faker (``FAKER``, the
``data`` extra; MIT), which keeps, for each locale, tuples of first and last names in its
package (``faker/providers/person/<locale>/__init__.py``): reading them needs no network. The
builder takes the first and last names of the locales in ``NAME_LOCALES`` (twelve languages in
Latin script, so that a model must learn spelling, not the alphabet), and then

* keeps names made of letters, with single spaces, hyphens or apostrophes between them;
* drops, ignoring case, repeats within a language and every name found in two languages
  ("Anna", "Martin"): such a name has no single answer;
* keeps the same number of names, N, in every language (the smallest language's count),
  chosen by the SHA-256 of the name, and puts the first ``round(N / 5)`` of them in ``"test"``.

The split depends on the names alone, so it is fixed for a given Faker version; the shipped file
was built with ``FAKER``. Faker's lists are generated data sources, not a census: treat
accuracies as relative.
"""

from __future__ import annotations

import bz2
import hashlib
import importlib
import os
import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

from coursecnn.data import samples
from coursecnn.data.samples import check_split

#: the Faker release the shipped file was built from (``scripts/build_data.py``)
FAKER = "40.63.0"
NAMES_FILE = "names.tsv.bz2"
HEADER = ("name", "language", "split")

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
    """The Faker release the shipped names were built from (``FAKER``)."""
    return FAKER


def installed_faker() -> str | None:
    """The installed Faker's version, or None: what ``build_rows`` would read."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("Faker")
    except PackageNotFoundError:
        return None


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


def build_rows() -> list[tuple[str, str, str]]:
    """``(name, language, split)`` rows from the installed Faker, in a fixed mixed order."""
    table = name_table()
    n = min(len(v) for v in table.values())
    n_test = round(TEST_FRACTION * n)
    rows = []
    for split, sl in (("test", slice(0, n_test)), ("train", slice(n_test, n))):
        pairs = [(name, lang) for lang in NAME_LANGUAGES for name in table[lang][sl]]
        pairs.sort(key=lambda p: _rank(f"order {p[0]}"))  # languages mixed, in a fixed order
        rows += [(name, lang, split) for name, lang in pairs]
    return rows


def write_names(path: str | os.PathLike, rows: list[tuple[str, str, str]]) -> Path:
    """The names file: UTF-8 TSV ``name language split``, bzip2 level 9 (no timestamp)."""
    from coursecnn.data._atomic import atomic_write

    lines = ["\t".join(HEADER)] + ["\t".join(r) for r in rows]
    return atomic_write(path, bz2.compress(("\n".join(lines) + "\n").encode("utf-8"), 9))


@cache
def _read(path: Path, sha: str) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    with bz2.open(path, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    if tuple(lines[0].split("\t")) != HEADER or lines[-1] != "":
        raise ValueError(f"{path}: expected a header {HEADER} and newline-ended rows")
    out: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    for n, line in enumerate(lines[1:-1], start=2):
        fields = line.split("\t")
        if len(fields) != 3 or fields[1] not in NAME_LANGUAGES or fields[2] not in out:
            raise ValueError(f"{path}, line {n}: expected name, language, split; got {line!r}")
        out[fields[2]][0].append(fields[0])
        out[fields[2]][1].append(NAME_LANGUAGES.index(fields[1]))
    return {k: (tuple(t), np.array(c, np.int64)) for k, (t, c) in out.items()}


def names(split: str = "train") -> tuple[list[str], np.ndarray]:
    """``(names, labels)``: labels index ``NAME_LANGUAGES``; every language equally often.

    From ``data/names.tsv.bz2`` (built from Faker 40.63.0): 12 languages x 382 names, 76 of
    each language in ``"test"``, 306 in ``"train"``.
    """
    check_split(split)
    path = samples.verify(samples.SHIPPED_DIR / NAMES_FILE)
    texts, labels = _read(path, samples.manifest()[path.name]["sha256"])[split]
    return list(texts), labels.copy()
