"""Saved ``git log`` records in the format of FORMATS §commits, for tests that write their own."""

from __future__ import annotations

#: Record, unit and group separators of the saved log format.
RS, US, GS = "\x1e", "\x1f", "\x1d"


def git_record(sha: str, parents: str, name: str, email: str, when: str, subject: str,
               trailers: list[str], numstat: list[str]) -> str:
    """One commit: author = committer = ``name <email>`` at ``when``, then trailers and numstat."""
    head = US.join([sha, parents, name, email, name, email, when, name, email, when, subject,
                    "".join(t + "\n" for t in trailers)])
    tail = "\n" + ("\n" + "".join(n + "\n" for n in numstat) if numstat else "")
    return RS + head + GS + tail
