"""GitLab merge requests from Perceval ``gitlab --category merge_request`` items (FORMATS §1.5, §4).

Perceval does not fetch approvals, so review events come from the merge request's notes:

- system note ``approved this merge request`` -> ``review_approved`` (author of the note);
- system note ``unapproved this merge request`` -> ``review_dismissed``;
- system note ``requested review from @a, @b and @c`` -> ``review_requested`` per reviewer
  (resolved against the accounts seen in the input: the MR's ``reviewers``, note authors ...);
- other notes: ``review_comment`` for diff notes (``type: "DiffNote"`` or a ``position``),
  ``comment`` otherwise, plus ``mention`` for ``@username`` in the body; other system notes
  ("added 2 commits", "mentioned in ...") produce nothing;
- award emoji -> ``reaction`` (value = emoji name).

``change_opened`` (author, ``created_at``) and ``change_merged`` (``merged_by``, ``merged_at``)
complete the picture. One artifact per merge request: ``gitlab:<group/project>#<iid>``.
System-note wording is English and GitLab's; other UI languages are not recognised.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from orgnet.exceptions import InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._base import Identity, ImportBuilder, ImportResult
from orgnet.importers.github import extract_mentions
from orgnet.importers.perceval import (
    FieldError,
    PercevalItem,
    PercevalReject,
    RecordPlan,
    describe_value,
    detect_backend,
    gc_paused,
    iso_field,
    iter_perceval_items,
    replay,
    window_bounds,
)

__all__ = ["GITLAB_USERNAME_MENTION", "detect", "import_gitlab"]

SOURCE: Final = "gitlab"

#: ``@username`` as GitLab allows it (letters, digits, ``_``, ``.``, ``-``).
GITLAB_USERNAME_MENTION: Final = re.compile(r"(?<![\w`/.@])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,254})")
_APPROVED: Final = re.compile(r"^\s*approved this merge request\s*$", re.IGNORECASE)
_UNAPPROVED: Final = re.compile(r"^\s*unapproved this merge request\s*$", re.IGNORECASE)
_REQUESTED: Final = re.compile(r"^\s*requested review from (.+)$", re.IGNORECASE | re.DOTALL)
_HANDLE: Final = re.compile(r"@([A-Za-z0-9_][A-Za-z0-9_.-]*)")
_TOKEN_BOT: Final = re.compile(r"^(?:project|group)_\d+_bot(?:_\w+)?$")


def _container(item: PercevalItem) -> str | None:
    refs = item.data.get("references")
    full = refs.get("full") if isinstance(refs, dict) else None
    if isinstance(full, str) and "!" in full:
        return full.rsplit("!", 1)[0]
    web = item.data.get("web_url")
    if isinstance(web, str) and "/-/merge_requests/" in web:
        return urlsplit(web.split("/-/merge_requests/")[0]).path.strip("/") or None
    path = urlsplit(item.origin).path.strip("/") if "://" in item.origin else ""
    return path.removesuffix(".git") or None


class _Context:
    def __init__(self, b: ImportBuilder, instance: str | None) -> None:
        self.b = b
        self.instance = instance
        self.plans: list[RecordPlan] = []
        self.usernames: dict[str, str] = {}
        self._cache: dict[tuple[object, ...], tuple[str, bool]] = {}
        self._ghost: str | None = None

    @property
    def ghost(self) -> str:
        if self._ghost is None:
            self._ghost = self.b.identity(Identity(SOURCE, "ghost", username="ghost",
                                                   name="deleted GitLab user", is_bot=True,
                                                   instance=self.instance))
        return self._ghost

    def user(self, obj: object, where: str) -> tuple[str, bool]:
        if obj is None:
            return self.ghost, True
        if not isinstance(obj, dict):
            raise FieldError(f"{where} has type {type(obj).__name__}, expected a user object",
                             where, f"{where}={describe_value(obj)}")
        uid, username, name = obj.get("id"), obj.get("username"), obj.get("name")
        if not isinstance(username, str) or not username.strip():
            raise FieldError(f"{where}.username is missing or not a string", f"{where}.username",
                             f"username={describe_value(username)}")
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise FieldError(f"{where}.id is missing or not an integer", f"{where}.id",
                             f"id={describe_value(uid)}")
        name = name if isinstance(name, str) else None
        key = (uid, username, name, obj.get("bot"))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if username.lower() == "ghost":
            self._cache[key] = (self.ghost, True)
            return self.ghost, True
        is_bot = obj.get("bot") is True or bool(_TOKEN_BOT.match(username)) or is_bot_handle(
            username, name
        )
        iid = self.b.identity(Identity(SOURCE, str(uid), username=username, name=name,
                                       is_bot=is_bot, instance=self.instance))
        self.usernames[username.lower()] = iid
        self._cache[key] = (iid, is_bot)
        return iid, is_bot


def _plan_mr(ctx: _Context, plan: RecordPlan, mr: dict[str, Any], container: str) -> None:
    iid = mr.get("iid")
    if isinstance(iid, bool) or not isinstance(iid, int):
        raise FieldError("iid is missing or not an integer", "iid",
                         f"iid={describe_value(iid)}")
    art = f"gitlab:{container}#{iid}"
    plan.record = f"merge_request {container}!{iid}"
    author, _ = ctx.user(mr.get("author"), "author")
    opened = iso_field(mr, "created_at", "", required=True)
    assert opened is not None
    merged_at = iso_field(mr, "merged_at", "", required=False)
    closed_at = iso_field(mr, "closed_at", "", required=False)
    plan.anchor_ts = opened
    kw: dict[str, Any] = {"artifact_id": art, "container": container}
    plan.event("change_opened", author, opened, raw_ref=("merge_request", str(iid)), **kw)
    for handle in extract_mentions(mr.get("description"), GITLAB_USERNAME_MENTION):
        plan.mention(author, handle, opened, raw_ref=("merge_request", str(iid)), **kw)
    for i, reviewer in enumerate(_list(mr.get("reviewers"))):
        try:
            ctx.user(reviewer, "reviewers")  # known accounts for "requested review from @x"
        except FieldError as bad:
            plan.problem(f"reviewers[{i}]: {bad.reason}; ignored", field=bad.field, raw=bad.raw,
                         outcome="repaired")
    first_review: dt.datetime | None = None
    to_author = {"target_id": author, "target_role": "artifact_author", **kw}
    note_author: dict[int, str] = {}
    for i, note in enumerate(_list(mr.get("notes_data"))):
        try:
            if not isinstance(note, dict):
                raise FieldError(f"has type {type(note).__name__}, expected an object", "notes")
            nid = note.get("id")
            if isinstance(nid, bool) or not isinstance(nid, int):
                raise FieldError("id is missing or not an integer", "id",
                                 f"id={describe_value(nid)}")
            actor, is_bot = ctx.user(note.get("author"), "author")
            ts = iso_field(note, "created_at", "note ", required=True)
            assert ts is not None
        except FieldError as bad:
            plan.problem(f"notes_data[{i}]: {bad.reason}; note ignored", field=bad.field,
                         raw=bad.raw, outcome="repaired")
            continue
        note_author[nid] = actor
        body = note.get("body")
        body = body if isinstance(body, str) else ""
        ref = ("note", str(nid))
        reviewed = False
        if note.get("system") is True:
            if _APPROVED.match(body):
                plan.event("review_approved", actor, ts, raw_ref=ref, **to_author)
                reviewed = True
            elif _UNAPPROVED.match(body):
                plan.event("review_dismissed", actor, ts, raw_ref=ref, **to_author)
            else:
                m = _REQUESTED.match(body)
                if m is not None:
                    for handle in dict.fromkeys(h.rstrip(".-").lower()
                                                for h in _HANDLE.findall(m.group(1))):
                        plan.handle_event("review_requested", actor, handle, ts,
                                          target_role="requested_reviewer", raw_ref=ref, **kw)
        else:
            diff = note.get("type") == "DiffNote" or isinstance(note.get("position"), dict)
            plan.event("review_comment" if diff else "comment", actor, ts, raw_ref=ref,
                       **to_author)
            for handle in extract_mentions(body, GITLAB_USERNAME_MENTION):
                plan.mention(actor, handle, ts, raw_ref=ref, **kw)
            reviewed = True
        if reviewed and actor != author and not is_bot and (first_review is None
                                                            or ts < first_review):
            first_review = ts
        for j, award in enumerate(_list(note.get("award_emoji_data"))):
            _reaction(ctx, plan, award, target=actor, role="parent_author",
                      where=f"notes_data[{i}].award_emoji[{j}]", kw=kw)
    for j, award in enumerate(_list(mr.get("award_emoji_data"))):
        _reaction(ctx, plan, award, target=author, role="artifact_author",
                  where=f"award_emoji_data[{j}]", kw=kw)

    state = mr.get("state")
    merged = state == "merged" or merged_at is not None
    if merged and merged_at is not None and mr.get("merged_by") is not None:
        try:
            merger, _ = ctx.user(mr.get("merged_by"), "merged_by")
        except FieldError as bad:
            plan.problem(f"{bad.reason}; merge event not written", field=bad.field, raw=bad.raw,
                         outcome="repaired")
        else:
            plan.event("change_merged", merger, merged_at, raw_ref=("merge", str(iid)),
                       **to_author)
    outcome = "merged" if merged else ("closed" if state == "closed" or closed_at else "open")
    changes = mr.get("changes_count")
    n_files = int(changes.rstrip("+")) if isinstance(changes, str) and changes.rstrip(
        "+").isdigit() and len(changes) < 10 else (changes if isinstance(changes, int)
                                                   and not isinstance(changes, bool) else None)
    if n_files is not None and not 0 <= n_files < 2**31:
        n_files = None  # the canonical column is Int32
    paths = _version_paths(mr.get("versions_data"))
    for path in paths:
        plan.touch(artifact_id=art, actor_id=author, path=path, ts=opened)
    if paths and n_files is None:
        n_files = len(paths)
    plan.artifact(art, "merge_request", container=container, author_id=author, opened_at=opened,
                  first_review_at=first_review,
                  closed_at=merged_at if merged else (closed_at if outcome == "closed" else None),
                  merged=merged, outcome=outcome, n_files=n_files)


def _reaction(ctx: _Context, plan: RecordPlan, award: object, *, target: str, role: str,
              where: str, kw: dict[str, Any]) -> None:
    try:
        if not isinstance(award, dict):
            raise FieldError(f"has type {type(award).__name__}, expected an object", "award")
        aid = award.get("id")
        name = award.get("name")
        if isinstance(aid, bool) or not isinstance(aid, int) or not isinstance(name, str):
            raise FieldError("id or name missing or malformed", "id", f"id={describe_value(aid)}")
        actor, _ = ctx.user(award.get("user"), "user")
        ts = iso_field(award, "created_at", "award ", required=True)
        assert ts is not None
    except FieldError as bad:
        plan.problem(f"{where}: {bad.reason}; ignored", field=bad.field, raw=bad.raw,
                     outcome="repaired")
        return
    plan.event("reaction", actor, ts, target_id=target, target_role=role, value=name[:40],
               raw_ref=("award", str(aid)), **kw)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _version_paths(versions: object) -> list[str]:
    """Paths of the newest merge request version that lists its diffs."""
    best: tuple[int, list[str]] | None = None
    for v in _list(versions):
        if not isinstance(v, dict) or not isinstance(v.get("diffs"), list):
            continue
        raw_id = v.get("id")
        vid = raw_id if isinstance(raw_id, int) else 0
        paths = [d["new_path"] for d in v["diffs"]
                 if isinstance(d, dict) and isinstance(d.get("new_path"), str)]
        if best is None or vid > best[0]:
            best = (vid, list(dict.fromkeys(paths)))
    return best[1] if best else []


def _plan_item(ctx: _Context, item: PercevalItem) -> RecordPlan:
    plan = RecordPlan(item.line, f"perceval {item.category} {item.uuid[:12]}", key=item.uuid,
                      version=item.updated_on)
    if item.backend.lower() != "gitlab":
        plan.problem(f"backend {item.backend[:30]!r} is not GitLab", field="backend_name",
                     raw=f"backend_name={item.backend[:30]}")
    elif item.category == "issue":
        plan.skip_reason = "category issue not imported"
    elif item.category != "merge_request":
        plan.problem(f"unknown GitLab category {item.category[:30]!r}", field="category",
                     raw=f"category={item.category[:30]}")
    else:
        container = _container(item)
        if container is None:
            plan.problem("cannot tell the project from references, web_url or origin",
                         field="origin", raw="origin=<unparseable>")
            return plan
        try:
            _plan_mr(ctx, plan, item.data, container)
        except FieldError as bad:
            plan.problem(bad.reason, field=bad.field, raw=bad.raw)
    return plan


def detect(path: Path) -> bool:
    """True for a Perceval GitLab output file."""
    return detect_backend(Path(path)) == "gitlab"


def import_gitlab(
    path: str | Path,
    *,
    since: dt.datetime | dt.date | str | None = None,
    until: dt.datetime | dt.date | str | None = None,
    instance: str | None = None,
) -> ImportResult:
    """Import GitLab merge requests from Perceval output.

    Parameters
    ----------
    path
        ``perceval gitlab --category merge_request`` output (``--json-line`` or the default
        pretty output; ``.gz`` allowed).
    since, until
        Keep events with ``since <= ts < until`` (UTC); a merge request with none is skipped.
    instance
        Host of a self-managed GitLab (user ids are per instance); ``None`` for gitlab.com.

    Returns
    -------
    ImportResult

    Raises
    ------
    InputError
        When ``path`` does not exist or cannot be read.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(p))
    lo, hi = window_bounds(since, until)
    b = ImportBuilder(SOURCE, p, instance=instance)
    ctx = _Context(b, instance)
    with gc_paused():
        for _line, entry in iter_perceval_items(p):
            if isinstance(entry, PercevalReject):
                plan = RecordPlan(entry.line, "perceval item")
                plan.problem(entry.reason, field=entry.field, raw=entry.raw)
                ctx.plans.append(plan)
            else:
                ctx.plans.append(_plan_item(ctx, entry))
        stats = replay(b, ctx.plans, resolve_handle=ctx.usernames.get, since=lo, until=hi)
        if stats["mentions_unresolved"]:
            b.notes.append(f"{stats['mentions_unresolved']} @mention(s) of usernames not seen "
                           "in the input were left out")
        if stats["handles_unresolved"]:
            b.notes.append(f"{stats['handles_unresolved']} review request(s) to usernames not "
                           "seen in the input were left out")
        return b.finish(options={"since": str(lo) if lo else None,
                                 "until": str(hi) if hi else None, "instance": instance})
