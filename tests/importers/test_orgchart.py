"""Org chart importer: canonical HRIS, vendor headers, membership lists, validation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from orgnet.exceptions import ConfigError, InputError, StrictImportError
from orgnet.importers.orgchart import detect, import_orgchart, map_columns, parse_date
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

D = dt.date


def _load(ws: Workspace, path: Path, **kw: object) -> None:
    ingest(ws, import_orgchart(path, **kw))  # type: ignore[arg-type]


def _problems(path: Path, **kw: object) -> list[tuple[int | None, str | None, str, str]]:
    r = import_orgchart(path, **kw)  # type: ignore[arg-type]
    return [(x["line"], x["field"], x["outcome"], x["reason"])
            for x in r.rejects.iter_rows(named=True)]


def test_canonical_file_builds_spans_units_managers_and_identities(
    fixtures: Path, workspace: Workspace
) -> None:
    r = import_orgchart(fixtures / "orgchart" / "canonical.csv")
    assert r.counts.read == 4 and r.rejects.height == 0
    ingest(workspace, r)
    units = workspace.read("units").sort("unit_id")
    assert units.select("unit_id", "parent_id", "kind").rows() == [
        ("engineering", None, "department"),
        ("engineering/data-platform", "engineering", "team"),
        ("engineering/platform", "engineering", "team"),
    ]
    keiko = workspace.read("memberships").filter(pl.col("person_id") == "E0107").sort("valid_from")
    assert keiko.select("unit_id", "manager_id", "level", "valid_from", "valid_to").rows() == [
        ("engineering/platform", "E0002", "L5", D(2021, 6, 1), D(2023, 4, 1)),
        ("engineering/data-platform", "E0031", "L6", D(2023, 4, 1), None),
    ]
    people = workspace.read("people").sort("person_id")
    assert people["person_id"].to_list() == ["E0002", "E0031", "E0107"]
    assert people["in_org_chart"].all()
    claims = workspace.read("identities").filter(pl.col("person_id") == "E0107")
    assert {("github", "ksato"), ("slack", "U04KSATO")} <= set(
        claims.select("source", "native_id").rows())
    assert "41122334+ksato@users.noreply.github.com" in claims["email"].to_list()


@pytest.mark.parametrize(
    ("name", "expected_ids", "manager_of"),
    [
        ("workday.csv", {"000107", "000002", "000031"}, ("000107", "000002")),
        ("bamboohr.json", {"17", "2"}, ("17", "2")),
        ("rippling.jsonl", {"wkr_1", "wkr_2"}, ("wkr_1", "wkr_2")),
        ("generic.tsv", {"0042", "0043"}, ("0043", "0042")),
    ],
)
def test_vendor_headers_are_recognised(
    fixtures: Path, workspace: Workspace, name: str, expected_ids: set[str],
    manager_of: tuple[str, str],
) -> None:
    path = fixtures / "orgchart" / name
    assert detect(path)
    r = import_orgchart(path, as_of=D(2024, 1, 1))
    assert r.rejects.filter(pl.col("outcome") != "flagged").height == 0, r.rejects
    ingest(workspace, r)
    people = workspace.read("people")
    assert set(people["person_id"]) == expected_ids
    m = workspace.read("memberships")
    emp, mgr = manager_of
    assert m.filter(pl.col("person_id") == emp)["manager_id"].to_list()[0] == mgr
    assert m["precision"].unique().to_list() == ["snapshot"]


def test_leading_zeros_and_names_from_first_last(fixtures: Path, workspace: Workspace) -> None:
    _load(workspace, fixtures / "orgchart" / "bamboohr.json", as_of=D(2024, 1, 1))
    names = dict(workspace.read("people").select("person_id", "display_name").rows())
    assert names == {"17": "Keiko Sato", "2": "Dana Ruiz"}
    units = workspace.read("units").sort("unit_id")
    assert units.select("unit_id", "kind").rows() == [
        ("product", "division"), ("product/engineering", "department")]
    _load(workspace, fixtures / "orgchart" / "workday.csv", as_of=D(2024, 1, 1))
    assert "000107" in workspace.read("people")["person_id"].to_list()


def test_termination_date_ends_the_membership(fixtures: Path, workspace: Workspace) -> None:
    _load(workspace, fixtures / "orgchart" / "workday.csv", as_of=D(2024, 1, 1))
    omar = workspace.read("memberships").filter(pl.col("person_id") == "000031")
    assert omar["valid_to"].to_list() == [D(2024, 3, 1)]


def test_explicit_column_mapping(fixtures: Path, workspace: Workspace) -> None:
    path = fixtures / "orgchart" / "custom_headers.csv"
    cols = {"employee_id": "Employee #", "manager_employee_id": "Reports To ID",
            "team": "Squad Name", "effective_date": "Valid On", "full_name": "Legal Name"}
    r = import_orgchart(path, columns=cols)
    ingest(workspace, r)
    m = workspace.read("memberships").sort("person_id")
    assert m.select("person_id", "unit_id", "manager_id", "valid_from").rows() == [
        ("A-1", "core", None, D(2024, 1, 1)), ("A-2", "core", "A-1", D(2024, 1, 1))]
    with pytest.raises(ConfigError, match="unknown field 'nonsense'"):
        import_orgchart(path, columns={"nonsense": "Mail"})
    with pytest.raises(ConfigError, match="has no column 'Nope'"):
        import_orgchart(path, columns={"employee_id": "Nope"})


def test_map_columns_prefers_exact_names_and_uses_each_header_once() -> None:
    mapping = map_columns(["Employee ID", "Manager ID", "Department", "Team", "Work Email",
                           "Email"])
    assert mapping["employee_id"] == "Employee ID"
    assert mapping["manager_employee_id"] == "Manager ID"
    assert mapping["work_email"] == "Work Email"
    assert mapping["team"] == "Team"


def test_manager_cycle_is_reported_and_broken(fixtures: Path, workspace: Workspace) -> None:
    path = fixtures / "orgchart" / "manager_cycle.csv"
    problems = _problems(path)
    assert len(problems) == 1
    line, field, outcome, reason = problems[0]
    assert (line, field, outcome) == (5, "manager_employee_id", "repaired")
    assert "manager cycle" in reason and "2024-06-01" in reason and "E3" in reason
    ingest(workspace, import_orgchart(path))
    cy = workspace.read("memberships").filter(pl.col("person_id") == "E3").sort("valid_from")
    assert cy["manager_id"].to_list() == ["E1", None]


def test_unknown_manager_is_cleared_with_line(fixtures: Path) -> None:
    assert _problems(fixtures / "orgchart" / "unknown_manager.csv") == [
        (3, "manager_employee_id", "repaired",
         "unknown manager 'E99': no such employee_id; manager cleared")]


def test_duplicate_work_email_is_not_evidence_for_the_second_person(
    fixtures: Path, workspace: Workspace
) -> None:
    path = fixtures / "orgchart" / "duplicate_email.csv"
    ((line, field, outcome, reason),) = _problems(path)
    assert (line, field, outcome) == (3, "work_email", "repaired")
    assert "also belongs to E1" in reason
    ingest(workspace, import_orgchart(path))
    claims = workspace.read("identities").filter(
        (pl.col("source") == "email") & (pl.col("email") == "ada@acme.example"))
    assert claims["person_id"].to_list() == ["E1"]


def test_ambiguous_dates_are_rejected_or_repaired(fixtures: Path) -> None:
    path = fixtures / "orgchart" / "ambiguous_date.csv"
    r = import_orgchart(path)
    rows = {(x["line"], x["field"], x["outcome"]): x["reason"]
            for x in r.rejects.iter_rows(named=True)}
    assert "ambiguous date '03/04/2024'" in rows[(3, "effective_date", "rejected")]
    assert "ambiguous date '01.02.2021'" in rows[(4, "hire_date", "repaired")]
    assert r.counts.rejected == 1 and r.counts.read == 3
    ok = import_orgchart(path, date_format="%d.%m.%Y")
    assert ok.counts.rejected == 1  # ISO dates still parse; 03/04/2024 does not match
    assert ok.rejects.filter(pl.col("field") == "hire_date").height == 0


def test_formula_cells_are_kept_as_text_and_flagged(fixtures: Path, workspace: Workspace) -> None:
    path = fixtures / "orgchart" / "formula.csv"
    flagged = [(line, f) for line, f, o, _ in _problems(path) if o == "flagged"]
    assert flagged == [(2, "title"), (3, "full_name")]
    ingest(workspace, import_orgchart(path))
    titles = workspace.read("memberships").sort("person_id")["title"].to_list()
    assert titles[0] == '=HYPERLINK("http://evil.example","x")'
    assert workspace.read("people").sort("person_id")["display_name"].to_list()[1] == "@Ben Two"


def test_ragged_rows_and_missing_ids_are_rejected_with_lines(fixtures: Path) -> None:
    r = import_orgchart(fixtures / "orgchart" / "ragged.csv")
    got = sorted((x["line"], x["reason"]) for x in r.rejects.iter_rows(named=True))
    assert got == [
        (3, "6 fields where the header has 7"),
        (4, "8 fields where the header has 7"),
        (5, "missing employee_id"),
    ]
    assert r.counts.read == 4 and r.counts.rejected == 3


def test_strict_turns_problems_into_an_error(fixtures: Path, workspace: Workspace) -> None:
    with pytest.raises(StrictImportError, match=r"unknown_manager.csv.*line 3"):
        ingest(workspace, import_orgchart(fixtures / "orgchart" / "unknown_manager.csv"),
               strict=True)
    assert not workspace.exists()


def test_same_day_duplicate_rows_keep_the_last(tmp_path: Path, workspace: Workspace) -> None:
    p = tmp_path / "dup.csv"
    p.write_text("employee_id,effective_date,full_name,work_email,manager_employee_id,team\n"
                 "E1,2024-01-01,Ada One,ada@x.example,,Core\n"
                 "E1,2024-01-01,Ada One,ada@x.example,,Edge\n")
    r = import_orgchart(p)
    assert r.counts.read == 2
    summary = ingest(workspace, r)
    assert (summary.counts.imported, summary.counts.duplicate) == (1, 1)
    assert workspace.read("memberships")["unit_id"].to_list() == ["edge"]


def test_reimport_is_a_noop_and_snapshots_build_history(tmp_path: Path, workspace: Workspace) -> None:
    p = tmp_path / "snap.csv"
    p.write_text("employee_id,full_name,work_email,manager_employee_id,team\n"
                 "E1,Ada One,ada@x.example,,Core\nE2,Ben Two,ben@x.example,E1,Core\n"
                 "E3,Cy Three,cy@x.example,E1,Core\n")
    ingest(workspace, import_orgchart(p, as_of=D(2024, 1, 1)))
    again = ingest(workspace, import_orgchart(p, as_of=D(2024, 1, 1)))
    assert again.counts.duplicate == 3 and all(v == 0 for v in again.rows_added.values())
    # Next month: Ben moved to Edge, Cy left.
    p.write_text("employee_id,full_name,work_email,manager_employee_id,team\n"
                 "E1,Ada One,ada@x.example,,Core\nE2,Ben Two,ben@x.example,E1,Edge\n")
    ingest(workspace, import_orgchart(p, as_of=D(2024, 2, 1)))
    m = workspace.read("memberships").sort("person_id", "valid_from")
    assert m.select("person_id", "unit_id", "valid_from", "valid_to").rows() == [
        ("E1", "core", D(2024, 1, 1), None),
        ("E2", "core", D(2024, 1, 1), D(2024, 2, 1)),
        ("E2", "edge", D(2024, 2, 1), None),
        ("E3", "core", D(2024, 1, 1), D(2024, 2, 1)),
    ]


def test_effective_dated_reimport_replaces_the_history_of_listed_people(
    fixtures: Path, workspace: Workspace, tmp_path: Path
) -> None:
    _load(workspace, fixtures / "orgchart" / "canonical.csv")
    p = tmp_path / "fix.csv"
    p.write_text("employee_id,effective_date,full_name,work_email,manager_employee_id,"
                 "department,team\nE0107,2021-06-01,Keiko Sato,ksato@example.com,E0002,"
                 "Engineering,Platform\n")
    _load(workspace, p)
    keiko = workspace.read("memberships").filter(pl.col("person_id") == "E0107")
    assert keiko.select("unit_id", "valid_to").rows() == [("engineering/platform", None)]
    assert workspace.read("memberships").filter(pl.col("person_id") == "E0031").height == 1


def test_parse_date() -> None:
    assert parse_date("2024-03-04") == D(2024, 3, 4)
    assert parse_date("2024-03-04T10:00:00Z") == D(2024, 3, 4)
    assert parse_date("2024/3/4") == D(2024, 3, 4)
    assert parse_date("04.03.2024", date_format="%d.%m.%Y") == D(2024, 3, 4)
    for bad, msg in (("03/04/2024", "ambiguous"), ("45123", "unrecognised"),
                     ("2024-02-30", "invalid")):
        with pytest.raises(ValueError, match=msg):
            parse_date(bad)


def test_parquet_and_json_array_inputs(tmp_path: Path, workspace: Workspace) -> None:
    rows = [{"employee_id": "007", "full_name": "Jay Bond", "work_email": "jb@x.example",
             "manager_employee_id": None, "team": "Ops", "effective_date": "2024-01-01"}]
    pl.DataFrame(rows).write_parquet(tmp_path / "chart.parquet")
    (tmp_path / "chart.json").write_text(json.dumps(rows))
    for name in ("chart.parquet", "chart.json"):
        r = import_orgchart(tmp_path / name)
        assert r.rejects.height == 0
    ingest(workspace, import_orgchart(tmp_path / "chart.parquet"))
    assert workspace.read("people")["person_id"].to_list() == ["007"]


def test_unreadable_files_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_orgchart(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        import_orgchart(tmp_path / "empty.csv")
    (tmp_path / "odd.csv").write_text("colour,size\nred,3\n")
    with pytest.raises(InputError, match="not an org chart"):
        import_orgchart(tmp_path / "odd.csv")


def test_cp1252_and_bom_are_decoded(tmp_path: Path) -> None:
    p = tmp_path / "latin.csv"
    p.write_bytes("employee_id,effective_date,full_name,work_email,manager_employee_id,team\n"
                  "E1,2024-01-01,José Müller,jm@x.example,,Core\n".encode("cp1252"))
    r = import_orgchart(p)
    assert any("cp1252" in n for n in r.notes)
    names = r.tables["identities"].filter(pl.col("source") == "hris")["name"].to_list()
    assert names == ["José Müller"]
    q = tmp_path / "bom.csv"
    q.write_bytes(b"\xef\xbb\xbf" + b"employee_id,full_name,work_email,team\nE1,A B,a@x.example,C\n"
)
    assert import_orgchart(q, as_of=D(2024, 1, 1)).counts.read == 1


def test_membership_list_with_dates_and_people_file(tmp_path: Path, workspace: Workspace) -> None:
    (tmp_path / "people.csv").write_text("github,github_id,name,email\n"
                                         "ana,11,Ana Ruiz,ana@x.example\nbo,12,Bo Li,\n")
    (tmp_path / "members.csv").write_text(
        "person,unit,role,valid_from,valid_to\n"
        "ana,core,lead,2024-01-01,\nbo,core,member,2024-01-01,2024-06-01\n"
        "bo,core,member,2024-01-01,2024-06-01\n,core,member,2024-01-01,\n")
    r = import_orgchart(tmp_path / "members.csv", people=tmp_path / "people.csv",
                        source_name="maintainers-x")
    assert [(x["line"], x["reason"]) for x in r.rejects.iter_rows(named=True)] == [
        (5, "missing person")]
    s = ingest(workspace, r)
    assert (s.counts.read, s.counts.imported, s.counts.duplicate, s.counts.rejected) == (4, 2, 1, 1)
    m = workspace.read("memberships").join(workspace.read("people"), on="person_id")
    assert sorted(m.select("display_name", "unit_id", "role", "valid_to").rows()) == [
        ("Ana Ruiz", "maintainers-x:core", "lead", None),
        ("Bo Li", "maintainers-x:core", "member", D(2024, 6, 1)),
    ]
    again = ingest(workspace, import_orgchart(tmp_path / "members.csv",
                                              people=tmp_path / "people.csv",
                                              source_name="maintainers-x"))
    assert again.rows_added["memberships"] == 0


def test_rust_team_org_chart(realdata: Path, workspace: Workspace) -> None:
    d = realdata / "cargo-rust-team"
    r = import_orgchart(d / "rust_team_end.team_members.tsv",
                        people=d / "rust_team_end.people.tsv", units=d / "rust_team_end.teams.tsv")
    summary = ingest(workspace, r)
    # Figures checked with awk/cut on the TSV files: 1,269 rows, 150 teams, 498 distinct logins.
    assert summary.counts.read == 1269 and summary.counts.imported == 1269
    assert summary.counts.rejected == 0
    assert workspace.read("units").height == 150
    m = workspace.read("memberships")
    assert m["member_identity_id"].n_unique() == 498
    cargo = (m.filter(pl.col("unit_id") == "rust-team:cargo")
             .join(workspace.read("identities"), left_on="member_identity_id",
                   right_on="identity_id")
             .group_by("role").agg(pl.col("username").sort()))
    roles = dict(cargo.rows())
    assert roles["lead"] == ["ehuss"]
    assert roles["member"] == ["Eh2406", "Muscraft", "arlosi", "ehuss", "epage",
                               "joshtriplett", "weihanglo"]
    assert len(roles["alumni"]) == 8
    units = workspace.read("units")
    assert units.filter(pl.col("unit_id") == "rust-team:cargo")["parent_id"].item() == (
        "rust-team:devtools")
    names = workspace.read("people").filter(pl.col("person_id").is_in(
        m.filter(pl.col("unit_id") == "rust-team:cargo", pl.col("role") == "lead")["person_id"]
        .to_list()))["display_name"].to_list()
    assert names == ["Eric Huss"]


def test_rust_team_monthly_snapshots_give_join_dates(realdata: Path, workspace: Workspace) -> None:
    d = realdata / "cargo-rust-team"
    ingest(workspace, import_orgchart(d / "rust_team_monthly.team_members.tsv.gz",
                                      people=d / "rust_team_end.people.tsv"))
    m = (workspace.read("memberships")
         .join(workspace.read("identities"), left_on="member_identity_id", right_on="identity_id")
         .filter(pl.col("unit_id") == "rust-team:cargo", pl.col("role") == "member"))
    first = dict(m.group_by("username").agg(pl.col("valid_from").min()).rows())
    # README: weihanglo joins in the 2022-03-01 snapshot, epage 2022-04-01, Muscraft and arlosi
    # 2023-03-01; alexcrichton is a member until the 2022-04-01 snapshot.
    assert first["weihanglo"] == D(2022, 3, 1)
    assert first["epage"] == D(2022, 4, 1)
    assert first["Muscraft"] == D(2023, 3, 1) and first["arlosi"] == D(2023, 3, 1)
    alex = m.filter(pl.col("username") == "alexcrichton")
    assert alex.select("valid_from", "valid_to").rows() == [(D(2021, 11, 1), D(2022, 4, 1))]


def test_snapshot_rows_without_a_date_are_rejected(tmp_path: Path, workspace: Workspace) -> None:
    p = tmp_path / "monthly.csv"
    p.write_text("snapshot_date,team,github,role\n2024-01-01,core,ana,member\n"
                 ",core,bo,member\n2024-02-01,core,ana,member\n")
    r = import_orgchart(p)
    assert [(x["line"], x["reason"]) for x in r.rejects.iter_rows(named=True)] == [
        (3, "missing snapshot_date")]
    s = ingest(workspace, r)
    assert (s.counts.read, s.counts.rejected) == (3, 1) and s.counts.adds_up()
    spans = workspace.read("memberships").select("valid_from", "valid_to").rows()
    assert spans == [(D(2024, 1, 1), None)]


def test_units_file_rows_without_a_name_are_flagged(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("person,unit,role\nana,core,member\n")
    (tmp_path / "u.csv").write_text("team,kind,subteam_of\ncore,team,\n,team,core\n")
    r = import_orgchart(tmp_path / "m.csv", units=tmp_path / "u.csv")
    assert [(Path(x["source_file"]).name, x["line"], x["outcome"]) for x in
            r.rejects.iter_rows(named=True)] == [("u.csv", 3, "flagged")]
    assert r.counts.read == 1
