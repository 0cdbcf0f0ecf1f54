"""The linux-erofs list (real, public): figures verified independently of the importer.

Every literal below was computed from ``linux-erofs_list_messages.jsonl.gz`` (the JSON export of
the same messages, a different file and format) with a few lines of plain Python, not with
orgnet: 9,862 records; 9,857 distinct Message-IDs (5 archived twice); 2,273 messages with
neither In-Reply-To nor References; 7,584 replies; 2,373 threads (same parent rule, roots by
walking parents, the oldest References id when an ancestor is missing), 100 of them with the root
missing from the archive; 1,572 thread roots whose subject starts with a ``[… PATCH …]`` tag;
review tags in ``body_tags`` of replies that are not patch postings, one per (message, tag,
address): Reviewed-by 959, Acked-by 123, Tested-by 57 (of 1,466 / 215 / 87 tag lines in all
messages, README); ``lkp@intel.com`` 335 messages, syzbot 62.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from orgnet.importers._base import ImportResult, identity_id_for
from orgnet.importers.mbox import import_mbox
from tests.conftest import REALDATA

MBOX = REALDATA / "erofs" / "linux-erofs_list_headers.mbox.gz"
LIST = "linux-erofs.lists.ozlabs.org"

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def result() -> ImportResult:
    if not MBOX.is_file():
        pytest.skip(f"real data not found at {MBOX}")
    return import_mbox(MBOX)


def test_message_counts(result: ImportResult) -> None:
    assert result.counts.read == 9862
    assert result.counts.rejected == 0
    assert result.record_status.count("duplicate") == 5
    kinds = dict(result.tables["interactions"].group_by("kind").len().iter_rows())
    assert kinds["email_message"] == 2273
    assert kinds["email_reply"] == 7584


def test_threads(result: ImportResult) -> None:
    a = result.tables["artifacts"]
    assert a.height == 2373
    assert a["artifact_id"].str.starts_with(f"mbox:{LIST}:").all()
    assert a.filter(pl.col("author_id").is_null()).height == 100  # root not archived
    assert a.filter(pl.col("author_id").is_not_null() & (pl.col("kind") == "patch")).height == 1572


def test_review_tags_by_kind(result: ImportResult) -> None:
    ev = result.tables["interactions"]
    tags = dict(
        ev.filter(pl.col("kind").is_in(["review_approved", "commit_trailer"]))
        .group_by("value").len().iter_rows()
    )
    assert tags == {"Reviewed-by": 959, "Acked-by": 123, "Tested-by": 57}
    assert set(ev.filter(pl.col("value") == "Tested-by")["kind"]) == {"commit_trailer"}


def test_bots(result: ImportResult) -> None:
    ev = result.tables["interactions"].filter(pl.col("kind").is_in(["email_message",
                                                                    "email_reply"]))
    ids = result.tables["identities"]
    lkp = identity_id_for("mbox", "lkp@intel.com")
    assert ev.filter(pl.col("actor_id") == lkp).height == 335
    syz = ids.filter(pl.col("native_id").str.starts_with("syzbot"))
    assert syz["is_bot"].all()
    assert ev.filter(pl.col("actor_id").is_in(syz["identity_id"].implode())).height == 62
    assert ids.filter(pl.col("identity_id") == lkp)["is_bot"].to_list() == [True]


def test_from_munging_undone(result: ImportResult) -> None:
    ids = result.tables["identities"]
    natives = set(ids["native_id"])
    # 946 "X via Linux-erofs" senders are undone from Reply-To/X-Original-From. Two spam
    # messages forge the list address with no way back: one keyed by its display name, one
    # kept as the list address, flagged as a bot (never merged, excluded from graphs).
    assert sum(n.startswith("name:") for n in natives) == 1
    lst = ids.filter(pl.col("native_id") == "linux-erofs@lists.ozlabs.org")
    assert lst["is_bot"].to_list() == [True]
    assert result.rejects["outcome"].to_list() == ["flagged", "flagged"]
    assert "hsiangkao@linux.alibaba.com" in natives


def test_realdata_path(realdata: Path) -> None:
    assert (realdata / "erofs" / "README.md").is_file()
