"""Real MAINTAINERS / AUTHORS files (../shared/realdata): figures checked against the curator's TSVs.

Every literal below was computed independently of the importer, with awk over the curator's
``maintainers_*.sections.tsv`` (long format ``section_id, group, section, field, value``) and
``maintainers_*.path_owners.tsv`` (F:/X: patterns crossed with M:/R: people, one row for a section
without people):

* sections = distinct ``section_id``. The curator lists DPDK's entries written right under a group
  heading as a pseudo-section "<group> (group-level entries)"; orgnet gives them to the group unit
  and reads them as one record, so sections = records read - group headings.
* F / X / M / R = rows with that field; distinct M / R = distinct lower-cased addresses (Xen lists
  "Anthony PERARD" and "Anthony Perard" with one address: 36 spellings, 35 people).
* path-owner rows = ``wc -l`` of ``path_owners.tsv`` minus the header.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from orgnet.importers._base import ImportResult
from orgnet.importers.owners import import_owners
from orgnet.ingest import ingest
from orgnet.ownership import OwnershipResolver
from orgnet.workspace import Workspace

pytestmark = pytest.mark.realdata

# project, window -> sections, groups, F, X, M rows, R rows, distinct M, distinct R, path-owner rows
EXPECTED = {
    ("xen", "start"): (56, 0, 190, 6, 85, 17, 35, 14, 429),
    ("xen", "end"): (56, 0, 198, 6, 85, 28, 35, 23, 436),
    ("dpdk", "start"): (247, 21, 839, 2, 338, 0, 159, 0, 1235),
    ("dpdk", "end"): (292, 22, 982, 2, 380, 0, 175, 0, 1415),
    ("coreboot", "start"): (119, 0, 200, 0, 177, 4, 63, 2, 320),
    ("coreboot", "end"): (167, 0, 278, 0, 246, 7, 86, 5, 493),
}


@pytest.fixture(scope="module")
def imported() -> dict[tuple[str, str], ImportResult]:
    from tests.conftest import REALDATA

    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA}")
    out = {}
    for project, window in EXPECTED:
        out[(project, window)] = import_owners(
            REALDATA / project / f"MAINTAINERS.{window}.txt.gz",
            container=project,
            as_of="2022-07-01" if window == "start" else "2026-07-01",
        )
    return out


def _figures(r: ImportResult) -> tuple[int, ...]:
    units = r.tables["units"]
    own = r.tables["ownership"]
    mem = r.tables["memberships"]
    ident = r.tables["identities"].select("identity_id", "email")
    groups = units.filter(pl.col("kind") == "maintainer_group")["unit_id"]
    # Records read: one per group heading, one per section, one per group's own entries.
    sections = r.counts.read - groups.len()
    m = mem.filter(pl.col("role") == "maintainer")
    rv = mem.filter(pl.col("role") == "reviewer")

    def distinct(frame: pl.DataFrame) -> int:
        return frame.join(ident, left_on="member_identity_id", right_on="identity_id")[
            "email"].n_unique()

    patterns = own.group_by("owner_unit_id").len().rename({"owner_unit_id": "unit_id"})
    people = mem.group_by("unit_id").len(name="people")
    crossed = patterns.join(people, on="unit_id", how="left").select(
        (pl.col("len") * pl.max_horizontal(pl.col("people").fill_null(0), pl.lit(1))).sum()
    ).item()
    return (sections, groups.len(), own.filter(~pl.col("negate")).height,
            own.filter(pl.col("negate")).height, m.height, rv.height, distinct(m), distinct(rv),
            crossed)


@pytest.mark.parametrize("key", list(EXPECTED))
def test_maintainers_figures(imported: dict, key: tuple[str, str]) -> None:
    assert _figures(imported[key]) == EXPECTED[key]


def test_parse_problems(imported: dict) -> None:
    for key, r in imported.items():
        assert r.counts.rejected == 0, key
        if key[0] == "coreboot":
            # "M: Ryback Hung <<Ryback.Hung@quantatw.com>" is repaired, not dropped.
            assert r.rejects["reason"].to_list() == [
                "M: malformed address (extra '<' or '>') was repaired"]
        else:
            assert r.rejects.height == 0, key


def test_erofs_authors(realdata: Path) -> None:
    for window, maintainers, reviewers in (("start", 3, 3), ("end", 5, 3)):
        r = import_owners(realdata / "erofs" / f"AUTHORS.{window}.txt", container="erofs-utils")
        assert r.options["kind"] == "authors"
        roles = r.tables["memberships"]["role"].value_counts().sort("role").rows()
        assert roles == [("maintainer", maintainers), ("reviewer", reviewers)]
        assert r.tables["units"]["unit_id"].to_list() == [
            "maint:erofs-utils:erofs-userspace-utilities"]
        res = OwnershipResolver(r.tables["ownership"], r.tables["units"], r.tables["identities"])
        for path in ("lib/compress.c", "README"):
            assert [o.unit_id for o in res.owners(path, "erofs-utils")] == [
                "maint:erofs-utils:erofs-userspace-utilities"]


def _sections(r: ImportResult, project: str, paths: list[str]) -> dict[str, list[str]]:
    res = OwnershipResolver(r.tables["ownership"], r.tables["units"], r.tables["identities"])
    names = dict(r.tables["units"].select("unit_id", "name").iter_rows())
    return {p: [names[o.unit_id] for o in res.owners(p, project)] for p in paths}


def test_xen_paths(imported: dict) -> None:
    # Checked by hand against the F:/X: lines of MAINTAINERS.end (most specific first).
    got = _sections(imported[("xen", "end")], "xen", [
        "xen/arch/x86/mm/shadow/multi.c", "xen/arch/x86/acpi/boot.c", "xen/arch/x86/acpi/power.c",
        "xen/drivers/passthrough/amd/iommu_init.c", "xen/arch/arm/livepatch.c", "README",
    ])
    assert got == {
        "xen/arch/x86/mm/shadow/multi.c": ["X86 SHADOW PAGETABLES", "X86 ARCHITECTURE",
                                           "THE REST"],
        # POWER MANAGEMENT has X: xen/arch/x86/acpi/boot.c
        "xen/arch/x86/acpi/boot.c": ["ACPI", "X86 ARCHITECTURE", "THE REST"],
        "xen/arch/x86/acpi/power.c": ["ACPI", "POWER MANAGEMENT", "X86 ARCHITECTURE", "THE REST"],
        # IOMMU VENDOR INDEPENDENT CODE has X: xen/drivers/passthrough/amd/
        "xen/drivers/passthrough/amd/iommu_init.c": ["AMD IOMMU", "THE REST"],
        "xen/arch/arm/livepatch.c": ["LIVEPATCH", "ARM (W/ VIRTUALISATION EXTENSIONS) ARCHITECTURE",
                                     "THE REST"],
        "README": ["THE REST"],  # F: * (top-level files) and F: */ (everything below)
    }


def test_dpdk_and_coreboot_paths(imported: dict) -> None:
    assert _sections(imported[("dpdk", "end")], "dpdk", [
        "drivers/net/mlx5/mlx5.c", "drivers/crypto/mlx5/mlx5_crypto.c",
        "lib/eal/common/eal_common_fbarray.c",
    ]) == {
        "drivers/net/mlx5/mlx5.c": ["NVIDIA mlx5"],
        "drivers/crypto/mlx5/mlx5_crypto.c": ["NVIDIA mlx5"],
        "lib/eal/common/eal_common_fbarray.c": ["Memory Allocation", "EAL API and common code"],
    }
    units = imported[("dpdk", "end")].tables["units"]
    parents = dict(units.select("unit_id", "parent_id").iter_rows())
    assert parents["maint:dpdk:networking-drivers/nvidia-mlx5"] == "maint:dpdk:group:networking-drivers"
    assert parents["maint:dpdk:crypto-drivers/nvidia-mlx5"] == "maint:dpdk:group:crypto-drivers"
    assert _sections(imported[("coreboot", "end")], "coreboot", [
        "src/mainboard/acer/g43t-am3/mainboard.c", "util/abuild/abuild",
    ]) == {
        "src/mainboard/acer/g43t-am3/mainboard.c": ["ACER G43T-AM3", "ACER MAINBOARDS"],
        "util/abuild/abuild": ["ABUILD"],
    }


def test_start_and_end_snapshots_in_one_workspace(realdata: Path, workspace: Workspace) -> None:
    for window, day in (("start", "2022-07-01"), ("end", "2026-07-01")):
        s = ingest(workspace, import_owners(realdata / "xen" / f"MAINTAINERS.{window}.txt.gz",
                                            container="xen", as_of=day))
        assert s.counts.read == s.counts.imported + s.counts.duplicate
    m = workspace.read("memberships")
    spans = m.group_by("valid_from", "valid_to").len().sort("valid_from").rows()
    assert spans == [(dt.date(2022, 7, 1), dt.date(2026, 7, 1), 102),
                     (dt.date(2026, 7, 1), None, 113)]
    # The rules are those of the latest import (198 F: + 6 X:).
    assert workspace.read("ownership").height == 204
