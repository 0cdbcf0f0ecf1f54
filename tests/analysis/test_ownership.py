"""Ownership and knowledge analysis: hand-checked areas, knowledge islands, ownership drift."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.ownership import (
    AREA_SCHEMA,
    area_ownership,
    benjamini_hochberg,
    find_knowledge_island,
    find_ownership_drift,
)
from orgnet.dataset import Dataset, Window
from orgnet.schema import conform
from tests.conftest import REALDATA

REPO = "acme/pay"
UTC = dt.UTC

NAMES = {
    "ana": "Ana Ruiz", "ben": "Ben Ode", "cat": "Cat Lin", "dan": "Dan Poe", "eve": "Eve Sol",
    "fay": "Fay Wu", "gus": "Gus Hale", "hal": "Hal Kim", "ivy": "Ivy Roe", "jon": "Jon Bay",
    "kim": "Kim Tal", "lee": "Lee Oak", "ci": "CI Bot",
}


def _ts(month: int, day: int) -> dt.datetime:
    return dt.datetime(2024, month, day, 12, 0, tzinfo=UTC)


# Commits: (sha, author, time, paths). Hand-counted expectations are in the tests.
def _commits() -> list[tuple[str, str, dt.datetime, list[str]]]:
    out: list[tuple[str, str, dt.datetime, list[str]]] = []
    # services/payments/: Ana 11 (2 of them also touch libs/ledger/), Ben 1; a bot commit.
    for i in range(8):
        out.append((f"p{i}", "ana", _ts(1 + i % 6, 10 + i), [f"services/payments/m{i % 3}.py"]))
    out.append(("p9", "ana", _ts(2, 3), ["services/payments/a.py", "services/payments/b.py"]))
    out.append(("pb", "ben", _ts(3, 3), ["services/payments/a.py"]))
    out.append(("bot1", "ci", _ts(3, 4), ["services/payments/a.py", "libs/ledger/x.py"]))
    # libs/ledger/: 20 changes: Fay 14, Hal 2, Gus 2 (Feb in Payments, Apr in Risk), Ana 2.
    for i in range(14):
        out.append((f"l{i}", "fay", _ts(1 + i % 6, 1 + i), [f"libs/ledger/f{i % 4}.py"]))
    out.append(("h1", "hal", _ts(2, 20), ["libs/ledger/f1.py"]))
    out.append(("h2", "hal", _ts(5, 20), ["libs/ledger/f2.py"]))
    out.append(("g1", "gus", _ts(2, 15), ["libs/ledger/f1.py"]))
    out.append(("g2", "gus", _ts(4, 15), ["libs/ledger/f3.py"]))
    out.append(("a1", "ana", _ts(3, 1), ["libs/ledger/f1.py", "services/payments/m0.py"]))
    out.append(("a2", "ana", _ts(6, 1), ["libs/ledger/f2.py", "services/payments/m1.py"]))
    # libs/ledger/schema.sql is owned by Kim in person (the last matching rule wins).
    out.append(("k1", "kim", _ts(4, 2), ["libs/ledger/schema.sql"]))
    # Unowned: docs/guide (Kim, 3 commits, 2 files) and the root README (Lee).
    out.append(("d1", "kim", _ts(1, 5), ["docs/guide/intro.md"]))
    out.append(("d2", "kim", _ts(2, 5), ["docs/guide/intro.md", "docs/guide/api.md"]))
    out.append(("d3", "kim", _ts(3, 5), ["docs/guide/api.md"]))
    out.append(("r1", "lee", _ts(5, 5), ["README.md"]))
    return out


def _dataset(commits: list[tuple[str, str, dt.datetime, list[str]]] | None = None) -> Dataset:
    commits = _commits() if commits is None else commits
    people = conform("people", pl.DataFrame({
        "person_id": list(NAMES), "display_name": list(NAMES.values()),
        "is_bot": [p == "ci" for p in NAMES], "in_org_chart": [p != "ci" for p in NAMES],
    }))
    identities = conform("identities", pl.DataFrame({
        "identity_id": list(NAMES), "person_id": list(NAMES), "source": ["git"] * len(NAMES),
        "native_id": list(NAMES), "is_bot": [p == "ci" for p in NAMES],
        "origin": ["observed"] * len(NAMES),
    }))
    units = conform("units", pl.DataFrame({
        "unit_id": ["ENG", "T-PAY", "T-RISK", "T-DATA"],
        "name": ["Engineering", "Payments", "Risk", "Data"],
        "parent_id": [None, "ENG", "ENG", "ENG"],
        "kind": ["department", "team", "team", "team"],
        "source": ["hris"] * 4,
    }))
    rows: list[tuple[str, str, dt.date | None, dt.date | None]]
    rows = [(p, "T-PAY", None, None) for p in ("ana", "ben", "cat", "dan", "eve")]
    rows += [(p, "T-RISK", None, None) for p in ("fay", "hal", "ivy", "jon")]
    rows += [("gus", "T-PAY", None, dt.date(2024, 3, 1)), ("gus", "T-RISK", dt.date(2024, 3, 1), None)]
    rows += [(p, "T-DATA", None, None) for p in ("kim", "lee")]
    memberships = conform("memberships", pl.DataFrame(
        rows, schema=["person_id", "unit_id", "valid_from", "valid_to"], orient="row",
    ).with_columns(pl.lit("member").alias("role"), pl.lit("day").alias("precision"),
                   pl.lit("hris").alias("source")))
    ownership = conform("ownership", pl.DataFrame({
        "rule_id": ["r1", "r2", "r3"], "source": ["codeowners"] * 3,
        "source_file": ["CODEOWNERS"] * 3, "container": [REPO] * 3, "rule_order": [1, 2, 3],
        "pattern": ["/services/payments/", "/libs/ledger/", "/libs/ledger/schema.sql"],
        "negate": [False] * 3, "role": ["code_owner"] * 3,
        "owner_handle": ["@acme/payments", "@acme/payments", "@kim"],
        "owner_identity_id": [None, None, "kim"],
    }))
    artifacts = conform("artifacts", pl.DataFrame({
        "artifact_id": [f"git:{REPO}@{c[0]}" for c in commits], "kind": ["commit"] * len(commits),
        "source": ["git"] * len(commits), "container": [REPO] * len(commits),
        "author_id": [c[1] for c in commits], "opened_at": [c[2] for c in commits],
    }))
    touches = conform("touches", pl.DataFrame(
        [(f"git:{REPO}@{sha}", who, path, ts) for sha, who, ts, paths in commits for path in paths],
        schema=["artifact_id", "actor_id", "path", "ts"], orient="row",
    ))
    return Dataset(people=people, identities=identities, units=units, memberships=memberships,
                   artifacts=artifacts, ownership=ownership, touches=touches.lazy())


H1 = Window.of("2024-01-01", "2024-07-01")


def _row(df: pl.DataFrame, area: str) -> dict[str, object]:
    rows = df.filter(pl.col("area") == area).to_dicts()
    assert len(rows) == 1, (area, df["area"].to_list())
    return rows[0]


def test_area_ownership_hand_checked() -> None:
    df = area_ownership(_dataset(), window=H1)
    assert df.schema == AREA_SCHEMA
    assert df["area"].to_list() == [
        "libs/ledger/", "services/payments/", "docs/guide", "libs/ledger/schema.sql", "/"]
    ledger = _row(df, "libs/ledger/")
    assert ledger["area_id"] == "codeowners:acme/pay:CODEOWNERS:/libs/ledger/"
    assert ledger["area_kind"] == "codeowners" and ledger["container"] == REPO
    assert (ledger["n_changes"], ledger["n_contributors"], ledger["n_paths"]) == (20, 4, 4)
    assert (ledger["main_contributor"], ledger["main_changes"]) == ("fay", 14)
    assert ledger["main_share"] == pytest.approx(0.7)
    assert ledger["truck_factor"] == 1
    assert ledger["owning_unit"] == "T-PAY" and ledger["owning_units"] == ["T-PAY"]
    assert ledger["owning_unit_size"] == 5  # ana..eve at 2024-06-30 (Gus left on 2024-03-01)
    # Owners at change time: Ana 2 + Gus's February commit = 3 of 20.
    assert ledger["owner_changes"] == 3
    assert ledger["owner_share"] == pytest.approx(0.15)
    # Risk: Fay 14 + Hal 2 + Gus's April commit = 17 of 20.
    assert ledger["top_outside_unit"] == "T-RISK"
    assert ledger["top_outside_changes"] == pytest.approx(17.0)
    assert ledger["top_outside_share"] == pytest.approx(0.85)
    assert ledger["shadow_owners"] == ["fay", "hal"]  # Gus's 1 outside change is 5% < 10%
    assert ledger["shadow_shares"] == pytest.approx([0.7, 0.1])
    assert ledger["catch_all"] is False

    pay = _row(df, "services/payments/")
    # p0..p7, p9, a1, a2 by Ana, pb by Ben; the bot commit is excluded.
    assert (pay["n_changes"], pay["main_contributor"], pay["main_changes"]) == (12, "ana", 11)
    assert pay["main_share"] == pytest.approx(11 / 12)
    assert (pay["owner_changes"], pay["owner_share"]) == (12, 1.0)
    assert pay["top_outside_unit"] is None and pay["shadow_owners"] == []

    schema = _row(df, "libs/ledger/schema.sql")
    assert schema["owner_people"] == ["kim"] and schema["owning_unit"] is None
    assert (schema["n_changes"], schema["owner_changes"], schema["owner_share"]) == (1, 1, 1.0)

    docs = _row(df, "docs/guide")
    assert docs["area_id"] == "directory:acme/pay:docs/guide" and docs["area_kind"] == "directory"
    assert (docs["n_changes"], docs["n_paths"], docs["main_share"]) == (3, 2, 1.0)
    assert docs["owner_share"] is None and docs["owner_changes"] is None
    assert docs["owning_units"] == [] and docs["shadow_owners"] == []
    root = _row(df, "/")
    assert (root["area_id"], root["n_changes"]) == ("directory:acme/pay:/", 1)
    assert root["main_contributor"] == "lee"


def test_membership_at_formal_date_and_outside_unit_kind() -> None:
    data = _dataset()
    df = area_ownership(data, window=H1, membership="formal")
    ledger = _row(df, "libs/ledger/")
    # At 2024-06-30 Gus is in Risk: only Ana's 2 changes are the owners'.
    assert (ledger["owner_changes"], ledger["owner_share"]) == (2, 0.1)
    assert ledger["top_outside_changes"] == pytest.approx(18.0)
    assert ledger["shadow_owners"] == ["fay", "gus", "hal"]
    # Outside contributors counted at department level: Engineering (the owning team's parent).
    dept = _row(area_ownership(data, window=H1, unit_kind="department"), "libs/ledger/")
    assert (dept["top_outside_unit"], dept["top_outside_changes"]) == ("ENG", 17.0)


def test_area_modes_and_depth() -> None:
    data = _dataset()
    dirs = area_ownership(data, window=H1, area="directory", depth=1)
    assert dirs["area"].to_list() == ["libs", "services", "docs", "/"]
    assert dirs["n_changes"].to_list() == [21, 12, 3, 1]  # libs: 20 ledger + Kim's schema commit
    assert dirs["owner_share"].null_count() == dirs.height
    # Every path here has exactly one CODEOWNERS area, so "primary" changes nothing.
    assert area_ownership(data, window=H1, area="primary").equals(area_ownership(data, window=H1))


def test_window_limits_changes_and_empty_window() -> None:
    data = _dataset()
    q1 = area_ownership(data, window=Window.of("2024-01-01", "2024-04-01"))
    # Fay's commits are in months 1..6 by i % 6: i in {0,1,2,6,7,8,12,13} -> 8 in Q1.
    ledger = _row(q1, "libs/ledger/")
    assert (ledger["main_contributor"], ledger["main_changes"]) == ("fay", 8)
    empty = area_ownership(data, window=Window.of("2030-01-01", "2030-02-01"))
    assert empty.height == 0 and empty.schema == AREA_SCHEMA
    none = area_ownership(Dataset())
    assert none.height == 0 and none.schema == AREA_SCHEMA
    ctx = AnalysisContext(data, window=Window.of("2030-01-01", "2030-02-01"))
    assert find_knowledge_island(ctx) == [] and find_ownership_drift(ctx) == []


def test_deterministic_and_independent_of_row_order() -> None:
    data = _dataset()
    a = area_ownership(data, window=H1)
    b = area_ownership(data, window=H1)
    shuffled = Dataset(
        people=data.people.reverse(),
        identities=data.identities.sample(fraction=1.0, shuffle=True, seed=3),
        units=data.units.reverse(), memberships=data.memberships.reverse(),
        artifacts=data.artifacts.reverse(),
        ownership=data.ownership.reverse(),
        touches=data.touches.collect().sample(fraction=1.0, shuffle=True, seed=5).lazy(),
    )
    c = area_ownership(shuffled, window=H1)
    assert a.equals(b) and a.equals(c)
    f1 = [f.as_dict() for f in find_knowledge_island(AnalysisContext(data, window=H1))]
    f2 = [f.as_dict() for f in find_knowledge_island(AnalysisContext(shuffled, window=H1))]
    assert f1 == f2


def test_knowledge_island_present() -> None:
    found = find_knowledge_island(AnalysisContext(_dataset(), window=H1))
    assert len(found) == 1
    f = found[0]
    assert f.kind == "knowledge_island"
    assert f.title == "Only Ana Ruiz changes services/payments/: 92% of 12 changes in the last 6 months"
    assert f.people == (("ana", "Ana Ruiz"),) and f.units == (("T-PAY", "Payments"),)
    assert f.evidence["n_changes"] == 12 and f.evidence["main_changes"] == 11
    # One-sided binomial P(X >= 11 | 12, 0.5) = 13/4096; two areas have >= 10 changes (BH m = 2).
    assert f.evidence["p_value"] == pytest.approx(13 / 4096)
    assert f.evidence["n_tested"] == 2
    assert f.evidence["q_value"] == pytest.approx(13 / 4096 * 2)
    # severity = (11/12 - 0.5) / 0.5 * log10(12) / 2
    assert f.severity == pytest.approx((11 / 12 - 0.5) / 0.5 * np.log10(12) / 2)


def test_knowledge_island_absent_when_spread_or_small() -> None:
    commits = [c for c in _commits() if not c[0].startswith("p")]
    # Spread services/payments over Ana, Ben, Cat: 4 changes each.
    commits += [(f"s{i}", ("ana", "ben", "cat")[i % 3], _ts(1 + i % 6, 2), ["services/payments/a.py"])
                for i in range(12)]
    assert find_knowledge_island(AnalysisContext(_dataset(commits), window=H1)) == []
    # 8 changes all by Ana: below the activity threshold.
    few = [c for c in _commits() if c[0] not in ("pb", "p9", "a1", "a2")]
    ctx = AnalysisContext(_dataset(few), window=H1)
    assert _row(area_ownership(ctx), "services/payments/")["main_share"] == 1.0
    assert find_knowledge_island(ctx) == []
    # 9 of 11 (82%) is not enough evidence: P(X >= 9 | 11, 0.5) = 67/2048 = 0.033, BH q = 0.065.
    nine = [c for c in _commits() if c[0] not in ("p6", "p7")]
    nine += [("x1", "ben", _ts(4, 4), ["services/payments/z.py"])]
    ctx = AnalysisContext(_dataset(nine), window=H1)
    row = _row(area_ownership(ctx), "services/payments/")
    assert (row["n_changes"], row["main_changes"]) == (11, 9)
    assert find_knowledge_island(ctx) == []


def test_ownership_drift_present() -> None:
    found = find_ownership_drift(AnalysisContext(_dataset(), window=H1))
    assert len(found) == 1
    f = found[0]
    assert f.title == "Payments owns libs/ledger/ in CODEOWNERS but made 15% of its 20 changes; Risk made 85%"
    assert f.units == (("T-PAY", "Payments"), ("T-RISK", "Risk"))
    assert [p for p, _ in f.people] == ["fay", "hal"]
    ev = f.evidence
    assert (ev["owner_changes"], ev["n_changes"], ev["n_tested"]) == (3, 20, 2)
    # P(X <= 3 | 20, 0.5) = (1 + 20 + 190 + 1140) / 2**20; BH rank 1 of 2.
    assert ev["p_value"] == pytest.approx(1351 / 2**20)
    assert ev["q_value"] == pytest.approx(1351 / 2**20 * 2)
    assert f.severity == pytest.approx((1 - 0.15 / 0.2) * np.log10(20) / 2)
    # An outside unit with less than min_outside_share of the changes is not named.
    quiet = find_ownership_drift(AnalysisContext(_dataset(), window=H1), min_outside_share=0.9)
    assert quiet[0].title == "Payments owns libs/ledger/ in CODEOWNERS but made 15% of its 20 changes"
    assert quiet[0].evidence["top_outside_unit"] == "T-RISK"


def test_ownership_drift_absent_and_privacy() -> None:
    # The owners make most changes: no drift.
    commits = [c for c in _commits() if c[0] not in {f"l{i}" for i in range(14)}]
    commits += [(f"o{i}", ("ben", "cat", "dan")[i % 3], _ts(1 + i % 6, 3), ["libs/ledger/f0.py"])
                for i in range(14)]
    assert find_ownership_drift(AnalysisContext(_dataset(commits), window=H1)) == []
    # Payments has 5 members: a privacy threshold of 6 suppresses the finding.
    ctx = AnalysisContext(_dataset(), window=H1, min_group_size=6)
    assert find_ownership_drift(ctx) == []


def test_drift_does_not_name_a_small_outside_unit() -> None:
    # Data (2 people) does the ledger work instead of Risk.
    commits = [(sha, "kim" if who == "fay" else who, ts, paths) for sha, who, ts, paths in _commits()]
    found = find_ownership_drift(AnalysisContext(_dataset(commits), window=H1))
    assert len(found) == 1
    assert found[0].title == "Payments owns libs/ledger/ in CODEOWNERS but made 15% of its 20 changes"
    assert found[0].units == (("T-PAY", "Payments"),)


def test_catch_all_rules_are_not_drift() -> None:
    data = _dataset()
    extra = conform("ownership", pl.DataFrame({
        "rule_id": ["r0"], "source": ["codeowners"], "source_file": ["CODEOWNERS"], "container": [REPO],
        "rule_order": [0], "pattern": ["*"], "negate": [False], "role": ["code_owner"],
        "owner_handle": ["@acme/data"],
    }))
    data.ownership = pl.concat([extra, data.ownership])
    df = area_ownership(data, window=H1)
    star = _row(df, "*")
    assert star["catch_all"] is True and star["owning_unit"] == "T-DATA"
    assert (star["n_changes"], star["owner_changes"]) == (4, 4)  # docs (Kim) and README (Lee)
    assert [f.evidence["area"] for f in find_ownership_drift(AnalysisContext(data, window=H1))] == [
        "libs/ledger/"]


def test_null_organisation_raises_nothing() -> None:
    """Teams work in their own areas, changes spread at random over each team's members."""
    rng = random.Random(11)
    teams = {"T-PAY": ["ana", "ben", "cat", "dan", "eve"], "T-RISK": ["fay", "hal", "ivy", "jon"]}
    commits: list[tuple[str, str, dt.datetime, list[str]]] = []
    rules = []
    for k in range(30):
        team = "T-PAY" if k % 2 else "T-RISK"
        rules.append((f"/area{k}/", "@acme/payments" if team == "T-PAY" else "@acme/risk"))
        for j in range(rng.randint(10, 40)):
            pool = teams[team] if rng.random() < 0.9 else teams["T-PAY"] + teams["T-RISK"]
            who = rng.choice(pool)
            commits.append((f"c{k}-{j}", who, _ts(rng.randint(1, 6), rng.randint(1, 28)),
                            [f"area{k}/f{rng.randint(0, 5)}.py"]))
    data = _dataset(commits)
    data.ownership = conform("ownership", pl.DataFrame({
        "rule_id": [f"r{k}" for k in range(30)], "source": ["codeowners"] * 30,
        "source_file": ["CODEOWNERS"] * 30, "container": [REPO] * 30, "rule_order": list(range(30)),
        "pattern": [p for p, _ in rules], "negate": [False] * 30, "role": ["code_owner"] * 30,
        "owner_handle": [h for _, h in rules],
    }))
    ctx = AnalysisContext(data, window=H1, min_group_size=4)
    df = area_ownership(ctx)
    assert df.height == 30 and df["owning_unit"].null_count() == 0
    assert find_knowledge_island(ctx) == []
    assert find_ownership_drift(ctx) == []


def test_benjamini_hochberg() -> None:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.2])
    # sorted p * m / rank = 0.04, 0.06, 0.0533, 0.2; then the running minimum from the top
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert benjamini_hochberg([]).size == 0


# -- real data ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xen_ctx(tmp_path_factory: pytest.TempPathFactory) -> AnalysisContext:
    root = REALDATA / "xen"
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (clone the project with ../shared beside it)")
    try:
        from orgnet.importers.git import import_git
    except ImportError:  # pragma: no cover - depends on another helper's module
        pytest.skip("orgnet.importers.git is not available yet")
    from orgnet.importers.owners import import_owners
    from orgnet.ingest import ingest
    from orgnet.workspace import Workspace

    ws = Workspace(Path(tmp_path_factory.mktemp("xen")) / "ws", lock_timeout=30)
    ingest(ws, import_git(root / "commits.gitlog.gz", repo_name="xen"))
    ingest(ws, import_owners(root / "MAINTAINERS.end.txt.gz", kind="maintainers", container="xen"))
    return AnalysisContext(Dataset.from_workspace(ws), unit_kind="maintainer_section")


@pytest.mark.realdata
def test_xen_maintainers_sections(xen_ctx: AnalysisContext) -> None:
    df = area_ownership(xen_ctx)
    names = dict(xen_ctx.data.people.select("person_id", "display_name").iter_rows())
    # Verified with plain Python on commits.jsonl.gz: 2,329 of the 6,262 commits touch a path
    # under an X86 ARCHITECTURE F: pattern (588 distinct paths); Andrew Cooper authored 707 of
    # them; the section's M/R people (Beulich 661, Cooper 707, Pau Monné 113 + 121 + 1 under the
    # typo address roger.pau@ctrix.com, Astie 20) authored 1,623.
    x86 = _row(df, "X86 ARCHITECTURE")
    assert x86["area_id"] == "maintainers:xen:maint:xen:x86-architecture"
    assert (x86["n_changes"], x86["n_paths"], x86["main_changes"]) == (2329, 588, 707)
    assert names[str(x86["main_contributor"])] == "Andrew Cooper"
    assert x86["owner_changes"] == 1623
    # THE REST (F: *, */) covers every commit; tools/9pfsd/: 18 commits, Juergen Gross 15.
    rest = _row(df, "THE REST")
    assert rest["n_changes"] == 6262 and rest["catch_all"] is True
    pfs = _row(df, "9PFSD")
    assert (pfs["n_changes"], pfs["main_changes"]) == (18, 15)
    assert names[str(pfs["main_contributor"])] == "Juergen Gross"
    islands = {f.evidence["area"]: f for f in find_knowledge_island(xen_ctx)}
    assert "9PFSD" in islands
    assert islands["9PFSD"].title.startswith("Only Juergen Gross changes 9PFSD: 83% of 18 changes")
    # Xen's sections have 1-5 maintainers: with the default privacy threshold (5) only THE REST
    # (catch-all) and ARM (5 people, 24.6% of 1,040 changes by its maintainers) are eligible.
    assert find_ownership_drift(xen_ctx) == []


def test_nested_maintainers_sections_and_snapshot_memberships() -> None:
    """MAINTAINERS: a path counts in every section owning it ("owner") or only the most specific
    ("primary"); snapshot memberships (MAINTAINERS imported with as_of) hold before the snapshot."""
    data = _dataset()
    data.units = pl.concat([data.units, conform("units", pl.DataFrame({
        "unit_id": ["m:ledger", "m:libs"], "name": ["LEDGER", "LIBRARIES"],
        "kind": ["maintainer_section"] * 2, "source": ["maintainers"] * 2,
    }))])
    data.memberships = pl.concat([data.memberships, conform("memberships", pl.DataFrame({
        "person_id": ["fay", "fay", "hal"], "unit_id": ["m:ledger", "m:libs", "m:libs"],
        "role": ["maintainer"] * 3, "valid_from": [dt.date(2024, 6, 1)] * 3,
        "precision": ["snapshot"] * 3, "source": ["maintainers"] * 3,
    }))])
    data.ownership = conform("ownership", pl.DataFrame({
        "rule_id": ["m1", "m2"], "source": ["maintainers"] * 2, "source_file": ["MAINTAINERS"] * 2,
        "container": [REPO] * 2, "rule_order": [1, 2], "pattern": ["libs/ledger/", "libs/"],
        "negate": [False] * 2, "role": ["maintainer"] * 2, "owner_unit_id": ["m:ledger", "m:libs"],
    }))
    df = area_ownership(data, window=H1)
    ledger, libs = _row(df, "LEDGER"), _row(df, "LIBRARIES")
    assert ledger["area_id"] == "maintainers:acme/pay:m:ledger"
    assert (ledger["n_changes"], libs["n_changes"]) == (21, 21)  # 20 + Kim's schema.sql commit
    # Fay's 14 changes count as the section's although the snapshot is dated 2024-06-01.
    assert (ledger["owner_changes"], ledger["owning_unit_size"]) == (14, 1)
    assert libs["owner_changes"] == 16  # Fay 14 + Hal 2
    primary = area_ownership(data, window=H1, area="primary")
    assert _row(primary, "LEDGER")["n_changes"] == 21
    assert "LIBRARIES" not in primary["area"].to_list()


# -- synthetic organisation (orgnet.synth) ------------------------------------------------------


def _synth_context(tmp_path: Path, *, null: bool) -> tuple[AnalysisContext, list[dict[str, object]]]:
    import json

    synth = pytest.importorskip("orgnet.synth")
    git = pytest.importorskip("orgnet.importers.git")
    orgchart = pytest.importorskip("orgnet.importers.orgchart")
    from orgnet.importers.owners import import_owners
    from orgnet.ingest import ingest
    from orgnet.workspace import Workspace

    s = synth.generate(tmp_path / "in", people=150, months=6, seed=7, null=null)
    ws = Workspace(tmp_path / "ws", lock_timeout=30)
    ingest(ws, orgchart.import_orgchart(s.hris))
    ingest(ws, git.import_git(s.git_log, repo_name="exampleco/platform"))
    ingest(ws, import_owners(s.codeowners, kind="codeowners", container="exampleco/platform"))
    planted = json.loads(s.truth.read_text())["planted"]
    return AnalysisContext(Dataset.from_workspace(ws)), planted


def test_synthetic_org_planted_findings_are_found(tmp_path: Path) -> None:
    ctx, planted = _synth_context(tmp_path, null=False)
    truth = {str(t["kind"]): t for t in planted}
    island, drift = truth["knowledge_island"], truth["ownership_drift"]
    islands = find_knowledge_island(ctx)
    assert [(f.evidence["area"], [p for p, _ in f.people]) for f in islands] == [
        (island["details"]["area"], island["people"])]  # type: ignore[index]
    drifts = find_ownership_drift(ctx)
    assert [(f.evidence["area"], [u for u, _ in f.units]) for f in drifts] == [
        (drift["details"]["area"], drift["units"])]  # type: ignore[index]


def test_synthetic_null_org_raises_nothing(tmp_path: Path) -> None:
    ctx, _ = _synth_context(tmp_path, null=True)
    assert area_ownership(ctx).height > 0
    assert find_knowledge_island(ctx) == []
    assert find_ownership_drift(ctx) == []
