"""Find references to code in message text: repositories, paths, pull requests, changes, commits.

Chat and mail importers read a message body only long enough to call
:func:`extract_references` and the mention helpers, then drop it. Each reference becomes a
``reference`` event whose ``value`` is the normalised reference, so an analysis can find
conversations about a team's code that the team took no part in (ANALYSES "blind spots").

Normalised values (FORMATS §13; ``artifact_id`` follows the artifact-id conventions):

=====================================================  ===============================  ============
text                                                   value                            artifact_id
=====================================================  ===============================  ============
``https://github.com/acme/widgets/pull/412``           ``github:acme/widgets#412``      same
``acme/widgets#412`` (GitHub shorthand: PR or issue)   ``github:acme/widgets#412``      same
``https://github.com/acme/widgets/issues/7``           ``github-issue:acme/widgets#7``  none
``https://gitlab.example/g/p/-/merge_requests/9``      ``gitlab:g/p#9``                 same
``g/p!9`` (GitLab shorthand)                           ``gitlab:g/p#9``                 same
``https://gitlab.example/g/p/-/issues/3``              ``gitlab-issue:g/p#3``           none
``https://review.example/c/platform/infra/+/8812``     ``gerrit:platform/infra#8812``   same
``https://github.com/acme/widgets`` (forge hosts)      ``repo:acme/widgets``            none
``https://github.com/acme/widgets/commit/<40 hex>``    ``git:acme/widgets@<sha>``       same
``acme/widgets@1a2b3c4`` (abbreviated sha)             ``git:acme/widgets@1a2b3c4``     none
``services/payments/api.py``, ``src/foo/bar.rs:12``    ``path:src/foo/bar.rs``          none
=====================================================  ===============================  ============

A URL into a file (``…/blob/<ref>/src/x.py``) yields both the repository and the path. The
shorthand ``owner/repo#N`` is GitHub's notation for a pull request *or* an issue; its
``artifact_id`` only joins when a pull request with that number was imported.

Mentions: :func:`slack_mentions` (``<@U123>``, ``<@U123|name>``) and :func:`at_mentions`
(Mattermost ``@username``). :func:`emit_references` and :class:`Window` are shared by the
Slack, Mattermost and mbox importers.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from orgnet.exceptions import ConfigError
from orgnet.importers._base import ImportBuilder

__all__ = [
    "MAX_SCAN_CHARS",
    "Reference",
    "ReferenceKind",
    "Window",
    "at_mentions",
    "emit_references",
    "extract_references",
    "slack_mentions",
]

ReferenceKind = Literal["change", "issue", "repo", "path", "commit"]

#: Only the first this many characters of a message are scanned (a huge paste is not a reason
#: to spend unbounded time in regular expressions).
MAX_SCAN_CHARS: Final = 200_000
_MAX_TOKEN: Final = 400
_MAX_REFS: Final = 100


@dataclass(frozen=True)
class Reference:
    """One reference found in a text.

    Attributes
    ----------
    kind
        ``change`` (PR, MR, Gerrit change), ``issue``, ``repo``, ``path`` or ``commit``.
    value
        The normalised reference, e.g. ``github:acme/widgets#412`` or ``path:src/app.py``.
    artifact_id
        The artifact the reference points at, when it has one by the conventions
        (``github:acme/widgets#412``, ``git:acme/widgets@<sha>``).
    container
        The repository or project referred to, when known.
    """

    kind: ReferenceKind
    value: str
    artifact_id: str | None = None
    container: str | None = None


_URL: Final = re.compile(r"https?://[^\s<>|()\[\]{}\"'`\\]{1,2000}", re.IGNORECASE)
_TRAILING: Final = ".,;:!?*_~"
_SEG: Final = r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}"
_REPO_PATH: Final = re.compile(rf"^({_SEG}/{_SEG})(?:\.git)?/?$")
_FORGE_HOSTS: Final = re.compile(
    r"(^|\.)(github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|sr\.ht|gitea\.com)$"
    r"|(^|[.-])(github|gitlab|gitea|forgejo|git)[.-]",
    re.IGNORECASE,
)
_SHA_FULL: Final = re.compile(r"^[0-9a-fA-F]{40}$")
_SHA_ANY: Final = re.compile(r"^[0-9a-fA-F]{7,40}$")
_SHORT_CHANGE: Final = re.compile(
    rf"^({_SEG}/{_SEG})([#!])([0-9]{{1,9}})$"
)
_SHORT_COMMIT: Final = re.compile(rf"^({_SEG}/{_SEG})@([0-9a-fA-F]{{7,40}})$")
_PATH: Final = re.compile(
    r"^(?:\./)?((?:[A-Za-z0-9_.@+-]{1,100}/){1,30}[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,99}"
    r"\.[A-Za-z][A-Za-z0-9]{0,7})(?::[0-9]{1,7}(?::[0-9]{1,5})?|#L[0-9]{1,7}(?:-L?[0-9]{1,7})?)?$"
)
_DOMAIN_LIKE: Final = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_NOT_PATH_EXT: Final = frozenset({"git", "com", "org", "net", "io"})
_STRIP: Final = "()[]{}<>\"'`,;!?*_~"

_SLACK_MENTION: Final = re.compile(r"<@([UW][A-Z0-9]{1,30})(?:\|[^>\n]{0,200})?>")
_AT_MENTION: Final = re.compile(r"(?<![A-Za-z0-9_@.\-/])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")
_BROADCAST: Final = frozenset({"here", "channel", "all", "everyone"})


def _clip(text: str) -> str:
    return text[:MAX_SCAN_CHARS]


def _change(source: str, repo: str, number: str) -> Reference:
    value = f"{source}:{repo}#{int(number)}"
    return Reference("change", value, artifact_id=value, container=repo)


#: The commonest reference, a GitHub pull request URL, recognised at once: what
#: :func:`_from_url_general` makes of it (no "+", no "-" segment, nothing to unquote).
_GITHUB_PULL: Final = re.compile(
    r"https?://github\.com/([A-Za-z0-9_.][A-Za-z0-9_.-]*)/([A-Za-z0-9_.][A-Za-z0-9_.-]*)"
    r"/pulls?/([0-9]+)")


def _from_url(url: str) -> list[Reference]:
    url = url.rstrip(_TRAILING)
    m = _GITHUB_PULL.fullmatch(url)
    if m:
        return [_change("github", f"{m.group(1)}/{m.group(2)}", m.group(3))]
    return _from_url_general(url)


def _from_url_general(url: str) -> list[Reference]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    host = (parts.hostname or "").lower()
    if not host:
        return []
    path = unquote(parts.path)
    segs = [s for s in path.split("/") if s]
    fragment = parts.fragment or ""
    # Gerrit: /c/<project...>/+/<n>, also the legacy /#/c/<project>/+/<n>.
    gerrit_path = segs
    if not segs and fragment.startswith("/c/"):
        gerrit_path = [s for s in fragment.split("/") if s]
    if len(gerrit_path) >= 4 and gerrit_path[0] == "c" and "+" in gerrit_path:
        plus = gerrit_path.index("+")
        if plus >= 2 and plus + 1 < len(gerrit_path) and gerrit_path[plus + 1].isdigit():
            project = "/".join(gerrit_path[1:plus])
            return [_change("gerrit", project, gerrit_path[plus + 1])]
    # GitLab: /<group...>/<project>/-/merge_requests/<n> (or issues, commit, blob).
    if "-" in segs:
        dash = segs.index("-")
        repo = "/".join(segs[:dash])
        rest = segs[dash + 1 :]
        if dash >= 2 and rest:
            if rest[0] == "merge_requests" and len(rest) > 1 and rest[1].isdigit():
                return [_change("gitlab", repo, rest[1])]
            if rest[0] == "issues" and len(rest) > 1 and rest[1].isdigit():
                return [Reference("issue", f"gitlab-issue:{repo}#{int(rest[1])}", container=repo)]
            if rest[0] in ("commit", "commits") and len(rest) > 1 and _SHA_ANY.match(rest[1]):
                return [_commit(repo, rest[1])]
            if rest[0] in ("blob", "tree") and len(rest) > 2:
                return [_repo(repo), *_path_ref("/".join(rest[2:]))]
            return [_repo(repo)]
    if len(segs) >= 4 and segs[2] in ("pull", "pulls") and segs[3].isdigit():
        repo = f"{segs[0]}/{segs[1]}"
        if "github" in host:
            return [_change("github", repo, segs[3])]
        return [Reference("change", f"{host}:{repo}#{int(segs[3])}", container=repo)]
    if len(segs) >= 4 and segs[2] == "issues" and segs[3].isdigit():
        repo = f"{segs[0]}/{segs[1]}"
        return [Reference("issue", f"github-issue:{repo}#{int(segs[3])}", container=repo)]
    if not _FORGE_HOSTS.search(host) or len(segs) < 2:
        return []
    repo_path = f"{segs[0]}/{segs[1]}"
    if not _REPO_PATH.match(repo_path):
        return []
    repo = repo_path.removesuffix(".git")
    if len(segs) >= 4 and segs[2] == "commit" and _SHA_ANY.match(segs[3]):
        return [_commit(repo, segs[3])]
    if len(segs) >= 5 and segs[2] in ("blob", "tree", "src"):
        return [_repo(repo), *_path_ref("/".join(segs[4:]))]
    return [_repo(repo)]


def _repo(repo: str) -> Reference:
    return Reference("repo", f"repo:{repo}", container=repo)


def _commit(repo: str, sha: str) -> Reference:
    sha = sha.lower()
    value = f"git:{repo}@{sha}"
    return Reference("commit", value, artifact_id=value if _SHA_FULL.match(sha) else None,
                     container=repo)


def _path_ref(token: str) -> list[Reference]:
    m = _PATH.match(token)
    if not m:
        return []
    path = m.group(1)
    first = path.split("/", 1)[0]
    ext = path.rsplit(".", 1)[1].lower()
    if ext in _NOT_PATH_EXT or (_DOMAIN_LIKE.match(first) and not first.startswith(".")):
        return []
    if any(seg in ("", ".", "..") for seg in path.split("/")):
        return []
    return [Reference("path", f"path:{path}")]


@functools.lru_cache(maxsize=1 << 16)
def _token_refs(raw: str) -> tuple[Reference, ...]:
    """The references of one word of a text (outside URLs) that has a "/".

    Remembered for the last 65,536 distinct words: chat names the same paths and changes over
    and over (a 10,000-person Slack shard: 75,159 such words, 20,122 distinct; 1.2-1.6 ->
    0.85 s). The words stay in this process's memory (at most 65,536, never written out).
    """
    if len(raw) > _MAX_TOKEN:
        return ()
    token = raw.strip(_STRIP).rstrip(".:")
    if "/" not in token:
        return ()
    change = _SHORT_CHANGE.match(token)
    if change:
        source = "github" if change.group(2) == "#" else "gitlab"
        return (_change(source, change.group(1), change.group(3)),)
    commit = _SHORT_COMMIT.match(token)
    if commit:
        return (_commit(commit.group(1), commit.group(2)),)
    return tuple(_path_ref(token))


def extract_references(text: str | None) -> list[Reference]:
    """References to repositories, paths, changes and commits found in ``text``.

    Parameters
    ----------
    text
        Message text (Slack mrkdwn, Markdown or plain mail). Only the first
        :data:`MAX_SCAN_CHARS` characters are read.

    Returns
    -------
    list[Reference]
        Distinct references in order of first appearance (at most 100).

    Examples
    --------
    >>> [r.value for r in extract_references("see acme/widgets#412 and src/app/main.py:12")]
    ['github:acme/widgets#412', 'path:src/app/main.py']
    """
    if not text or "/" not in text:  # every reference form has a "/" (URL, owner/repo, path)
        return []
    text = _clip(text)
    found: list[Reference] = []
    rest = text
    if "://" in text:  # every URL match has one
        for m in _URL.finditer(text):
            found.extend(_from_url(m.group(0)))
        rest = _URL.sub(" ", text)
    # Stripping never adds a "/": only the words with one can be references.
    for raw in rest.split():
        if "/" in raw:
            found.extend(_token_refs(raw))
    out: list[Reference] = []
    seen: set[str] = set()
    for ref in found:
        if ref.value not in seen:
            seen.add(ref.value)
            out.append(ref)
            if len(out) >= _MAX_REFS:
                break
    return out


def slack_mentions(text: str | None) -> list[str]:
    """User ids mentioned as ``<@U123>`` or ``<@U123|name>`` in Slack mrkdwn, in order, distinct.

    ``<!here>``, ``<!channel>`` and user groups are not expanded (FORMATS §7.5).
    """
    if not text:
        return []
    return list(dict.fromkeys(_SLACK_MENTION.findall(_clip(text))))


def at_mentions(text: str | None) -> list[str]:
    """Lower-cased ``@username`` mentions (Mattermost), without ``@here``/``@channel``/``@all``.

    E-mail addresses (``ana@example.com``) are not mentions.
    """
    if not text:
        return []
    out: dict[str, None] = {}
    for m in _AT_MENTION.finditer(_clip(text)):
        name = m.group(1).rstrip("._-").lower()
        end = m.end()
        if end < len(text) and text[end] == "@":
            continue
        if name and name not in _BROADCAST:
            out[name] = None
    return list(out)


def emit_references(
    b: ImportBuilder,
    text: str | None,
    actor_id: str,
    *,
    ts: dt.datetime,
    container: str | None,
    raw_ref: tuple[str, str],
) -> int:
    """Add one ``reference`` event per distinct reference in ``text``; return how many."""
    n = 0
    for ref in extract_references(text):
        b.event("reference", actor_id, ts=ts, artifact_id=ref.artifact_id, container=container,
                value=ref.value, raw_ref=raw_ref)
        n += 1
    return n


class Window:
    """The ``[since, until)`` import window; naive datetimes and dates are taken as UTC.

    Raises
    ------
    ConfigError
        When a bound is not a date or datetime, or ``since`` is not before ``until``.
    """

    def __init__(self, since: dt.datetime | dt.date | None, until: dt.datetime | dt.date | None):
        self.since = _aware(since, "since")
        self.until = _aware(until, "until")
        if self.since and self.until and self.since >= self.until:
            raise ConfigError(f"since ({self.since}) must be before until ({self.until})")

    def __contains__(self, ts: object) -> bool:
        if not isinstance(ts, dt.datetime):
            return False
        if self.since is not None and ts < self.since:
            return False
        return not (self.until is not None and ts >= self.until)

    def options(self) -> dict[str, object]:
        """The window as import-log options."""
        out: dict[str, object] = {}
        if self.since is not None:
            out["since"] = self.since.isoformat()
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out


def _aware(value: object, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise ConfigError(f"{name} must be a date or datetime, got {type(value).__name__}")
