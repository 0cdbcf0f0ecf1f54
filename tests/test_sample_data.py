"""The bundled sample organisation: every importer reads it with zero rejects, and the identity
mess (personal commit e-mails, a renamed GitHub login, Slack display names) resolves to the right
org-chart people through the HRIS identity columns."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from orgnet.pipeline import SAMPLE_FILES, import_sample
from orgnet.workspace import Workspace

from .conftest import SAMPLE_DATA


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list]:
    ws = Workspace(tmp_path_factory.mktemp("sample") / "ws")
    summaries = import_sample(SAMPLE_DATA, ws)
    return ws, summaries


def test_every_file_imports_with_zero_rejects(sample_ws: tuple[Workspace, list]) -> None:
    ws, summaries = sample_ws
    assert [s.source_kind for s in summaries] == [kind for _f, kind, _t, _o in SAMPLE_FILES]
    for s in summaries:
        c = s.counts
        assert c.rejected == 0 and c.repaired == 0 and c.flagged == 0, (s.source_kind, c)
        assert c.adds_up()
    assert ws.read("rejects").height == 0


def test_identity_mess_resolves_through_the_org_chart(sample_ws: tuple[Workspace, list]) -> None:
    ws, _ = sample_ws
    idents = ws.read("identities").filter(pl.col("origin") == "observed")
    people = ws.read("people")
    humans = idents.join(people.select("person_id", "in_org_chart"), on="person_id").filter(
        ~pl.col("is_bot"))
    # Every human handle from git, GitHub and Slack lands on an org-chart person.
    stray = humans.filter(~pl.col("in_org_chart"))
    assert stray.height == 0, stray.select("source", "username", "email", "name").rows()[:10]
    hris = pl.read_csv(SAMPLE_DATA / "hris.csv", infer_schema=False)
    employees = set(hris["employee_id"])
    # Personal commit addresses (HRIS other_emails) resolve to their employee.
    personal = hris.drop_nulls("other_emails").select("employee_id", "other_emails").unique()
    assert personal.height > 0
    by_email = dict(idents.filter(pl.col("source") == "git").select("email", "person_id").rows())
    checked = 0
    for emp, others in personal.rows():
        for addr in others.split(";"):
            if addr in by_email:
                assert by_email[addr] == emp
                checked += 1
    assert checked > 0
    # A renamed GitHub login: one numeric id seen under two logins is one identity of one person.
    gh = idents.filter(pl.col("source") == "github")
    assert set(gh["person_id"]) <= employees | set(people.filter(pl.col("is_bot"))["person_id"])


def test_truth_names_real_people_and_units() -> None:
    truth = json.loads((SAMPLE_DATA / "truth.json").read_text())
    hris = pl.read_csv(SAMPLE_DATA / "hris.csv", infer_schema=False)
    employees = set(hris["employee_id"])
    kinds = {p["kind"] for p in truth["planted"]}
    assert len(kinds) == 11
    for p in truth["planted"]:
        assert set(p["people"]) <= employees
    assert Path(SAMPLE_DATA / "README.md").read_text().count("orgnet sample") >= 1
