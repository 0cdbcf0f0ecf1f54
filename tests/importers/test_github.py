"""GitHub importer: Perceval items and the REST directory layout (fixtures in tests/fixtures/github)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers._base import ImportResult
from orgnet.importers.github import detect, extract_mentions, import_github
from orgnet.ingest import ingest
from orgnet.workspace import Workspace
from tests.importers.test_perceval import (
    assert_no_canary,
    assert_reingest_is_noop,
    tables_equal,
)

UTC = dt.UTC


@pytest.fixture
def gh(fixtures: Path) -> Path:
    return fixtures / "github"


def _named(result: ImportResult) -> pl.DataFrame:
    """Interactions with logins instead of identity ids."""
    ids = result.tables["identities"]
    names = dict(zip(ids["identity_id"], ids["username"], strict=True))
    return result.tables["interactions"].with_columns(
        pl.col("actor_id").replace_strict(names, default=None).alias("actor"),
        pl.col("target_id").replace_strict(names, default=None).alias("target"),
    )


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


EXPECTED_EVENTS = Counter({
    ("change_opened", "alice", None, "github:acme/widgets#1"): 1,
    ("mention", "alice", "bob", "github:acme/widgets#1"): 1,           # PR body (@nobody-known dropped)
    ("review_requested", "alice", "dave", "github:acme/widgets#1"): 1,  # pending request
    ("review_changes_requested", "carol", "alice", "github:acme/widgets#1"): 1,
    ("mention", "carol", "alice", "github:acme/widgets#1"): 1,
    ("review_approved", "bob", "alice", "github:acme/widgets#1"): 1,
    ("review_comment", "carol", "alice", "github:acme/widgets#1"): 1,
    ("review_comment", "alice", "alice", "github:acme/widgets#1"): 1,   # reply by the author ...
    ("review_comment", "alice", "carol", "github:acme/widgets#1"): 1,   # ... to carol's comment
    ("mention", "alice", "carol", "github:acme/widgets#1"): 1,
    ("comment", "bob", "alice", "github:acme/widgets#1"): 1,            # conversation comment
    ("mention", "bob", "carol", "github:acme/widgets#1"): 1,
    ("change_merged", "bob", "alice", "github:acme/widgets#1"): 1,
    ("change_opened", "dependabot[bot]", None, "github:acme/widgets#2"): 1,
    ("comment", "ghost", "carol", "github:acme/widgets#3"): 1,          # deleted user
    ("comment", "alice", "carol", "github:acme/widgets#3"): 1,
    ("mention", "alice", "dependabot[bot]", "github:acme/widgets#3"): 1,  # @dependabot, not a@b.com
})


def _event_counter(result: ImportResult) -> Counter[tuple[str, str, str | None, str]]:
    frame = _named(result)
    return Counter(zip(frame["kind"], frame["actor"], frame["target"], frame["artifact_id"],
                       strict=True))


def test_perceval_events(gh: Path) -> None:
    result = import_github(gh / "perceval_github.jsonl")
    assert result.counts.read == 4
    assert result.rejects.height == 0
    assert _event_counter(result) == EXPECTED_EVENTS
    frame = _named(result)
    approved = frame.filter(pl.col("kind") == "review_approved")
    assert approved["ts"].to_list() == [_ts("2024-05-02T09:00:00Z")]
    assert approved["target_role"].to_list() == ["artifact_author"]
    parent = frame.filter(pl.col("target_role") == "parent_author")
    assert parent["target"].to_list() == ["carol"]
    assert set(result.tables["interactions"]["container"]) == {"acme/widgets"}
    assert "1 @mention(s) of logins not seen in the input were left out" in result.notes


def test_perceval_artifacts_and_identities(gh: Path) -> None:
    result = import_github(gh / "perceval_github.jsonl")
    arts = {r["artifact_id"]: r for r in result.tables["artifacts"].iter_rows(named=True)}
    pr1 = arts["github:acme/widgets#1"]
    assert pr1["kind"] == "pull_request"
    assert pr1["opened_at"] == _ts("2024-05-01T10:00:00Z")
    # earliest review activity by someone else: carol's inline comment at 11:59
    assert pr1["first_review_at"] == _ts("2024-05-01T11:59:00Z")
    assert pr1["closed_at"] == _ts("2024-05-02T10:00:00Z")
    assert (pr1["merged"], pr1["outcome"], pr1["n_files"]) == (True, "merged", 1)
    assert (pr1["lines_added"], pr1["lines_deleted"]) == (10, 2)
    pr2 = arts["github:acme/widgets#2"]
    assert (pr2["merged"], pr2["outcome"], pr2["first_review_at"]) == (False, "closed", None)
    issue = arts["github:acme/widgets#3"]
    assert (issue["kind"], issue["outcome"], issue["merged"]) == ("issue", "open", None)
    ids = {r["username"]: r for r in result.tables["identities"].iter_rows(named=True)}
    assert ids["alice"]["native_id"] == "1001"
    assert ids["alice"]["name"] == "Alice Example"
    assert ids["dependabot[bot]"]["is_bot"] is True
    assert ids["ghost"]["is_bot"] is True
    assert ids["bob"]["is_bot"] is False


def test_pretty_and_json_lines_are_identical(gh: Path) -> None:
    a = import_github(gh / "perceval_github.jsonl")
    b = import_github(gh / "perceval_github_pretty.json")
    tables_equal(a, b, ("interactions", "artifacts", "identities"))
    assert a.counts.as_dict() == b.counts.as_dict()


def test_rest_layout_matches_perceval(gh: Path) -> None:
    rest = import_github(gh / "rest")
    perceval = import_github(gh / "perceval_github.jsonl")
    assert rest.rejects.height == 0
    assert rest.counts.read == 3  # two pulls (pulls-1.json, two pages) and one issue
    assert _event_counter(rest) == EXPECTED_EVENTS
    # same identities -> same event ids: importing both exports duplicates nothing
    assert set(rest.tables["interactions"]["event_id"]) == set(
        perceval.tables["interactions"]["event_id"])
    tables_equal(rest, perceval, ("artifacts",))
    touches = rest.tables["touches"]
    assert touches.select("artifact_id", "path", "lines_added", "lines_deleted").rows() == [
        ("github:acme/widgets#1", "src/retry.py", 10, 2)
    ]


def test_detect(gh: Path, tmp_path: Path) -> None:
    assert detect(gh / "perceval_github.jsonl")
    assert detect(gh / "perceval_github_pretty.json")
    assert detect(gh / "rest")
    assert not detect(tmp_path)
    other = tmp_path / "x.jsonl"
    other.write_text('{"backend_name":"Gerrit","uuid":"x"}\n')
    assert not detect(other)


def test_window(gh: Path) -> None:
    result = import_github(gh / "perceval_github.jsonl", since=dt.date(2024, 5, 3),
                           until="2024-05-06T09:30:00Z")
    frame = _named(result)
    assert sorted(zip(frame["kind"], frame["actor"], strict=True)) == [
        ("change_opened", "dependabot[bot]"), ("comment", "ghost")]
    assert result.counts.skipped_reasons == {"outside the --since/--until window": 2}
    assert result.tables["artifacts"]["artifact_id"].to_list() == [
        "github:acme/widgets#2", "github:acme/widgets#3"]


MALFORMED = [
    (2, None, "invalid JSON: Invalid control character at column 151"),
    (3, None, "invalid UTF-8: invalid continuation byte"),
    (4, "uuid", "duplicate item: same id and update time as line 1"),
    (5, "category", "unknown GitHub category 'wiki'"),
    (6, "user", "user has type int, expected a user object"),
    (7, "created_at", "created_at is not an ISO 8601 timestamp"),
    (8, None, "non-standard JSON constant NaN"),
    (9, None, "duplicate key 'number'"),
    (10, "uuid", "not a Perceval item: missing envelope field 'uuid'"),
    (11, "user", "reviews[0]: user has type int, expected a user object; review ignored"),
    (12, "backend_name", "backend 'Slack' is not GitHub"),
    (14, None, "not a Perceval item: a JSON list, not an object"),
]


def test_malformed_records(gh: Path) -> None:
    result = import_github(gh / "perceval_github_malformed.jsonl")
    got = list(result.rejects.select("line", "field", "reason").iter_rows())
    assert got == MALFORMED
    assert result.rejects.filter(pl.col("line") == 11)["outcome"].to_list() == ["repaired"]
    c = result.counts
    assert (c.read, c.rejected, c.skipped, c.repaired) == (14, 11, 1, 1)
    assert c.skipped_reasons == {"superseded by a newer version of the same item": 1}
    # the newest version of #10 (line 1) and the repaired #20 are imported
    assert sorted(set(result.tables["interactions"]["artifact_id"])) == [
        "github:acme/gadgets#10", "github:acme/gadgets#20"]
    assert_no_canary(result)


def test_counts_add_up_after_ingest(gh: Path, workspace: Workspace) -> None:
    summary = ingest(workspace, import_github(gh / "perceval_github_malformed.jsonl"))
    c = summary.counts
    assert c.adds_up()
    assert (c.read, c.imported, c.duplicate, c.rejected, c.skipped) == (14, 2, 0, 11, 1)


@pytest.mark.parametrize("name", ["perceval_github.jsonl", "rest"])
def test_reingest_is_a_noop(gh: Path, workspace: Workspace, name: str) -> None:
    assert_reingest_is_noop(workspace, lambda: import_github(gh / name))


def test_no_text_leaks(gh: Path) -> None:
    for name in ("perceval_github.jsonl", "perceval_github_pretty.json", "rest"):
        assert_no_canary(import_github(gh / name))


def test_later_export_updates_the_artifact(gh: Path, tmp_path: Path,
                                           workspace: Workspace) -> None:
    lines = (gh / "perceval_github.jsonl").read_text().splitlines()
    merged = json.loads(lines[0])
    open_item = copy.deepcopy(merged)
    data = open_item["data"]
    data.update(state="open", closed_at=None, merged_at=None, merged=False, merged_by=None,
                merged_by_data=[], reviews_data=[], review_comments_data={})
    open_item["updated_on"] = 1714560000.0
    early = tmp_path / "early.jsonl"
    early.write_text(json.dumps(open_item) + "\n")
    late = tmp_path / "late.jsonl"
    late.write_text(lines[0] + "\n")
    ingest(workspace, import_github(early))
    row = workspace.read("artifacts").row(0, named=True)
    assert (row["outcome"], row["merged"], row["closed_at"], row["first_review_at"]) == (
        "open", False, None, None)
    ingest(workspace, import_github(late))
    arts = workspace.read("artifacts")
    assert arts.height == 1
    row = arts.row(0, named=True)
    assert (row["outcome"], row["merged"]) == ("merged", True)
    assert row["closed_at"] == _ts("2024-05-02T10:00:00Z")
    assert row["first_review_at"] == _ts("2024-05-01T11:59:00Z")
    kinds = workspace.read("interactions")["kind"].to_list()
    assert kinds.count("change_opened") == 1 and kinds.count("change_merged") == 1


def test_rest_malformed(tmp_path: Path) -> None:
    root = tmp_path / "rest"
    (root / "pulls" / "5").mkdir(parents=True)
    user = {"login": "zed", "id": 7, "type": "User"}
    pulls = [
        {"number": 5, "user": user, "created_at": "2024-01-01T00:00:00Z",
         "html_url": "https://github.com/o/r/pull/5", "state": "open"},
        {"number": 5, "user": user, "created_at": "2024-01-01T00:00:00Z",
         "html_url": "https://github.com/o/r/pull/5", "state": "open"},
        {"number": "six", "user": user},
        [1, 2],
    ]
    (root / "pulls.json").write_text(json.dumps(pulls))
    (root / "pulls" / "5" / "reviews.json").write_text('[{"id": 1, "state": "APPROVED"')
    result = import_github(root)
    got = list(result.rejects.select("record", "field", "reason", "outcome").iter_rows())
    assert got[0][0] == "pull o/r#5" and got[0][3] == "repaired"
    assert got[0][2].startswith("pulls/5/reviews.json: invalid JSON")
    assert got[1:] == [
        ("pulls.json[1]", "number", "duplicate pull request: already read from pulls.json[0]",
         "rejected"),
        ("pulls.json[2]", "number", "number is missing or not an integer", "rejected"),
        ("pulls.json[3]", None, "a JSON list, expected a pull request object", "rejected"),
    ]
    assert result.counts.read == 4
    assert result.tables["interactions"]["kind"].to_list() == ["change_opened"]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        import_github(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("cc @Bob and @carol-x.", ["bob", "carol-x"]),
        ("mail a@b.com or `@code` or\n> @quoted\n```\n@fenced\n```", []),
        ("@acme/core please, and @dave", ["dave"]),
        ("@Bob @bob @bob-", ["bob"]),
        (None, []),
        (12, []),
    ],
)
def test_extract_mentions(text: object, want: list[str]) -> None:
    assert extract_mentions(text) == want


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids,
                                                                max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from(["user", "reviews_data", "review_comments_data", "number",
                                      "created_at", "merged_by", "requested_reviewers_data",
                                      "0", "state", "submitted_at", "id", "body", "login"]),
                     min_size=1, max_size=3),
       value=_JSON)
def test_wrong_values_never_crash(gh: Path, tmp_path: Path, path: list[str], value: object) -> None:
    item = json.loads((gh / "perceval_github.jsonl").read_text().splitlines()[0])
    node = item["data"]
    for key in path[:-1]:
        nxt = node[int(key)] if isinstance(node, list) and key.isdigit() and int(key) < len(
            node) else (node.get(key) if isinstance(node, dict) else None)
        if not isinstance(nxt, dict | list):
            break
        node = nxt
    if isinstance(node, dict):
        node[path[-1]] = value
    p = tmp_path / "fuzz.jsonl"
    p.write_text(json.dumps(item) + "\n")
    result = import_github(p)
    assert result.counts.read == 1
    assert result.counts.rejected + result.counts.skipped <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "fuzz.json"
    p.write_bytes(data)
    try:
        result = import_github(p)
    except InputError:
        return
    assert result.counts.read == result.counts.rejected + result.counts.skipped + sum(
        1 for s in result.record_status if s == "ok")


def test_empty_directory_is_not_an_export(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a GitHub REST export"):
        import_github(tmp_path)
