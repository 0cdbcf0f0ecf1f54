"""Path -> owners: CODEOWNERS last-match-wins, MAINTAINERS F:/X:, OWNERS inheritance, team mapping."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from orgnet.exceptions import InputError
from orgnet.importers.owners import import_owners
from orgnet.ingest import ingest
from orgnet.ownership import (
    OwnershipResolver,
    PatternError,
    codeowners_regex,
    load_unit_mapping,
    maintainers_regex,
    owners_scope,
)
from orgnet.schema import empty
from orgnet.workspace import Workspace

OWN = Path(__file__).resolve().parent / "fixtures" / "owners"


def _resolver(*paths_and_opts: tuple[Path, dict], units: pl.DataFrame | None = None,
              mapping: dict[str, str] | None = None) -> OwnershipResolver:
    own, unit_frames, idents = [], [], []
    for path, opts in paths_and_opts:
        r = import_owners(path, **opts)
        own.append(r.tables["ownership"].drop("_rec"))
        if "units" in r.tables:
            unit_frames.append(r.tables["units"].drop("_rec"))
        idents.append(r.tables["identities"].with_columns(person_id=pl.col("identity_id")))
    all_units = pl.concat([*unit_frames, units] if units is not None else unit_frames) if (
        unit_frames or units is not None) else empty("units")
    return OwnershipResolver(pl.concat(own), all_units, pl.concat(idents), unit_mapping=mapping)


# -- pattern semantics ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "a/b/c.py", True),
        ("*.js", "web/app/main.js", True),
        ("*.js", "web/app/main.jsx", False),
        ("/build/logs/", "build/logs/x/y.log", True),
        ("/build/logs/", "src/build/logs/y.log", False),
        ("docs/*", "docs/getting-started.md", True),
        ("docs/*", "docs/build-app/troubleshooting.md", False),  # GitHub's own example
        ("apps/", "apps/x.py", True),
        ("apps/", "src/apps/deep/x.py", True),
        ("apps/", "apps", False),
        ("/docs/", "docs/a/b.md", True),
        ("/docs/", "x/docs/b.md", False),
        ("docs", "docs/a.md", True),  # a name matches the directory too
        ("docs", "src/docs", True),
        ("**/logs", "a/b/logs/x.log", True),
        ("src/**/test_*.py", "src/a/b/test_x.py", True),
        ("src/**/test_*.py", "src/test_x.py", True),
        ("lib/*.c", "lib/sub/a.c", False),
        ("\\#notes.md", "#notes.md", True),
        ("a?.txt", "ab.txt", True),
        ("a?.txt", "a/.txt", False),
    ],
)
def test_codeowners_pattern(pattern: str, path: str, matches: bool) -> None:
    assert bool(re.match(codeowners_regex(pattern), path)) is matches


@pytest.mark.parametrize("pattern", ["!x", "/", "src/[ab].c", ""])
def test_codeowners_invalid_pattern(pattern: str) -> None:
    with pytest.raises(PatternError):
        codeowners_regex(pattern)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("drivers/net/", "drivers/net/a/b.c", True),  # trailing /: recursive
        ("drivers/net/*", "drivers/net/a.c", True),
        ("drivers/net/*", "drivers/net/a/b.c", False),  # wildcard: this directory only
        ("*/net/*", "x/net/y.c", True),
        ("*/net/*", "x/y/net/z.c", False),
        ("*", "README", True),
        ("*", "src/README", False),
        ("*/", "src/a/b.c", True),  # Xen's THE REST
        ("*/", "README", False),
        ("xen/arch/*/livepatch*", "xen/arch/arm/livepatch.c", True),
        ("xen/arch/*/livepatch*", "xen/arch/arm/sub/livepatch.c", False),
        ("fs/**/*foo*.c", "fs/a/b/xfoo.c", True),
        ("MAINTAINERS", "MAINTAINERS", True),
        ("lib/pipeline", "lib/pipeline/x.c", True),  # bare directory name (no -d check)
        ("a.c", "abc", False),  # '.' is literal
    ],
)
def test_maintainers_pattern(pattern: str, path: str, matches: bool) -> None:
    assert bool(re.match(maintainers_regex(pattern), path)) is matches


def test_owners_scope() -> None:
    assert owners_scope("/") == ("", None, None)
    assert owners_scope("pkg/api/") == ("pkg/api", None, None)
    assert owners_scope("pkg/{re:\\.go$}") == ("pkg", "re", "\\.go$")
    assert owners_scope("/{glob:*.gn}") == ("", "glob", "*.gn")


# -- CODEOWNERS ----------------------------------------------------------------------------------
def test_codeowners_last_match_wins() -> None:
    res = _resolver((OWN / "CODEOWNERS", {"container": "w"}))

    def handles(path: str) -> list[str | None]:
        return [o.handle for o in res.owners(path, "w")]

    assert handles("ingest/http.py") == ["@lortega"]  # FORMATS §15.1 example
    assert handles("ingest/vendor/x.py") == []  # the rule without owners un-owns
    assert handles("ingest/parse.py") == ["@acme/data-platform", "@priya-r"]
    assert handles("api/v1/user.proto") == ["api-council@example.com"]
    assert handles("README.md") == ["@acme/eng-leads"]
    assert handles("docs/build-app/x.md") == ["@acme/eng-leads"]
    assert handles("docs/index.md") == ["@docs-team-lead"]
    assert handles("./src/apps/a.py") == ["@acme/apps"]
    assert res.owners("ingest/http.py") == []  # other container
    own = res.owners("ingest/http.py", "w")[0]
    assert own.person_id == own.identity_id and own.role == "code_owner"


def test_team_handles_map_to_units_by_name_and_by_mapping(tmp_path: Path) -> None:
    chart = pl.DataFrame({
        "unit_id": ["T-17", "T-18", "D-1", "X-1"],
        "name": ["Data Platform", "Eng Leads", "Eng Leads", "Apps"],
        "parent_id": [None, "D-1", None, None],
        "kind": ["team", "team", "department", "team"],
        "source": ["hris"] * 4,
    })
    mapping_file = tmp_path / "map.csv"
    mapping_file.write_text("owner,unit_id\n@ACME/apps,T-99\n")
    res = _resolver((OWN / "CODEOWNERS", {"container": "w"}), units=chart,
                    mapping=load_unit_mapping(mapping_file))
    assert [o.unit_id for o in res.owners("ingest/parse.py", "w")] == ["T-17", None]
    # Two units named "Eng Leads": the one of kind team wins.
    assert [o.unit_id for o in res.owners("README.md", "w")] == ["T-18"]
    # The explicit mapping wins over the name (case-insensitive, with or without '@').
    assert [o.unit_id for o in res.owners("apps/x.py", "w")] == ["T-99"]


def test_load_unit_mapping_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("handle,team\nx,y\n")
    with pytest.raises(InputError, match="owner,unit_id"):
        load_unit_mapping(bad)
    bad.write_text("owner,unit_id\n@x,\n")
    with pytest.raises(InputError, match="line 2"):
        load_unit_mapping(bad)
    with pytest.raises(InputError):
        load_unit_mapping(tmp_path / "missing.csv")


# -- MAINTAINERS ---------------------------------------------------------------------------------
def test_maintainers_all_matching_sections_minus_exclusions() -> None:
    res = _resolver((OWN / "MAINTAINERS", {}))

    def sections(path: str) -> list[str | None]:
        return [o.unit_id for o in res.owners(path)]

    assert sections("ingest/http.py") == ["maint:ingest-http-client", "maint:the-rest"]
    # X: ingest/vendor/ removes INGEST HTTP CLIENT; the vendor section and THE REST remain.
    assert sections("ingest/vendor/lib.py") == ["maint:ingest-vendor", "maint:the-rest"]
    assert sections("docs/guide.md") == ["maint:docs", "maint:the-rest"]
    assert sections("docs/sub/guide.md") == ["maint:the-rest"]
    # Most specific (longest matching pattern) first: "*/README" beats "ingest/".
    assert sections("ingest/README") == ["maint:docs", "maint:ingest-http-client",
                                         "maint:the-rest"]
    assert sections("Makefile") == ["maint:the-rest"]
    owner = res.owners("ingest/http.py")[0]
    assert (owner.role, owner.pattern, owner.specificity, owner.person_id) == (
        "maintainer", "ingest/", 7, None)


# -- OWNERS --------------------------------------------------------------------------------------
def test_k8s_owners_inheritance() -> None:
    res = _resolver((OWN / "k8s", {}))

    def who(path: str) -> set[tuple[str | None, str | None]]:
        return {(o.handle, o.role) for o in res.owners(path)}

    root = {("root-approver", "approver"), ("lortega", "reviewer"), ("Kim-L", "reviewer")}
    assert who("main.go") == root
    # no_parent_owners: the root's owners do not apply; emeritus approvers own nothing.
    ingest_owners = {("ada-q", "approver"), ("omarh", "approver"), ("priya-r", "approver"),
                     ("lortega", "reviewer")}
    assert who("ingest/a/b.go") == ingest_owners
    # A child without no_parent_owners unites with its parents (up to the stop).
    assert who("ingest/vendor/x.go") == ingest_owners | {("vendor-bot", "reviewer")}
    # Filters: ".*" for every file, "\.proto$" only for proto files; parents still apply.
    assert who("api/v1/types.go") == root | {("api-lead", "approver")}
    assert who("api/v1/types.proto") == root | {("api-lead", "approver"),
                                                ("proto-expert", "reviewer")}


def test_chromium_owners_inheritance() -> None:
    res = _resolver((OWN / "chromium", {}))

    def who(path: str) -> set[str | None]:
        return {o.handle for o in res.owners(path)}

    assert who("base/x.cc") == {"root@example.com"}
    assert who("x.gn") == {"root@example.com", "build@example.com"}
    assert who("base/x.gn") == {"root@example.com"}  # per-file: this directory only
    assert who("ui/view.cc") == {"ui-lead@example.com"}  # set noparent
    assert who("ui/a.icon") == {"ui-lead@example.com", "*"}
    assert who("ui/BUILD.gn") == {"gn-owner@example.com"}  # per-file set noparent


# -- assign --------------------------------------------------------------------------------------
def test_assign_matches_owners_for_every_format() -> None:
    res = _resolver((OWN / "CODEOWNERS", {"container": "w"}), (OWN / "MAINTAINERS", {"container": "w"}),
                    (OWN / "k8s", {"container": "w"}), (OWN / "chromium", {"container": "c"}))
    paths = ["ingest/http.py", "ingest/vendor/lib.py", "docs/guide.md", "ingest/README",
             "api/v1/types.proto", "README.md", "ui/BUILD.gn", "./apps/x.py"]
    frame = pl.DataFrame({"path": paths * 2, "container": ["w"] * len(paths) + ["c"] * len(paths)})
    out = res.assign(frame)
    assert list(out.columns) == ["path", "container", "source", "source_file", "rule_id", "role",
                                 "owner_handle", "owner_unit_id", "owner_identity_id",
                                 "owner_person_id", "specificity"]
    got = {(p, c, r) for p, c, r in out.select("path", "container", "rule_id").rows()}
    want = {(p, c, o.rule_id) for p, c in frame.unique().rows() for o in res.owners(p, c)}
    assert got == want
    assert set(out.filter(pl.col("path") == "ingest/http.py")["source"]) == {
        "codeowners", "maintainers", "owners"}
    assert res.assign(["nothing/here.py"]).height == 0
    assert res.assign(pl.Series(["README.md"])).height == 0  # rules exist only for containers


def test_assign_handles_many_paths_quickly() -> None:
    res = _resolver((OWN / "CODEOWNERS", {}), (OWN / "MAINTAINERS", {}))
    paths = [f"dir{i % 50}/sub{i % 7}/file{i}.{'proto' if i % 3 else 'py'}" for i in range(20000)]
    out = res.assign(pl.DataFrame({"path": paths}))
    # Every path has one CODEOWNERS owner (the "*" or "*.proto" rule) and THE REST.
    per_source = out.group_by("source").agg(pl.col("path").n_unique()).sort("source").rows()
    assert per_source == [("codeowners", 20000), ("maintainers", 20000)]


def test_resolver_from_a_workspace(workspace: Workspace) -> None:
    ingest(workspace, import_owners(OWN / "MAINTAINERS", container="w"))
    ingest(workspace, import_owners(OWN / "CODEOWNERS", container="w"))
    res = OwnershipResolver(workspace.read("ownership"), workspace.read("units"),
                            workspace.read("identities"))
    lortega = res.owners("ingest/http.py", "w")[0]
    people = workspace.read("identities").filter(pl.col("identity_id") == lortega.identity_id)
    assert lortega.person_id == people["person_id"].item()
    assert lortega.person_id.startswith("p-")
