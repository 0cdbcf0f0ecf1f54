"""Git ``.mailmap`` files (gitmailmap(5)), parsed and applied exactly as git does.

A mailmap maps the name and e-mail a commit (or a trailer) carries to a person's canonical name
and e-mail. The four line forms::

    Proper Name <commit@email.xx>                                 # fix the name for that e-mail
    <proper@email.xx> <commit@email.xx>                           # fix the e-mail only
    Proper Name <proper@email.xx> <commit@email.xx>               # fix both, matched by e-mail
    Proper Name <proper@email.xx> Commit Name <commit@email.xx>   # fix both, matched by name+e-mail

Matching is case-insensitive on e-mail and name. Lines of the first three forms that share a commit
e-mail combine (a later line's name or e-mail wins); the fourth form applies only when the commit
name matches too, and otherwise the e-mail-only entry (if any) applies. This follows git's
``mailmap.c`` (``read_mailmap_line``, ``add_mapping``, ``map_user``); the test suite checks it
against ``git check-mailmap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orgnet.exceptions import InputError
from orgnet.importers._io import decode_text, open_binary

__all__ = ["Mailmap", "parse_mailmap", "read_mailmap"]

MAX_MAILMAP_BYTES = 64 * 1024 * 1024


@dataclass
class _Entry:
    """What one commit e-mail maps to, plus name-specific overrides."""

    name: str | None = None
    email: str | None = None
    by_name: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _name_and_email(text: str, start: int, allow_empty: bool) -> tuple[str | None, str, int] | None:
    """Parse ``name <email>`` from ``text[start:]``; return (name, email, end) or None."""
    left = text.find("<", start)
    if left < 0:
        return None
    right = text.find(">", left + 1)
    if right < 0:
        return None
    if not allow_empty and right == left + 1:
        return None
    name = text[start:left].strip(" \t\r\n") or None
    return name, text[left + 1 : right], right + 1


class Mailmap:
    """A parsed ``.mailmap``; :meth:`map` returns the canonical ``(name, email)``.

    Examples
    --------
    >>> mm = parse_mailmap("Ana Perez <ana@new.example> <ana@old.example>")
    >>> mm.map("Ana P.", "ANA@old.example")
    ('Ana Perez', 'ana@new.example')
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self.lines_used = 0
        self.lines_ignored: list[int] = []

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self,
        new_name: str | None,
        new_email: str | None,
        old_name: str | None,
        old_email: str | None,
    ) -> None:
        """Add one mapping, as git's ``add_mapping`` does."""
        if old_email is None:
            if new_email is None:
                return
            old_email, new_email = new_email, None
        entry = self._entries.setdefault(old_email.lower(), _Entry())
        if old_name is not None:
            entry.by_name[old_name.lower()] = (new_name, new_email)
        else:
            if new_name is not None:
                entry.name = new_name
            if new_email is not None:
                entry.email = new_email

    def lookup(self, name: str | None, email: str) -> tuple[str | None, str | None] | None:
        """The mapping for ``(name, email)``: ``(new_name, new_email)`` (either may be None)."""
        entry = self._entries.get(email.lower())
        if entry is None:
            return None
        if entry.by_name and name is not None:
            hit = entry.by_name.get(name.lower())
            if hit is not None:
                return hit if (hit[0] is not None or hit[1] is not None) else None
        if entry.name is None and entry.email is None:
            return None
        return entry.name, entry.email

    def map(self, name: str, email: str) -> tuple[str, str]:
        """Canonical ``(name, email)`` for a commit or trailer identity (unchanged when unmapped)."""
        hit = self.lookup(name, email)
        if hit is None:
            return name, email
        new_name, new_email = hit
        return (new_name if new_name is not None else name,
                new_email if new_email is not None else email)


def parse_mailmap(text: str) -> Mailmap:
    """Parse the text of a ``.mailmap`` file.

    Lines starting with ``#`` are comments; anything after the last ``>`` of a line is ignored
    (so trailing ``# comments`` are fine). Lines without a ``<email>`` are ignored and their
    numbers kept in :attr:`Mailmap.lines_ignored`.
    """
    mm = Mailmap()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip("\ufeff") if lineno == 1 else raw
        if not line.strip() or line.startswith("#"):
            continue
        first = _name_and_email(line, 0, allow_empty=False)
        if first is None:
            mm.lines_ignored.append(lineno)
            continue
        name1, email1, end = first
        second = _name_and_email(line, end, allow_empty=True)
        if second is None:
            mm.add(name1, email1, None, None)
        else:
            name2, email2, _ = second
            mm.add(name1, email1, name2, email2)
        mm.lines_used += 1
    return mm


def read_mailmap(path: str | Path) -> Mailmap:
    """Read a ``.mailmap`` file (plain or ``.gz``; UTF-8, else cp1252).

    Raises
    ------
    InputError
        When the file cannot be read or is implausibly large.
    """
    with open_binary(path) as fh:
        data = fh.read(MAX_MAILMAP_BYTES + 1)
    if len(data) > MAX_MAILMAP_BYTES:
        raise InputError(f"mailmap larger than {MAX_MAILMAP_BYTES} bytes", file=str(path))
    try:
        text, _codec = decode_text(data)
    except UnicodeDecodeError as exc:  # a UTF-16 byte-order mark followed by invalid UTF-16
        raise InputError(f"starts like UTF-16 but is not valid UTF-16 ({exc.reason})",
                         file=str(path)) from exc
    return parse_mailmap(text)
