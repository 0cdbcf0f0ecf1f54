"""GitLab importer: Perceval merge_request items (fixtures in tests/fixtures/gitlab)."""

from __future__ import annotations

import contextlib
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
from orgnet.importers.gitlab import detect, import_gitlab
from orgnet.ingest import ingest
from orgnet.workspace import Workspace
from tests.importers.test_perceval import (
    assert_no_canary,
    assert_reingest_is_noop,
    tables_equal,
)

UTC = dt.UTC


@pytest.fixture
def gl(fixtures: Path) -> Path:
    return fixtures / "gitlab"


def _named(result: ImportResult) -> pl.DataFrame:
    ids = result.tables["identities"]
    names = dict(zip(ids["identity_id"], ids["username"], strict=True))
    return result.tables["interactions"].with_columns(
        pl.col("actor_id").replace_strict(names, default=None).alias("actor"),
        pl.col("target_id").replace_strict(names, default=None).alias("target"),
    )


def _events(result: ImportResult) -> Counter[tuple[str, str, str | None, str | None]]:
    f = _named(result)
    return Counter(zip(f["kind"], f["actor"], f["target"], f["target_role"], strict=True))


EVENTS = Counter({
    ("change_opened", "ana", None, None): 1,
    ("change_opened", "cy", None, None): 1,                                 # !58, no notes
    ("mention", "ana", "cy", "mentioned"): 1,                               # description
    ("review_requested", "ana", "ben.b", "requested_reviewer"): 1,          # @nobody left out
    ("review_comment", "cy", "ana", "artifact_author"): 1,                  # DiffNote
    ("mention", "cy", "ana", "mentioned"): 1,
    ("comment", "ana", "ana", "artifact_author"): 1,                        # DiscussionNote reply
    ("reaction", "cy", "ana", "parent_author"): 1,                          # award on ana's note
    ("comment", "project_311_bot_ab12", "ana", "artifact_author"): 1,       # token bot
    ("review_approved", "ben.b", "ana", "artifact_author"): 1,
    ("review_dismissed", "cy", "ana", "artifact_author"): 1,                # unapproved
    ("change_merged", "ben.b", "ana", "artifact_author"): 1,
    ("reaction", "ben.b", "ana", "artifact_author"): 1,                     # award on the MR
})


def test_events(gl: Path) -> None:
    result = import_gitlab(gl / "perceval_gitlab.jsonl")
    assert result.counts.read == 2 and result.rejects.height == 0
    assert _events(result) == EVENTS
    f = _named(result)
    assert f.filter(pl.col("kind") == "review_approved")["ts"].to_list() == [
        dt.datetime(2024, 5, 3, 9, tzinfo=UTC)]
    assert f.filter(pl.col("kind") == "reaction").sort("ts")["value"].to_list() == [
        "thumbsup", "rocket"]
    assert set(f["artifact_id"]) == {"gitlab:acme/platform#57", "gitlab:acme/platform#58"}
    assert "1 review request(s) to usernames not seen in the input were left out" in result.notes


def test_artifacts_identities_touches(gl: Path) -> None:
    result = import_gitlab(gl / "perceval_gitlab.jsonl")
    arts = {r["artifact_id"]: r for r in result.tables["artifacts"].iter_rows(named=True)}
    a = arts["gitlab:acme/platform#57"]
    assert (a["kind"], a["container"], a["outcome"], a["merged"], a["n_files"]) == (
        "merge_request", "acme/platform", "merged", True, 2)
    assert a["opened_at"] == dt.datetime(2024, 5, 2, 8, tzinfo=UTC)
    # cy's diff note (the bot's note and the author's reply do not count)
    assert a["first_review_at"] == dt.datetime(2024, 5, 2, 9, 14, 3, 118000, tzinfo=UTC)
    assert a["closed_at"] == dt.datetime(2024, 5, 3, 10, tzinfo=UTC)
    b = arts["gitlab:acme/platform#58"]
    assert (b["outcome"], b["merged"], b["closed_at"], b["n_files"]) == ("open", False, None, None)
    assert sorted(result.tables["touches"]["path"]) == ["docs/retry.md", "retry.go"]
    ids = {r["username"]: r for r in result.tables["identities"].iter_rows(named=True)}
    assert ids["ana"]["native_id"] == "11" and ids["ana"]["name"] == "Ana Example"
    assert ids["project_311_bot_ab12"]["is_bot"] is True
    assert ids["ben.b"]["is_bot"] is False


def test_pretty_equals_json_lines(gl: Path) -> None:
    a = import_gitlab(gl / "perceval_gitlab.jsonl")
    b = import_gitlab(gl / "perceval_gitlab_pretty.json")
    tables_equal(a, b, ("interactions", "artifacts", "identities", "touches"))


def test_detect(gl: Path, fixtures: Path) -> None:
    assert detect(gl / "perceval_gitlab.jsonl")
    assert detect(gl / "perceval_gitlab_pretty.json")
    assert not detect(fixtures / "github" / "perceval_github.jsonl")
    assert not detect(gl)


def test_window(gl: Path) -> None:
    result = import_gitlab(gl / "perceval_gitlab.jsonl", since="2024-05-03", until="2024-05-04")
    assert _events(result) == Counter({
        ("review_approved", "ben.b", "ana", "artifact_author"): 1,
        ("review_dismissed", "cy", "ana", "artifact_author"): 1,
        ("change_merged", "ben.b", "ana", "artifact_author"): 1,
        ("reaction", "ben.b", "ana", "artifact_author"): 1,
    })
    assert result.counts.skipped_reasons == {"outside the --since/--until window": 1}


MALFORMED = [
    (2, None, "invalid JSON: Invalid control character at column 181"),
    (3, "uuid", "duplicate item: same id and update time as line 1"),
    (4, "category", "unknown GitLab category 'snippet'"),
    (5, "author", "author has type int, expected a user object"),
    (6, "created_at", "created_at is not an ISO 8601 timestamp"),
    (7, None, "non-standard JSON constant NaN"),
    (8, None, "duplicate key 'iid'"),
    (9, None, "invalid UTF-8: invalid continuation byte"),
    (10, "author.id", "notes_data[0]: author.id is missing or not an integer; note ignored"),
]


def test_malformed(gl: Path, workspace: Workspace) -> None:
    result = import_gitlab(gl / "perceval_gitlab_malformed.jsonl")
    assert list(result.rejects.select("line", "field", "reason").iter_rows()) == MALFORMED
    assert result.rejects.filter(pl.col("line") == 10)["outcome"].to_list() == ["repaired"]
    assert result.counts.skipped_reasons == {"category issue not imported": 1}
    assert_no_canary(result)
    c = ingest(workspace, result).counts
    assert c.adds_up()
    assert (c.read, c.imported, c.duplicate, c.rejected, c.skipped) == (11, 2, 0, 8, 1)


def test_reingest_is_a_noop(gl: Path, workspace: Workspace) -> None:
    assert_reingest_is_noop(workspace, lambda: import_gitlab(gl / "perceval_gitlab.jsonl"))


def test_no_text_leaks(gl: Path) -> None:
    assert_no_canary(import_gitlab(gl / "perceval_gitlab.jsonl"))
    assert_no_canary(import_gitlab(gl / "perceval_gitlab_pretty.json"))


def test_later_export_updates_the_artifact(gl: Path, tmp_path: Path,
                                           workspace: Workspace) -> None:
    item = json.loads((gl / "perceval_gitlab.jsonl").read_text().splitlines()[0])
    early = json.loads(json.dumps(item))
    early["data"].update(state="opened", merged_at=None, merged_by=None,
                         notes_data=item["data"]["notes_data"][:1])
    early["updated_on"] = 1714640000.0
    (tmp_path / "early.jsonl").write_text(json.dumps(early) + "\n")
    ingest(workspace, import_gitlab(tmp_path / "early.jsonl"))
    assert workspace.read("artifacts").select("outcome", "first_review_at").row(0) == (
        "open", None)
    ingest(workspace, import_gitlab(gl / "perceval_gitlab.jsonl"))
    arts = workspace.read("artifacts").filter(pl.col("artifact_id") == "gitlab:acme/platform#57")
    assert arts.select("outcome", "merged").row(0) == ("merged", True)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        import_gitlab(tmp_path / "nope.jsonl")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids,
                                                                max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["author", "notes_data", "iid", "created_at", "merged_at", "state",
                            "merged_by", "reviewers", "award_emoji_data", "versions_data",
                            "references", "changes_count", "description"]),
       value=_JSON)
def test_wrong_values_never_crash(gl: Path, tmp_path: Path, key: str, value: object) -> None:
    item = json.loads((gl / "perceval_gitlab.jsonl").read_text().splitlines()[0])
    item["data"][key] = value
    p = tmp_path / "fuzz.jsonl"
    p.write_text(json.dumps(item) + "\n")
    assert import_gitlab(p).counts.read == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "fuzz.jsonl"
    p.write_bytes(data)
    with contextlib.suppress(InputError):
        import_gitlab(p)
