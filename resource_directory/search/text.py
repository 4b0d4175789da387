"""Free-text query building, safe against query-syntax injection.

Both engines get the same "web search" reading of what a person typed: words are ANDed,
``"a phrase"`` must appear as written, ``or`` between words makes alternatives and ``-word``
excludes. PostgreSQL parses that itself (``websearch_to_tsquery`` never raises on odd input); for
SQLite FTS5 we build the MATCH expression here, and every user word is emitted as a double-quoted
FTS5 string, so characters such as ``*``, ``:``, ``(``, ``NEAR`` or ``^`` are searched for as text
instead of being interpreted as FTS5 operators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class _Term:
    words: tuple[str, ...]
    negated: bool


def _quote(words: tuple[str, ...]) -> str:
    # Words contain only \w characters, so they cannot contain a double quote; quoting makes them
    # FTS5 strings (a multi-word string is a phrase).
    return '"' + " ".join(words) + '"'


def has_searchable_words(text: str | None) -> bool:
    """False for empty text or text made only of punctuation ("!!!", "''"), which searches nothing."""
    return bool(text and _WORD.search(text))


def fts5_match(text: str) -> str | None:
    """Translate web-search text into an FTS5 MATCH expression; ``None`` if nothing is searchable."""
    groups: list[list[_Term]] = [[]]  # OR of ANDs
    negated: list[_Term] = []
    pending_or = False
    for match in _TOKEN.finditer(text):
        minus, phrase, bare = match.groups()
        if bare is not None and bare.lower() == "or":
            pending_or = bool(groups[-1])
            continue
        if bare is not None:
            minus, phrase = ("-", bare[1:]) if bare.startswith("-") and len(bare) > 1 else ("", bare)
        words = tuple(_WORD.findall(phrase or ""))
        if not words:
            continue
        term = _Term(words, negated=bool(minus))
        if term.negated:
            negated.append(term)
            continue
        if pending_or:
            # "a b or c" reads as a AND (b OR c): move the last word into an OR group with c.
            previous = groups[-1].pop()
            groups[-1].append(_Term(previous.words + ("\x00",) + term.words, negated=False))
            pending_or = False
        else:
            groups[-1].append(term)
    parts = []
    for term in groups[0]:
        if "\x00" in term.words:
            left, right = _split_or(term.words)
            parts.append(f"({' OR '.join(_quote(side) for side in (left, *right))})")
        else:
            parts.append(_quote(term.words))
    if not parts:
        return None  # FTS5 cannot express "everything except x"; a lone exclusion searches nothing
    expression = " AND ".join(parts)
    for term in negated:
        expression = f"({expression}) NOT {_quote(term.words)}"
    return expression


def _split_or(words: tuple[str, ...]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    sides: list[tuple[str, ...]] = [()]
    for word in words:
        if word == "\x00":
            sides.append(())
        else:
            sides[-1] = sides[-1] + (word,)
    return sides[0], sides[1:]
