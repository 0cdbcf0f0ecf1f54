"""mbox importer: threading, From-munging, review tags, malformed messages, gzip, canary, re-import."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers._base import identity_id_for
from orgnet.importers.mbox import detect, import_mbox, parent_id
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

CANARY = "CANARY-7f3a"
LIST = "dev.lists.example.com"


@pytest.fixture
def mbox(fixtures: Path) -> Path:
    return fixtures / "mbox" / "list.mbox"


def uid(address: str) -> str:
    return identity_id_for("mbox", address)


def art(root: str) -> str:
    return f"mbox:{LIST}:{root}"


def test_threading_and_events(mbox: Path) -> None:
    r = import_mbox(mbox)
    ev = r.tables["interactions"]
    roots = ev.filter(pl.col("kind") == "email_message").sort("ts")
    assert roots.select("actor_id", "target_id", "artifact_id").rows() == [
        (uid("ksato@example.com"), None, art("CAF3k2@mail.example.com")),
        (uid("ben@example.com"), None, art("bad-date@example.org")),
        (uid("ben@example.com"), None, art("no-date@example.org"))]
    replies = ev.filter(pl.col("kind") == "email_reply").sort("ts")
    assert replies.select("actor_id", "target_id", "artifact_id").rows() == [
        (uid("ohaddad@example.com"), uid("ksato@example.com"), art("CAF3k2@mail.example.com")),
        # List-rewritten From undone from Reply-To; the parent is Omar's reply.
        (uid("lena@example.de"), uid("ohaddad@example.com"), art("CAF3k2@mail.example.com")),
        (uid("lkp@intel.com"), uid("ksato@example.com"), art("CAF3k2@mail.example.com")),
        # Parent missing from the archive: no target, thread named by the oldest reference.
        (uid("ana@example.com"), None, art("missing-root@example.org"))]
    assert roots["time_offset_min"][0] == 540 and replies["time_offset_min"][0] == 120
    assert roots["ts"][0] == dt.datetime(2024, 5, 2, 9, 0, tzinfo=dt.UTC)


def test_review_tags_toward_patch_author(mbox: Path) -> None:
    ev = import_mbox(mbox).tables["interactions"]
    tags = ev.filter(pl.col("kind").is_in(["review_approved", "commit_trailer"])).sort("ts",
                                                                                          "value")
    assert tags.select("kind", "value", "actor_id", "target_id", "target_role").rows() == [
        ("review_approved", "Reviewed-by", uid("ohaddad@example.com"), uid("ksato@example.com"),
         "artifact_author"),
        ("commit_trailer", "Tested-by", uid("ohaddad@example.com"), uid("ksato@example.com"),
         "artifact_author"),
        # Lena replied to Omar, but her Acked-by is for Keiko's patch.
        ("review_approved", "Acked-by", uid("lena@example.de"), uid("ksato@example.com"),
         "artifact_author")]
    # The quoted "> Reviewed-by: Quoted Person" line is not a tag.
    assert uid("quoted@example.com") not in set(ev["actor_id"])
    # The patch posting's own Signed-off-by is not a review.
    assert ev.filter(pl.col("value") == "Signed-off-by").height == 0


def test_artifacts(mbox: Path) -> None:
    a = import_mbox(mbox).tables["artifacts"].sort("opened_at")
    patch = a.row(0, named=True)
    assert patch["artifact_id"] == art("CAF3k2@mail.example.com") and patch["kind"] == "patch"
    assert patch["author_id"] == uid("ksato@example.com")
    assert patch["opened_at"] == dt.datetime(2024, 5, 2, 9, 0, tzinfo=dt.UTC)
    # First reply by someone other than the author (the robot does not count).
    assert patch["first_review_at"] == dt.datetime(2024, 5, 2, 10, 15, tzinfo=dt.UTC)
    assert a["kind"].to_list() == ["patch", "mail_thread", "mail_thread", "mail_thread"]
    assert a.filter(pl.col("artifact_id") == art("missing-root@example.org"))["author_id"][0] is None


def test_identities_and_bots(mbox: Path) -> None:
    ids = {r["native_id"]: r for r in import_mbox(mbox).tables["identities"].iter_rows(named=True)}
    assert ids["lkp@intel.com"]["is_bot"] and not ids["ksato@example.com"]["is_bot"]
    assert ids["lena@example.de"]["name"] == "Lena Fischer"
    assert "dev@lists.example.com" not in ids  # the list address is never a person


def test_references_and_quoting(mbox: Path) -> None:
    ev = import_mbox(mbox).tables["interactions"].filter(pl.col("kind") == "reference")
    assert sorted(ev["value"]) == ["github:acme/deployer#88", "path:services/deployer/main.py"]


def test_malformed_messages(mbox: Path) -> None:
    r = import_mbox(mbox)
    rej = r.rejects.sort("line")
    assert rej.select("line", "field", "reason", "outcome").rows() == [
        (63, "Date", "missing or invalid Date; used the topmost Received header", "repaired"),
        (73, "Message-ID", "missing Message-ID", "rejected"),
        (88, "Date", "missing or invalid Date; used the mbox From line", "repaired"),
        (95, None, "truncated message (headers not terminated by a blank line)", "rejected")]
    assert r.counts.read == 10 and r.counts.rejected == 2
    assert r.record_status.count("duplicate") == 1  # the second <bad-date@example.org>
    ev = r.tables["interactions"]
    assert ev.filter(pl.col("artifact_id") == art("bad-date@example.org"))["ts"].to_list() == [
        dt.datetime(2024, 5, 3, 9, 0, 5, tzinfo=dt.UTC)]


def test_unparseable_date_without_fallback(tmp_path: Path) -> None:
    p = tmp_path / "x.mbox"
    p.write_bytes(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nMessage-ID: <a@x>\n"
                  b"From: A <a@example.com>\nDate: not a date\n\nbody\n")
    r = import_mbox(p)
    assert r.rejects.select("line", "field", "reason").rows() == [
        (1, "Date", "missing or unparseable Date (no Received or From-line fallback)")]


def test_gzip_and_truncated_gzip(mbox: Path, tmp_path: Path) -> None:
    g = tmp_path / "list.mbox.gz"
    g.write_bytes(gzip.compress(mbox.read_bytes()))
    a, b = import_mbox(mbox), import_mbox(g)
    assert a.tables["interactions"]["event_id"].sort().to_list() == b.tables["interactions"][
        "event_id"].sort().to_list()
    assert detect(mbox) and detect(g)
    cut = tmp_path / "cut.mbox.gz"
    cut.write_bytes(gzip.compress(mbox.read_bytes())[:-40])
    r = import_mbox(cut)
    assert "truncated message (compressed stream ended)" in r.rejects["reason"].to_list()


def test_gzip_bomb_refused(tmp_path: Path) -> None:
    g = tmp_path / "bomb.mbox.gz"
    with gzip.open(g, "wb") as fh:
        fh.write(b"From a@x Thu May  2 09:00:00 2024\nMessage-ID: <a@x>\n\n")
        line = b"A" * 1000 + b"\n"
        for _ in range(110 * 1024):
            fh.write(line)
    with pytest.raises(InputError, match="gzip bomb"):
        import_mbox(g)


def test_not_an_mbox(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("hello\nworld\n")
    with pytest.raises(InputError, match="no 'From ' separator"):
        import_mbox(p)
    assert not detect(p)
    with pytest.raises(InputError, match="cannot open"):
        import_mbox(tmp_path / "missing.mbox")


def test_huge_line_and_list_name(mbox: Path, tmp_path: Path) -> None:
    p = tmp_path / "huge.mbox"
    p.write_bytes(mbox.read_bytes() + b"\n\nFrom x@y Sat May  4 09:00:00 2024\nMessage-ID: <h@x>\n"
                  b"From: X <x@example.com>\nDate: Sat, 4 May 2024 09:00:00 +0000\n\n"
                  + b"x" * (5 * 1024 * 1024) + b"\n")
    r = import_mbox(p, list_name="dev")
    assert r.rejects.filter(pl.col("reason").str.starts_with("line longer than")).height == 1
    assert set(r.tables["interactions"]["container"]) == {"dev"}
    assert r.tables["artifacts"]["artifact_id"].str.starts_with("mbox:dev:").all()


def test_window(mbox: Path) -> None:
    r = import_mbox(mbox, since=dt.date(2024, 5, 3))
    assert r.counts.skipped_reasons == {"outside --since/--until": 4}
    assert r.tables["interactions"]["ts"].min() >= dt.datetime(2024, 5, 3, tzinfo=dt.UTC)


def test_parent_rule() -> None:
    assert parent_id(("p@x",), ("r@x", "q@x")) == "p@x"
    assert parent_id(("p@x", "o@x"), ("r@x", "q@x")) == "q@x"
    assert parent_id((), ("r@x", "q@x")) == "q@x"
    assert parent_id(("p@x", "o@x"), ()) == "o@x"
    assert parent_id((), ()) is None


def test_ingest_twice_is_noop(mbox: Path, workspace: Workspace) -> None:
    first = ingest(workspace, import_mbox(mbox))
    assert first.counts.adds_up()
    assert (first.counts.imported, first.counts.duplicate, first.counts.rejected) == (7, 1, 2)
    second = ingest(workspace, import_mbox(mbox))
    assert all(v == 0 for v in second.rows_added.values()), second.rows_added
    assert second.counts.duplicate == first.counts.imported + first.counts.duplicate
    assert second.counts.adds_up()


def test_canary_never_stored(mbox: Path, tmp_path: Path) -> None:
    r = import_mbox(mbox)
    assert CANARY in mbox.read_text()
    for name, frame in [*r.tables.items(), ("rejects", r.rejects)]:
        for col in frame.columns:
            if frame.schema[col] == pl.String:
                assert not frame[col].str.contains(CANARY).any(), (name, col)
    assert not any(CANARY in n for n in r.notes)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    p = tmp_path_factory.mktemp("mbox") / "x.mbox"
    p.write_bytes(b"From a@x Thu May  2 09:00:00 2024\n" + data)
    try:
        r = import_mbox(p)
    except InputError:
        return
    assert r.counts.read >= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["Message-ID", "In-Reply-To", "References", "Date", "From", "Subject",
                     "Reply-To", "Content-Type", "Content-Transfer-Encoding", "List-Id"]),
    st.text(max_size=40)), max_size=8), st.text(max_size=200))
def test_arbitrary_headers_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                       headers: list[tuple[str, str]], body: str) -> None:
    text = "".join(f"{k}: {v}\n".replace("\r", " ") for k, v in headers
                   if "\n" not in v)
    p = tmp_path_factory.mktemp("mboxh") / "x.mbox"
    p.write_bytes(("From a@x Thu May  2 09:00:00 2024\n" + text + "\n" + body + "\n").encode(
        "utf-8", "surrogatepass"))
    with contextlib.suppress(InputError):
        import_mbox(p)
