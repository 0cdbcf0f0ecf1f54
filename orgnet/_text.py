"""Small text helpers shared by importers: hashing, identity normalisation, safe excerpts."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from typing import Final

__all__ = [
    "BIDI_AND_CONTROL",
    "clean",
    "excerpt",
    "is_formula_like",
    "normalize_email",
    "normalize_handle",
    "normalize_name",
    "slugify",
    "stable_hash",
]

#: Control characters, and bidi overrides used in Trojan-Source style names (FORMATS §17.3).
BIDI_AND_CONTROL: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_WS: Final = re.compile(r"\s+")
_SLUG: Final = re.compile(r"[^a-z0-9]+")
_EMAIL: Final = re.compile(r"^[^\s@]+@[^\s@]+$")
#: Normalised forms are cached: identity resolution re-reads every identity at each ingest.
_CACHE: Final = 1 << 18


def stable_hash(*parts: object, length: int = 16) -> str:
    """Deterministic hex digest of ``parts`` (SHA-1, truncated to ``length`` hex digits).

    ``None`` parts are written as an empty field, so the hash is stable across runs,
    processes and platforms.
    """
    h = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        h.update(b"" if part is None else str(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


def clean(value: str | None) -> str | None:
    """NFC-normalise, drop control and bidi characters, collapse whitespace; empty -> None."""
    if value is None:
        return None
    if value.isascii() and value.isprintable():
        # Printable ASCII: NFC changes nothing, no control or bidi character, and the only
        # whitespace is the space (most cells of an org chart or a log take this path).
        value = value.strip(" ")
        if "  " in value:
            value = _WS.sub(" ", value)
        return value or None
    value = value.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(value) else value
    value = BIDI_AND_CONTROL.sub("", unicodedata.normalize("NFC", value))
    value = _WS.sub(" ", value).strip()
    return value or None


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@functools.lru_cache(maxsize=_CACHE)
def normalize_email(value: str | None) -> str | None:
    """Lower-cased, cleaned e-mail address, or ``None`` when it is not an address."""
    value = clean(value)
    if value is None:
        return None
    value = value.strip("<>").lower()
    return value if _EMAIL.match(value) else None


@functools.lru_cache(maxsize=_CACHE)
def normalize_handle(value: str | None) -> str | None:
    """Lower-cased login or username without a leading ``@``."""
    value = clean(value)
    if value is None:
        return None
    return value.lstrip("@").lower() or None


@functools.lru_cache(maxsize=_CACHE)
def normalize_name(value: str | None) -> str | None:
    """Accent-free, lower-case full name used for name matching ("Jöhn  Doe" -> "john doe")."""
    value = clean(value)
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = re.sub(r"[^\w\s'-]", " ", stripped.casefold())
    return _WS.sub(" ", stripped).strip() or None


def slugify(value: str) -> str:
    """``"Data Platform"`` -> ``"data-platform"``; used for unit ids and owner-team matching."""
    norm = normalize_name(value) or ""
    return _SLUG.sub("-", norm).strip("-") or stable_hash(value, length=8)


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet would evaluate the cell (FORMATS §17.4)."""
    return bool(value) and value[0] in "=+-@\t\r\x00"


def excerpt(raw: str | bytes | None, limit: int = 120) -> str | None:
    """A short, printable excerpt of a bad record for the rejects table.

    Control characters are escaped so a hostile record cannot drive a terminal.
    """
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "backslashreplace")
    raw = raw.encode("utf-8", "backslashreplace").decode("utf-8")
    short = raw[:limit]
    short = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in short)
    return short + ("…" if len(raw) > limit else "")
