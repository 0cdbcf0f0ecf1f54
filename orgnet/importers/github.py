"""GitHub pull requests and issues: Perceval items or raw REST API JSON (FORMATS §1.4, §3).

Two inputs:

- a Perceval output file (``--json-line`` or the default pretty output, optionally gzipped) with
  items of category ``pull_request`` (reviews, inline comments, requested reviewers) and ``issue``
  (issues, and the conversation comments of pull requests);
- a directory of REST API JSON written by ``gh api --paginate`` (layout in
  :data:`REST_LAYOUT` and ``docs/importers/github.md``).

Events (FORMATS §3.9): ``change_opened``, ``review_requested``, ``review_approved``,
``review_changes_requested``, ``review_commented``, ``review_dismissed``, ``review_comment``
(inline), ``comment`` (conversation), ``change_merged`` and ``mention``. Bodies are read only for
``@login`` mentions, resolved against every account seen in the input, then dropped.

Identities: ``native_id`` is the numeric user id, ``username`` the login; ``type: "Bot"`` and
``…[bot]`` logins are bots. Deleted accounts (``user: null`` or the ``ghost`` placeholder) map to
one ``ghost`` identity, flagged as a bot so graph building leaves it out.

Artifacts: one row per pull request (``github:<owner>/<repo>#<n>``, kind ``pull_request``) and per
issue (kind ``issue``). A pull request's row is only written from the pull request itself
(Perceval ``pull_request`` items, REST ``pulls``), never from its ``issue`` twin, so a later,
fuller export always replaces it whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import urlsplit

import polars as pl

from orgnet.exceptions import InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._base import (
    Identity,
    ImportBuilder,
    ImportResult,
    duckdb_connect,
    identity_id_for,
)
from orgnet.importers._io import JsonRecordError, iter_line_blocks, loads_strict
from orgnet.importers.perceval import (
    DECOMPRESSION_ERRORS,
    FieldError,
    PercevalItem,
    PercevalReject,
    RecordPlan,
    describe_value,
    detect_backend,
    envelope_excerpt,
    gc_paused,
    is_json_lines,
    iso_field,
    item_or_reject,
    iter_json_records,
    iter_perceval_items,
    replay,
    window_bounds,
)

__all__ = [
    "GITHUB_LOGIN_MENTION",
    "REST_LAYOUT",
    "detect",
    "extract_mentions",
    "import_github",
]

SOURCE: Final = "github"

#: Files read from a REST export directory (``<n>`` is a pull request or issue number).
#: List files may be paginated as ``pulls-1.json``, ``pulls-2.json`` ... and each file may hold
#: one array, an array of page arrays (``--slurp``) or concatenated arrays (plain ``--paginate``).
REST_LAYOUT: Final[dict[str, str]] = {
    "pulls.json": "GET /repos/{o}/{r}/pulls?state=all  (list of pull requests)",
    "pulls/<n>.json": "GET /repos/{o}/{r}/pulls/{n}  (optional: merged_by, counts)",
    "pulls/<n>/reviews.json": "GET /repos/{o}/{r}/pulls/{n}/reviews",
    "pulls/<n>/comments.json": "GET /repos/{o}/{r}/pulls/{n}/comments  (inline comments)",
    "pulls/<n>/requested_reviewers.json": "GET /repos/{o}/{r}/pulls/{n}/requested_reviewers",
    "pulls/<n>/files.json": "GET /repos/{o}/{r}/pulls/{n}/files  (touched paths)",
    "issues.json": "GET /repos/{o}/{r}/issues?state=all  (issues; PR twins are ignored)",
    "issues/<n>/comments.json": "GET /repos/{o}/{r}/issues/{n}/comments  (conversation)",
    "issues/<n>/timeline.json": "GET /repos/{o}/{r}/issues/{n}/timeline  (review requests)",
    "repo.json": "GET /repos/{o}/{r}  (optional: full_name)",
}

_REVIEW_KINDS: Final = {
    "APPROVED": "review_approved",
    "CHANGES_REQUESTED": "review_changes_requested",
    "COMMENTED": "review_commented",
    "DISMISSED": "review_dismissed",
}

_FENCE: Final = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
_INLINE_CODE: Final = re.compile(r"`[^`\n]*`")
_QUOTE: Final = re.compile(r"^[ \t]*>.*$", re.MULTILINE)
_TEAM_MENTION: Final = re.compile(r"(?<![\w`/.@])@[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
#: ``@login`` (FORMATS §3.8): not after a word character (so e-mail addresses do not match).
GITHUB_LOGIN_MENTION: Final = re.compile(r"(?<![\w`/.@])@([A-Za-z0-9][A-Za-z0-9-]{0,38})(?![\w-])")
_REPO_URL: Final = re.compile(r"^/(?:repos/)?([^/]+)/([^/]+)")


def extract_mentions(text: object, pattern: re.Pattern[str] = GITHUB_LOGIN_MENTION) -> list[str]:
    """Lower-cased handles mentioned with ``@`` in ``text``, in order, without repeats.

    Fenced and inline code, quoted (``>``) lines and ``@org/team`` mentions are ignored.

    Parameters
    ----------
    text
        A body; anything that is not a string yields no mentions.
    pattern
        Regex whose group 1 is the handle (GitHub logins by default).
    """
    if not isinstance(text, str) or "@" not in text:
        return []
    if "`" in text or "~~~" in text:
        text = _INLINE_CODE.sub(" ", _FENCE.sub(" ", text))
    if ">" in text:
        text = _QUOTE.sub(" ", text)
    if "/" in text:
        text = _TEAM_MENTION.sub(" ", text)
    out: list[str] = []
    for m in pattern.finditer(text):
        handle = m.group(1).rstrip(".-").lower()
        if handle and handle not in out:
            out.append(handle)
    return out


def _int_field(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{where}{key} is missing or not an integer", key,
                          f"{key}={describe_value(value)}")
    return value


def _opt_int(value: object) -> int | None:
    return None if isinstance(value, bool) or not isinstance(value, int) else value


def _count(value: object) -> int | None:
    """A file or line count: an int in ``[0, 2**31)`` (the canonical columns are Int32/Int64)."""
    n = _opt_int(value)
    return n if n is not None and 0 <= n < 2**31 else None


def _as_list(value: object) -> list[Any]:
    """Perceval initialises some ``*_data`` keys to ``{}``, ``[]`` or ``null``: all mean empty."""
    return value if isinstance(value, list) else []


def container_from_url(url: object) -> str | None:
    """``owner/repo`` from a GitHub web or API URL, else ``None``."""
    if not isinstance(url, str) or "://" not in url:
        return None
    m = _REPO_URL.match(urlsplit(url).path)
    if m is None:
        return None
    repo = m.group(2)
    repo = repo.removesuffix(".git")
    return f"{m.group(1)}/{repo}"


@dataclass
class _Extras:
    """Everything about one pull request besides the pull request object."""

    reviews: list[Any] = field(default_factory=list)
    review_comments: list[Any] = field(default_factory=list)
    issue_comments: list[Any] = field(default_factory=list)
    pending_reviewers: list[Any] = field(default_factory=list)
    pending_teams: list[Any] = field(default_factory=list)
    timeline: list[Any] | None = None
    files: list[Any] | None = None
    merged_by_profile: object = None


class _Context:
    """Identity cache and plans of one GitHub import."""

    def __init__(self, b: ImportBuilder, instance: str | None) -> None:
        self.b = b
        self.instance = instance
        #: ``None``: a plain pull request read column-wise (see :mod:`._github_fast`).
        self.plans: list[RecordPlan | None] = []
        self.logins: dict[str, str] = {}
        self._cache: dict[tuple[object, ...], tuple[str, bool]] = {}
        self.team_requests: set[tuple[str, str]] = set()
        self.pull_twins = 0
        self._ghost: str | None = None

    @property
    def ghost(self) -> str:
        if self._ghost is None:
            self._ghost = self.b.identity(
                Identity(SOURCE, "ghost", username="ghost", name="deleted GitHub user",
                         is_bot=True, instance=self.instance)
            )
        return self._ghost

    def user(self, obj: object, where: str, profile: object = None) -> tuple[str, bool]:
        """Identity id and bot flag of a GitHub user object (``None`` = deleted account)."""
        if obj is None:
            return self.ghost, True
        if not isinstance(obj, dict):
            raise FieldError(f"{where} has type {type(obj).__name__}, expected a user object", where,
                       f"{where}={describe_value(obj)}")
        login = obj.get("login")
        uid = obj.get("id")
        if not isinstance(login, str) or not login.strip():
            raise FieldError(f"{where}.login is missing or not a string", f"{where}.login",
                       f"login={describe_value(login)}")
        if login.lower() == "ghost":
            return self.ghost, True
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise FieldError(f"{where}.id is missing or not an integer", f"{where}.id",
                       f"id={describe_value(uid)}")
        name = email = None
        if isinstance(profile, dict):
            pname, pmail = profile.get("name"), profile.get("email")
            name = pname if isinstance(pname, str) else None
            email = pmail if isinstance(pmail, str) else None
        typ = obj.get("type") if isinstance(obj.get("type"), str) else None
        return self.register(uid, login, typ, name, email)

    def register(self, uid: int, login: str, typ: str | None, name: str | None,
                 email: str | None) -> tuple[str, bool]:
        """Identity id and bot flag of a checked user (registered the first time it is seen)."""
        key = (uid, login, typ, name, email)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        is_bot = typ == "Bot" or login.endswith("[bot]") or is_bot_handle(login)
        iid = self.b.identity(
            Identity(SOURCE, str(uid), username=login, email=email, name=name, is_bot=is_bot,
                     instance=self.instance)
        )
        low = login.lower()
        self.logins[low] = iid
        if low.endswith("[bot]"):
            self.logins.setdefault(low[:-5], iid)
        self._cache[key] = (iid, is_bot)
        return iid, is_bot

    def resolve_login(self, handle: str) -> str | None:
        return self.logins.get(handle)


def _mentions(plan: RecordPlan, body: object, actor: str, ts: dt.datetime, *, art: str,
              cont: str, ref: tuple[str, str], shared: bool = False) -> None:
    for handle in extract_mentions(body):
        plan.mention(actor, handle, ts, artifact_id=art, container=cont, raw_ref=ref,
                     shared=shared)


# -- pull requests ------------------------------------------------------------------------------


def _plan_pull(ctx: _Context, plan: RecordPlan, pr: dict[str, Any], *, container: str,
               extras: _Extras, profile: object) -> None:
    """Plan the events, artifact and touches of one pull request (raises ``FieldError``)."""
    number = _int_field(pr, "number", "")
    art = f"github:{container}#{number}"
    plan.record = f"pull {container}#{number}"
    author, _author_bot = ctx.user(pr.get("user"), "user", profile)
    opened = iso_field(pr, "created_at", "", required=True)
    assert opened is not None
    closed = iso_field(pr, "closed_at", "", required=False)
    merged_at = iso_field(pr, "merged_at", "", required=False)
    plan.anchor_ts = opened
    pr_ref = ("pull_request", str(number))
    plan.event("change_opened", author, opened, artifact_id=art, container=container,
               raw_ref=pr_ref, shared=True)
    _mentions(plan, pr.get("body"), author, opened, art=art, cont=container, ref=pr_ref,
              shared=True)

    first_review: dt.datetime | None = None

    def reviewed(actor: str, is_bot: bool, ts: dt.datetime) -> None:
        nonlocal first_review
        if actor != author and not is_bot and (first_review is None or ts < first_review):
            first_review = ts

    # review requests: the timeline has who asked and when; else the pending list (no time).
    requested: set[str] = set()
    if extras.timeline is not None:
        for i, ev in enumerate(extras.timeline):
            if not isinstance(ev, dict) or ev.get("event") != "review_requested":
                continue
            try:
                if ev.get("requested_reviewer") is None:
                    team = ev.get("requested_team")
                    slug = team.get("slug") if isinstance(team, dict) else None
                    ctx.team_requests.add((art, str(slug) if slug else f"#{i}"))
                    continue
                target, _ = ctx.user(ev.get("requested_reviewer"), "requested_reviewer")
                who = ev.get("review_requester") or ev.get("actor")
                actor = ctx.user(who, "review_requester")[0] if who is not None else author
                ts = iso_field(ev, "created_at", "timeline event ", required=True)
                assert ts is not None
            except FieldError as bad:
                plan.problem(f"timeline[{i}]: {bad.reason}; event ignored", field=bad.field,
                             raw=bad.raw, outcome="repaired")
                continue
            ev_id = ev.get("id")
            ref_id = str(ev_id) if isinstance(ev_id, int) else f"{number}:{i}"
            plan.event("review_requested", actor, ts, target_id=target,
                       target_role="requested_reviewer", artifact_id=art, container=container,
                       raw_ref=("review_request", ref_id))
    else:
        pending = list(_as_list(pr.get("requested_reviewers"))) + list(extras.pending_reviewers)
        for k, team in enumerate(_as_list(pr.get("requested_teams")) + extras.pending_teams):
            slug = team.get("slug") if isinstance(team, dict) else None
            ctx.team_requests.add((art, str(slug) if slug else f"#{k}"))
        for i, user in enumerate(pending):
            try:
                target, _ = ctx.user(user, "requested_reviewers", user)
            except FieldError as bad:
                plan.problem(f"requested_reviewers[{i}]: {bad.reason}; ignored", field=bad.field,
                             raw=bad.raw, outcome="repaired")
                continue
            if target in requested:
                continue
            requested.add(target)
            # Pending requests carry no time: the PR's opening is the only stable time.
            plan.event("review_requested", author, opened, target_id=target,
                       target_role="requested_reviewer", artifact_id=art, container=container,
                       raw_ref=("review_request_pending", target))

    for i, review in enumerate(extras.reviews):
        try:
            if not isinstance(review, dict):
                raise FieldError(f"is a {type(review).__name__}, expected an object", "reviews")
            state = review.get("state")
            if state == "PENDING":
                continue
            kind = _REVIEW_KINDS.get(state) if isinstance(state, str) else None
            if kind is None:
                shown = state[:20] if isinstance(state, str) else describe_value(state)
                raise FieldError(f"unknown review state {shown!r}", "state", f"state={shown}")
            rid = _int_field(review, "id", "review ")
            actor, is_bot = ctx.user(review.get("user"), "user", review.get("user_data"))
            ts = iso_field(review, "submitted_at", "review ", required=True)
            assert ts is not None
        except FieldError as bad:
            plan.problem(f"reviews[{i}]: {bad.reason}; review ignored", field=bad.field,
                         raw=bad.raw, outcome="repaired")
            continue
        body = review.get("body")
        reviewed(actor, is_bot, ts)
        if kind == "review_commented" and not (isinstance(body, str) and body.strip()):
            continue  # the empty container of inline comments (FORMATS §3.4)
        plan.event(kind, actor, ts, target_id=author, target_role="artifact_author",
                   artifact_id=art, container=container, raw_ref=("review", str(rid)))
        _mentions(plan, body, actor, ts, art=art, cont=container, ref=("review", str(rid)))

    comment_author: dict[int, str] = {}
    for i, comment in enumerate(extras.review_comments):
        try:
            if not isinstance(comment, dict):
                raise FieldError(f"is a {type(comment).__name__}, expected an object", "comments")
            cid = _int_field(comment, "id", "review comment ")
            actor, is_bot = ctx.user(comment.get("user"), "user", comment.get("user_data"))
            ts = iso_field(comment, "created_at", "review comment ", required=True)
            assert ts is not None
        except FieldError as bad:
            plan.problem(f"review_comments[{i}]: {bad.reason}; comment ignored", field=bad.field,
                         raw=bad.raw, outcome="repaired")
            continue
        comment_author[cid] = actor
        reviewed(actor, is_bot, ts)
        ref = ("review_comment", str(cid))
        plan.event("review_comment", actor, ts, target_id=author, target_role="artifact_author",
                   artifact_id=art, container=container, raw_ref=ref)
        parent = _opt_int(comment.get("in_reply_to_id"))
        parent_author = comment_author.get(parent) if parent is not None else None
        if parent_author is not None and parent_author != author:
            plan.event("review_comment", actor, ts, target_id=parent_author,
                       target_role="parent_author", artifact_id=art, container=container,
                       raw_ref=ref)
        _mentions(plan, comment.get("body"), actor, ts, art=art, cont=container, ref=ref)

    _plan_comments(ctx, plan, extras.issue_comments, author=author, art=art,
                   container=container)

    merged = pr.get("merged") is True or merged_at is not None
    if merged and merged_at is not None:
        merger = pr.get("merged_by")
        if merger is not None:
            try:
                actor, _ = ctx.user(merger, "merged_by", extras.merged_by_profile)
            except FieldError as bad:
                plan.problem(f"{bad.reason}; merge event not written", field=bad.field,
                             raw=bad.raw, outcome="repaired")
            else:
                plan.event("change_merged", actor, merged_at, target_id=author,
                           target_role="artifact_author", artifact_id=art, container=container,
                           raw_ref=("merge", str(number)))

    state = pr.get("state")
    if merged:
        outcome = "merged"
    elif state == "closed" or closed is not None:
        outcome = "closed"
    else:
        outcome = "open"
    n_files = _count(pr.get("changed_files"))
    added = _count(pr.get("additions"))
    deleted = _count(pr.get("deletions"))
    if extras.files is not None:
        paths = _plan_files(plan, extras.files, art, author, opened)
        if n_files is None:
            n_files = paths
    plan.artifact(art, "pull_request", container=container, author_id=author, opened_at=opened,
                  first_review_at=first_review, closed_at=merged_at if merged_at else closed,
                  merged=merged, outcome=outcome, n_files=n_files, lines_added=added,
                  lines_deleted=deleted)


def _plan_files(plan: RecordPlan, files: list[Any], art: str, author: str,
                ts: dt.datetime) -> int:
    seen: set[str] = set()
    for i, f in enumerate(files):
        name = f.get("filename") if isinstance(f, dict) else None
        if not isinstance(name, str) or not name:
            plan.problem(f"files[{i}]: filename missing or not a string; ignored",
                         field="filename", outcome="repaired")
            continue
        if name in seen:
            continue
        seen.add(name)
        assert isinstance(f, dict)
        plan.touch(artifact_id=art, actor_id=author, path=name, ts=ts,
                   lines_added=_count(f.get("additions")),
                   lines_deleted=_count(f.get("deletions")))
    return len(seen)


def _plan_comments(ctx: _Context, plan: RecordPlan, comments: Iterable[Any], *,
                   author: str | None, art: str, container: str) -> None:
    for i, comment in enumerate(comments):
        try:
            if not isinstance(comment, dict):
                raise FieldError(f"is a {type(comment).__name__}, expected an object", "comments")
            cid = _int_field(comment, "id", "comment ")
            actor, _ = ctx.user(comment.get("user"), "user", comment.get("user_data"))
            ts = iso_field(comment, "created_at", "comment ", required=True)
            assert ts is not None
        except FieldError as bad:
            plan.problem(f"comments[{i}]: {bad.reason}; comment ignored", field=bad.field,
                         raw=bad.raw, outcome="repaired")
            continue
        ref = ("comment", str(cid))
        plan.event("comment", actor, ts, target_id=author,
                   target_role="artifact_author" if author else None, artifact_id=art,
                   container=container, raw_ref=ref)
        _mentions(plan, comment.get("body"), actor, ts, art=art, cont=container, ref=ref)


def _plan_issue(ctx: _Context, plan: RecordPlan, issue: dict[str, Any], container: str,
                comments: list[Any]) -> None:
    """An issue, or the issue twin of a pull request (its conversation comments)."""
    number = _int_field(issue, "number", "")
    art = f"github:{container}#{number}"
    is_pull = issue.get("pull_request") is not None
    plan.record = f"{'pull' if is_pull else 'issue'} {container}#{number}"
    author, _ = ctx.user(issue.get("user"), "user", issue.get("user_data"))
    opened = iso_field(issue, "created_at", "", required=True)
    assert opened is not None
    closed = iso_field(issue, "closed_at", "", required=False)
    plan.anchor_ts = opened
    if is_pull:
        ctx.pull_twins += 1
        pr_ref = ("pull_request", str(number))
        plan.event("change_opened", author, opened, artifact_id=art, container=container,
                   raw_ref=pr_ref, shared=True)
        _mentions(plan, issue.get("body"), author, opened, art=art, cont=container, ref=pr_ref,
                  shared=True)
    else:
        _mentions(plan, issue.get("body"), author, opened, art=art, cont=container,
                  ref=("issue", str(number)))
    _plan_comments(ctx, plan, comments, author=author, art=art, container=container)
    if not is_pull:
        state = issue.get("state")
        plan.artifact(art, "issue", container=container, author_id=author, opened_at=opened,
                      closed_at=closed,
                      outcome="closed" if state == "closed" or closed is not None else "open")


# -- Perceval ------------------------------------------------------------------------------------


def _plan_perceval(ctx: _Context, item: PercevalItem) -> RecordPlan:
    plan = RecordPlan(item.line, f"perceval {item.category} {item.uuid[:12]}", key=item.uuid,
                      version=item.updated_on)
    if item.backend.lower() != "github":
        plan.problem(f"backend {item.backend[:30]!r} is not GitHub", field="backend_name",
                     raw=f"backend_name={item.backend[:30]}")
        return plan
    if item.category not in ("pull_request", "issue", "repository"):
        plan.problem(f"unknown GitHub category {item.category[:30]!r}", field="category",
                     raw=f"category={item.category[:30]}")
        return plan
    if item.category == "repository":
        plan.skip_reason = "category repository not imported"
        return plan
    data = item.data
    container = container_from_url(item.origin) or container_from_url(data.get("html_url"))
    if container is None:
        plan.problem("cannot tell the repository from origin or html_url", field="origin",
                     raw="origin=<unparseable>")
        return plan
    try:
        if item.category == "pull_request":
            extras = _Extras(
                reviews=_as_list(data.get("reviews_data")),
                review_comments=_as_list(data.get("review_comments_data")),
                pending_reviewers=_as_list(data.get("requested_reviewers_data")),
                files=_perceval_files(data),
                merged_by_profile=data.get("merged_by_data"),
            )
            _plan_pull(ctx, plan, data, container=container, extras=extras,
                       profile=data.get("user_data"))
        else:
            _plan_issue(ctx, plan, data, container, _as_list(data.get("comments_data")))
    except FieldError as bad:
        plan.problem(bad.reason, field=bad.field, raw=bad.raw)
    return plan


def _perceval_files(data: dict[str, Any]) -> list[Any] | None:
    """Touched files when the item carries them (``files_data``, or commit objects with files)."""
    files = data.get("files_data")
    if isinstance(files, list):
        return files
    out: list[Any] = []
    found = False
    for commit in _as_list(data.get("commits_data")):
        if isinstance(commit, dict) and isinstance(commit.get("files"), list):
            found = True
            out.extend(commit["files"])
    return out if found else None


def _iter_perceval(ctx: _Context, path: Path) -> None:
    for _line, entry in iter_perceval_items(path):
        _add_entry(ctx, entry)


def _add_entry(ctx: _Context, entry: PercevalItem | PercevalReject) -> None:
    if isinstance(entry, PercevalReject):
        plan = RecordPlan(entry.line, "perceval item")
        plan.problem(entry.reason, field=entry.field, raw=entry.raw)
        ctx.plans.append(plan)
        return
    ctx.plans.append(_plan_perceval(ctx, entry))


#: Plain pull requests of Perceval JSON lines are read column-wise (tests switch it off to
#: compare with the reference path).
_FAST = True


def _reference_entry(lineno: int, raw: bytes | JsonRecordError | PercevalReject
                     ) -> PercevalItem | PercevalReject:
    """What :func:`iter_perceval_items` makes of one line of JSON lines."""
    if isinstance(raw, PercevalReject):
        return raw
    if isinstance(raw, JsonRecordError):
        return PercevalReject(lineno, str(raw), None, envelope_excerpt(b""))
    try:
        obj = loads_strict(raw)
    except (JsonRecordError, UnicodeDecodeError) as exc:
        err = exc if isinstance(exc, JsonRecordError) else JsonRecordError(
            f"invalid UTF-8: {exc.reason}")
        return PercevalReject(lineno, str(err), None, envelope_excerpt(raw))
    return item_or_reject(lineno, obj)


def _iter_perceval_columnar(ctx: _Context, path: Path, con: Any
                            ) -> tuple[list[int], pl.DataFrame, pl.DataFrame]:
    """Plan a Perceval JSON-lines file: plain pull requests column-wise, the rest as reference.

    Returns the line of every record and the plain items' rows (``f`` = index in
    ``ctx.plans``, where a plain item is ``None``).
    """
    from orgnet.importers import _github_fast as fast

    lines: list[int] = []
    items: list[pl.DataFrame] = []
    events: list[pl.DataFrame] = []
    origins: dict[str, str | None] = {}

    def container(origin: str) -> str | None:
        if origin not in origins:
            origins[origin] = container_from_url(origin)
        return origins[origin]

    def is_bot(login: str, typ: str | None) -> bool:
        return typ == "Bot" or login.endswith("[bot]") or is_bot_handle(login)

    def run(batch: list[tuple[int, bytes | JsonRecordError | PercevalReject, bool]]) -> None:
        raws = [r if isinstance(r, bytes) else None for _, r, _nl in batch]
        parsed = fast.parse_items(con, raws)
        plain = fast.plan_batch(
            parsed, containers=container,
            identity_of=lambda uid: identity_id_for(SOURCE, str(uid), ctx.instance),
            is_bot=is_bot, mentions=extract_mentions)
        keep = plain.plain
        # New user keys of plain items, in the order the reference path would register them.
        new_keys: dict[int, list[tuple[Any, ...]]] = {}
        if keep:
            firsts = plain.users.filter(pl.struct(fast.USER_FIELDS).is_first_distinct())
            for row in firsts.select("f", *fast.USER_FIELDS).iter_rows():
                new_keys.setdefault(row[0], []).append(row[1:])
        pos: list[int] = []
        for f, (lineno, raw, nl) in enumerate(batch):
            lines.append(lineno)
            if f in keep:
                for key in new_keys.get(f, ()):
                    ctx.register(*key)
                pos.append(len(ctx.plans))
                ctx.plans.append(None)
            else:
                pos.append(-1)
                # as read line by line: with its line end
                _add_entry(ctx, _reference_entry(
                    lineno, raw + b"\n" if isinstance(raw, bytes) and nl else raw))
        if keep:
            where = pl.DataFrame({"f": range(len(batch)), "pos": pos},
                                 schema={"f": pl.Int64, "pos": pl.Int64})
            for rows, out in ((plain.items, items), (plain.events, events)):
                out.append(rows.join(where, on="f", how="left", maintain_order="left")
                           .with_columns(pl.col("pos").alias("f")).drop("pos"))

    batch: list[tuple[int, bytes | JsonRecordError | PercevalReject, bool]] = []
    size = last = 0
    try:
        for block in iter_line_blocks(path):
            for rec in block:
                batch.append(rec)
                last = rec[0]
                size += len(rec[1]) if isinstance(rec[1], bytes) else 0
                if size >= fast.BATCH_BYTES:
                    run(batch)
                    batch, size = [], 0
    except UnicodeDecodeError as exc:  # as iter_perceval_items
        raise InputError(f"starts like UTF-16 but is not valid UTF-16 ({exc.reason})",
                         file=str(path)) from exc
    except DECOMPRESSION_ERRORS as exc:
        if last == 0:
            raise InputError(f"cannot decompress: {exc}", file=str(path)) from exc
        batch.append((last + 1, PercevalReject(
            last + 1, f"compressed input truncated or corrupt after line {last}: {exc}"), True))
    if batch:
        run(batch)
    return (lines, pl.concat(items, how="vertical_relaxed") if items else pl.DataFrame(),
            pl.concat(events, how="vertical_relaxed") if events else pl.DataFrame())


# -- REST directory --------------------------------------------------------------------------------


def _page_files(root: Path, stem: str) -> list[Path]:
    """``stem.json`` then ``stem-1.json``, ``stem-2.json`` ... (numeric order), gzip allowed."""
    found: list[tuple[int, Path]] = []
    for p in root.iterdir():
        name = p.name.removesuffix(".gz")
        if name == f"{stem}.json":
            found.append((0, p))
        elif name.startswith(f"{stem}-") and name.endswith(".json"):
            page = name[len(stem) + 1 : -5]
            if page.isdigit():
                found.append((int(page), p))
    return [p for _, p in sorted(found)]


def _sub_file(root: Path, *parts: str) -> Path | None:
    p = root.joinpath(*parts)
    if p.is_file():
        return p
    gz = p.with_name(p.name + ".gz")
    return gz if gz.is_file() else None


def _read_list(path: Path | None, plan: RecordPlan, root: Path) -> list[Any] | None:
    """The records of a sub-file, or ``None`` when it is absent; bad JSON becomes a repair."""
    if path is None:
        return None
    out: list[Any] = []
    rel = path.relative_to(root).as_posix()
    for line, value in iter_json_records(path):
        if isinstance(value, JsonRecordError):
            plan.problem(f"{rel}: {value}; the rest of the file is ignored", field=rel,
                         raw=f"{rel} line {line}", outcome="repaired")
            continue
        out.append(value)
    return out


def _iter_rest(ctx: _Context, root: Path, repo: str | None) -> None:
    default_container = repo
    if default_container is None:
        repo_file = _sub_file(root, "repo.json")
        if repo_file is not None:
            for _line, value in iter_json_records(repo_file):
                if isinstance(value, dict) and isinstance(value.get("full_name"), str):
                    default_container = value["full_name"]
                break

    pulls: dict[int, tuple[int | None, str, Any]] = {}
    order: list[tuple[int | None, str, Any]] = []

    def list_records(stem: str) -> Iterator[tuple[int | None, str, Any]]:
        for page in _page_files(root, stem):
            rel = page.name
            for idx, (line, value) in enumerate(iter_json_records(page)):
                yield line, f"{rel}[{idx}]", value

    for line, label, value in list_records("pulls"):
        number = value.get("number") if isinstance(value, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            if number in pulls:
                order.append((line, label, ("duplicate", pulls[number][1])))
                continue
            pulls[number] = (line, label, value)
        order.append((line, label, value))
    pull_dir = root / "pulls"
    if pull_dir.is_dir():  # pulls/<n>.json: single-pull objects, richer than list entries
        for p in sorted(pull_dir.glob("*.json*")):
            stem = p.name.removesuffix(".gz").removesuffix(".json")
            if not stem.isdigit():
                continue
            for line, value in iter_json_records(p):
                label = f"pulls/{p.name}"
                if int(stem) in pulls:
                    old = pulls[int(stem)][2]
                    i = next(k for k, e in enumerate(order) if e[2] is old)
                    order[i] = (line, label, value)
                else:
                    order.append((line, label, value))
                pulls[int(stem)] = (line, label, value)
                break

    issue_numbers: set[int] = set()
    issues: list[tuple[int | None, str, Any]] = []
    for line, label, value in list_records("issues"):
        if isinstance(value, dict) and value.get("pull_request") is not None:
            continue  # the issue twin of a pull request: its comments come from issues/<n>/
        number = value.get("number") if isinstance(value, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            if number in issue_numbers:
                issues.append((line, label, ("duplicate", label)))
                continue
            issue_numbers.add(number)
        issues.append((line, label, value))

    for line, label, value in order:
        plan = RecordPlan(line, label)
        ctx.plans.append(plan)
        if isinstance(value, tuple):
            plan.problem(f"duplicate pull request: already read from {value[1]}", field="number",
                         raw=label)
            continue
        if not isinstance(value, dict):
            reason = str(value) if isinstance(value, JsonRecordError) else (
                f"a JSON {type(value).__name__}, expected a pull request object")
            plan.problem(reason, raw=label)
            continue
        container = (default_container
                     or _nested_full_name(value)
                     or container_from_url(value.get("html_url"))
                     or container_from_url(value.get("url")))
        try:
            number = _int_field(value, "number", "")
            if container is None:
                raise FieldError("cannot tell the repository: give repo= or add repo.json", "base")
            n = str(number)
            files = _read_list(_sub_file(root, "pulls", n, "files.json"), plan, root)
            timeline = _read_list(_sub_file(root, "issues", n, "timeline.json"), plan, root)
            if timeline is None:
                timeline = _read_list(_sub_file(root, "issues", n, "events.json"), plan, root)
            requested = _read_list(_sub_file(root, "pulls", n, "requested_reviewers.json"),
                                   plan, root) or []
            pending: list[Any] = []
            teams: list[Any] = []
            for entry in requested:
                if isinstance(entry, dict) and "users" in entry:
                    pending.extend(_as_list(entry.get("users")))
                    teams.extend(_as_list(entry.get("teams")))
                else:
                    pending.append(entry)
            extras = _Extras(
                reviews=_read_list(_sub_file(root, "pulls", n, "reviews.json"), plan, root) or [],
                review_comments=_read_list(_sub_file(root, "pulls", n, "comments.json"), plan,
                                           root) or [],
                issue_comments=_read_list(_sub_file(root, "issues", n, "comments.json"), plan,
                                          root) or [],
                pending_reviewers=pending,
                pending_teams=teams,
                timeline=timeline,
                files=files,
            )
            _plan_pull(ctx, plan, value, container=container, extras=extras, profile=None)
        except FieldError as bad:
            plan.problem(bad.reason, field=bad.field, raw=bad.raw or label)

    for line, label, value in issues:
        plan = RecordPlan(line, label)
        ctx.plans.append(plan)
        if isinstance(value, tuple):
            plan.problem(f"duplicate issue: already read from {value[1]}", field="number",
                         raw=label)
            continue
        if not isinstance(value, dict):
            reason = str(value) if isinstance(value, JsonRecordError) else (
                f"a JSON {type(value).__name__}, expected an issue object")
            plan.problem(reason, raw=label)
            continue
        container = default_container or container_from_url(value.get("html_url")) or \
            container_from_url(value.get("repository_url"))
        try:
            number = _int_field(value, "number", "")
            if container is None:
                raise FieldError("cannot tell the repository: give repo= or add repo.json",
                                  "html_url")
            comments = _read_list(_sub_file(root, "issues", str(number), "comments.json"), plan,
                                  root) or []
            _plan_issue(ctx, plan, value, container, comments)
        except FieldError as bad:
            plan.problem(bad.reason, field=bad.field, raw=bad.raw or label)

    # conversation comments of numbers that have neither a pull nor an issue object
    issue_dir = root / "issues"
    if issue_dir.is_dir() and default_container is not None:
        known = set(pulls) | issue_numbers
        for sub in sorted(issue_dir.iterdir(), key=lambda p: p.name):
            if not sub.is_dir() or not sub.name.isdigit() or int(sub.name) in known:
                continue
            comments_file = _sub_file(sub, "comments.json")
            if comments_file is None:
                continue
            plan = RecordPlan(None, f"issues/{sub.name}/comments.json")
            ctx.plans.append(plan)
            comments = _read_list(comments_file, plan, root) or []
            art = f"github:{default_container}#{sub.name}"
            _plan_comments(ctx, plan, comments, author=None, art=art,
                           container=default_container)
            plan.anchor_ts = min((e[2] for e in plan.events), default=None)


def _nested_full_name(pr: dict[str, Any]) -> str | None:
    base = pr.get("base")
    repo = base.get("repo") if isinstance(base, dict) else None
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return name if isinstance(name, str) and "/" in name else None


# -- public --------------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    """True for a Perceval GitHub file or a REST export directory (``pulls.json`` ...)."""
    p = Path(path)
    if p.is_dir():
        return bool(_page_files(p, "pulls")) or (
            bool(_page_files(p, "issues")) and (p / "issues").is_dir()
        )
    return detect_backend(p) == "github"


def import_github(
    path: str | Path,
    *,
    since: dt.datetime | dt.date | str | None = None,
    until: dt.datetime | dt.date | str | None = None,
    repo: str | None = None,
    instance: str | None = None,
) -> ImportResult:
    """Import GitHub pull requests and issues.

    Parameters
    ----------
    path
        A Perceval output file (``perceval github --category pull_request`` and/or
        ``--category issue``; ``--json-line`` or default output; ``.gz`` allowed), or a directory
        of REST JSON laid out as :data:`REST_LAYOUT`.
    since, until
        Keep events with ``since <= ts < until`` (UTC; a date means midnight UTC). A record with
        no event in the window is skipped.
    repo
        ``owner/repo`` for a REST directory whose objects do not say (no ``base.repo``,
        ``html_url`` or ``repo.json``); overrides them when given.
    instance
        Host of a GitHub Enterprise server; ``None`` for github.com. Part of identity ids.

    Returns
    -------
    ImportResult
        ``interactions``, ``artifacts``, ``touches`` and observed ``identities``.

    Raises
    ------
    InputError
        When ``path`` does not exist or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", file=str(p))
    lo, hi = window_bounds(since, until)
    b = ImportBuilder(SOURCE, p, instance=instance)
    ctx = _Context(b, instance)
    if p.is_dir() and not (_page_files(p, "pulls") or _page_files(p, "issues")
                           or (p / "pulls").is_dir()):
        raise InputError("not a GitHub REST export: no pulls.json, pulls-<k>.json or issues.json "
                         "(see docs/importers/github.md)", file=str(p))
    with gc_paused():
        if p.is_dir():
            try:
                _iter_rest(ctx, p, repo)
            except OSError as exc:
                raise InputError(f"cannot read the export directory: {exc}", file=str(p)) from exc
            stats = replay(b, cast(list[RecordPlan], ctx.plans), resolve_handle=ctx.resolve_login,
                           since=lo, until=hi)
        elif _FAST and is_json_lines(p):
            from orgnet.importers import _github_fast as fast

            con = duckdb_connect()
            try:
                con.execute("SET preserve_insertion_order = true")  # rows in line order
                lines, items, events = _iter_perceval_columnar(ctx, p, con)
                stats = fast.replay(b, ctx.plans, (items, events), lines=lines,
                                    resolve=ctx.logins, con=con, since=lo, until=hi)
                # The file's kept rows and plans are spent: freed before the builder's tables
                # are put together, not alongside them.
                del items, events, lines
                ctx.plans.clear()
            finally:
                con.close()
        else:
            _iter_perceval(ctx, p)
            stats = replay(b, cast(list[RecordPlan], ctx.plans), resolve_handle=ctx.resolve_login,
                           since=lo, until=hi)
        if stats["mentions_unresolved"]:
            b.notes.append(f"{stats['mentions_unresolved']} @mention(s) of logins not seen in "
                           "the input were left out")
        if ctx.team_requests:
            b.notes.append(f"{len(ctx.team_requests)} review request(s) to teams were left out "
                           "(teams are not people)")
        return b.finish(options={"since": str(lo) if lo else None,
                                 "until": str(hi) if hi else None, "repo": repo,
                                 "instance": instance})
