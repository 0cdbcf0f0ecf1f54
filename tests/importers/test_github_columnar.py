"""The GitHub importer's columnar path gives exactly what the reference path gives.

Every test imports the same Perceval file twice, with the columnar path on and off, and
compares every table, reject, count, record status and note. The files mix plain pull requests
with every kind of item the columnar path hands to the reference path (issues and pull request
twins, ghosts, bad fields, team requests, files, later versions and repeats of the same item),
so records, identities, shared events and mention resolution must stay in step.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from orgnet.importers import _github_fast as github_fast
from orgnet.importers import _io, github
from orgnet.importers._base import ImportResult

ORIGIN = "https://github.com/acme/widgets"


def _user(uid: int, login: str, **extra: Any) -> dict[str, Any]:
    return {"id": uid, "login": login, "site_admin": False, "type": "User", **extra}


def _profile(uid: int, login: str, name: str | None) -> dict[str, Any]:
    return {"company": None, "email": None, "id": uid, "login": login, "name": name,
            "type": "User"}


PEOPLE = [(1001, "alice", "Alice Example"), (1002, "bob", "Bob Example"),
          (1003, "carol", None), (1004, "dave", "Dave Example"), (1005, "Eve-X", "Eve")]


def _pr(n: int, *, author: int = 0, reviewers: tuple[int, ...] = (1, 2), merged: bool = True,
        updated: float = 1_714_000_000.0, uuid: str | None = None) -> dict[str, Any]:
    uid, login, name = PEOPLE[author]
    reviews = []
    for k, r in enumerate(reviewers):
        rid, rlogin, rname = PEOPLE[r]
        reviews.append({
            "body": ["", "looks good @alice", "  ", "please fix, cc @ghost-nobody"][k % 4],
            "id": 7000 + n * 10 + k, "state": ["APPROVED", "COMMENTED", "COMMENTED",
                                               "CHANGES_REQUESTED"][k % 4],
            "submitted_at": f"2024-05-0{1 + k % 8}T1{k % 10}:00:00Z",
            "user": _user(rid, rlogin), "user_data": _profile(rid, rlogin, rname)})
    comments = []
    for k, r in enumerate(reviewers[:2]):
        cid, clogin, cname = PEOPLE[r]
        c: dict[str, Any] = {"body": f"line {k} @{PEOPLE[(r + 1) % 5][1].lower()}",
                             "created_at": f"2024-05-01T0{k}:30:00Z", "id": 500 + n * 10 + k,
                             "user": _user(cid, clogin), "user_data": _profile(cid, clogin, cname)}
        if k:
            c["in_reply_to_id"] = 500 + n * 10
        comments.append(c)
    merger = PEOPLE[(author + 1) % 5]
    data: dict[str, Any] = {
        "additions": 10 + n, "body": f"PR {n} cc @bob and @nobody", "changed_files": 1 + n % 3,
        "closed_at": "2024-05-03T10:00:00Z" if merged else None,
        "commits_data": ["d" * 40], "created_at": "2024-04-30T10:00:00Z", "deletions": n,
        "html_url": f"{ORIGIN}/pull/{n}", "id": 5000 + n, "merged": merged,
        "merged_at": "2024-05-03T10:00:00Z" if merged else None,
        "merged_by": _user(merger[0], merger[1]) if merged else None,
        "merged_by_data": _profile(merger[0], merger[1], merger[2]) if merged else [],
        "number": n,
        "requested_reviewers": [_user(*PEOPLE[3][:2])],
        "requested_reviewers_data": [_profile(*PEOPLE[3])],
        "requested_teams": [], "review_comments_data": comments or {},
        "reviews_data": reviews, "state": "closed" if merged else "open",
        "user": _user(uid, login), "user_data": _profile(uid, login, name)}
    return {"backend_name": "GitHub", "backend_version": "0.32.0", "category": "pull_request",
            "data": data, "origin": ORIGIN, "perceval_version": "1.0",
            "timestamp": 1_714_000_000.0, "updated_on": updated,
            "uuid": uuid or f"uuid-pr-{n}"}


def _issue(n: int, *, twin: bool = False) -> dict[str, Any]:
    uid, login, name = PEOPLE[n % 5]
    data: dict[str, Any] = {
        "body": f"issue {n} @carol", "closed_at": None, "created_at": "2024-04-30T10:00:00Z",
        "html_url": f"{ORIGIN}/issues/{n}", "number": n, "state": "open",
        "user": _user(uid, login), "user_data": _profile(uid, login, name),
        "comments_data": [{"body": "me too @dave", "created_at": "2024-05-01T00:00:00Z",
                           "id": 900 + n, "user": _user(*PEOPLE[2][:2])}]}
    if twin:
        data["pull_request"] = {"url": f"{ORIGIN}/pull/{n}"}
        data["body"] = f"PR {n} cc @bob and @nobody"
    return {"backend_name": "GitHub", "category": "issue", "data": data, "origin": ORIGIN,
            "updated_on": 1_714_000_000.0, "uuid": f"uuid-issue-{n}"}


def _lines(items: list[dict[str, Any] | bytes]) -> bytes:
    return b"".join(i if isinstance(i, bytes) else json.dumps(i, separators=(",", ":")).encode()
                    + b"\n" for i in items)


def _both(monkeypatch: pytest.MonkeyPatch, path: Path, **kw: Any) -> tuple[ImportResult,
                                                                          ImportResult]:
    monkeypatch.setattr(github, "_FAST", False)
    ref = github.import_github(path, **kw)
    monkeypatch.setattr(github, "_FAST", True)
    new = github.import_github(path, **kw)
    return ref, new


def assert_same(ref: ImportResult, new: ImportResult) -> None:
    assert new.counts == ref.counts
    assert new.record_status == ref.record_status
    assert sorted(new.tables) == sorted(ref.tables)
    for name, frame in ref.tables.items():
        assert_frame_equal(new.tables[name], frame), name
    assert_frame_equal(new.rejects, ref.rejects)
    assert new.notes == ref.notes


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the items the columnar path took (so a test cannot pass on the reference alone)."""
    from orgnet.importers import _github_fast as fast

    taken: list[int] = []
    original = fast.plan_batch

    def plan_batch(*a: Any, **kw: Any) -> Any:
        out = original(*a, **kw)
        taken.append(len(out.plain))
        return out

    monkeypatch.setattr(fast, "plan_batch", plan_batch)
    return taken


def _mutants() -> list[dict[str, Any] | bytes]:
    """Items the columnar path must hand to the reference path, each next to plain ones."""
    out: list[dict[str, Any] | bytes] = []

    def mutate(n: int, path: list[Any], value: Any) -> dict[str, Any]:
        item = _pr(n)
        obj: Any = item
        for key in path[:-1]:
            obj = obj[key]
        if value is _DELETE:
            del obj[path[-1]]
        elif callable(value):
            obj[path[-1]] = value(n)
        else:
            obj[path[-1]] = value
        return item

    cases: list[tuple[list[Any], Any]] = [
        (["data", "user"], None),  # deleted account: the ghost
        (["data", "user", "login"], "ghost"),
        (["data", "user", "login"], "  "),
        (["data", "user", "id"], "1001"),
        (["data", "user", "id"], 10.5),
        (["data", "number"], "7"),
        (["data", "number"], True),
        (["data", "created_at"], "2024-04-30 10:00:00"),
        (["data", "created_at"], "2024-02-30T10:00:00Z"),
        (["data", "created_at"], None),
        (["data", "created_at"], "2024-06-30T23:59:60Z"),  # a leap second
        (["data", "created_at"], "0000-01-01T00:00:00Z"),
        (["data", "created_at"], "\u0662\u0660\u0662\u0664-05-01T10:00:00Z"),  # Arabic digits
        (["data", "reviews_data", 0, "submitted_at"], "2024-06-30T23:59:60Z"),
        (["data", "closed_at"], "2024-05-03T10:00:00+02:00"),
        (["data", "merged_at"], "yesterday"),
        (["data", "merged"], "true"),
        (["data", "merged_by"], None),
        (["data", "merged_by"], {"login": "bob"}),
        (["data", "requested_teams"], [{"slug": "core"}]),
        (["data", "requested_reviewers", 0], None),
        (["data", "requested_reviewers"], {"users": []}),
        (["data", "files_data"], [{"filename": "a.py", "additions": 1}]),
        (["data", "commits_data"], [{"files": [{"filename": "b.py"}]}]),
        (["data", "reviews_data", 0, "state"], "PENDING"),
        (["data", "reviews_data", 0, "state"], "WEIRD"),
        (["data", "reviews_data", 0, "state"], None),
        (["data", "reviews_data", 1, "state"], _DELETE),
        (["data", "reviews_data", 1, "state"], ["PENDING"]),
        (["data", "reviews_data", 0, "user"], None),
        (["data", "reviews_data", 0], "not a review"),
        (["data", "reviews_data", 1, "body"], "\x1c \u3000"),
        (["data", "reviews_data", 1, "body"], "\u00a0"),
        (["data", "review_comments_data", 1, "in_reply_to_id"], "500"),
        # a reply to itself, and to a later comment (not yet seen: no parent)
        (["data", "review_comments_data", 0, "in_reply_to_id"], lambda n: 500 + n * 10),
        (["data", "review_comments_data", 0, "in_reply_to_id"], lambda n: 501 + n * 10),
        (["data", "review_comments_data", 0, "id"], None),
        (["data", "user_data"], "not a profile"),
        (["data", "user", "type"], "Bot"),
        (["data", "user", "login"], "renovate[bot]"),
        (["data", "changed_files"], -1),
        (["data", "additions"], 2**40),
        (["data", "state"], 5),
        (["backend_name"], "GitLab"),
        (["category"], "repository"),
        (["origin"], "not a url"),
        (["updated_on"], "soon"),
        (["uuid"], ""),
        (["data"], [1, 2]),
        (["data", "reviews_data"], _DELETE),
        (["data", "body"], "a\nb @alice\n```\n@bob\n```\n> @carol"),
        (["data", "user", "login"], "caf\u00e9"),
    ]
    n = 100
    for path, value in cases:
        out.append(_pr(n))
        n += 1
        out.append(mutate(n, path, value))
        n += 1
    raw = json.dumps(_pr(n), separators=(",", ":")).encode()
    out += [
        raw.replace(b'"number":', b'"number":NaN,"x":', 1) + b"\n",  # NaN in a read field
        raw.replace(b'"reviews_data":[', b'"reviews_data":[1,', 1)[:-1] + b",}\n",  # trailing ,
        raw.replace(b'"login":"alice"', b'"login":"alice","login":"bob"', 1) + b"\n",  # dup key
        b"   " + raw + b"\n",  # leading blanks
        b"[" + raw + b"]\n",  # an array of one item
        b"\n\n",  # blank lines
        b"{not json\n",
        raw[:-1] + b"} {}\n",  # two values on a line
        raw.replace(b"acme", b"\xff\xfe", 1) + b"\n",  # invalid UTF-8
        raw.replace(b'"login":"bob"', b'"login":"\\u0062ob"') + b"\n",  # escapes
        raw.replace(b"\n", b"") + b"\r\n",  # a Windows line end
    ]
    return out


_DELETE = object()


def test_mixed_items_match_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items: list[dict[str, Any] | bytes] = [_pr(1), _issue(1, twin=True), _issue(2), _pr(3)]
    items += _mutants()
    # versions: a later version after, a repeat, an older version after the winner
    items += [_pr(40, updated=1_714_000_100.0), _pr(40), _pr(40, updated=1_714_000_100.0),
              _pr(41), _pr(41, updated=1_714_000_050.0)]
    # a twin whose opening and body mentions the pull request already wrote
    items += [_pr(50), _issue(50, twin=True), _issue(51, twin=True), _pr(51)]
    # issues the columnar path hands over, and some it keeps
    odd: list[dict[str, Any]] = [_issue(k) for k in range(60, 70)]
    odd[0]["data"]["comments_data"] = ["not a comment"]
    odd[1]["data"]["comments_data"][0]["id"] = None
    odd[2]["data"]["comments_data"][0]["user"] = None  # a ghost commenter
    odd[3]["data"]["pull_request"] = None  # not a twin after all
    odd[4]["data"]["closed_at"] = "2024-05-09T00:00:00Z"
    odd[5]["data"]["state"] = "closed"
    odd[6]["data"]["comments_data"] = {}
    odd[7]["data"]["merged_at"] = "2024-05-09T00:00:00Z"  # read for pull requests only
    odd[8]["data"]["reviews_data"] = [{"state": "APPROVED"}]
    odd[9]["data"]["comments_data"].append({"body": "again @alice", "id": 999,
                                            "created_at": "2024-05-02T00:00:00Z",
                                            "user": _user(*PEOPLE[4][:2]),
                                            "user_data": _profile(*PEOPLE[4])})
    items += odd
    path = tmp_path / "gh.jsonl"
    path.write_bytes(_lines(items))
    taken = _spy(monkeypatch)
    ref, new = _both(monkeypatch, path)
    assert sum(taken) > 60  # most items took the columnar path
    assert ref.rejects.height > 10 and ref.counts.skipped > 0
    assert_same(ref, new)


def test_shared_events_without_reference_plans(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The same pull request under two uuids: its opening and body mentions are written once.
    items: list[dict[str, Any] | bytes] = [_pr(1), _pr(1, uuid="other"), _pr(2)]
    path = tmp_path / "gh.jsonl.gz"
    path.write_bytes(gzip.compress(_lines(items)))
    ref, new = _both(monkeypatch, path)
    assert ref.tables["interactions"].filter(
        ref.tables["interactions"]["kind"] == "change_opened").height == 2
    assert_same(ref, new)


@pytest.mark.parametrize("short", [False, True])
def test_batch_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short: bool) -> None:
    """The lines reach DuckDB's file whole and in order, in chunks of ``_IOV_MAX`` buffers,
    also when ``writev`` writes less than it was given."""
    import os

    lines = [b"x" * (n % 7) + str(n).encode() for n in range(3000)]
    real = os.writev
    calls: list[int] = []

    def writev(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        if short:  # half of the first buffer only
            return os.write(fd, bytes(buffers[0][: max(1, len(buffers[0]) // 2)]))
        return real(fd, buffers)

    monkeypatch.setattr(_io.os, "writev", writev)
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        _io.write_all(fd, [piece for line in lines for piece in (line, b"\n")])
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(line + b"\n" for line in lines)
    assert len(calls) == -(-2 * len(lines) // _io._IOV_MAX) and max(calls) <= 1024


def test_batch_file_is_gone_while_it_is_read(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch (message and review text) is unlinked before DuckDB reads it, where the
    platform allows, and nothing is left afterwards; the pieces are not kept."""
    monkeypatch.setattr(_io, "BATCH_DIR", str(tmp_path))
    pieces = [b'{"a":1}', b"\n", b'{"a":2}', b"\n"]
    with _io.batch_file(pieces, "orgnet-test-") as source:
        assert pieces == []
        assert Path(source).read_bytes() == b'{"a":1}\n{"a":2}\n'
        assert list(tmp_path.iterdir()) == [] or not source.startswith("/proc/")
    assert list(tmp_path.iterdir()) == []


def test_batch_write_that_writes_nothing_raises(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that makes no progress is an error (ENOSPC), not an endless loop."""
    import os

    monkeypatch.setattr(_io.os, "writev", lambda fd, buffers: 0)
    monkeypatch.setattr(_io.os, "write", lambda fd, data: 0)
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="no space left"):
            _io.write_all(fd, [b"{}", b"\n"])
    finally:
        os.close(fd)


@pytest.mark.parametrize("invalid_utf8", [False, True])
def test_trailing_commas_take_the_reference_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 invalid_utf8: bool) -> None:
    """DuckDB accepts a trailing comma, the reference parser refuses the line. The lines are
    searched as one polars column, or line by line when the batch is not all UTF-8."""
    raw = [json.dumps(_pr(n), separators=(",", ":")).encode() for n in range(1, 9)]
    lines = [
        raw[0][:-1] + b",}",
        raw[1].replace(b'"reviews_data":[', b'"reviews_data":[1, \t', 1)
        .replace(b"]", b",\r ]", 1),
        raw[2].replace(b'"body":"PR', b'"body":",] and , } in text PR', 1),  # inside a string
        raw[3],
        raw[5] + b"\x0b",  # blank to DuckDB, refused by the reference parser
        raw[6] + b" \x0c",
        raw[7].replace(b'"number":', b'"number":\x0b', 1),
    ]
    if invalid_utf8:
        lines.append(raw[4].replace(b"acme", b"\xff", 1))
    assert github_fast._trailing_commas(lines) == [
        github_fast._TRAILING_COMMA.search(line) is not None for line in lines]
    assert github_fast._trailing_commas(lines)[:7] == [True, True, True, False, True, True, True]
    path = tmp_path / "gh.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    taken = _spy(monkeypatch)
    ref, new_ = _both(monkeypatch, path)
    assert sum(taken) == 1  # only the clean line is plain
    assert ref.rejects.height == 5 + invalid_utf8  # the string's ",]" is imported
    assert_same(ref, new_)


@pytest.mark.parametrize("old,new", [
    (b'"perceval_version"', b'"perceval_version":"x","perceval_version"'),  # repeated key
    (b'"body":"PR', b'"zz":NaN,"body":"PR'),  # NaN
])
def test_unread_oddity_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: bytes,
                                  new: bytes) -> None:
    """A repeated key or a NaN where orgnet reads nothing: the reference path rejects the item
    (strict JSON), the columnar path imports it, as for Slack (FORMATS §17.2)."""
    raw = json.dumps(_pr(1), separators=(",", ":")).encode()
    line = raw.replace(old, new, 1)
    assert line != raw
    path = tmp_path / "gh.jsonl"
    path.write_bytes(line + b"\n")
    ref, fast = _both(monkeypatch, path)
    assert ref.counts.rejected == 1
    assert fast.counts.rejected == 0 and fast.counts.events > 0


@pytest.mark.parametrize("emit", [None, 1, 7])  # records emitted together (None: default)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_files_match_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          seed: int, emit: int | None) -> None:
    rng = random.Random(seed)
    mutants = _mutants()
    items: list[dict[str, Any] | bytes] = []
    for _ in range(1, 300):
        roll = rng.random()
        if roll < 0.1:
            items.append(rng.choice(mutants))
        elif roll < 0.15:
            items.append(_issue(rng.randrange(1, 300), twin=rng.random() < 0.5))
        else:
            reviewers = tuple(rng.randrange(5) for _ in range(rng.randrange(4)))
            item = _pr(rng.randrange(1, 200), author=rng.randrange(5), reviewers=reviewers,
                       merged=rng.random() < 0.7, updated=1_714_000_000.0 + rng.randrange(3))
            if rng.random() < 0.1:
                item = copy.deepcopy(item)
                item["data"]["requested_reviewers"].append(_user(*PEOPLE[rng.randrange(5)][:2]))
            items.append(item)
    path = tmp_path / "gh.jsonl"
    path.write_bytes(_lines(items))
    monkeypatch.setattr("orgnet.importers._github_fast.BATCH_BYTES", 20_000)  # many batches
    if emit is not None:  # runs of plain records cut into pieces of `emit`
        monkeypatch.setattr("orgnet.importers._github_fast.EMIT_RECORDS", emit)
    ref, new = _both(monkeypatch, path)
    assert_same(ref, new)


@pytest.mark.parametrize("window", [
    {"since": "2024-05-01"}, {"until": "2024-05-02T12:00:00Z"},
    {"since": "2024-05-01T00:30:00Z", "until": "2024-05-03"}, {"since": "2030-01-01"}])
@pytest.mark.parametrize("emit", [None, 2])
def test_window_matches_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      window: dict[str, str], emit: int | None) -> None:
    rng = random.Random(7)
    mutants = _mutants()
    items: list[dict[str, Any] | bytes] = [_pr(1), _issue(1, twin=True), _pr(2)]
    for _ in range(200):
        if rng.random() < 0.15:
            items.append(rng.choice(mutants))
        else:
            reviewers = tuple(rng.randrange(5) for _ in range(rng.randrange(4)))
            items.append(_pr(rng.randrange(1, 120), author=rng.randrange(5), reviewers=reviewers,
                             merged=rng.random() < 0.7,
                             updated=1_714_000_000.0 + rng.randrange(3)))
    path = tmp_path / "gh.jsonl"
    path.write_bytes(_lines(items))
    taken = _spy(monkeypatch)
    if emit is not None:
        monkeypatch.setattr("orgnet.importers._github_fast.EMIT_RECORDS", emit)
    ref, new = _both(monkeypatch, path, **window)
    assert sum(taken) > 100
    assert ref.counts.skipped > 0
    assert_same(ref, new)


def test_repeat_of_a_winner_outside_the_window(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The winner (plain) has no event in the window; its repeat (not plain: a team request)
    # is still a duplicate of it, named by its line.
    repeat = _pr(1)
    repeat["data"]["requested_teams"] = [{"slug": "core"}]
    path = tmp_path / "gh.jsonl"
    path.write_bytes(_lines([_pr(1), repeat, _pr(2)]))
    ref, new = _both(monkeypatch, path, since="2030-01-01")
    assert "as line 1" in ref.rejects.get_column("reason").to_list()[0]
    assert_same(ref, new)
