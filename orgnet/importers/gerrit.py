"""Gerrit changes: SSH ``gerrit query`` JSON, REST ChangeInfo JSON, Perceval items (FORMATS §1.6, §5).

Inputs, one file or a directory of such files (``*.json``, ``*.jsonl``, optionally ``.gz``):

- ``gerrit query --format=JSON --all-approvals --comments [--files --patch-sets]`` output: one
  change per line and a final ``{"type":"stats",...}`` line (counted as skipped);
- REST ``GET /changes/?o=DETAILED_LABELS&o=DETAILED_ACCOUNTS&o=MESSAGES&o=REVIEWER_UPDATES...``
  output: the ``)]}'`` XSSI line is tolerated; an array of changes, an array of arrays (several
  ``q``), one change per file or one change per line;
- Perceval ``gerrit`` items (their ``data`` is an SSH change object).

Events: ``change_opened`` (owner), ``vote`` for every non-zero vote (value ``Code-Review:+2``;
current votes from approvals/labels plus earlier votes parsed from change messages, de-duplicated
on voter, label, value and patch set), and in addition ``review_approved`` for a Code-Review vote
at the label's maximum (``+2`` unless the REST ``values`` say otherwise) and
``review_changes_requested`` for a negative Code-Review vote; ``comment`` for a change message by
someone other than the owner with text beyond its vote line (Gerrit's automatic messages, e.g.
"Uploaded patch set 2.", are not comments); ``review_comment`` for inline comments;
``review_requested`` from REST ``reviewer_updates``; ``change_merged`` by the submitter.

Identity (FORMATS §0.5): REST ``_account_id``; SSH JSON has none, so ``username``, else the e-mail
address. Accounts tagged ``SERVICE_USER`` and names like ``jenkins``/``Gerrit Code Review`` are bots.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from pathlib import Path
from typing import Any, Final

from orgnet.exceptions import InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._base import Identity, ImportBuilder, ImportResult
from orgnet.importers._io import JsonRecordError, open_binary
from orgnet.importers.perceval import (
    FieldError,
    PercevalReject,
    RecordPlan,
    describe_value,
    detect_backend,
    gc_paused,
    iter_json_records,
    iter_perceval_items,
    parse_epoch_utc,
    parse_iso_utc,
    replay,
    window_bounds,
)

__all__ = ["detect", "import_gerrit", "parse_vote_line"]

SOURCE: Final = "gerrit"

_VOTE_LINE: Final = re.compile(r"^Patch Set (\d+):((?: [A-Za-z0-9-]+[+-]\d+)*)")
_VOTE: Final = re.compile(r"([A-Za-z0-9-]+)([+-]\d+)")
_COUNT_LINE: Final = re.compile(r"^\(\d+ (?:inline )?comments?\)$")
#: First lines of messages Gerrit writes itself (uploads, rebases, merges, abandons ...).
_AUTO: Final = re.compile(
    r"^(?:Uploaded patch set \d+|Patch Set \d+: (?:Patch Set \d+ was rebased|Commit message was "
    r"updated|Cherry Picked|Published edit)|Change has been successfully |Abandoned|Restored|"
    r"Reverted|Created a revert of this change|Removed (?:the )?(?:vote|reviewer|cc)|"
    r"Topic (?:set|changed|removed)|Hashtags? |Set Ready For Review|Set Work In Progress|"
    r"Build (?:Started|Successful|Failed|Unstable|Aborted))",
    re.IGNORECASE,
)
_MERGED: Final = re.compile(r"^Change has been successfully (?:merged|cherry-picked|rebased|pushed)",
                            re.IGNORECASE)
_SPECIAL_FILES: Final = frozenset({"/COMMIT_MSG", "/MERGE_LIST", "/PATCHSET_LEVEL"})
_OUTCOMES: Final = {"MERGED": "merged", "ABANDONED": "abandoned", "NEW": "open", "DRAFT": "open"}


def parse_vote_line(message: object) -> tuple[int, list[tuple[str, int]]] | None:
    """Patch set and votes of a change message's first line (``Patch Set 3: Code-Review+2``).

    Returns
    -------
    (patch_set, [(label, value), ...]) or None
        ``None`` when the message does not start with a ``Patch Set <n>:`` line.
    """
    if not isinstance(message, str) or not message.startswith("Patch Set "):
        return None
    m = _VOTE_LINE.match(message.split("\n", 1)[0])
    if m is None:
        return None
    votes = [(label, int(value)) for label, value in _VOTE.findall(m.group(2))]
    return int(m.group(1)), votes


def _has_text(message: str) -> bool:
    """True when a change message says more than its vote line and ``(N comments)``."""
    lines = message.split("\n")
    if _VOTE_LINE.match(lines[0]):
        first = _VOTE_LINE.sub("", lines[0]).strip()
        lines = [first, *lines[1:]]
    return any(ln.strip() and not _COUNT_LINE.match(ln.strip()) for ln in lines)


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # Numbers, votes and line counts: anything outside Int32 is not a real value.
        return value if -(2**31) < value < 2**31 else None
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,6}", value.strip()):
        return int(value)
    return None


class _Change:
    """Accumulates one change's facts while its parts are read."""

    def __init__(self, ctx: _Context, plan: RecordPlan, *, number: int, project: str,
                 owner: str, opened: dt.datetime) -> None:
        self.ctx = ctx
        self.plan = plan
        self.number = number
        self.project = project
        self.art = f"gerrit:{project}#{number}"
        self.owner = owner
        self.opened = opened
        self.first_review: dt.datetime | None = None
        self.votes_seen: set[tuple[str, str, int, int | None]] = set()

    def reviewed(self, actor: str, is_bot: bool, ts: dt.datetime) -> None:
        if actor != self.owner and not is_bot and (
            self.first_review is None or ts < self.first_review
        ):
            self.first_review = ts

    def seen_vote(self, actor: str, label: str, value: int, patch_set: int | None) -> bool:
        """Record a vote; True when it (or, without a patch set, any such vote) was seen."""
        if patch_set is None:
            if any(k[:3] == (actor, label, value) for k in self.votes_seen):
                return True
        elif (actor, label, value, patch_set) in self.votes_seen:
            return True
        self.votes_seen.add((actor, label, value, patch_set))
        return False

    def vote(self, actor: str, is_bot: bool, label: str, value: int, ts: dt.datetime,
             patch_set: int | None, max_value: int) -> None:
        if value == 0 or self.seen_vote(actor, label, value, patch_set):
            return
        ps = str(patch_set) if patch_set is not None else "current"
        ref = ("vote", f"{self.number}:{ps}:{label}:{value:+d}")
        target = self.owner
        self.event("vote", actor, ts, ref, target=target, role="artifact_author",
                   value=f"{label}:{value:+d}")
        if label.lower() == "code-review":
            if value >= max_value:
                self.event("review_approved", actor, ts, ref, target=target,
                           role="artifact_author")
            elif value < 0:
                self.event("review_changes_requested", actor, ts, ref, target=target,
                           role="artifact_author")
        self.reviewed(actor, is_bot, ts)

    def event(self, kind: str, actor: str, ts: dt.datetime, ref: tuple[str, str], *,
              target: str | None = None, role: str | None = None,
              value: str | None = None) -> None:
        self.plan.event(kind, actor, ts, target_id=target, target_role=role,
                        artifact_id=self.art, container=self.project, value=value, raw_ref=ref)


class _Context:
    def __init__(self, b: ImportBuilder, instance: str | None) -> None:
        self.b = b
        self.instance = instance
        self.plans: list[RecordPlan] = []
        self._cache: dict[tuple[object, ...], tuple[str, bool]] = {}

    def account(self, obj: object, where: str) -> tuple[str, bool]:
        """Identity id and bot flag of an SSH or REST account object."""
        if not isinstance(obj, dict):
            raise FieldError(f"{where} has type {type(obj).__name__}, expected an account object",
                             where, f"{where}={describe_value(obj)}")
        aid = obj.get("_account_id")
        username, email, name = _str(obj, "username"), _str(obj, "email"), _str(obj, "name")
        tags = obj.get("tags")
        key = (aid if isinstance(aid, int) else None, username, email, name,
               tuple(tags) if isinstance(tags, list) else None)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if isinstance(aid, int) and not isinstance(aid, bool):
            native = str(aid)
        elif username:
            native = username
        elif email:
            native = email.strip().lower()
        elif name:
            native = f"name:{name.strip()}"  # server messages ("Gerrit Code Review")
        else:
            raise FieldError(f"{where} has no _account_id, username, email or name", where,
                             f"{where} keys: {','.join(sorted(obj))[:60]}")
        is_bot = (isinstance(tags, list) and "SERVICE_USER" in tags) or is_bot_handle(
            username, name, email
        )
        iid = self.b.identity(Identity(SOURCE, native, username=username, email=email, name=name,
                                       is_bot=is_bot, instance=self.instance))
        self._cache[key] = (iid, is_bot)
        return iid, is_bot


def _epoch(obj: dict[str, Any], key: str, where: str, *, required: bool) -> dt.datetime | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    try:
        return parse_epoch_utc(value)
    except ValueError:
        raise FieldError(f"{where}{key} is not epoch seconds", key,
                         f"{key}={describe_value(value)}") from None


def _stamp(obj: dict[str, Any], key: str, where: str, *, required: bool) -> dt.datetime | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    try:
        return parse_iso_utc(value)
    except ValueError:
        raise FieldError(f"{where}{key} is not a Gerrit timestamp", key,
                         f"{key}={describe_value(value)}") from None


def _head(ctx: _Context, plan: RecordPlan, change: dict[str, Any], *, rest: bool) -> _Change:
    number = _int(change, "_number" if rest else "number")
    if number is None:
        key = "_number" if rest else "number"
        raise FieldError(f"{key} is missing or not an integer", key,
                         f"{key}={describe_value(change.get(key))}")
    project = _str(change, "project")
    if project is None:
        raise FieldError("project is missing or not a string", "project",
                         f"project={describe_value(change.get('project'))}")
    plan.record = f"change {project}#{number}"
    owner, _ = ctx.account(change.get("owner"), "owner")
    opened = (_stamp(change, "created", "", required=True) if rest
              else _epoch(change, "createdOn", "", required=True))
    assert opened is not None
    plan.anchor_ts = opened
    ch = _Change(ctx, plan, number=number, project=project, owner=owner, opened=opened)
    ch.event("change_opened", owner, opened, ("change", str(number)))
    return ch


def _finish(ch: _Change, change: dict[str, Any], *, closed: dt.datetime | None,
            n_files: int | None, added: int | None, deleted: int | None) -> None:
    status = change.get("status")
    outcome = _OUTCOMES.get(status, "open") if isinstance(status, str) else "open"
    if outcome == "open" and change.get("open") is False:
        outcome = "closed"
    ch.plan.artifact(
        ch.art, "change", container=ch.project, author_id=ch.owner, opened_at=ch.opened,
        first_review_at=ch.first_review, closed_at=closed if outcome != "open" else None,
        merged=outcome == "merged", outcome=outcome, n_files=n_files, lines_added=added,
        lines_deleted=deleted,
    )


def _messages(ch: _Change, messages: list[Any], *, rest: bool, max_cr: int
              ) -> tuple[tuple[str, dt.datetime] | None, dt.datetime | None,
                         list[tuple[str, dt.datetime]]]:
    """Votes and comments from change messages; returns (merge, abandon time, (actor, ts))."""
    merge: tuple[str, dt.datetime] | None = None
    abandoned: dt.datetime | None = None
    seen: list[tuple[str, dt.datetime]] = []
    for i, msg in enumerate(messages):
        try:
            if not isinstance(msg, dict):
                raise FieldError(f"has type {type(msg).__name__}, expected an object", "messages")
            ts = (_stamp(msg, "date", "message ", required=True) if rest
                  else _epoch(msg, "timestamp", "message ", required=True))
            assert ts is not None
            who = msg.get("author" if rest else "reviewer")
            if who is None:  # written by the Gerrit server itself: no person, no event
                text = msg.get("message")
                if isinstance(text, str) and text.startswith("Abandoned"):
                    abandoned = ts
                continue
            actor, is_bot = ch.ctx.account(who, "author" if rest else "reviewer")
        except FieldError as bad:
            ch.plan.problem(f"messages[{i}]: {bad.reason}; message ignored", field=bad.field,
                            raw=bad.raw, outcome="repaired")
            continue
        text = msg.get("message")
        text = text if isinstance(text, str) else ""
        tag = msg.get("tag")
        first = text.split("\n", 1)[0]
        auto = (isinstance(tag, str) and tag.startswith("autogenerated:gerrit:")) or bool(
            _AUTO.match(first)
        )
        if _MERGED.match(first) or tag == "autogenerated:gerrit:merged":
            merge = (actor, ts)
        if first.startswith("Abandoned") or tag == "autogenerated:gerrit:abandon":
            abandoned = ts
        parsed = parse_vote_line(text)
        if parsed is not None:
            ps, votes = parsed
            for label, value in votes:
                ch.vote(actor, is_bot, label, value, ts, ps,
                        max_cr if label.lower() == "code-review" else 10**6)
        if auto or (isinstance(tag, str) and tag.startswith("autogenerated:")):
            continue
        seen.append((actor, ts))
        if actor != ch.owner:
            ch.reviewed(actor, is_bot, ts)
            if _has_text(text):
                mid = msg.get("id")
                ref_id = f"{ch.number}:{mid}" if rest and isinstance(mid, str) else f"{ch.number}:{i}"
                ch.event("comment", actor, ts, ("message", ref_id), target=ch.owner,
                         role="artifact_author")
    return merge, abandoned, seen


def _plan_ssh(ctx: _Context, plan: RecordPlan, change: dict[str, Any]) -> None:
    ch = _head(ctx, plan, change, rest=False)
    messages = change.get("comments")
    merge, abandoned, said = _messages(ch, messages if isinstance(messages, list) else [],
                                       rest=False, max_cr=2)
    patch_sets = change.get("patchSets")
    patch_sets = patch_sets if isinstance(patch_sets, list) else []
    last: dict[str, Any] | None = None
    for i, ps in enumerate(patch_sets):
        if not isinstance(ps, dict):
            plan.problem(f"patchSets[{i}] is not an object; ignored", field="patchSets",
                         outcome="repaired")
            continue
        last = ps
        psn = _int(ps, "number")
        ps_created = _epoch(ps, "createdOn", "patch set ", required=False) if isinstance(
            ps.get("createdOn"), int | float) else None
        approvals = ps.get("approvals")
        for j, a in enumerate(approvals if isinstance(approvals, list) else []):
            try:
                if not isinstance(a, dict):
                    raise FieldError(f"has type {type(a).__name__}, expected an object",
                                     "approvals")
                label = _str(a, "type")
                value = _int(a, "value")
                if label is None or value is None:
                    raise FieldError("type or value missing or malformed", "value",
                                     f"value={describe_value(a.get('value'))}")
                actor, is_bot = ctx.account(a.get("by"), "by")
                ts = _epoch(a, "grantedOn", "approval ", required=True)
                assert ts is not None
            except FieldError as bad:
                plan.problem(f"patchSets[{i}].approvals[{j}]: {bad.reason}; vote ignored",
                             field=bad.field, raw=bad.raw, outcome="repaired")
                continue
            if label == "SUBM":
                merge = (actor, ts)
                continue
            ch.vote(actor, is_bot, label, value, ts, psn, 2 if label == "Code-Review" else 10**6)
        inline = ps.get("comments")
        for j, c in enumerate(inline if isinstance(inline, list) else []):
            try:
                if not isinstance(c, dict):
                    raise FieldError(f"has type {type(c).__name__}, expected an object",
                                     "comments")
                actor, is_bot = ctx.account(c.get("reviewer"), "reviewer")
            except FieldError as bad:
                plan.problem(f"patchSets[{i}].comments[{j}]: {bad.reason}; comment ignored",
                             field=bad.field, raw=bad.raw, outcome="repaired")
                continue
            # SSH inline comments have no time: they are published with the reviewer's next
            # change message, so take that message's time.
            floor = ps_created or ch.opened
            ts = min((t for a2, t in said if a2 == actor and t >= floor), default=floor)
            ch.reviewed(actor, is_bot, ts)
            ch.event("review_comment", actor, ts, ("inline", f"{ch.number}:{psn}:{j}"),
                     target=ch.owner, role="artifact_author")
    status = change.get("status")
    closed: dt.datetime | None = None
    if status == "MERGED" and merge is not None:
        ch.event("change_merged", merge[0], merge[1], ("merge", str(ch.number)),
                 target=ch.owner, role="artifact_author")
        closed = merge[1]
    elif status == "ABANDONED":
        closed = abandoned
    if closed is None and status in ("MERGED", "ABANDONED"):
        closed = _epoch(change, "lastUpdated", "", required=False) if isinstance(
            change.get("lastUpdated"), int | float) else None
    n_files = added = deleted = None
    if last is not None:
        added = _int(last, "sizeInsertions")
        deleted = _int(last, "sizeDeletions")
        deleted = abs(deleted) if deleted is not None else None
        files = last.get("files")
        if isinstance(files, list):
            paths = _touches(ch, [
                (f.get("file"), _int(f, "insertions"), _int(f, "deletions"))
                for f in files if isinstance(f, dict)
            ])
            n_files = paths
    _finish(ch, change, closed=closed, n_files=n_files, added=added, deleted=deleted)


def _touches(ch: _Change, files: list[tuple[object, int | None, int | None]]) -> int:
    seen: set[str] = set()
    for path, ins, dels in files:
        if not isinstance(path, str) or path in _SPECIAL_FILES or path in seen:
            continue
        seen.add(path)
        ch.plan.touch(artifact_id=ch.art, actor_id=ch.owner, path=path, ts=ch.opened,
                      lines_added=ins, lines_deleted=abs(dels) if dels is not None else None)
    return len(seen)


def _plan_rest(ctx: _Context, plan: RecordPlan, change: dict[str, Any]) -> None:
    ch = _head(ctx, plan, change, rest=True)
    labels = change.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    cr = labels.get("Code-Review")
    max_cr = 2
    if isinstance(cr, dict) and isinstance(cr.get("values"), dict):
        scores = [int(k) for k in cr["values"] if re.fullmatch(r"\s*[+-]?\d+", k)]
        max_cr = max(scores, default=2) or 2
    messages = change.get("messages")
    merge, abandoned, _said = _messages(ch, messages if isinstance(messages, list) else [],
                                        rest=True, max_cr=max_cr)
    updated = _stamp(change, "updated", "", required=False) if isinstance(
        change.get("updated"), str) else None
    for label, info in labels.items():
        entries = info.get("all") if isinstance(info, dict) else None
        for j, a in enumerate(entries if isinstance(entries, list) else []):
            try:
                if not isinstance(a, dict):
                    raise FieldError(f"has type {type(a).__name__}, expected an object", "all")
                value = _int(a, "value")
                if value is None or value == 0:
                    continue
                actor, is_bot = ctx.account(a, "labels.all")
                ts = _stamp(a, "date", "vote ", required=False) or updated
                if ts is None:
                    raise FieldError("vote has no date", "date")
            except FieldError as bad:
                plan.problem(f"labels.{label[:30]}.all[{j}]: {bad.reason}; vote ignored",
                             field=bad.field, raw=bad.raw, outcome="repaired")
                continue
            ch.vote(actor, is_bot, label, value, ts, None,
                    max_cr if label == "Code-Review" else 10**6)
    updates = change.get("reviewer_updates")
    for j, up in enumerate(updates if isinstance(updates, list) else []):
        if not isinstance(up, dict) or up.get("state") != "REVIEWER":
            continue
        try:
            target, _ = ctx.account(up.get("reviewer"), "reviewer")
            actor, _ = ctx.account(up.get("updated_by"), "updated_by")
            ts = _stamp(up, "updated", "reviewer update ", required=True)
            assert ts is not None
        except FieldError as bad:
            plan.problem(f"reviewer_updates[{j}]: {bad.reason}; ignored", field=bad.field,
                         raw=bad.raw, outcome="repaired")
            continue
        ch.event("review_requested", actor, ts, ("reviewer_update", f"{ch.number}:{j}"),
                 target=target, role="requested_reviewer")
    inline = change.get("comments")  # optional: GET /changes/{id}/comments merged in
    if isinstance(inline, dict):
        authors: dict[str, str] = {}
        for path in sorted(inline):
            for j, c in enumerate(inline[path] if isinstance(inline[path], list) else []):
                try:
                    if not isinstance(c, dict):
                        raise FieldError(f"has type {type(c).__name__}, expected an object",
                                         "comments")
                    actor, is_bot = ctx.account(c.get("author"), "author")
                    ts = _stamp(c, "updated", "comment ", required=True)
                    assert ts is not None
                except FieldError as bad:
                    plan.problem(f"comments[{j}]: {bad.reason}; comment ignored",
                                 field=bad.field, raw=bad.raw, outcome="repaired")
                    continue
                cid = c.get("id")
                ref_id = f"{ch.number}:{cid}" if isinstance(cid, str) else f"{ch.number}:{j}"
                if isinstance(cid, str):
                    authors[cid] = actor
                ch.reviewed(actor, is_bot, ts)
                ch.event("review_comment", actor, ts, ("inline", ref_id), target=ch.owner,
                         role="artifact_author")
                parent = c.get("in_reply_to")
                parent_author = authors.get(parent) if isinstance(parent, str) else None
                if parent_author is not None and parent_author != ch.owner:
                    ch.event("review_comment", actor, ts, ("inline", ref_id),
                             target=parent_author, role="parent_author")
    status = change.get("status")
    closed: dt.datetime | None = None
    if status == "MERGED":
        submitted = _stamp(change, "submitted", "", required=False) if isinstance(
            change.get("submitted"), str) else None
        submitter = change.get("submitter")
        if submitter is not None and submitted is not None:
            try:
                actor, _ = ctx.account(submitter, "submitter")
                merge = (actor, submitted)
            except FieldError as bad:
                plan.problem(f"{bad.reason}; merge taken from messages", field=bad.field,
                             raw=bad.raw, outcome="repaired")
        if merge is not None:
            ch.event("change_merged", merge[0], merge[1], ("merge", str(ch.number)),
                     target=ch.owner, role="artifact_author")
        closed = submitted or (merge[1] if merge else None) or updated
    elif status == "ABANDONED":
        closed = abandoned or updated
    n_files: int | None = None
    revisions = change.get("revisions")
    current = change.get("current_revision")
    if isinstance(revisions, dict) and isinstance(current, str):
        rev = revisions.get(current)
        files = rev.get("files") if isinstance(rev, dict) else None
        if isinstance(files, dict):
            n_files = _touches(ch, [
                (path, _int(info, "lines_inserted"), _int(info, "lines_deleted"))
                for path, info in sorted(files.items()) if isinstance(info, dict)
            ])
    _finish(ch, change, closed=closed, n_files=n_files, added=_int(change, "insertions"),
            deleted=_int(change, "deletions"))


def _plan_change(ctx: _Context, plan: RecordPlan, value: object) -> None:
    if not isinstance(value, dict):
        plan.problem(f"a JSON {type(value).__name__}, expected a change object",
                     raw=f"<{type(value).__name__}>")
        return
    if value.get("type") == "stats":
        plan.skip_reason = "gerrit query statistics line"
        return
    rest = "_number" in value
    if not rest and "number" not in value:
        keys = ",".join(sorted(value)[:10])
        plan.problem("not a Gerrit change: neither _number (REST) nor number (SSH)",
                     field="number", raw=f"keys: {keys}")
        return
    updated_key = "updated" if rest else "lastUpdated"
    try:
        (_plan_rest if rest else _plan_ssh)(ctx, plan, value)
        upd = value.get(updated_key)
        version = (parse_iso_utc(upd).timestamp() if rest and isinstance(upd, str)
                   else float(upd) if isinstance(upd, int | float) and not isinstance(upd, bool)
                   else None)
        if plan.key is None:  # Perceval items are keyed by uuid already
            plan.key = plan.record
            plan.key_kind, plan.key_field = "change", "number"
            plan.version = version
    except FieldError as bad:
        plan.problem(bad.reason, field=bad.field, raw=bad.raw)
    except ValueError as exc:
        plan.problem(f"malformed change: {exc}", raw=plan.record)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        out = [p for p in sorted(path.iterdir()) if p.is_file()
               and p.name.removesuffix(".gz").endswith((".json", ".jsonl"))]
        if not out:
            raise InputError("no *.json or *.jsonl files in the directory", file=str(path))
        return out
    return [path]


def _iter_file(ctx: _Context, path: Path, label: str) -> None:
    if detect_backend(path) == "gerrit":
        for _line, entry in iter_perceval_items(path):
            if isinstance(entry, PercevalReject):
                plan = RecordPlan(entry.line, f"{label}perceval item")
                plan.problem(entry.reason, field=entry.field, raw=entry.raw)
                ctx.plans.append(plan)
                continue
            plan = RecordPlan(entry.line, f"{label}perceval {entry.uuid[:12]}", key=entry.uuid,
                              version=entry.updated_on)
            ctx.plans.append(plan)
            if entry.category != "review":
                plan.problem(f"unknown Gerrit category {entry.category[:30]!r}", field="category",
                             raw=f"category={entry.category[:30]}")
                continue
            _plan_change(ctx, plan, entry.data)
        return
    for line, value in iter_json_records(path):
        plan = RecordPlan(line, f"{label}record")
        ctx.plans.append(plan)
        if isinstance(value, JsonRecordError):
            plan.problem(str(value), raw=f"<line {line}>")
            continue
        _plan_change(ctx, plan, value)
        if label and plan.record and not plan.record.startswith(label):
            plan.record = f"{label}{plan.record}"


def detect(path: Path) -> bool:
    """True for a Perceval Gerrit file or a file whose first record is a Gerrit change."""
    p = Path(path)
    if p.is_dir():
        return False
    backend = detect_backend(p)
    if backend is not None:
        return backend == "gerrit"
    try:
        with open_binary(p) as fh:
            head = fh.read(64 * 1024)
    except (InputError, EOFError, OSError, zlib.error):
        return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b")]}'"):
        head = head[4:].lstrip()
    if not head.startswith((b"{", b"[")):
        return False
    return b'"project"' in head and (
        b'"_number"' in head or (b'"number"' in head and (
            b'"createdOn"' in head or b'"patchSets"' in head))
    )


def import_gerrit(
    path: str | Path,
    *,
    since: dt.datetime | dt.date | str | None = None,
    until: dt.datetime | dt.date | str | None = None,
    instance: str | None = None,
) -> ImportResult:
    """Import Gerrit changes (SSH query JSON, REST ChangeInfo JSON or Perceval items).

    Parameters
    ----------
    path
        A file, or a directory whose ``*.json``/``*.jsonl`` files are read in name order.
    since, until
        Keep events with ``since <= ts < until`` (UTC); a change with none is skipped.
    instance
        The Gerrit server (e.g. ``review.example.org``). Account ids and usernames are only
        unique per server; give it when a workspace holds more than one server.

    Returns
    -------
    ImportResult

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
    with gc_paused():
        files = _files(p)
        for f in files:
            _iter_file(ctx, f, f"{f.name}: " if p.is_dir() else "")
        replay(b, ctx.plans, since=lo, until=hi)
        return b.finish(options={"since": str(lo) if lo else None,
                                 "until": str(hi) if hi else None, "instance": instance})
