"""Ownership-file importer: CODEOWNERS, OWNERS (Kubernetes, Chromium), OWNERS_ALIASES, MAINTAINERS."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import ConfigError, InputError
from orgnet.importers._base import identity_id_for
from orgnet.importers.owners import _YamlError, detect, import_owners, load_yaml_subset
from orgnet.ingest import ingest
from orgnet.schema import validate
from orgnet.workspace import Workspace

OWN = Path(__file__).resolve().parents[1] / "fixtures" / "owners"


def _rows(result, table: str, *cols: str) -> list[tuple]:
    return result.tables[table].select(list(cols)).rows()


def _rejects(result) -> list[tuple]:
    return result.rejects.select("line", "field", "reason", "outcome").rows()


# -- detection -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [("CODEOWNERS", True), ("MAINTAINERS", True), ("AUTHORS", True), ("k8s", True),
     ("k8s/OWNERS_ALIASES", True), ("chromium/OWNERS", True), ("CODEOWNERS.bad", True)],
)
def test_detect_known_files(name: str, expected: bool) -> None:
    assert detect(OWN / name) is expected


def test_detect_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("M: not an ownership file\n")
    (tmp_path / "AUTHORS").write_text("Ana Ruiz\nBo Chen\n")  # a plain author list
    assert not detect(tmp_path / "notes.txt")
    assert not detect(tmp_path / "AUTHORS")
    assert not detect(tmp_path)  # no OWNERS at the top
    assert not detect(tmp_path / "missing")


def test_gzipped_copy_by_name_and_by_content(tmp_path: Path) -> None:
    data = (OWN / "MAINTAINERS").read_bytes()
    named = tmp_path / "MAINTAINERS.start.txt.gz"
    named.write_bytes(gzip.compress(data))
    anonymous = tmp_path / "snapshot.gz"
    anonymous.write_bytes(gzip.compress(data))
    assert detect(named)
    plain = import_owners(OWN / "MAINTAINERS")
    for path in (named, anonymous):
        r = import_owners(path)
        assert r.options["kind"] == "maintainers"
        assert r.tables["ownership"].drop("_rec").equals(plain.tables["ownership"].drop("_rec"))


def test_unknown_kind_and_bad_options(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello\n")
    with pytest.raises(InputError, match="pass kind"):
        import_owners(tmp_path / "x.txt")
    with pytest.raises(ConfigError):
        import_owners(OWN / "MAINTAINERS", kind="gerrit")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        import_owners(OWN / "MAINTAINERS", as_of="last tuesday")
    with pytest.raises(InputError, match="no such file"):
        import_owners(tmp_path / "missing")
    with pytest.raises(InputError, match="directory"):
        import_owners(OWN / "k8s", kind="maintainers")


# -- CODEOWNERS ----------------------------------------------------------------------------------
def test_codeowners_rules_in_file_order() -> None:
    r = import_owners(OWN / "CODEOWNERS", container="acme/widgets")
    assert _rows(r, "ownership", "rule_order", "pattern", "owner_handle") == [
        (2, "*", "@acme/eng-leads"),
        (3, "/ingest/", "@acme/data-platform"),
        (3, "/ingest/", "@priya-r"),
        (4, "/ingest/http.py", "@lortega"),
        (5, "*.proto", "api-council@example.com"),
        (6, "/ingest/vendor/", None),  # no owners: un-owns the path
        (7, "docs/*", "@docs-team-lead"),
        (8, "apps/", "@acme/apps"),
        (9, "\\#notes.md", "@priya-r"),  # escaped '#': a pattern, not a comment
    ]
    own = r.tables["ownership"]
    assert set(own["source"]) == {"codeowners"}
    assert set(own["role"]) == {"code_owner"}
    assert set(own["container"]) == {"acme/widgets"}
    assert set(own["source_file"]) == {"CODEOWNERS"}
    assert not own["negate"].any()
    # Teams keep only their handle: the resolver maps them to units.
    assert own.filter(pl.col("owner_handle").str.contains("/"))["owner_identity_id"].null_count() == 3
    assert r.tables.get("units") is None
    idents = r.tables["identities"]
    login = idents.filter(pl.col("username") == "priya-r").row(0, named=True)
    assert (login["source"], login["native_id"]) == ("github", "priya-r")
    assert own.filter(pl.col("owner_handle") == "@priya-r")["owner_identity_id"].to_list() == [
        identity_id_for("github", "priya-r")
    ] * 2
    mail = idents.filter(pl.col("source") == "email").row(0, named=True)
    assert mail["email"] == "api-council@example.com"
    assert r.counts.read == 8 and r.rejects.height == 0
    validate("ownership", own.drop("_rec"))


def test_codeowners_invalid_lines_are_rejected_with_line_numbers() -> None:
    r = import_owners(OWN / "CODEOWNERS.bad", kind="codeowners")
    assert _rejects(r) == [
        (3, "pattern", "invalid pattern: negation (!) is not supported in CODEOWNERS", "rejected"),
        (4, "pattern", "invalid pattern: character classes ([...]) are not supported in "
                       "CODEOWNERS", "rejected"),
        (5, "owner", "invalid owner 'not-an-owner' (GitHub skips the whole line)", "rejected"),
    ]
    assert _rows(r, "ownership", "rule_order", "pattern") == [(2, "*"), (7, "lib/")]
    assert r.counts.skipped_reasons == {"GitLab section header (sections are read as one list)": 1}
    assert (r.counts.read, r.counts.rejected, r.counts.skipped) == (6, 3, 1)


def test_comments_are_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "CODEOWNERS"
    path.write_text("# CANARY-7f3a owner notes\n*.py @ana # CANARY-7f3a inline\n"
                    "\n   # CANARY-7f3a indented\n")
    r = import_owners(path)
    for frame in [*r.tables.values(), r.rejects]:
        for col in frame.columns:
            if frame[col].dtype == pl.String:
                assert not frame[col].str.contains("CANARY-7f3a").any(), col
    assert r.counts.read == 1


# -- MAINTAINERS ---------------------------------------------------------------------------------
def test_maintainers_sections_people_and_patterns() -> None:
    r = import_owners(OWN / "MAINTAINERS", container="acme/widgets", as_of="2026-07-01")
    units = r.tables["units"]
    assert units.select("unit_id", "name", "kind", "parent_id").rows() == [
        ("maint:acme/widgets:ingest-http-client", "INGEST HTTP CLIENT", "maintainer_section", None),
        ("maint:acme/widgets:ingest-vendor", "INGEST VENDOR", "maintainer_section", None),
        ("maint:acme/widgets:docs", "DOCS", "maintainer_section", None),
        ("maint:acme/widgets:the-rest", "THE REST", "maintainer_section", None),
    ]
    assert _rows(r, "ownership", "rule_order", "pattern", "negate", "owner_unit_id") == [
        (19, "ingest/", False, "maint:acme/widgets:ingest-http-client"),
        (20, "ingest/vendor/", True, "maint:acme/widgets:ingest-http-client"),
        (26, "ingest/vendor/", False, "maint:acme/widgets:ingest-vendor"),
        (31, "docs/*", False, "maint:acme/widgets:docs"),
        (32, "*/README", False, "maint:acme/widgets:docs"),
        (36, "*", False, "maint:acme/widgets:the-rest"),
        (37, "*/", False, "maint:acme/widgets:the-rest"),
    ]
    m = r.tables["memberships"]
    priya = identity_id_for("maintainers", "priya.raman@example.com")
    assert m.filter(pl.col("member_identity_id") == priya).select("unit_id", "role").rows() == [
        ("maint:acme/widgets:ingest-http-client", "maintainer"),
        ("maint:acme/widgets:docs", "maintainer"),  # written Priya.Raman@: same identity
    ]
    assert m["person_id"].to_list() == m["member_identity_id"].to_list()  # placeholder
    assert set(m["valid_from"]) == {dt.date(2026, 7, 1)}
    assert set(m["precision"]) == {"snapshot"} and set(m["source"]) == {"maintainers"}
    assert m.filter(pl.col("role") == "reviewer").height == 1
    ident = r.tables["identities"].filter(pl.col("identity_id") == priya).row(0, named=True)
    assert (ident["name"], ident["email"]) == ("Priya Raman", "priya.raman@example.com")
    # N:, K:, L:, S:, T: lines and the preamble produce nothing.
    assert r.counts.read == 4 and r.rejects.height == 0


def test_maintainers_without_as_of_is_undated() -> None:
    m = import_owners(OWN / "MAINTAINERS").tables["memberships"]
    assert m["valid_from"].null_count() == m.height
    assert set(m["precision"]) == {"unknown"}
    assert m["unit_id"].str.starts_with("maint:").all()


def test_maintainers_malformed() -> None:
    r = import_owners(OWN / "MAINTAINERS.bad", kind="maintainers")
    assert _rejects(r) == [
        (3, "M", "tag line outside a section (no title above it)", "rejected"),
        (6, "M", "M: entry without an e-mail address", "repaired"),
        (7, "M", "M: malformed address (extra '<' or '>') was repaired", "repaired"),
        (9, "F", "empty F: pattern", "repaired"),
        (12, "title", "section title repeated; its entries are merged into the first one",
         "flagged"),
    ]
    kim = r.tables["identities"].filter(pl.col("email") == "kim.lee@example.com")
    assert kim["name"].to_list() == ["Kim Lee"]
    assert _rows(r, "ownership", "pattern") == [("src/",), ("lib/",)]
    assert r.tables["units"].height == 1
    assert (r.counts.read, r.counts.rejected) == (3, 1)


def test_grouped_maintainers_units_form_a_tree() -> None:
    r = import_owners(OWN / "MAINTAINERS.grouped", container="dp")
    units = {u: (name, kind, parent) for u, name, parent, kind in
             r.tables["units"].select("unit_id", "name", "parent_id", "kind").rows()}
    assert units["maint:dp:group:networking-drivers"] == (
        "Networking Drivers", "maintainer_group", None)
    # The same title in two groups is two sections.
    assert units["maint:dp:networking-drivers/acme-nic"] == (
        "Acme nic", "maintainer_section", "maint:dp:group:networking-drivers")
    assert units["maint:dp:crypto-drivers/acme-nic"][2] == "maint:dp:group:crypto-drivers"
    # Entries right under a group heading belong to the group unit.
    assert ("drivers/net/meson.build", "maint:dp:group:networking-drivers") in _rows(
        r, "ownership", "pattern", "owner_unit_id")
    assert r.rejects.height == 0 and r.counts.read == 7


def test_authors_file_owns_the_whole_repository() -> None:
    r = import_owners(OWN / "AUTHORS", container="erofs-utils")
    assert r.options["kind"] == "authors"
    assert _rows(r, "ownership", "pattern", "owner_unit_id") == [
        ("*", "maint:erofs-utils:widget-utilities"), ("*/", "maint:erofs-utils:widget-utilities")]
    assert sorted(_rows(r, "memberships", "role")) == [("maintainer",), ("reviewer",)]


# -- Kubernetes and Chromium OWNERS ----------------------------------------------------------------
def test_k8s_owners_tree_with_aliases() -> None:
    r = import_owners(OWN / "k8s", container="acme/widgets")
    rows = set(_rows(r, "ownership", "source_file", "pattern", "role", "owner_handle"))
    assert rows == {
        ("OWNERS", "/", "approver", "root-approver"),
        ("OWNERS", "/", "reviewer", "lortega"),  # alias api-reviewers expanded
        ("OWNERS", "/", "reviewer", "Kim-L"),
        ("ingest/OWNERS", "ingest/", "no_parent_owners", None),
        ("ingest/OWNERS", "ingest/", "approver", "ada-q"),  # alias sig-data-leads expanded
        ("ingest/OWNERS", "ingest/", "approver", "omarh"),
        ("ingest/OWNERS", "ingest/", "approver", "priya-r"),
        ("ingest/OWNERS", "ingest/", "reviewer", "lortega"),
        ("ingest/OWNERS", "ingest/", "emeritus_approver", "kwatanabe"),
        ("ingest/vendor/OWNERS", "ingest/vendor/", "reviewer", "vendor-bot"),
        ("api/OWNERS", "api/", "approver", "api-lead"),  # filter ".*" is the whole directory
        ("api/OWNERS", "api/{re:\\.proto$}", "reviewer", "proto-expert"),
    }
    bot = r.tables["identities"].filter(pl.col("username") == "vendor-bot")
    assert bot["is_bot"].to_list() == [True]
    aliases = r.tables["units"].filter(pl.col("kind") == "owners_alias")
    assert sorted(aliases["unit_id"]) == ["alias:acme/widgets:api-reviewers",
                                         "alias:acme/widgets:sig-data-leads"]
    assert r.tables["memberships"].height == 4
    assert r.rejects.height == 0


def test_single_owners_file_uses_sibling_aliases() -> None:
    r = import_owners(OWN / "k8s" / "ingest" / "OWNERS", aliases=OWN / "k8s" / "OWNERS_ALIASES")
    handles = set(_rows(r, "ownership", "pattern", "owner_handle"))
    assert ("/", "ada-q") in handles and ("/", "sig-data-leads") not in handles


def test_owners_aliases_alone() -> None:
    r = import_owners(OWN / "k8s" / "OWNERS_ALIASES", as_of=dt.date(2025, 1, 1))
    assert r.options["kind"] == "owners_aliases"
    assert r.counts.read == 2
    m = r.tables["memberships"]
    assert set(m["role"]) == {"member"} and set(m["valid_from"]) == {dt.date(2025, 1, 1)}
    assert "ownership" not in r.tables


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("approvers:\n  - ana\n reviewers:\n  - bo\n", 3, "unexpected indentation"),
        ("approvers:\n\t- ana\n", 2, "tab in indentation"),
        ("approvers: &a [ana]\n", 1, "unsupported YAML feature"),
        ("approvers:\n- ana\napprovers:\n- bo\n", 3, "duplicate key"),
        ("approvers: [ana\n", 1, "flow list must close"),
        ("approvers:\n  - 'ana\n", 2, "unterminated"),
    ],
)
def test_owners_yaml_errors_are_rejected(tmp_path: Path, text: str, line: int, reason: str) -> None:
    (tmp_path / "OWNERS").write_text(text)
    r = import_owners(tmp_path / "OWNERS")
    assert r.counts.rejected == 1
    row = r.rejects.row(0, named=True)
    assert row["line"] == line and reason in row["reason"]


def test_owners_wrong_types_are_repaired(tmp_path: Path) -> None:
    (tmp_path / "OWNERS").write_text(
        "approvers:\n  key: value\nreviewers: [ana, 'bad name!']\nsurprise: 1\n"
        "filters:\n  '[unclosed':\n    approvers: [bo]\n"
    )
    r = import_owners(tmp_path / "OWNERS")
    reasons = [(x[1], x[3]) for x in _rejects(r)]
    assert ("approvers", "repaired") in reasons
    assert ("reviewers", "repaired") in reasons
    assert ("surprise", "flagged") in reasons
    assert ("filters", "repaired") in reasons
    assert _rows(r, "ownership", "owner_handle") == [("ana",)]
    assert r.counts.rejected == 0 and r.counts.read == 1


def test_chromium_owners() -> None:
    r = import_owners(OWN / "chromium")
    assert set(_rows(r, "ownership", "pattern", "role", "owner_handle")) == {
        ("/", "owner", "root@example.com"),
        ("/{glob:*.gn}", "owner", "build@example.com"),
        ("ui/", "no_parent_owners", None),
        ("ui/", "owner", "ui-lead@example.com"),
        ("ui/{glob:*.icon}", "owner", "*"),
        ("ui/{glob:BUILD.gn}", "no_parent_owners", None),
        ("ui/{glob:BUILD.gn}", "owner", "gn-owner@example.com"),
    }
    assert _rejects(r) == [
        (6, "file", "OWNERS includes (file:, include) are not followed", "flagged"),
        (7, None, "unrecognised OWNERS line", "repaired"),
    ]


def test_yaml_subset() -> None:
    text = (
        "---\n# comment\noptions:\n  no_parent_owners: yes\napprovers:\n- a  # note\n- 'b''c'\n"
        'filters:\n  "\\\\.go$":\n    reviewers: [x, "y"]\nlabels: []\nempty:\n'
        "security_contacts:\n  - github: z\n    email: z@example.com\n"
    )
    assert load_yaml_subset(text) == {
        "options": {"no_parent_owners": True},
        "approvers": ["a", "b'c"],
        "filters": {"\\.go$": {"reviewers": ["x", "y"]}},
        "labels": [],
        "empty": None,
        "security_contacts": [{"github": "z", "email": "z@example.com"}],
    }
    with pytest.raises(_YamlError):
        load_yaml_subset("a: |\n  block\n")


# -- re-import -----------------------------------------------------------------------------------
def _counts_add_up(summary) -> None:
    c = summary.counts
    assert c.read == c.imported + c.duplicate + c.rejected + c.skipped


@pytest.mark.parametrize("name", ["CODEOWNERS", "MAINTAINERS", "k8s", "chromium"])
def test_ingest_twice_is_a_noop(workspace: Workspace, name: str) -> None:
    first = ingest(workspace, import_owners(OWN / name, container="acme/widgets"))
    _counts_add_up(first)
    tables = {t: workspace.read(t) for t in ("ownership", "units", "memberships", "identities")}
    second = ingest(workspace, import_owners(OWN / name, container="acme/widgets"))
    _counts_add_up(second)
    assert all(v == 0 for v in second.rows_added.values()), second.rows_added
    assert second.counts.duplicate == second.counts.read - second.counts.rejected - (
        second.counts.skipped)
    for t, before in tables.items():
        assert workspace.read(t).sort(workspace.read(t).columns).equals(
            before.sort(before.columns)), t


def test_counts_add_up_with_problems(workspace: Workspace) -> None:
    s = ingest(workspace, import_owners(OWN / "CODEOWNERS.bad", kind="codeowners"))
    _counts_add_up(s)
    assert (s.counts.read, s.counts.imported, s.counts.rejected, s.counts.skipped) == (6, 2, 3, 1)
    assert workspace.read("rejects").height == 3


def test_reimport_replaces_the_rules_of_the_same_file(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "CODEOWNERS"
    path.write_text("* @ana\n/docs/ @bo\n")
    ingest(workspace, import_owners(path, container="r"))
    ingest(workspace, import_owners(OWN / "CODEOWNERS", container="other"))
    path.write_text("* @ana\n/src/ @cy\n")
    ingest(workspace, import_owners(path, container="r"))
    own = workspace.read("ownership")
    mine = own.filter(pl.col("container") == "r").sort("rule_order")
    assert mine.select("pattern", "owner_handle").rows() == [("*", "@ana"), ("/src/", "@cy")]
    assert own.filter(pl.col("container") == "other").height == 9  # untouched


def test_reimport_of_a_directory_replaces_deleted_owners_files(
    workspace: Workspace, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(OWN / "k8s", tree)
    ingest(workspace, import_owners(tree, container="r"))
    (tree / "api" / "OWNERS").unlink()
    ingest(workspace, import_owners(tree, container="r"))
    files = set(workspace.read("ownership")["source_file"])
    assert files == {"OWNERS", "ingest/OWNERS", "ingest/vendor/OWNERS"}


def test_maintainer_snapshots_chain(workspace: Workspace, tmp_path: Path) -> None:
    start = tmp_path / "MAINTAINERS.start"
    end = tmp_path / "MAINTAINERS.end"
    start.write_text("CORE\nM: Ana Ruiz <ana@example.com>\nM: Bo Chen <bo@example.com>\nF: core/\n")
    end.write_text("CORE\nM: Ana Ruiz <ana@example.com>\nM: Cy Diaz <cy@example.com>\nF: core/\n")
    # Importing the later snapshot first must give the same result.
    ingest(workspace, import_owners(end, kind="maintainers", container="r", as_of="2026-01-01"))
    ingest(workspace, import_owners(start, kind="maintainers", container="r", as_of="2024-01-01"))
    m = workspace.read("memberships").join(
        workspace.read("identities").select(
            pl.col("identity_id").alias("member_identity_id"), "email"),
        on="member_identity_id",
    )
    spans = sorted(m.select("email", "valid_from", "valid_to").rows())
    d1, d2 = dt.date(2024, 1, 1), dt.date(2026, 1, 1)
    assert spans == [
        ("ana@example.com", d1, d2), ("ana@example.com", d2, None),  # stayed: two snapshots
        ("bo@example.com", d1, d2),  # left: ends at the later snapshot
        ("cy@example.com", d2, None),  # joined
    ]
    # person_id was re-filled from identity resolution.
    assert not m["person_id"].str.starts_with("i").any()
    # Re-importing a snapshot replaces it; the rules are those of the last import.
    again = ingest(workspace, import_owners(start, kind="maintainers", container="r",
                                            as_of="2024-01-01"))
    assert all(v == 0 for v in again.rows_added.values())
    assert workspace.read("memberships").height == 4


# -- robustness ------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400),
       kind=st.sampled_from(["codeowners", "owners", "owners_aliases", "maintainers", "authors"]))
def test_never_raises_on_arbitrary_bytes(tmp_path: Path, data: bytes, kind: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(data)
    try:
        r = import_owners(path, kind=kind)  # type: ignore[arg-type]
    except InputError:
        return
    assert r.counts.read >= r.counts.rejected + r.counts.skipped


_LINE = st.text(alphabet=" \t#:-@/*?![]{}'\"\\abcMRFXo.,=\n", max_size=60)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, max_size=8),
       kind=st.sampled_from(["codeowners", "owners", "owners_aliases", "maintainers"]))
def test_never_raises_on_arbitrary_lines(tmp_path: Path, lines: list[str], kind: str) -> None:
    path = tmp_path / "input"
    path.write_text("\n".join(lines), encoding="utf-8")
    r = import_owners(path, kind=kind)  # type: ignore[arg-type]
    assert r.counts.read >= r.counts.rejected
