"""The git importer on the real commit sets of ../shared/realdata.

Every literal below was computed independently of orgnet from the ``.jsonl.gz`` twin of each log
(plain Python over the JSON objects; trailer keys case-folded; one event per trailer key and
person per commit; mailmap applied with ``git check-mailmap --stdin`` for DPDK and coreboot), and
for cargo from ``bors_merges.tsv``. Distinct reviewers after identity resolution were recomputed
with a small union-find over e-mail and majority full name with the same-domain conflict guard.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from orgnet.importers._base import identity_id_for
from orgnet.importers.git import detect, import_git
from orgnet.importers.mailmap import read_mailmap
from orgnet.ingest import ingest
from orgnet.workspace import Workspace
from tests.conftest import REALDATA

pytestmark = pytest.mark.realdata


def _load(rel: str, **options: object):
    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA}")
    return import_git(REALDATA / rel, **options)  # type: ignore[arg-type]


def trailer_counts(result) -> dict[str, int]:
    it = result.tables["interactions"].filter(
        pl.col("kind").is_in(["commit_trailer", "commit_coauthored"]))
    return dict(it.group_by("value").len().iter_rows())


def kind_count(result, kind: str) -> int:
    return result.tables["interactions"].filter(pl.col("kind") == kind).height


def persons_of(result, tmp_path: Path, value: str) -> tuple[int, int]:
    ws = Workspace(tmp_path / "ws")
    summary = ingest(ws, result)
    assert summary.counts.adds_up()
    it = ws.read("interactions").filter(
        (pl.col("kind") == "commit_trailer") & (pl.col("value") == value))
    ids = ws.read("identities").select("identity_id", "person_id")
    joined = it.join(ids, left_on="actor_id", right_on="identity_id")
    return joined["actor_id"].n_unique(), joined["person_id"].n_unique()


@pytest.fixture(scope="module")
def xen():
    return _load("xen/commits.gitlog.gz")


@pytest.fixture(scope="module")
def dpdk():
    return _load("dpdk/commits.gitlog.gz", mailmap=REALDATA / "dpdk" / "mailmap.end.txt")


@pytest.fixture(scope="module")
def coreboot():
    return _load("coreboot/commits.gitlog.gz",
                 mailmap=REALDATA / "coreboot" / "mailmap.end.txt")


@pytest.fixture(scope="module")
def cargo():
    return _load("cargo-rust-team/commits.gitlog.gz", review_pattern="bors",
                 repo_name="rust-lang/cargo")


@pytest.fixture(scope="module")
def erofs():
    return _load("erofs/erofs-utils_commits.gitlog.gz")


def test_detect_real_logs() -> None:
    if not REALDATA.is_dir():
        pytest.skip("no real data")
    assert detect(REALDATA / "xen" / "commits.gitlog.gz")
    assert not detect(REALDATA / "xen" / "commits.jsonl.gz")


def test_xen(xen, tmp_path: Path) -> None:
    assert xen.counts.read == 6262 and xen.counts.rejected == 0
    assert xen.tables["artifacts"].height == 6262
    assert xen.tables["touches"].height == 16467
    assert kind_count(xen, "commit_authored") == 6262
    assert kind_count(xen, "commit_committed") == 3755
    assert trailer_counts(xen) == {
        "Acked-by": 3311, "Reported-by": 292, "Reviewed-by": 4563,
        "Signed-off-by": 6734,   # 6,744 lines; 10 repeat the same person in one commit
        "Suggested-by": 187, "Tested-by": 185, "Co-authored-by": 1, "Co-developed-by": 11,
    }
    # Release-Acked-by, Fixes and friends are not events (absent from the counts above).
    assert set(xen.tables["artifacts"]["container"]) == {"xen"}
    # 83 distinct Reviewed-by addresses (one written "<a@b<mailto:a@b>>"); 68 people after
    # resolution (e.g. roger.pau@citrix.com and two typos of it; anthony.perard at citrix/vates).
    assert persons_of(xen, tmp_path, "Reviewed-by") == (83, 68)
    flagged = xen.rejects.filter(pl.col("outcome") == "flagged")
    assert flagged.height == 5


def test_dpdk_with_mailmap(dpdk) -> None:
    assert dpdk.counts.read == 12008 and dpdk.rejects.height == 0
    assert dpdk.tables["touches"].height == 44021
    assert kind_count(dpdk, "commit_committed") == 10822
    assert trailer_counts(dpdk) == {
        "Acked-by": 7633, "Reported-by": 131, "Reviewed-by": 3712, "Signed-off-by": 13697,
        "Suggested-by": 77, "Tested-by": 365, "Co-developed-by": 2,
    }
    acked = dpdk.tables["interactions"].filter(pl.col("value") == "Acked-by")
    top = acked.group_by("actor_id").len().sort("len", descending=True).row(0)
    assert top == (identity_id_for("git", "bruce.richardson@intel.com"), 1218)


def test_coreboot_with_mailmap(coreboot) -> None:
    assert coreboot.counts.read == 15752 and coreboot.counts.rejected == 0
    assert coreboot.tables["touches"].height == 60740
    # Committer and author compared after the mailmap: 11,505 (11,584 on raw addresses).
    assert kind_count(coreboot, "commit_committed") == 11505
    assert trailer_counts(coreboot) == {
        "Reported-by": 3, "Reviewed-by": 27333, "Signed-off-by": 16169, "Suggested-by": 25,
        "Tested-by": 15787, "Co-authored-by": 45, "Co-developed-by": 1,
    }
    jenkins = identity_id_for("git", "no-reply@coreboot.org")
    ids = coreboot.tables["identities"].filter(pl.col("identity_id") == jenkins)
    assert ids["is_bot"].to_list() == [True]
    tested = coreboot.tables["interactions"].filter(
        (pl.col("value") == "Tested-by") & (pl.col("actor_id") == jenkins))
    assert tested.height == 15745
    # Name-only values ("Reviewed-by: TangYiwei") are kept as name identities and flagged.
    assert coreboot.rejects.filter(
        pl.col("reason") == "trailer value has no e-mail address").height == 23


def test_cargo_bors_reviews(cargo) -> None:
    assert cargo.counts.read == 6883 and cargo.counts.rejected == 0
    art = cargo.tables["artifacts"]
    assert art.height == 6883
    assert cargo.tables["touches"].height == 50713   # merges carry first-parent numstat
    rv = cargo.tables["interactions"].filter(pl.col("kind") == "review_approved")
    logins = cargo.tables["identities"].filter(pl.col("source") == "github").select(
        "identity_id", pl.col("native_id").str.to_lowercase().alias("login"))
    per_login = dict(
        rv.join(logins, left_on="actor_id", right_on="identity_id")
        .group_by("login").len().iter_rows()
    )
    assert per_login == {   # bors_merges.tsv, with "🙈eh2406🙈" counted as eh2406
        "weihanglo": 851, "epage": 693, "ehuss": 342, "alexcrichton": 75, "eh2406": 71,
        "muscraft": 47, "arlosi": 32, "hi-rustin": 13, "joshtriplett": 9, "rustin170506": 1,
        "eth3lbert": 1, "mark-simulacrum": 1,
    }
    assert rv["artifact_id"].n_unique() == 2135
    authors = rv.join(logins, left_on="target_id", right_on="identity_id")
    assert authors.height == rv.height and authors["login"].n_unique() == 344
    assert cargo.rejects.select("reason", "outcome").rows() == [
        ("reviewer login cleaned to 'eh2406'", "repaired")]
    ids = cargo.tables["identities"]
    bots = set(ids.filter(pl.col("is_bot"))["name"].drop_nulls())
    assert {"bors", "renovate[bot]", "GitHub"} <= bots
    renovate = ids.filter(pl.col("name") == "renovate[bot]")["identity_id"].to_list()
    assert kind_count(cargo, "commit_authored") == 6883
    assert cargo.tables["interactions"].filter(
        (pl.col("kind") == "commit_authored") & pl.col("actor_id").is_in(renovate)).height == 55
    assert trailer_counts(cargo) == {"Co-authored-by": 75, "Signed-off-by": 232}


def test_erofs(erofs, tmp_path: Path) -> None:
    assert erofs.counts.read == 812 and erofs.rejects.height == 0
    assert erofs.tables["touches"].height == 2149
    assert kind_count(erofs, "commit_committed") == 300
    assert trailer_counts(erofs) == {
        "Acked-by": 1, "Reported-by": 37, "Reviewed-by": 113, "Signed-off-by": 1118,
        "Suggested-by": 6, "Tested-by": 11, "Co-authored-by": 4, "Co-developed-by": 4,
    }
    committers = erofs.tables["interactions"].filter(pl.col("kind") == "commit_committed")
    assert committers["actor_id"].n_unique() == 2     # both Gao Xiang
    assert persons_of(erofs, tmp_path, "Reviewed-by") == (17, 14)


@pytest.mark.parametrize("project", ["dpdk", "coreboot"])
def test_mailmap_matches_git_on_real_identities(project: str, tmp_path: Path) -> None:
    if not REALDATA.is_dir() or shutil.which("git") is None:
        pytest.skip("no real data or no git")
    mm_file = REALDATA / project / "mailmap.end.txt"
    contacts = set()
    with gzip.open(REALDATA / project / "commits.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            contacts.add((row["author_name"], row["author_email"]))
            contacts.add((row["committer_name"], row["committer_email"]))
    ordered = sorted(c for c in contacts if c[1] and "<" not in c[0] and ">" not in c[0])
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    out = subprocess.run(
        ["git", "-C", str(tmp_path / "r"), "-c", f"mailmap.file={mm_file}", "check-mailmap",
         "--stdin"],
        input="".join(f"{n} <{e}>\n" for n, e in ordered), check=True, capture_output=True,
        text=True,
    ).stdout.splitlines()
    mm = read_mailmap(mm_file)
    assert ["{} <{}>".format(*mm.map(n, e)) for n, e in ordered] == out
