"""Pseudonymisation (orgnet.privacy): one person across sources, no originals on disk, the map."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from orgnet.config import Config, PrivacyConfig
from orgnet.exceptions import ConfigError, WorkspaceError
from orgnet.importers._base import ImportResult
from orgnet.importers.git import import_git
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.owners import import_owners
from orgnet.importers.slack import import_slack
from orgnet.ingest import ingest
from orgnet.privacy import (
    PRIVACY_FILE,
    Pseudonymizer,
    check_workspace_mode,
    key_fingerprint,
    load_key,
    pseudonymize_result,
    write_reidentify_map,
)
from orgnet.schema import TABLES
from orgnet.workspace import Workspace

from ._gitlog import git_record

KEY = b"k" * 32
OTHER_KEY = b"z" * 32

ORGCHART = """employee_id,full_name,work_email,manager_employee_id,department,team,title,\
github_login,slack_user_id
E0107,Ana Ruiz,ana.ruiz@acme.example,E0002,Engineering,Platform,Engineer,anaruiz,U01ANA
E0108,Ben Okafor,ben@acme.example,E0002,Engineering,Platform,Engineer,,
E0002,Dana Boss,dana@acme.example,,Engineering,,VP Engineering,,
"""


def git_log(tmp: Path) -> Path:
    text = "".join([
        git_record("a" * 40, "", "Ana Ruiz", "Ana.Ruiz@ACME.example", "2024-05-01T10:00:00+00:00",
                   "Add widget", ["Reviewed-by: Ben Okafor <ben@acme.example>",
                                  "Co-authored-by: Zed Outsider <zed@elsewhere.example>"],
                   ["3\t1\tsrc/widget.py"]),
        git_record("b" * 40, "a" * 40, "Ben Okafor", "ben@acme.example",
                   "2024-05-02T10:00:00+00:00", "Fix widget",
                   ["Acked-by: Ana Ruiz <ana.ruiz@acme.example>"], ["1\t1\tsrc/widget.py"]),
        git_record("c" * 40, "b" * 40, "dependabot[bot]",
                   "49699333+dependabot[bot]@users.noreply.github.com",
                   "2024-05-03T10:00:00+00:00", "Bump", [], ["1\t1\treq.txt"]),
        git_record("d" * 40, "c" * 40, "Ana Ruiz", "12345+AnaRuiz@users.noreply.github.com",
                   "2024-05-04T10:00:00+00:00", "Web edit", [], ["1\t0\tREADME.md"]),
    ])
    path = tmp / "widgets.gitlog"
    path.write_text(text, encoding="utf-8")
    return path


ORIGINALS = [
    "ana.ruiz@acme.example", "Ana Ruiz", "ana ruiz", "anaruiz", "U01ANA", "E0107", "E0108",
    "E0002", "ben@acme.example", "Ben Okafor", "Okafor", "Dana Boss", "dana@acme.example",
    "zed@elsewhere.example", "Zed Outsider", "Chloé Martin", "chloe@acme.example", "U02BEN",
    "U03CHLOE", "12345+", "mpdm-ana--ben--chloe-1",
]


def results(tmp: Path, fixtures: Path) -> list[ImportResult]:
    chart = tmp / "hris.csv"
    chart.write_text(ORGCHART, encoding="utf-8")
    return [
        import_orgchart(chart),
        import_git(git_log(tmp), repo_name="acme/widgets"),
        import_slack(fixtures / "slack" / "export"),
    ]


def load(ws: Workspace, items: list[ImportResult]) -> None:
    for r in items:
        ingest(ws, r, sha256="x")


def partition(ident: pl.DataFrame) -> set[frozenset[str]]:
    groups = ident.group_by("person_id").agg(pl.col("identity_id"))
    return {frozenset(ids) for ids in groups["identity_id"].to_list()}


@pytest.fixture
def pseudo_ws(tmp_path: Path, fixtures: Path) -> tuple[Workspace, dict[str, str]]:
    ws = Workspace(tmp_path / "pws", lock_timeout=30)
    mapping: dict[str, str] = {}
    load(ws, [pseudonymize_result(r, KEY, reidentify=mapping)
              for r in results(tmp_path, fixtures)])
    return ws, mapping


def test_same_person_resolves_once(tmp_path: Path, fixtures: Path,
                                   pseudo_ws: tuple[Workspace, dict[str, str]]) -> None:
    ws, _ = pseudo_ws
    ident = ws.read("identities")
    pz = Pseudonymizer(KEY)
    ana_email = pz.email("ana.ruiz@acme.example")
    ana_pid = pz.employee_id("E0107")
    assert ana_email is not None and ana_email.endswith("@acme.example")
    # Git (two addresses: the work address and the GitHub noreply one), Slack and the org chart.
    ana = ident.filter(pl.col("person_id") == ana_pid)
    assert set(ana["source"].to_list()) >= {"git", "slack", "hris", "email", "github"}
    assert ana.filter(pl.col("source") == "git").height == 2
    assert set(ana.filter(pl.col("source") == "slack")["native_id"]) == {pz.native_id("U01ANA")}
    # The same partition of handles into people as without pseudonymisation.
    plain = Workspace(tmp_path / "plain", lock_timeout=30)
    load(plain, results(tmp_path, fixtures))
    plain_ident = plain.read("identities")
    renamed = plain_ident.with_columns(
        pl.col("identity_id").map_elements(pz.identity_id, return_dtype=pl.String))
    assert partition(renamed) == partition(ident)
    assert ws.read("people").height == plain.read("people").height
    # Bots stay bots although their handles are replaced.
    assert ws.read("people")["is_bot"].sum() == plain.read("people")["is_bot"].sum() >= 1
    # Memberships point at pseudonymised employee ids and managers.
    members = ws.read("memberships")
    assert {pz.employee_id("E0107"), pz.employee_id("E0108")} <= set(members["person_id"])
    assert pz.employee_id("E0002") in set(members["manager_id"].drop_nulls())


def _all_text(ws: Workspace) -> str:
    parts = [ws.meta_path.read_text(encoding="utf-8")]
    for f in sorted((ws.path / "tables").glob("*.parquet")):
        df = pl.read_parquet(f)
        for col in df.columns:
            parts.extend(str(v) for v in df[col].to_list())
    return "\n".join(parts)


def test_no_original_in_the_workspace(pseudo_ws: tuple[Workspace, dict[str, str]]) -> None:
    ws, _ = pseudo_ws
    assert set(ws.counts()) == set(TABLES)
    text = _all_text(ws).lower()
    leaked = [o for o in ORIGINALS if o.lower() in text]
    assert leaked == []
    # Titles and team names are kept (they are not identities).
    assert "platform" in text and "vp engineering" in text


def test_reidentify_map(tmp_path: Path, pseudo_ws: tuple[Workspace, dict[str, str]]) -> None:
    ws, mapping = pseudo_ws
    pz = Pseudonymizer(KEY)
    assert mapping[pz.email("ana.ruiz@acme.example") or ""] == "ana.ruiz@acme.example"
    assert mapping[pz.employee_id("E0107") or ""] == "E0107"
    assert mapping[pz.name("Ana Ruiz") or ""] == "Ana Ruiz"
    assert mapping[pz.username("anaruiz") or ""] == "anaruiz"
    out = write_reidentify_map(mapping, tmp_path / "secret" / "map.csv", workspace=ws)
    with out.open(encoding="utf-8") as fh:
        rows = {r["pseudonym"]: r["original"] for r in csv.DictReader(fh)}
    assert rows == mapping
    assert (out.stat().st_mode & 0o777) == 0o600
    # A second import extends the map; a path inside the workspace is refused.
    write_reidentify_map({"Person x": "=HYPERLINK(1)"}, out, workspace=ws)
    with out.open(encoding="utf-8") as fh:
        rows2 = {r["pseudonym"]: r["original"] for r in csv.DictReader(fh)}
    assert len(rows2) == len(rows) + 1 and rows2["Person x"] == "'=HYPERLINK(1)"
    with pytest.raises(ConfigError, match="apart from the workspace"):
        write_reidentify_map(mapping, ws.path / "map.csv", workspace=ws)
    with pytest.raises(ConfigError, match="apart from the workspace"):
        write_reidentify_map(mapping, ws.path / "tables" / ".." / "m.csv", workspace=ws.path)


def test_keyed_deterministic_and_key_dependent(tmp_path: Path, fixtures: Path) -> None:
    first = results(tmp_path, fixtures)
    second = results(tmp_path, fixtures)
    for a, b in zip(first, second, strict=True):
        pa, pb = pseudonymize_result(a, KEY), pseudonymize_result(b, KEY)
        pc = pseudonymize_result(a, OTHER_KEY)
        for table in pa.tables:
            assert pa.tables[table].equals(pb.tables[table]), table
        ia, ic = pa.tables["identities"], pc.tables["identities"]
        assert set(ia["identity_id"]).isdisjoint(set(ic["identity_id"]))
        emails_a = set(ia["email"].drop_nulls()) - {"noreply@github.com"}
        emails_c = set(ic["email"].drop_nulls()) - {"noreply@github.com"}
        assert emails_a.isdisjoint(emails_c)
    # Re-importing the same pseudonymised data changes nothing.
    ws = Workspace(tmp_path / "ws", lock_timeout=30)
    load(ws, [pseudonymize_result(r, KEY) for r in first])
    for r in results(tmp_path, fixtures):
        summary = ingest(ws, pseudonymize_result(r, KEY), sha256="x")
        assert sum(summary.rows_added.values()) == 0, summary.rows_added


def test_pseudonym_forms() -> None:
    pz = Pseudonymizer(KEY)
    assert pz.email(" Ana.Ruiz@ACME.example ") == pz.email("ana.ruiz@acme.example")
    assert pz.email("noreply@github.com") == "noreply@github.com"
    assert (pz.email("root@ana-laptop") or "").endswith("@localhost")
    assert (pz.email("noreply@acme.example") or "") == "noreply@acme.example"
    assert pz.email("not an address", ) is not None and "@" not in (pz.email("x y") or "")
    gh = pz.email("12345+AnaRuiz@users.noreply.github.com")
    assert gh == f"{pz.username('anaruiz')}@users.noreply.github.com"
    assert pz.username("@AnaRuiz") == pz.username("anaruiz")
    assert pz.name("Ana  Ruíz") == pz.name("ana ruiz")
    assert (pz.name("Ana Ruiz") or "").startswith("Person ")
    assert (pz.name("ana") or "").startswith("Person-")
    assert pz.owner_handle("@acme/platform", person=False) == "@acme/platform"
    assert pz.owner_handle("@AnaRuiz", person=True) == "@" + (pz.username("anaruiz") or "")
    assert pz.owner_handle("*", person=False) == "*"
    hidden = Pseudonymizer(KEY, keep_email_domains=False).email("ana@acme.example")
    assert hidden is not None and hidden.endswith("@pseudo.invalid")
    assert pz.artifact_id("mbox:dev:<a.b@ana-laptop>") != "mbox:dev:<a.b@ana-laptop>"
    assert (pz.artifact_id("mbox:dev:<a.b@ana-laptop>") or "").startswith("mbox:dev:m")
    assert pz.artifact_id("github:acme/w#1") == "github:acme/w#1"


def test_owners_and_rejects(tmp_path: Path) -> None:
    co = tmp_path / "CODEOWNERS"
    co.write_text("*.py @AnaRuiz @acme/platform ana.ruiz@acme.example\n"
                  "docs/ @ben-okafor Ben Okafor\n", encoding="utf-8")
    result = pseudonymize_result(import_owners(co, kind="codeowners", container="acme/w"), KEY)
    own = result.tables["ownership"]
    handles = set(own["owner_handle"].drop_nulls())
    pz = Pseudonymizer(KEY)
    assert "@acme/platform" in handles
    assert "@" + (pz.username("anaruiz") or "") in handles
    assert pz.email("ana.ruiz@acme.example") in handles
    assert not any("ana" in (h or "").lower() for h in handles - {"@acme/platform"})
    rej = result.rejects
    assert rej.height == 1 and rej["raw_excerpt"].null_count() == 1
    assert "ben-okafor" not in str(rej.to_dicts()).lower()
    assert "okafor" not in str(rej.to_dicts()).lower()


def test_orgchart_rejects_and_notes_are_scrubbed(tmp_path: Path) -> None:
    chart = tmp_path / "hris.csv"
    chart.write_text(ORGCHART + "E0109,Carl Nope,not-an-address,E0999,Engineering,Platform,X,,\n",
                     encoding="utf-8")
    raw = import_orgchart(chart)
    assert "E0999" in str(raw.rejects.to_dicts()) or "not-an-address" in str(raw.rejects.to_dicts())
    result = pseudonymize_result(raw, KEY)
    text = str(result.rejects.to_dicts()) + " ".join(result.notes)
    for original in ("E0999", "not-an-address", "E0002", "E0107", "Carl Nope"):
        assert original not in text
    assert result.options["pseudonymized"] is True


def test_load_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORGNET_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigError, match="ORGNET_PSEUDONYM_KEY"):
        load_key(Config())
    monkeypatch.setenv("ORGNET_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigError, match="at least 16"):
        load_key(Config())
    monkeypatch.setenv("ORGNET_PSEUDONYM_KEY", "0123456789abcdef0123")
    assert load_key(Config()) == b"0123456789abcdef0123"
    monkeypatch.setenv("MY_KEY", "  " + "x" * 40 + "\n")
    assert load_key(PrivacyConfig(key_env="MY_KEY")) == b"x" * 40
    key_file = tmp_path / "keys" / "orgnet.key"
    key_file.parent.mkdir()
    key_file.write_bytes(b"y" * 32 + b"\n")
    assert load_key(PrivacyConfig(key_file=str(key_file))) == b"y" * 32
    cfg = Config(privacy=PrivacyConfig(key_file="keys/orgnet.key"), path=tmp_path / "orgnet.toml")
    assert load_key(cfg) == b"y" * 32
    with pytest.raises(ConfigError, match="cannot read"):
        load_key(PrivacyConfig(key_file=str(tmp_path / "missing.key")))
    with pytest.raises(ConfigError, match="inside the workspace"):
        load_key(PrivacyConfig(key_file=str(key_file)), workspace=tmp_path / "keys")
    assert key_fingerprint(KEY) == key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)
    assert KEY.decode() not in key_fingerprint(KEY)


def test_mixing_is_refused(tmp_path: Path, fixtures: Path) -> None:
    chart = tmp_path / "hris.csv"
    chart.write_text(ORGCHART, encoding="utf-8")
    fp = key_fingerprint(KEY)
    ws = Workspace(tmp_path / "pws", lock_timeout=30)
    check_workspace_mode(ws, fp)
    assert json.loads((ws.path / PRIVACY_FILE).read_text()) == {
        "key_fingerprint": fp, "pseudonymized": True}
    ingest(ws, pseudonymize_result(import_orgchart(chart), KEY), sha256="x")
    check_workspace_mode(ws, fp)  # the same key again is fine
    with pytest.raises(WorkspaceError, match="pseudonymised data"):
        check_workspace_mode(ws, None)
    with pytest.raises(WorkspaceError, match="another key"):
        check_workspace_mode(ws, key_fingerprint(OTHER_KEY))
    # A plain workspace (even one made before privacy.json existed) refuses pseudonyms.
    plain = Workspace(tmp_path / "plain", lock_timeout=30)
    ingest(plain, import_orgchart(chart), sha256="x")
    with pytest.raises(WorkspaceError, match="plain"):
        check_workspace_mode(plain, fp)
    check_workspace_mode(plain, None)
    assert json.loads((plain.path / PRIVACY_FILE).read_text())["pseudonymized"] is False
    with pytest.raises(WorkspaceError, match="plain"):
        check_workspace_mode(plain.path, fp)
    # privacy.json survives later transactions (garbage collection only touches tables/).
    ingest(ws, pseudonymize_result(import_orgchart(chart), KEY), sha256="y")
    assert (ws.path / PRIVACY_FILE).is_file()


def test_sample_organisation_gives_the_same_findings(tmp_path: Path) -> None:
    """On the bundled sample organisation, pseudonymisation changes no person and no finding."""
    from orgnet.analysis.registry import run_analyses
    from orgnet.dataset import Dataset
    from orgnet.pipeline import SAMPLE_FILES, sample_repo

    sample = Path(__file__).resolve().parents[1] / "sample_data"
    if not (sample / "hris.csv").is_file():
        pytest.skip("sample_data/ is not there")
    repo = sample_repo(sample)
    plain, pseudo = Workspace(tmp_path / "plain"), Workspace(tmp_path / "pseudo")
    for name, _kind, target, options in SAMPLE_FILES:
        module, _, fn = target.partition(":")
        importer = getattr(__import__(module, fromlist=[fn]), fn)
        opts = {k: (v.format(repo=repo) if isinstance(v, str) else v) for k, v in options.items()}
        ingest(plain, importer(sample / name, **opts), sha256="x")
        ingest(pseudo, pseudonymize_result(importer(sample / name, **opts), KEY), sha256="x")
    pz = Pseudonymizer(KEY)
    renamed = plain.read("identities").with_columns(
        pl.col("identity_id").map_elements(pz.identity_id, return_dtype=pl.String))
    assert partition(renamed) == partition(pseudo.read("identities"))
    assert pseudo.read("people")["is_bot"].sum() == plain.read("people")["is_bot"].sum()

    def summary(ws: Workspace) -> list[tuple[str, float]]:
        run = run_analyses(Dataset.from_workspace(ws), unit_kind="team")
        return sorted((f.kind, round(f.severity, 9)) for f in run.findings)

    found = summary(plain)
    assert len(found) >= 10
    assert summary(pseudo) == found
