"""Gerrit importer: SSH query JSON, REST ChangeInfo, Perceval items (fixtures in tests/fixtures/gerrit)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers._base import ImportResult
from orgnet.importers.gerrit import detect, import_gerrit, parse_vote_line
from orgnet.ingest import ingest
from orgnet.workspace import Workspace
from tests.importers.test_perceval import (
    assert_no_canary,
    assert_reingest_is_noop,
    tables_equal,
)

UTC = dt.UTC


@pytest.fixture
def gd(fixtures: Path) -> Path:
    return fixtures / "gerrit"


def _named(result: ImportResult) -> pl.DataFrame:
    ids = result.tables["identities"]
    names = dict(zip(ids["identity_id"], ids["username"], strict=True))
    return result.tables["interactions"].with_columns(
        pl.col("actor_id").replace_strict(names, default=None).alias("actor"),
        pl.col("target_id").replace_strict(names, default=None).alias("target"),
    )


def _events(result: ImportResult) -> Counter[tuple[str, str, str | None, str | None]]:
    f = _named(result)
    return Counter(zip(f["kind"], f["actor"], f["target"], f["value"], strict=True))


def _epoch(s: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(s, UTC)


SSH_EVENTS = Counter({
    ("change_opened", "kim", None, None): 1,
    ("change_opened", "lee", None, None): 1,                       # the abandoned change
    ("vote", "ci-bot", "kim", "Verified:+1"): 1,                   # message + approval, once
    ("comment", "ci-bot", "kim", None): 1,                         # bot message with text
    ("vote", "lee", "kim", "Code-Review:-1"): 1,
    ("review_changes_requested", "lee", "kim", None): 1,
    ("review_comment", "lee", "kim", None): 2,                     # two inline comments
    ("vote", "omar", "kim", "Code-Review:+2"): 1,
    ("review_approved", "omar", "kim", None): 1,
    ("comment", "omar", "kim", None): 1,                           # "LGTM" beyond the vote line
    ("change_merged", "omar", "kim", None): 1,                     # SUBM approval
})


def test_ssh_query_output(gd: Path) -> None:
    result = import_gerrit(gd / "ssh_query.jsonl")
    assert result.counts.read == 3
    assert result.counts.skipped_reasons == {"gerrit query statistics line": 1}
    assert result.rejects.height == 0
    assert _events(result) == SSH_EVENTS
    f = _named(result)
    inline = f.filter(pl.col("kind") == "review_comment")
    # published with lee's next message after patch set 1 was created
    assert set(inline["ts"]) == {_epoch(1714650000)}
    assert f.filter(pl.col("kind") == "change_merged")["ts"].to_list() == [_epoch(1714655100)]
    arts = {r["artifact_id"]: r for r in result.tables["artifacts"].iter_rows(named=True)}
    a = arts["gerrit:infra/deployer#88213"]
    assert a["kind"] == "change" and a["container"] == "infra/deployer"
    assert a["opened_at"] == _epoch(1714640000)
    assert a["first_review_at"] == _epoch(1714650000)  # lee; the CI bot's earlier vote not
    assert a["closed_at"] == _epoch(1714655100)
    assert (a["merged"], a["outcome"], a["n_files"], a["lines_added"], a["lines_deleted"]) == (
        True, "merged", 1, 4, 1)
    b = arts["gerrit:infra/deployer#88214"]
    assert (b["outcome"], b["merged"], b["closed_at"], b["first_review_at"]) == (
        "abandoned", False, _epoch(1714710000), None)
    assert result.tables["touches"].select("path", "lines_added", "lines_deleted").rows() == [
        ("deploy.py", 4, 1)]
    ids = {r["username"]: r for r in result.tables["identities"].iter_rows(named=True)}
    assert ids["kim"]["native_id"] == "kim" and ids["kim"]["email"] == "kim@example.com"
    assert ids["ci-bot"]["is_bot"] is True and ids["omar"]["is_bot"] is False


REST_EVENTS = Counter({
    ("change_opened", "kim", None, None): 1,
    ("review_requested", "kim", "omar", None): 1,                  # reviewer_updates REVIEWER only
    ("vote", "ci", "kim", "Verified:+1"): 1,                       # SERVICE_USER bot
    ("comment", "lena", "kim", None): 1,
    ("vote", "omar", "kim", "Code-Review:+2"): 1,                  # message and label: once
    ("review_approved", "omar", "kim", None): 1,
    ("comment", "omar", "kim", None): 1,
    ("change_merged", "omar", "kim", None): 1,
})


def test_rest_changes(gd: Path) -> None:
    result = import_gerrit(gd / "rest_changes.json")
    assert result.counts.read == 1 and result.rejects.height == 0
    assert _events(result) == REST_EVENTS
    (a,) = result.tables["artifacts"].iter_rows(named=True)
    assert a["artifact_id"] == "gerrit:tools/lint#501"
    assert a["first_review_at"] == dt.datetime(2024, 5, 2, 12, tzinfo=UTC)
    assert a["closed_at"] == dt.datetime(2024, 5, 2, 14, 39, 58, tzinfo=UTC)
    assert (a["outcome"], a["n_files"], a["lines_added"], a["lines_deleted"]) == (
        "merged", 1, 7, 2)
    ids = {r["username"]: r for r in result.tables["identities"].iter_rows(named=True)}
    assert ids["kim"]["native_id"] == "1000412"
    assert ids["ci"]["is_bot"] is True


def test_perceval_matches_ssh_and_pretty_matches_lines(gd: Path) -> None:
    ssh = import_gerrit(gd / "ssh_query.jsonl")
    jl = import_gerrit(gd / "perceval_gerrit.jsonl")
    pretty = import_gerrit(gd / "perceval_gerrit_pretty.json")
    assert jl.counts.read == 2 and jl.rejects.height == 0
    tables_equal(jl, pretty, ("interactions", "artifacts", "identities", "touches"))
    tables_equal(jl, ssh, ("interactions", "artifacts", "identities", "touches"))


def test_directory_and_instance(gd: Path, tmp_path: Path) -> None:
    d = tmp_path / "exports"
    d.mkdir()
    shutil.copy(gd / "ssh_query.jsonl", d / "a.jsonl")
    shutil.copy(gd / "rest_changes.json", d / "b.json")
    (d / "notes.txt").write_text("ignored")
    result = import_gerrit(d, instance="review.example.com")
    assert result.counts.read == 4
    assert _events(result) == SSH_EVENTS + REST_EVENTS
    assert set(result.tables["identities"]["instance"]) == {"review.example.com"}
    plain = import_gerrit(gd / "ssh_query.jsonl")
    assert set(plain.tables["identities"]["identity_id"]).isdisjoint(
        result.tables["identities"]["identity_id"])
    with pytest.raises(InputError):
        import_gerrit(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        import_gerrit(tmp_path / "empty")


def test_detect(gd: Path, tmp_path: Path) -> None:
    for name in ("ssh_query.jsonl", "rest_changes.json", "perceval_gerrit.jsonl",
                 "perceval_gerrit_pretty.json"):
        assert detect(gd / name), name
    assert not detect(gd.parent / "github" / "perceval_github.jsonl")
    junk = tmp_path / "x.json"
    junk.write_text('{"number": 1}')
    assert not detect(junk)


def test_window(gd: Path) -> None:
    result = import_gerrit(gd / "ssh_query.jsonl", since="2024-05-02T13:00:00Z",
                           until=dt.date(2024, 5, 3))
    assert _events(result) == Counter({
        ("vote", "omar", "kim", "Code-Review:+2"): 1, ("review_approved", "omar", "kim", None): 1,
        ("comment", "omar", "kim", None): 1, ("change_merged", "omar", "kim", None): 1})
    assert result.counts.skipped_reasons == {"gerrit query statistics line": 1,
                                             "outside the --since/--until window": 1}


MALFORMED = [
    (2, None, "invalid JSON: Invalid control character at column 201"),
    (4, "number", "duplicate change: same id and update time as line 1"),
    (5, "owner", "owner has type int, expected an account object"),
    (6, "createdOn", "createdOn is not epoch seconds"),
    (7, None, "non-standard JSON constant NaN"),
    (8, "number", "not a Gerrit change: neither _number (REST) nor number (SSH)"),
    (9, "value", "patchSets[0].approvals[0]: type or value missing or malformed; vote ignored"),
    (10, None, "duplicate key 'number'"),
    (11, None, "invalid UTF-8: invalid continuation byte"),
]


def test_malformed(gd: Path, workspace: Workspace) -> None:
    result = import_gerrit(gd / "ssh_malformed.jsonl")
    assert list(result.rejects.select("line", "field", "reason").iter_rows()) == MALFORMED
    assert result.rejects.filter(pl.col("line") == 9)["outcome"].to_list() == ["repaired"]
    assert_no_canary(result)
    summary = ingest(workspace, result)
    c = summary.counts
    assert c.adds_up()
    assert (c.read, c.imported, c.duplicate, c.rejected, c.skipped) == (11, 2, 0, 8, 1)


@pytest.mark.parametrize("name", ["ssh_query.jsonl", "rest_changes.json",
                                  "perceval_gerrit_pretty.json"])
def test_reingest_is_a_noop(gd: Path, workspace: Workspace, name: str) -> None:
    assert_reingest_is_noop(workspace, lambda: import_gerrit(gd / name))


def test_no_text_leaks(gd: Path) -> None:
    for name in ("ssh_query.jsonl", "rest_changes.json", "perceval_gerrit.jsonl"):
        assert_no_canary(import_gerrit(gd / name))


def test_later_rest_export_updates_the_artifact(gd: Path, tmp_path: Path,
                                                workspace: Workspace) -> None:
    text = (gd / "rest_changes.json").read_text()
    change = json.loads(text.split("\n", 1)[1])[0]
    early = dict(change, status="NEW", submitted=None, submitter=None,
                 updated="2024-05-02 11:00:00.000000000", messages=change["messages"][:1],
                 labels={})
    (tmp_path / "early.json").write_text(json.dumps(early))
    ingest(workspace, import_gerrit(tmp_path / "early.json"))
    assert workspace.read("artifacts")["outcome"].to_list() == ["open"]
    ingest(workspace, import_gerrit(gd / "rest_changes.json"))
    arts = workspace.read("artifacts")
    assert arts.height == 1
    assert arts.select("outcome", "merged").row(0) == ("merged", True)


@pytest.mark.parametrize(
    ("message", "want"),
    [
        ("Patch Set 3: Code-Review+2 Verified+1", (3, [("Code-Review", 2), ("Verified", 1)])),
        ("Patch Set 2: Code-Review-1\n\n(3 comments)", (2, [("Code-Review", -1)])),
        ("Patch Set 1:\n\nquestion", (1, [])),
        ("Uploaded patch set 1.", None),
        (None, None),
    ],
)
def test_parse_vote_line(message: object, want: object) -> None:
    assert parse_vote_line(message) == want


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), xssi=st.booleans())
def test_arbitrary_bytes(tmp_path: Path, data: bytes, xssi: bool) -> None:
    p = tmp_path / "fuzz.json"
    p.write_bytes((b")]}'\n" if xssi else b"") + data)
    try:
        result = import_gerrit(p)
    except InputError:
        return
    assert result.counts.read >= result.counts.rejected + result.counts.skipped


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids,
                                                                max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["owner", "comments", "patchSets", "createdOn", "number", "status",
                            "lastUpdated", "project", "labels", "messages", "_number", "created",
                            "reviewer_updates", "revisions", "submitter"]),
       value=_JSON, rest=st.booleans())
def test_wrong_values_never_crash(gd: Path, tmp_path: Path, key: str, value: object,
                                  rest: bool) -> None:
    if rest:
        change = json.loads((gd / "rest_changes.json").read_text().split("\n", 1)[1])[0]
    else:
        change = json.loads((gd / "ssh_query.jsonl").read_text().splitlines()[0])
    change[key] = value
    p = tmp_path / "fuzz.jsonl"
    p.write_text(json.dumps(change) + "\n")
    result = import_gerrit(p)
    assert result.counts.read == 1


def test_rest_server_messages_without_author(gd: Path, tmp_path: Path) -> None:
    change = json.loads((gd / "rest_changes.json").read_text().split("\n", 1)[1])[0]
    change["messages"].append({"id": "z9", "date": "2024-05-02 14:40:00.000000000",
                               "message": "Change has been successfully merged",
                               "_revision_number": 1})
    p = tmp_path / "c.json"
    p.write_text(json.dumps(change))
    result = import_gerrit(p)
    assert result.rejects.height == 0
    assert _events(result) == REST_EVENTS
