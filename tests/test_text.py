"""Text helpers: the printable-ASCII shortcut of ``clean`` gives what the full rules give."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from orgnet._text import BIDI_AND_CONTROL, clean


def _clean_by_the_rules(value: str | None) -> str | None:
    """``clean`` without its shortcut: NFC, drop control and bidi characters, collapse
    whitespace, empty to None."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = BIDI_AND_CONTROL.sub("", unicodedata.normalize("NFC", value))
    value = re.sub(r"\s+", " ", value).strip()
    return value or None


_ALPHABET = st.sampled_from(
    [*"ab Z9-_.@  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x1f", "\x7f", "\x85",
     "\xa0", "\u2003", "\u200b", "\u202e", "\ufeff", "e\u0301", "\u00e9", "\ud800"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=12).map("".join))
def test_clean_equals_the_full_rules(value: str) -> None:
    assert clean(value) == _clean_by_the_rules(value)


def test_clean_on_printable_ascii_by_hand() -> None:
    assert clean("  Ada   Lovelace ") == "Ada Lovelace"
    assert clean("   ") is None
    assert clean("") is None
    assert clean(None) is None
    assert clean("a\tb") == "a b"
    assert clean("x\x00y") == "xy"
