"""Alias file importer: explicit ``person_id,source,handle`` links, the second-strongest evidence.

Each row says "this handle in this source is that person". ``source`` is ``email`` (an address in
any source), a login source (``github``, ``gitlab``, ``slack``, ``gerrit``, ``mattermost``) or any
other source whose native id is given. ``person_id`` is usually an org-chart ``employee_id``; any
other value creates a person of that id (contractors, people outside the chart).
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

from orgnet._text import clean, normalize_email
from orgnet.exceptions import InputError
from orgnet.identity import claim_rows
from orgnet.importers._base import ImportBuilder, ImportResult, gc_paused
from orgnet.importers.tabular import read_table

__all__ = ["KNOWN_SOURCES", "detect", "import_aliases"]

KNOWN_SOURCES = frozenset(
    {"email", "git", "mbox", "github", "gitlab", "gerrit", "slack", "mattermost", "maintainers",
     "hris"}
)
_SOURCE = re.compile(r"^[a-z][a-z0-9_:.-]{0,31}$")


def detect(path: Path) -> bool:
    """True for a CSV whose header is ``person_id,source,handle``."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.readline(4096).decode("utf-8-sig", "replace").strip().lower()
    except OSError:
        return False
    return [c.strip() for c in head.split(",")] == ["person_id", "source", "handle"]


@gc_paused()
def import_aliases(path: str | Path) -> ImportResult:
    """Import an alias file.

    Parameters
    ----------
    path
        CSV (or TSV, Parquet, JSON) with columns ``person_id``, ``source``, ``handle``.

    Returns
    -------
    ImportResult
        Identity claims with ``origin="alias"``; malformed rows are rejected with their line.

    Raises
    ------
    InputError
        When the file lacks one of the three columns.
    """
    p = Path(path)
    try:
        table = read_table(p)
    except UnicodeDecodeError as exc:  # a UTF-16 byte-order mark followed by invalid UTF-16
        raise InputError(f"starts like UTF-16 but is not valid UTF-16 ({exc.reason})",
                         file=str(p)) from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # starts like gzip, is not
        raise InputError(f"corrupt or truncated compressed file: {exc}", file=str(p)) from exc
    missing = [c for c in ("person_id", "source", "handle") if c not in table.headers]
    if missing:
        raise InputError(
            f"an alias file needs the columns person_id,source,handle; missing {missing}",
            file=str(p), line=1, field=missing[0],
        )
    b = ImportBuilder("aliases", p)
    for line, reason, raw in table.bad_rows:
        b.reject_unreadable(reason, line=line, raw=raw)
    seen: set[tuple[str, str, str]] = set()
    for row in table.rows:
        b.begin(line=row.line)
        person = clean(row.cells.get("person_id"))
        source = (clean(row.cells.get("source")) or "").lower()
        handle = clean(row.cells.get("handle"))
        if not person:
            b.reject("missing person_id", field="person_id")
            continue
        if not source or not _SOURCE.match(source):
            b.reject(f"invalid source {source!r}", field="source", raw=row.cells.get("source"))
            continue
        if not handle:
            b.reject("missing handle", field="handle")
            continue
        if source in ("email", "git", "mbox") and normalize_email(handle) is None:
            b.reject(f"{handle!r} is not an e-mail address", field="handle", raw=handle)
            continue
        if source not in KNOWN_SOURCES:
            b.reject(f"source {source!r} is not one orgnet imports; kept as given",
                     field="source", outcome="flagged")
        key = (person, source, handle.lower())
        if key in seen:
            b.duplicate("the same alias twice")
            continue
        seen.add(key)
        b.describe(f"{source}:{handle}")
        b.add("identities", **claim_rows(person, origin="alias", source=source, handle=handle))
    return b.finish()
