"""Import commits, trailers and per-file line counts from a git repository or a saved ``git log``.

Input (FORMATS §14, ``realdata/FORMAT_commits.md``): either a git repository (work tree or bare),
read by running ``git log`` with every repository-configured program disabled (§14.9), or a log
saved by :func:`export_command`, plain or gzipped. The log format is::

    record  := RS sha US parents US an US ae US aN US aE US aI US cn US ce US cI US subject US
               trailers GS LF [ LF numstat* ]
    numstat := added TAB deleted TAB path LF          # "-" "-" for a binary file

Events per commit: ``commit_authored`` (author), ``commit_committed`` (committer, when not the
author; target the author), ``commit_coauthored`` (each ``Co-authored-by``/``Co-developed-by``),
``commit_trailer`` (each review or credit trailer, value = canonical key), and with
``review_pattern`` a ``review_approved`` event per reviewer named in the subject. One
``artifacts`` row per commit and one ``touches`` row per changed file.

The subject is read only to apply ``review_pattern``; no commit text is stored anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from orgnet._text import clean
from orgnet.exceptions import ConfigError, InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._base import Identity, ImportBuilder, ImportResult, gc_paused
from orgnet.importers._io import open_binary
from orgnet.importers.mailmap import Mailmap, parse_mailmap, read_mailmap
from orgnet.workspace import git_dir as _git_dir

__all__ = [
    "BORS_PATTERN",
    "CREDIT_TRAILERS",
    "LOG_FORMAT",
    "TimeBound",
    "TrailerValue",
    "detect",
    "export_command",
    "git_log_argv",
    "import_git",
    "parse_trailer_value",
]

#: The ``--format`` of FORMAT_commits.md: 12 header fields, then the trailer block ended by GS.
LOG_FORMAT: Final = (
    "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aN%x1f%aE%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s"
    "%x1f%(trailers:only,unfold)%x1d"
)

#: ``review_pattern="bors"``: homu/bors merge subjects, ``Auto merge of #N - user:branch, r=a,b``.
BORS_PATTERN: Final = (
    r"^Auto merge of #(?P<number>\d+) - (?P<author>[^:\s]+):(?P<branch>\S*), r=(?P<reviewer>\S+)"
)

#: Trailer key (case-folded) -> (event kind, canonical key).
CREDIT_TRAILERS: Final[dict[str, tuple[str, str]]] = {
    k.casefold(): (kind, k)
    for kind, keys in (
        ("commit_coauthored", ("Co-authored-by", "Co-developed-by")),
        (
            "commit_trailer",
            ("Reviewed-by", "Acked-by", "Tested-by", "Signed-off-by", "Helped-by",
             "Suggested-by", "Reported-by", "Mentored-by"),
        ),
    )
    for k in keys
}

TimeBound = dt.datetime | dt.date | str | None

_CHUNK: Final = 1 << 20
_RS, _US, _GS = b"\x1e", "\x1f", "\x1d"
_HEADER_AT: Final = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?\x1f")
_SHA: Final = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_ANGLE: Final = re.compile(r"<([^<>]*)>")
_MAILTO: Final = re.compile(r"<mailto:[^<>]*>")
_BARE_EMAIL: Final = re.compile(r"[^\s<>()\[\],;\"']+@[^\s<>()\[\],;\"']+")
_LOGIN_CHARS: Final = re.compile(r"[^A-Za-z0-9-]")
_BRACE_RENAME: Final = re.compile(r"(.*)\{(.*) => (.*)\}(.*)")
_FIELDS: Final = ("hash", "parents", "author_name", "author_email", "author_name_mailmap",
                  "author_email_mailmap", "author_date", "committer_name", "committer_email",
                  "committer_date", "subject", "trailers")
_N_FIELDS: Final = len(_FIELDS)
#: Committers that are a forge, not a person (GitHub web-UI merges and edits).
_FORGE_EMAILS: Final = frozenset({"noreply@github.com"})
_GENERIC_STEMS: Final = frozenset({"commits", "commit", "git", "gitlog", "log", "history", "export"})
_C_ESCAPES: Final = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
SKIP_WINDOW: Final = "outside --since/--until"
#: Read plain commits column-wise (:mod:`orgnet.importers._git_fast`); ``False``: record by record.
_FAST = True


# -- the git command ---------------------------------------------------------------------------

def _iso_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_utc(value: TimeBound, name: str) -> dt.datetime | None:
    """``--since``/``--until`` as an aware UTC datetime (dates and naive times are UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z")
                                               else text)
        except ValueError as exc:
            raise ConfigError(f"--{name}: not an ISO date or time: {value!r}") from exc
        value = parsed
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise ConfigError(f"--{name}: expected a date, a datetime or an ISO string, got {value!r}")


def _safe_env() -> dict[str, str]:
    """A scrubbed environment: no inherited GIT_*, no system or global config, no pager, no prompts."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": "/nonexistent",
        "LC_ALL": "C",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_ATTR_NOSYSTEM": "1",
    }
    for key in ("SYSTEMROOT", "TMPDIR"):  # needed on some platforms, harmless elsewhere
        if key in os.environ:
            env[key] = os.environ[key]
    return env


#: ``-c`` settings that neutralise repository-configured programs and output-changing options.
_SAFE_CONFIG: Final = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.quotepath=off",
    "core.pager=cat",
    "diff.external=",
    "log.showSignature=false",
    "log.showRoot=true",
    "i18n.logOutputEncoding=UTF-8",
    "protocol.allow=never",
    "credential.helper=",
)


def _git_options(since: dt.datetime | None, until: dt.datetime | None, rev: str) -> list[str]:
    args = ["log", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--numstat",
            "--encoding=UTF-8", f"--format={LOG_FORMAT}"]
    if since is not None:
        args.append(f"--since={_iso_utc(since)}")
    if until is not None:
        args.append(f"--until={_iso_utc(until)}")
    args += ["--end-of-options", rev, "--"]
    return args


def git_log_argv(
    repo: str | Path,
    since: TimeBound = None,
    until: TimeBound = None,
    *,
    rev: str = "HEAD",
) -> list[str]:
    """The hardened ``git log`` argument vector :func:`import_git` runs for a repository.

    It is run with the environment of ``_safe_env`` (no system/global config, no inherited
    ``GIT_*`` variables) and ``cwd`` = the repository.
    """
    return _git_base(Path(repo)) + _git_options(_as_utc(since, "since"), _as_utc(until, "until"),
                                                rev)


def _git_base(path: Path) -> list[str]:
    """``git -C <repo>`` with the hardening ``-c`` settings and ``safe.directory`` for that path."""
    safe = {str(path.absolute()), str(path.resolve())}
    argv = ["git", "--no-pager", "-C", str(path)]
    for setting in (*_SAFE_CONFIG, *(f"safe.directory={s}" for s in sorted(safe))):
        argv += ["-c", setting]
    return argv


def export_command(
    repo: str | Path,
    since: TimeBound = None,
    until: TimeBound = None,
    *,
    rev: str = "HEAD",
    output: str | None = None,
) -> str:
    """The shell command that saves a log :func:`import_git` reads, to run on another machine.

    Parameters
    ----------
    repo
        Path of the repository on the machine that runs the command.
    since, until
        Optional committer-date window (half-open ``[since, until)`` on import).
    rev
        Revision to walk (``HEAD``, a branch or tag name, a commit).
    output
        File to write; a name ending in ``.gz`` is gzipped. ``None`` prints to stdout.

    Returns
    -------
    str
        A POSIX shell command line.

    Examples
    --------
    >>> print(export_command("/src/cargo", "2024-01-01", output="c.gitlog.gz"))  # doctest: +ELLIPSIS
    env GIT_CONFIG_NOSYSTEM=1 ... --since=2024-01-01T00:00:00Z ... | gzip > c.gitlog.gz
    """
    env = ["env", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
           "GIT_NO_REPLACE_OBJECTS=1", "LC_ALL=C"]
    argv = ["git", "--no-pager", "-C", str(repo)]
    for setting in _SAFE_CONFIG:
        argv += ["-c", setting]
    argv += _git_options(_as_utc(since, "since"), _as_utc(until, "until"), rev)
    command = shlex.join(env + argv)
    if output is None:
        return command
    if output.endswith(".gz"):
        return f"{command} | gzip > {shlex.quote(output)}"
    return f"{command} > {shlex.quote(output)}"


def _repo_mailmap(path: Path, gitdir: Path) -> Mailmap | None:
    """The repository's own ``.mailmap`` (work tree file, else ``HEAD:.mailmap`` of a bare repo)."""
    if gitdir != path:
        candidate = path / ".mailmap"
        if candidate.is_file() and not candidate.is_symlink():  # git does not follow it either
            return read_mailmap(candidate)
        return None
    argv = [*_git_base(path), "cat-file", "blob", "HEAD:.mailmap"]
    try:
        done = subprocess.run(argv, cwd=path, env=_safe_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or len(done.stdout) > 64 * 1024 * 1024:
        return None
    return parse_mailmap(done.stdout.decode("utf-8", "replace"))


@contextlib.contextmanager
def _git_log_stream(
    path: Path, since: dt.datetime | None, until: dt.datetime | None, rev: str
) -> Iterator[IO[bytes]]:
    """Run the hardened ``git log`` and yield its stdout; raise InputError when git fails."""
    if shutil.which("git") is None:
        raise InputError("git is not installed; export the log on another machine "
                         "(orgnet.importers.git.export_command) and import the file", file=str(path))
    argv = git_log_argv(path, since, until, rev=rev)
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, cwd=path, env=_safe_env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=err)
        except OSError as exc:
            raise InputError(f"cannot run git: {exc}", file=str(path)) from exc
        assert proc.stdout is not None
        finished = False
        try:
            yield proc.stdout
            finished = True
        finally:
            if not finished and proc.poll() is None:
                proc.kill()  # the parser gave up (it raised): stop the walk
            proc.stdout.close()
            rc = proc.wait()
        if rc != 0:
            err.seek(0)
            msg = err.read(4000).decode("utf-8", "replace").strip().splitlines()
            raise InputError(f"git log failed (exit {rc}): {msg[-1] if msg else 'no message'}",
                             file=str(path))


# -- record splitting --------------------------------------------------------------------------

def _segments(fh: IO[bytes]) -> Iterator[tuple[int, bool, bytes]]:
    """Split a log stream into ``(line, is_record, bytes)`` without reading it whole.

    A record starts at an RS byte followed by a commit hash and US; an RS anywhere else is data.
    Bytes before the first record are yielded with ``is_record=False``.
    """
    buf = b""
    start = 0          # start of the current segment in buf
    search = 0         # where to look for the next RS
    line = 1
    eof = False
    while True:
        i = buf.find(_RS, search)
        if i < 0 or (len(buf) - i < 66 and not eof):
            if eof:
                if start < len(buf):
                    yield line, buf[start:start + 1] == _RS, buf[start:]
                return
            chunk = fh.read(_CHUNK)
            if not chunk:
                eof = True
            rest = buf[start:]
            search = (i if i >= 0 else len(buf)) - start
            buf, start = rest + chunk, 0
            continue
        if i > start and _HEADER_AT.match(buf, i + 1):
            seg = buf[start:i]
            yield line, seg[:1] == _RS, seg
            line += seg.count(b"\n")
            start = i
        search = i + 1


# -- parsing helpers ---------------------------------------------------------------------------

def _is_count(text: str) -> bool:
    """A numstat count: ASCII digits, or ``-`` for a binary file."""
    return text == "-" or (text.isascii() and text.isdigit())


def _unquote_c(path: str) -> str:
    """Undo git's C-style quoting of a path (``"dir\\tname"``, octal ``\\303\\251``)."""
    inner = path[1:-1]
    out = bytearray()
    i, n = 0, len(inner)
    while i < n:
        ch = inner[i]
        if ch == "\\" and i + 1 < n:
            nxt = inner[i + 1]
            if nxt in _C_ESCAPES:
                out.append(_C_ESCAPES[nxt])
                i += 2
                continue
            if nxt in "0123" and i + 3 < n + 1 and all(c in "01234567" for c in inner[i + 1:i + 4]):
                out.append(int(inner[i + 1:i + 4], 8))
                i += 4
                continue
        out += ch.encode("utf-8", "replace")
        i += 1
    return out.decode("utf-8", "replace")


def _rename_target(path: str) -> str:
    """The new path of a rename written as ``a => b`` or ``dir/{a => b}/f`` (logs made with -M)."""
    m = _BRACE_RENAME.fullmatch(path)
    if m:
        joined = m.group(1) + m.group(3) + m.group(4)
        return re.sub("/{2,}", "/", joined)
    return path.rsplit(" => ", 1)[1]


@dataclass(frozen=True)
class TrailerValue:
    """A parsed trailer value: ``name``/``email`` (either may be empty) and a problem, if any."""

    name: str
    email: str
    problem: str | None = None


def parse_trailer_value(value: str) -> TrailerValue:
    """Parse ``Name <email>`` from a trailer value, tolerating the usual deviations.

    ``Name <email> # comment`` and ``Name <email> [v2]`` are accepted silently; trailing text,
    an e-mail without angle brackets, or no e-mail at all are accepted with a ``problem``.
    """
    value = value.strip()
    problem = None
    if "<mailto:" in value:  # mail clients write "a@b.c<mailto:a@b.c>"
        value = _MAILTO.sub("", value).strip()
        problem = "mailto: link removed from the trailer value"
    m = _ANGLE.search(value)
    if m and "@" in m.group(1):
        name = value[:m.start()].strip().strip('"').strip()
        email = m.group(1).strip()
        rest = value[m.end():].strip()
        if rest and rest[0] not in "#[(":
            return TrailerValue(name, email, "trailer value has text after <email>")
        return TrailerValue(name, email, problem)
    bare = _BARE_EMAIL.search(value)
    if bare:
        name = (value[:bare.start()] + value[bare.end():]).replace("<>", "").strip().strip('"')
        return TrailerValue(name.strip(), bare.group().strip("."), "trailer e-mail without <...>")
    name = _ANGLE.sub("", value).strip().strip('"').strip()
    return TrailerValue(name, "", "trailer value has no e-mail address")


def _clean_login(value: str) -> tuple[str, bool]:
    """A GitHub login from an ``r=`` value: drop a leading ``@`` and any non-login character."""
    text = value.strip()
    text = text.removeprefix("@")
    login = _LOGIN_CHARS.sub("", text)
    return login, login != text


def _parse_time(text: str) -> tuple[dt.datetime, int | None, bool] | None:
    """Strict ISO 8601 -> (aware datetime, offset minutes, had_offset); None when unparseable."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=dt.UTC), None, False
    return value, int(offset.total_seconds() // 60), True


def _default_container(path: Path, is_repo: bool) -> str:
    if is_repo:
        name = path.resolve().name
        return name.removesuffix(".git") or name
    name = path.name
    name = name.removesuffix(".gz")
    for suffix in (".gitlog", ".log", ".txt"):
        name = name.removesuffix(suffix)
    base = name.removesuffix("_commits").removesuffix("-commits") or name
    if name.lower() in _GENERIC_STEMS and path.resolve().parent.name:
        return path.resolve().parent.name
    return base


def git_identity(name: str, email: str) -> tuple[Identity, str | None]:
    """The identity of a git person (already mailmapped) and its cleaned display name."""
    mail = email.strip().lower()
    display = clean(name)
    native = mail or "name:" + (display or "").lower()
    bot = mail in _FORGE_EMAILS or is_bot_handle(name, mail)
    return Identity("git", native, email=mail or None, name=display, is_bot=bot), display


# -- the parser --------------------------------------------------------------------------------

class _Parser:
    """Turns log records into builder rows; one instance per import."""

    def __init__(
        self,
        b: ImportBuilder,
        *,
        container: str,
        since: dt.datetime | None,
        until: dt.datetime | None,
        mailmap: Mailmap | None,
        review: re.Pattern[str] | None,
    ) -> None:
        self.b = b
        self.container = container
        self.since = since
        self.until = until
        self.mailmap = mailmap
        self.review = review
        self._people: dict[tuple[str, str], tuple[str, str | None]] = {}
        self._names: dict[str, Counter[str]] = {}
        self._trailer_cache: dict[str, tuple[bool, str | None, str, str]] = {}
        self._idents: dict[str, Identity] = {}
        self._logins: dict[str, str] = {}
        self._seen: dict[str, int] = {}
        self.records = 0
        self.renames = 0
        self.reviews = 0

    # identities -------------------------------------------------------------------------
    def register(self, name: str, email: str, *,
                 known: tuple[Identity, str | None] | None = None) -> tuple[str, str | None]:
        """First sight of a git person (already mailmapped): register it; its name is not counted.

        ``known``: ``git_identity(name, email)`` when the caller has it already.
        """
        ident, display = git_identity(name, email) if known is None else known
        iid = self.b.identity(ident)
        hit = self._people[(name, email)] = (iid, display)
        if iid not in self._names:
            self._idents[iid] = ident
            self._names[iid] = Counter()
        return hit

    def person(self, name: str, email: str) -> str:
        """Identity id of a git person (already mailmapped), cached by (name, email)."""
        hit = self._people.get((name, email))
        if hit is None:
            hit = self.register(name, email)
        iid, display = hit
        if display is not None:
            self._names[iid][display] += 1
        return iid

    def settle_names(self) -> None:
        """Give each identity the name it carries most often (ties: the newest in log order).

        The builder keeps the last name it is given; a git log lists the newest commit first, so
        without this an old typo ("Juline Grall") would win over the usual spelling.
        """
        for iid, names in self._names.items():
            if len(names) > 1:
                best = names.most_common(1)[0][0]
                ident = self._idents[iid]
                self.b.identity(Identity(ident.source, ident.native_id, email=ident.email,
                                         name=best, is_bot=ident.is_bot))

    def mapped(self, name: str, email: str) -> tuple[str, str]:
        return self.mailmap.map(name, email) if self.mailmap is not None and email else (name, email)

    def login(self, login: str) -> str:
        iid = self._logins.get(login.lower())
        if iid is None:
            iid = self.b.identity(Identity("github", login, username=login,
                                           is_bot=is_bot_handle(login)))
            self._logins[login.lower()] = iid
        return iid

    # records ----------------------------------------------------------------------------
    def garbage(self, line: int, text: bytes, where: str) -> None:
        # Never echo the bytes: stray lines can be pieces of commit messages.
        n_lines = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
        self.b.reject_unreadable(
            f"unparseable {where}: {n_lines} line(s), {len(text)} bytes (content not shown)",
            line=line,
        )

    def record(self, line: int, raw: bytes) -> None:
        b = self.b
        body = raw[1:]
        gs = body.rfind(b"\x1d")
        head_bytes = body if gs < 0 else body[:gs]
        sha = head_bytes[:64].split(b"\x1f", 1)[0].decode("ascii", "replace")
        b.begin(line=line, record=f"commit {sha}")
        self.records += 1
        try:
            header = head_bytes.decode("utf-8")
            bad_utf8 = False
        except UnicodeDecodeError:
            header = head_bytes.decode("utf-8", "replace")
            bad_utf8 = True
        fields = header.split(_US)
        if gs < 0 or len(fields) < _N_FIELDS:
            missing = _FIELDS[min(len(fields), _N_FIELDS - 1)] if len(fields) < _N_FIELDS else None
            b.reject(
                f"truncated record: {min(len(fields), _N_FIELDS)} of {_N_FIELDS} header fields"
                + ("" if gs >= 0 else ", no \\x1d after the trailer block"),
                field=missing or "trailers", raw=sha,
            )
            return
        if bad_utf8:
            b.reject("invalid UTF-8 in the commit header, replaced with U+FFFD", field="header",
                     raw=sha, outcome="repaired")
        if len(fields) > _N_FIELDS:
            b.reject("stray \\x1f in the subject or trailers; fields re-aligned", field="subject",
                     raw=sha, outcome="flagged")
            fields = [*fields[:10], _US.join(fields[10:-1]), fields[-1]]
        (sha, parents_text, an, ae, a_name, a_email, a_date, cn, ce, c_date, subject,
         trailer_block) = fields

        crc = zlib.crc32(raw)
        prev = self._seen.get(sha)
        if prev is not None and prev != crc:
            b.reject("commit seen twice with different content", field="hash", raw=sha,
                     outcome="flagged")
        self._seen[sha] = crc

        parents = parents_text.split()
        if not all(_SHA.fullmatch(p) for p in parents):
            b.reject("bad parents field", field="parents", raw=sha)
            return
        authored = _parse_time(a_date)
        if authored is None:
            b.reject("bad author date", field="author_date", raw=a_date)
            return
        committed = _parse_time(c_date)
        if committed is None:
            b.reject("bad committer date", field="committer_date", raw=c_date)
            return
        for parsed, fname, text in ((authored, "author_date", a_date),
                                    (committed, "committer_date", c_date)):
            if not parsed[2]:
                b.reject("date without a UTC offset, read as UTC", field=fname, raw=text,
                         outcome="repaired")
        a_ts, a_off, _ = authored
        c_ts, c_off, _ = committed
        c_utc = c_ts.astimezone(dt.UTC)
        if (self.since is not None and c_utc < self.since) or (
            self.until is not None and c_utc >= self.until
        ):
            b.skip(SKIP_WINDOW)
            return

        # Identities: the user's mailmap applies to the raw author; else git's %aN/%aE.
        if self.mailmap is not None and ae:
            hit = self.mailmap.lookup(an, ae)
            if hit is not None:
                a_name, a_email = hit[0] or an, hit[1] or ae
        if not (a_name.strip() or a_email.strip()):
            b.reject("commit has no author name or e-mail", field="author", raw=sha)
            return
        author = self.person(a_name, a_email)
        container = self.container
        aid = f"git:{container}@{sha}"
        ref = ("commit", sha)
        b.event("commit_authored", author, ts=a_ts, artifact_id=aid, container=container,
                raw_ref=ref, time_offset_min=a_off)
        c_name, c_email = self.mapped(cn, ce)
        if c_name.strip() or c_email.strip():
            committer = self.person(c_name, c_email)
            if committer != author:
                b.event("commit_committed", committer, ts=c_ts, target_id=author,
                        target_role="artifact_author", artifact_id=aid, container=container,
                        raw_ref=ref, time_offset_min=c_off)

        if trailer_block:
            self.trailers(trailer_block, author, aid, ref, a_ts, a_off, c_ts, c_off)
        if self.review is not None and subject:
            self.reviews_from_subject(subject, author, aid, ref, c_ts, c_off, sha)

        # numstat
        tail_bytes = b"" if gs < 0 else body[gs + 1:]
        n_files = 0
        added_total = deleted_total = 0
        if tail_bytes.strip():
            try:
                tail = tail_bytes.decode("utf-8")
            except UnicodeDecodeError:
                tail = tail_bytes.decode("utf-8", "replace")
                b.reject("invalid UTF-8 in a path, replaced with U+FFFD", field="path", raw=sha,
                         outcome="repaired")
            a_naive = a_ts.astimezone(dt.UTC).replace(tzinfo=None)
            add_values = b.add_values
            tail_line = line + header.count("\n")
            bad_start = -1
            bad_lines: list[str] = []
            paths_seen: set[str] = set()
            for offset, text in enumerate(tail.split("\n")):
                if not text:
                    continue
                parts = text.split("\t", 2)
                if len(parts) != 3 or not parts[2] or not (
                    _is_count(parts[0]) and _is_count(parts[1])
                ):
                    if not bad_lines:
                        bad_start = tail_line + offset
                    bad_lines.append(text)
                    continue
                added_s, deleted_s, path = parts
                if path.startswith('"') and path.endswith('"') and len(path) >= 2:
                    path = _unquote_c(path)
                elif " => " in path:
                    path = _rename_target(path)
                    self.renames += 1
                if path in paths_seen:
                    continue
                paths_seen.add(path)
                added = None if added_s == "-" else int(added_s)
                deleted = None if deleted_s == "-" else int(deleted_s)
                n_files += 1
                added_total += added or 0
                deleted_total += deleted or 0
                # touches, positionally: artifact_id, actor_id, path, ts, lines added/deleted
                add_values("touches", (aid, author, path, a_naive, added, deleted))
            self.artifact(aid, author, a_ts, c_ts, n_files, added_total, deleted_total)
            if bad_lines:
                joined = "\n".join(bad_lines).encode("utf-8", "replace")
                self.garbage(bad_start, joined, "line(s) after a commit")
            return
        # A merge without numstat says nothing about its files; an empty commit touched none.
        unknown = len(parents) >= 2
        self.artifact(aid, author, a_ts, c_ts, None if unknown else 0, None if unknown else 0,
                      None if unknown else 0)

    def artifact(self, aid: str, author: str, opened: dt.datetime, closed: dt.datetime,
                 n_files: int | None, added: int | None, deleted: int | None) -> None:
        """The commit's ``artifacts`` row, positionally in the schema's order."""
        self.b.add_values("artifacts", (
            aid, "commit", self.b.source_kind, self.container, None, author,
            opened.astimezone(dt.UTC).replace(tzinfo=None), None,
            closed.astimezone(dt.UTC).replace(tzinfo=None), None, "committed", n_files, added,
            deleted))

    def trailer_identity(self, value: str) -> tuple[bool, str | None, str, str]:
        """``(usable, problem, name, email)`` of a stripped trailer value (mailmapped), cached."""
        cache = self._trailer_cache
        hit = cache.get(value)
        if hit is None:
            parsed = parse_trailer_value(value)
            usable = bool(parsed.email or clean(parsed.name))
            name, email = self.mapped(parsed.name, parsed.email) if usable else ("", "")
            if len(cache) > 500_000:
                cache.clear()
            hit = cache[value] = (usable, parsed.problem, name, email)
        return hit

    def trailers(
        self,
        block: str,
        author: str,
        aid: str,
        ref: tuple[str, str],
        a_ts: dt.datetime,
        a_off: int | None,
        c_ts: dt.datetime,
        c_off: int | None,
    ) -> None:
        b = self.b
        done: set[tuple[str, str, str]] = set()
        cache = self._trailer_cache
        for text in block.split("\n"):
            key_text, sep, value = text.partition(":")
            if not sep:
                continue
            spec = CREDIT_TRAILERS.get(key_text.strip().casefold())
            if spec is None:
                continue  # Fixes, Cc, Link, Change-Id, "chore: ..." ...
            kind, key = spec
            value = value.strip()
            hit = cache.get(value)
            if hit is None:
                hit = self.trailer_identity(value)
            usable, problem, name, email = hit
            if not usable:
                # No excerpt of the value: it is commit-message text, not an identity.
                b.reject(f"{key} trailer without a name or e-mail", field=key, raw=key,
                         outcome="flagged")
                continue
            if problem:
                # The excerpt names the parsed identity only, never the text around it.
                shown = f"{key}: {name} <{email}>" if email else f"{key}: {name}"
                b.reject(problem, field=key, raw=shown, outcome="flagged")
            actor = self.person(name, email)
            if (kind, key, actor) in done:
                continue
            done.add((kind, key, actor))
            # Co-authors worked when the commit was written; reviews, acks, tests and sign-offs
            # were given by the time it was committed.
            coauthor = kind == "commit_coauthored"
            b.event(kind, actor, ts=a_ts if coauthor else c_ts, target_id=author,
                    target_role="artifact_author", artifact_id=aid, container=self.container,
                    value=key, raw_ref=ref, time_offset_min=a_off if coauthor else c_off)

    def reviews_from_subject(
        self,
        subject: str,
        author: str,
        aid: str,
        ref: tuple[str, str],
        c_ts: dt.datetime,
        c_off: int | None,
        sha: str,
    ) -> None:
        assert self.review is not None
        b = self.b
        done: set[str] = set()
        for m in self.review.finditer(subject):
            groups = m.groupdict()
            values = groups.get("reviewer") or ""
            target = author
            target_login = groups.get("author")
            if target_login:
                login, _ = _clean_login(target_login)
                if login:
                    target = self.login(login)
            number = groups.get("number")
            artifact = f"github:{self.container}#{number}" if number else aid
            for item in values.split(","):
                value = item.strip()
                if not value:
                    continue
                if "@" in value and not value.startswith("@"):
                    pv = parse_trailer_value(value)
                    if not pv.email:
                        b.reject("reviewer in subject is not a login or e-mail", field="reviewer",
                                 raw=sha, outcome="flagged")
                        continue
                    reviewer = self.person(*self.mapped(pv.name, pv.email))
                else:
                    login, changed = _clean_login(value)
                    if not login or any(ch.isspace() for ch in value):
                        b.reject("reviewer in subject is not a login", field="reviewer", raw=sha,
                                 outcome="flagged")
                        continue
                    if login.lower() == "me":
                        b.reject("r=me does not name the reviewer; no approval recorded",
                                 field="reviewer", raw=sha, outcome="flagged")
                        continue
                    if changed:
                        b.reject(f"reviewer login cleaned to {login!r}", field="reviewer",
                                 raw=value, outcome="repaired")
                    reviewer = self.login(login)
                if reviewer in done:
                    continue
                done.add(reviewer)
                self.reviews += 1
                b.event("review_approved", reviewer, ts=c_ts, target_id=target,
                        target_role="artifact_author", artifact_id=artifact,
                        container=self.container, raw_ref=ref, time_offset_min=c_off)


# -- public API --------------------------------------------------------------------------------

def detect(path: Path) -> bool:
    """True for a git repository (work tree or bare) or a saved log in the FORMAT_commits layout."""
    p = Path(path)
    try:
        if p.is_dir():
            return _git_dir(p) is not None
        if not p.is_file():
            return False
        with open_binary(p) as fh:
            head = fh.read(256)
    except (OSError, EOFError, InputError, zlib.error):
        return False
    return bool(re.match(rb"\s*\x1e[0-9a-f]{40}", head))


def _compile_review(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    text = BORS_PATTERN if pattern.strip().lower() == "bors" else pattern
    try:
        compiled = re.compile(text)
    except re.error as exc:
        raise ConfigError(f"--review-pattern: invalid regular expression: {exc}") from exc
    if "reviewer" not in compiled.groupindex:
        raise ConfigError("--review-pattern needs a named group (?P<reviewer>...)")
    return compiled


@gc_paused()
def import_git(
    path: str | Path,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    mailmap: str | Path | None = None,
    repo_name: str | None = None,
    review_pattern: str | None = None,
    rev: str = "HEAD",
) -> ImportResult:
    """Import commits from a git repository or a saved ``git log``.

    Parameters
    ----------
    path
        A repository (work tree or bare) or a log file saved with :func:`export_command`
        (plain or ``.gz``).
    since, until
        Keep commits whose **committer** date is in ``[since, until)``; others are skipped
        (``"outside --since/--until"``). Dates and naive times are UTC.
    mailmap
        A ``.mailmap`` file applied to authors, committers and trailer identities. For a
        repository without this option, the repository's own ``.mailmap`` is used.
    repo_name
        The container (e.g. ``rust-lang/cargo``); default: the repository directory name, or the
        log file name without extensions (its folder name when that is generic, like ``commits``).
    review_pattern
        A regular expression applied to each commit subject with a named group ``reviewer``
        (comma-separated logins or e-mails), optionally ``author`` (the change author's login,
        else the commit author is the target) and ``number`` (the change is then the artifact
        ``github:<repo>#<number>``). ``"bors"`` is the preset for
        ``Auto merge of #N - user:branch, r=a,b``.
    rev
        Revision to walk in a repository (ignored for a log file).

    Returns
    -------
    ImportResult
        Events ``commit_authored``, ``commit_committed``, ``commit_coauthored``,
        ``commit_trailer`` and ``review_approved``; ``artifacts`` (one per commit) and ``touches``.

    Raises
    ------
    InputError
        When the path cannot be read, is neither a repository nor a log, or git fails.
    ConfigError
        When an option is invalid.
    """
    p = Path(path)
    since_utc = _as_utc(since, "since")
    until_utc = _as_utc(until, "until")
    if since_utc is not None and until_utc is not None and until_utc <= since_utc:
        raise ConfigError("--until must be later than --since")
    review = _compile_review(review_pattern)
    if not p.exists():
        raise InputError("no such file or directory", file=str(p))
    gitdir = _git_dir(p) if p.is_dir() else None
    if p.is_dir() and gitdir is None:
        raise InputError("directory is not a git repository (no .git, not a bare repository)",
                         file=str(p))
    is_repo = gitdir is not None
    mm: Mailmap | None = None
    if mailmap is not None:
        mm = read_mailmap(mailmap)
    elif gitdir is not None:
        mm = _repo_mailmap(p, gitdir)
    container = repo_name or _default_container(p, is_repo)
    b = ImportBuilder("git", p)
    parser = _Parser(b, container=container, since=since_utc, until=until_utc, mailmap=mm,
                     review=review)

    stream: contextlib.AbstractContextManager[IO[bytes]]
    stream = _git_log_stream(p, since_utc, until_utc, rev) if is_repo else open_binary(p)
    seen_content = False
    try:
        with stream as fh:
            if _FAST:
                from orgnet.importers import _git_fast

                seen_content = _git_fast.read_log(parser, fh)
            else:
                for line, is_record, data in _segments(fh):
                    if is_record:
                        parser.record(line, data)
                    elif data.strip():
                        seen_content = True
                        parser.garbage(line, data, "text before the first commit")
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read: {exc}", file=str(p)) from exc
    parser.settle_names()
    if parser.records == 0 and seen_content:
        raise InputError(
            "no commit records found: expected the output of "
            "orgnet.importers.git.export_command (records starting with \\x1e<sha>\\x1f)",
            file=str(p),
        )
    if mm is not None:
        b.notes.append(f"mailmap: {len(mm)} e-mail entries")
    if parser.renames:
        b.notes.append(f"{parser.renames} numstat path(s) in rename notation resolved to the new "
                       "path; export with --no-renames")
    if review is not None:
        b.notes.append(f"review pattern: {parser.reviews} approval(s) from commit subjects")
    options: dict[str, object] = {
        "since": _iso_utc(since_utc) if since_utc else None,
        "until": _iso_utc(until_utc) if until_utc else None,
        "mailmap": str(mailmap) if mailmap is not None else None,
        "repo_name": container,
        "review_pattern": review_pattern,
        "rev": rev if is_repo else None,
    }
    return b.finish(options=options)
