"""Slack export importer: events, identities, malformed day files, unsafe zips, canary, re-import."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers._base import ImportResult, identity_id_for
from orgnet.importers.slack import detect, import_slack
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

CANARY = "CANARY-7f3a"


@pytest.fixture
def export_dir(fixtures: Path) -> Path:
    return fixtures / "slack" / "export"


def _zip_dir(src: Path, dest: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(src).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return dest


def _copy(export_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "export"
    shutil.copytree(export_dir, dest)
    return dest


def uid(native: str) -> str:
    return identity_id_for("slack", native)


def _events(r: ImportResult) -> pl.DataFrame:
    return r.tables["interactions"]


def test_events_from_fixture(export_dir: Path) -> None:
    r = import_slack(export_dir)
    ev = _events(r)
    kinds = dict(ev.group_by("kind").len().iter_rows())
    assert kinds == {"chat_message": 8, "chat_reply": 4, "mention": 2, "reaction": 3,
                     "reference": 4}
    # Thread replies point at the thread root's author, found by thread_ts.
    replies = ev.filter(pl.col("kind") == "chat_reply").sort("ts")
    assert replies["target_id"].to_list() == [uid("U01ANA"), uid("U01ANA"), uid("U01ANA"),
                                              uid("U03CHLOE")]
    assert replies["actor_id"].to_list() == [uid("U02BEN"), uid("U03CHLOE"), uid("U01ANA"),
                                             uid("U02BEN")]
    # The broadcast reply is counted once, as a reply.
    assert ev.filter((pl.col("kind") == "chat_message") & (pl.col("actor_id") == uid("U03CHLOE"))
                     & (pl.col("container") == "eng-platform")).height == 0
    # Reactions: value = emoji, target = message author, time = message ts.
    eyes = ev.filter(pl.col("value") == "eyes")
    assert sorted(eyes["actor_id"]) == sorted([uid("U02BEN"), uid("U03CHLOE")])
    assert set(eyes["target_id"]) == {uid("U01ANA")}
    assert set(eyes["ts"]) == {dt.datetime(2024, 5, 2, 14, 7, 31, 123459, tzinfo=dt.UTC)}
    # Mentions: <@U01ANA> in text; blocks preferred over text.
    mentions = ev.filter(pl.col("kind") == "mention").sort("ts")
    assert mentions.select("actor_id", "target_id").rows() == [
        (uid("U02BEN"), uid("U01ANA")), (uid("U01ANA"), uid("U02BEN"))]
    refs = sorted(ev.filter(pl.col("kind") == "reference")["value"])
    assert refs == ["git:acme/widgets@1a2b3c4", "github:acme/widgets#412",
                    "github:infra/deployer#88213", "path:services/payments/api.py"]
    pr = ev.filter(pl.col("value") == "github:acme/widgets#412")
    assert pr["artifact_id"].to_list() == ["github:acme/widgets#412"]


def test_dm_and_mpim_targets(export_dir: Path) -> None:
    ev = _events(import_slack(export_dir))
    dm = ev.filter(pl.col("container") == "D0DMANABEN")
    assert dm.select("kind", "actor_id", "target_id", "target_role").rows() == [
        ("chat_message", uid("U01ANA"), uid("U02BEN"), "conversation_member")]
    mpim = ev.filter((pl.col("container") == "mpdm-ana--ben--chloe-1")
                     & (pl.col("kind") == "chat_message"))
    assert sorted(mpim["target_id"]) == sorted([uid("U01ANA"), uid("U03CHLOE")])
    channel = ev.filter((pl.col("container") == "general") & (pl.col("kind") == "chat_message"))
    assert channel["target_id"].null_count() == channel.height == 2


def test_identities_and_bots(export_dir: Path) -> None:
    r = import_slack(export_dir)
    ids = {row["native_id"]: row for row in r.tables["identities"].iter_rows(named=True)}
    ana = ids["U01ANA"]
    assert (ana["username"], ana["name"], ana["email"], ana["is_bot"]) == (
        "ana", "Ana Ruiz", "ana.ruiz@acme.example", False)
    assert ids["USLACKBOT"]["is_bot"] and ids["U04DEPLOY"]["is_bot"]
    assert ids["B01DEPLOY"]["is_bot"] and ids["B01DEPLOY"]["username"] == "deploybot"
    # Unknown user (deleted / Slack Connect): a placeholder named from the inline profile.
    assert ids["U05GUEST"]["name"] == "Gus Guest" and not ids["U05GUEST"]["is_bot"]
    bot_events = _events(r).filter(pl.col("actor_id") == uid("B01DEPLOY"))
    assert bot_events["kind"].to_list() == ["chat_message"]  # flagged, not dropped


def test_skips_and_counts(export_dir: Path) -> None:
    r = import_slack(export_dir)
    assert r.counts.read == 14
    assert r.counts.skipped_reasons == {"subtype channel_join": 1, "subtype channel_topic": 1,
                                        "unknown subtype": 1}
    assert r.counts.rejected == 0
    assert any("huddle_v9 x1" in n for n in r.notes)


def test_zip_equals_directory(export_dir: Path, tmp_path: Path) -> None:
    z = _zip_dir(export_dir, tmp_path / "export.zip")
    a, b = import_slack(export_dir), import_slack(z)
    assert detect(z) and detect(export_dir) and not detect(tmp_path)
    assert sorted(a.tables["interactions"]["event_id"]) == sorted(
        b.tables["interactions"]["event_id"])


def test_time_never_from_file_name(export_dir: Path, tmp_path: Path) -> None:
    d = _copy(export_dir, tmp_path)
    (d / "general" / "2024-05-01.json").rename(d / "general" / "1999-01-01.json")
    ev = _events(import_slack(d)).filter(pl.col("container") == "general")
    assert ev["ts"].min() == dt.datetime(2024, 5, 1, 8, 0, 0, 100, tzinfo=dt.UTC)


def test_window(export_dir: Path) -> None:
    r = import_slack(export_dir, since=dt.datetime(2024, 5, 2, 14, 0, tzinfo=dt.UTC),
                     until=dt.date(2024, 5, 3))
    assert r.counts.skipped_reasons["outside --since/--until"] == 7
    ev = _events(r)
    assert ev["ts"].min() >= dt.datetime(2024, 5, 2, 14, 0, tzinfo=dt.UTC)
    # The root outside the window still names the reply's target.
    late = import_slack(export_dir, since=dt.date(2024, 5, 3))
    reply = _events(late).filter((pl.col("kind") == "chat_reply")
                                 & (pl.col("actor_id") == uid("U01ANA")))
    assert reply["target_id"].to_list() == [uid("U01ANA")]


def test_ingest_twice_is_noop(export_dir: Path, workspace: Workspace) -> None:
    first = ingest(workspace, import_slack(export_dir))
    assert first.counts.adds_up()
    assert first.counts.imported == 11 and first.counts.skipped == 3
    second = ingest(workspace, import_slack(export_dir))
    assert all(v == 0 for v in second.rows_added.values()), second.rows_added
    assert second.counts.duplicate == first.counts.imported
    assert second.counts.adds_up()


def test_canary_never_stored(export_dir: Path, tmp_path: Path) -> None:
    d = _copy(export_dir, tmp_path)
    # Add malformed files too, so rejects are exercised.
    (d / "general" / "2024-05-04.json").write_text(
        '[{"type": "message", "user": "U01ANA", "text": "CANARY-7f3a", "ts": "bad"},'
        ' "CANARY-7f3a", {"type": "message", "user": "u-bad", "text": "CANARY-7f3a",'
        ' "ts": "1714650000.1"}, {"type": "message", "user": "U01ANA", "text": ["CANARY-7f3a"],'
        ' "ts": "1714650001.1", "reactions": "CANARY-7f3a"}]'
    )
    (d / "general" / "2024-05-05.json").write_text('{"CANARY-7f3a": 1}')
    (d / "general" / "2024-05-06.json").write_text('[{"text": "CANARY-7f3a", "ts": NaN}]')
    r = import_slack(d)
    assert r.rejects.height >= 5
    for name, frame in [*r.tables.items(), ("rejects", r.rejects)]:
        for col in frame.columns:
            if frame.schema[col] == pl.String:
                assert not frame[col].str.contains(CANARY).any(), (name, col)
    assert not any(CANARY in n for n in r.notes)


# -- malformed inputs ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'[{"ts": "1714650000.1", "user": "U01ANA", "text": "caf\xe9"}]', "invalid UTF-8"),
        (b'[{"ts": "1714650000.1", "user": "U01ANA", "x": NaN}]', "non-standard JSON constant NaN"),
        (b'[{"ts": "1714650000.1", "ts": "1714650001.1", "user": "U01ANA"}]', "duplicate key 'ts'"),
        (b"[" * 500 + b"]" * 500, "nested deeper than"),
        (b'{"messages": []}', "day file is not a JSON array"),
        (b'[{"ts": "1714650000.1", "user": "U01ANA"', "invalid JSON"),
    ],
)
def test_invalid_day_file_rejected(
    export_dir: Path, tmp_path: Path, content: bytes, reason: str
) -> None:
    d = _copy(export_dir, tmp_path)
    (d / "general" / "2024-05-09.json").write_bytes(content)
    r = import_slack(d)
    rej = r.rejects.filter(pl.col("record") == "general/2024-05-09.json")
    assert rej.height == 1
    assert reason in rej["reason"][0]
    assert rej["source_file"][0] == str(d / "general" / "2024-05-09.json")
    assert r.counts.rejected == 1 and r.counts.read == 15


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        ('"just a string"', None, "message is not a JSON object"),
        ('{"user": "U01ANA", "ts": 1714650000.1}', "ts", "invalid ts"),
        ('{"user": "U01ANA", "ts": "soon"}', "ts", "invalid ts"),
        ('{"user": "U01ANA", "ts": "1714650000.1", "subtype": 5}', "subtype", "not a string"),
        ('{"text": "hi", "ts": "1714650000.1"}', "user", "no valid sender"),
        ('{"user": "not an id", "ts": "1714650000.1"}', "user", "no valid sender"),
        ('{"user": "U01ANA", "ts": "1714650000.1", "thread_ts": 3}', "thread_ts",
         "invalid thread_ts"),
    ],
)
def test_invalid_message_rejected_with_line(
    export_dir: Path, tmp_path: Path, message: str, field: str | None, reason: str
) -> None:
    d = _copy(export_dir, tmp_path)
    good = '{"user": "U02BEN", "text": "fine", "ts": "1714640000.000001"}'
    (d / "general" / "2024-05-09.json").write_text(f"[{good}, {message}]")
    r = import_slack(d)
    rej = r.rejects.filter(pl.col("outcome") == "rejected")
    assert rej.height == 1
    assert reason in rej["reason"][0]
    assert rej["field"][0] == field
    assert rej["line"][0] == 2  # element index within the day file
    assert r.counts.rejected == 1


def test_wrong_typed_parts_are_repaired(export_dir: Path, tmp_path: Path) -> None:
    d = _copy(export_dir, tmp_path)
    (d / "general" / "2024-05-09.json").write_text(
        '[{"user": "U02BEN", "text": 42, "ts": "1714640000.000001",'
        ' "reactions": [{"name": "ok", "users": ["U01ANA"]}, {"name": 3}]}]')
    r = import_slack(d)
    assert sorted(r.rejects["reason"]) == ["1 malformed reaction(s) ignored",
                                          "text is not a string; ignored"]
    assert set(r.rejects["outcome"]) == {"repaired"}
    when = dt.datetime.fromtimestamp(1714640000, dt.UTC) + dt.timedelta(microseconds=1)
    ev = _events(r).filter(pl.col("ts") == when)
    assert sorted(ev["kind"]) == ["chat_message", "reaction"]


def test_missing_metadata_is_input_error(export_dir: Path, tmp_path: Path) -> None:
    d = _copy(export_dir, tmp_path)
    (d / "users.json").unlink()
    with pytest.raises(InputError, match="not a Slack export"):
        import_slack(d)
    (d / "users.json").write_text('{"not": "a list"}')
    with pytest.raises(InputError, match="expected a JSON array"):
        import_slack(d)
    (d / "users.json").write_text("[NaN]")
    with pytest.raises(InputError, match="NaN"):
        import_slack(d)


def test_bad_optional_metadata_rejected(export_dir: Path, tmp_path: Path) -> None:
    d = _copy(export_dir, tmp_path)
    (d / "dms.json").write_text("[{,}]")
    (d / "users.json").write_text(
        (d / "users.json").read_text().replace('[\n', '[\n "nope", {"name": "x"},\n', 1))
    r = import_slack(d)
    reasons = sorted(r.rejects["reason"])
    assert reasons[0].startswith("unreadable metadata file: invalid JSON")
    assert reasons[1:] == ["user entry is not a JSON object", "user entry without a valid id"]


def test_zip_slip_refused(export_dir: Path, tmp_path: Path) -> None:
    z = _zip_dir(export_dir, tmp_path / "slip.zip", {"../../evil.json": b"[]"})
    with pytest.raises(InputError, match="escapes the archive") as err:
        import_slack(z)
    assert "'../../evil.json'" in str(err.value)
    z = _zip_dir(export_dir, tmp_path / "abs.zip", {"/general/2024-05-01.json": b"[]"})
    with pytest.raises(InputError, match="absolute member path"):
        import_slack(z)
    assert not (tmp_path.parent / "evil.json").exists()


def test_symlink_member_rejected(export_dir: Path, tmp_path: Path) -> None:
    z = _zip_dir(export_dir, tmp_path / "link.zip")
    with zipfile.ZipFile(z, "a") as zf:
        info = zipfile.ZipInfo("general/2024-05-07.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    r = import_slack(z)
    rej = r.rejects.filter(pl.col("reason") == "symlink member")
    assert rej["source_file"].to_list() == [f"{z}!general/2024-05-07.json"]
    assert r.counts.rejected == 1


def test_zip_bomb_refused(export_dir: Path, tmp_path: Path) -> None:
    # A day file of 110 MiB of blanks deflates to ~100 KB: more than 100x the archive size
    # (archives under 1 MiB count as 1 MiB), so the import stops while inflating it.
    z = _zip_dir(export_dir, tmp_path / "bomb.zip")
    with zipfile.ZipFile(z, "a", compression=zipfile.ZIP_DEFLATED) as zf, zf.open(
        "general/2024-05-08.json", "w"
    ) as fh:
        fh.write(b"[")
        chunk = b" " * (1024 * 1024)
        for _ in range(110):
            fh.write(chunk)
        fh.write(b"]")
    assert z.stat().st_size < 1024 * 1024
    with pytest.raises(InputError, match="zip bomb") as err:
        import_slack(z)
    assert "general/2024-05-08.json" in str(err.value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_day_file_never_crashes(export_dir: Path, tmp_path: Path, data: bytes) -> None:
    d = tmp_path / "fuzz"
    if not d.exists():
        shutil.copytree(export_dir, d)
    (d / "general" / "2024-05-09.json").write_bytes(data)
    r = import_slack(d)
    assert r.counts.read >= 14


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dictionaries(
    st.sampled_from(["ts", "user", "text", "thread_ts", "subtype", "reactions", "blocks",
                     "bot_id", "parent_user_id"]),
    st.one_of(st.none(), st.integers(), st.text(max_size=20),
              st.sampled_from(["1714650000.1", "U01ANA", "<@U02BEN>", "bot_message"]),
              st.lists(st.dictionaries(st.sampled_from(["name", "users", "type", "user_id"]),
                                       st.one_of(st.text(max_size=5), st.lists(st.text(max_size=8)))),
                       max_size=3))), max_size=6))
def test_arbitrary_messages_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                        messages: list[dict[str, object]]) -> None:
    import json

    d = tmp_path_factory.mktemp("msgs")
    (d / "users.json").write_text("[]")
    (d / "channels.json").write_text('[{"id": "C1", "name": "general"}]')
    (d / "general").mkdir()
    (d / "general" / "2024-01-01.json").write_text(json.dumps(messages))
    r = import_slack(d)
    assert r.counts.read == len(messages)


# -- shards ---------------------------------------------------------------------------------------
def _same_result(a: ImportResult, b: ImportResult) -> None:
    assert a.record_status == b.record_status
    assert a.counts == b.counts
    assert a.rejects.equals(b.rejects)
    assert sorted(a.tables) == sorted(b.tables)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name


@pytest.mark.parametrize("n_shards", [2, 3, 7])
def test_shards_merge_to_the_serial_result(export_dir: Path, tmp_path: Path, n_shards: int) -> None:
    from orgnet.importers._base import merge_results

    d = _copy(export_dir, tmp_path)
    # A broken day file and an unknown user make shards carry rejects and placeholders too.
    (d / "general" / "2024-05-09.json").write_bytes(b'[{"ts": "1714650000.1", "user": "U01ANA"')
    serial = import_slack(d)
    parts = [import_slack(d, shard=(i, n_shards)) for i in range(n_shards)]
    assert sum(p.counts.read for p in parts) == serial.counts.read
    assert sum(1 for p in parts if p.counts.read) >= 2  # the folders really are split
    _same_result(merge_results(parts), serial)
    with pytest.raises(ValueError, match="shard"):
        import_slack(d, shard=(n_shards, n_shards))


def _zipped_with_problems(export_dir: Path, tmp_path: Path,
                          extra: dict[str, bytes] | None = None) -> Path:
    """The export zipped, with a broken day file and a member problem (reported by shard 0
    only), plus ``extra`` members."""
    d = _copy(export_dir, tmp_path)
    (d / "general" / "2024-05-09.json").write_bytes(b'[{"ts": "1714650000.1", "user": "U01ANA"')
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(d.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(d).as_posix())
        zf.writestr("bad\x01name.json", b"[]")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return z


def test_shards_of_a_zip_with_a_shared_listing_merge_to_the_serial_result(
        export_dir: Path, tmp_path: Path) -> None:
    """The parallel import reads a zip's directory once and hands it to every shard."""
    from orgnet.importers._archive import SafeArchive
    from orgnet.importers._base import merge_results

    z = _zipped_with_problems(export_dir, tmp_path)
    with SafeArchive(z) as archive:
        listing = archive.listing()
    assert [p.reason for p in listing.problems] == ["NUL or control character in member name"]
    serial = import_slack(z)
    parts = [import_slack(z, shard=(i, 3), listing=listing) for i in range(3)]
    assert sum(1 for p in parts if p.counts.read) >= 2
    _same_result(merge_results(parts), serial)


@pytest.mark.parametrize("n_shards", [2, 3, 5])
def test_planned_shard_listings_merge_to_the_serial_result(
        export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n_shards: int) -> None:
    """``shard_listings``: every shard gets only its folders' members with the plan (shard 0
    also the count of members outside the layout); the merged result is the serial one, and a
    listing for a file that changed since is not used (the shard then plans for itself)."""
    import os

    from orgnet.importers import slack
    from orgnet.importers._archive import SafeArchive
    from orgnet.importers._base import merge_results
    from orgnet.importers.slack import shard_listings

    z = _zipped_with_problems(export_dir, tmp_path, extra={
        "extra/notes.txt": b"x",  # outside the layout: counted by shard 0 only
        "__MACOSX/general/2024-05-01.json": b"[]"})
    with SafeArchive(z) as archive:
        listing = archive.listing()
    serial = import_slack(z)
    parts = shard_listings(z, listing, n_shards)
    assert len(parts) == n_shards
    # Outside the layout: extra/notes.txt, the __MACOSX copy and the problems' member(s) that
    # are readable (counted over the whole archive, as a shard with the whole listing would).
    with SafeArchive(z) as archive:
        outside = slack._day_files(archive)[1]
    assert outside == 2 and all(part.outside == outside for part in parts)
    assert all(part.problems == listing.problems for part in parts)
    for part in parts:
        assert part.folders is not None and part.table.height < listing.table.height
        keys = set(part.table["key"].to_list())
        assert {"users.json", "channels.json"} <= keys
        assert all("/" not in k or k.split("/")[0] in part.folders for k in keys)
    assert sorted(f for part in parts for f in part.folders or ()) == sorted(
        {f for part in parts for f in part.folders or ()})  # no folder twice
    # Packed once for the shards after the first (which reads the files for its records).
    assert parts[0].lookups is None
    assert all(part.lookups is not None and part.lookups is parts[1].lookups
               for part in parts[1:])
    # The packed lookups are what a shard reads from the metadata files itself.
    from orgnet.importers._base import ImportBuilder

    packed = slack._unpack_lookups(parts[1].lookups)
    assert packed is not None
    state = slack._State()
    with SafeArchive(z) as archive:
        slack._load_users(archive, ImportBuilder("slack", z), state, "users.json", str)
        conversations = slack._load_conversations(archive, ImportBuilder("slack", z), str)
    assert len(state.users) > 3 and packed == (state.users, conversations)
    loads: list[int] = []
    real_load = slack._load_users
    monkeypatch.setattr(slack, "_load_users", lambda *a, **k: (loads.append(1), real_load(*a, **k)))
    results = [import_slack(z, shard=(i, n_shards), listing=parts[i]) for i in range(n_shards)]
    assert len(loads) == 1  # the first shard, for its records; the others use the plan's
    # A shard's listing given for another shard (or for the whole file) is not used.
    assert [p.shard for p in parts] == [(i, n_shards) for i in range(n_shards)]
    _same_result(import_slack(z, listing=parts[-1]), serial)
    _same_result(merge_results([import_slack(z, shard=(i, n_shards), listing=parts[-1 - i])
                                for i in range(n_shards)]), serial)
    assert sum(1 for r in results if r.counts.read) >= 2
    _same_result(merge_results(results), serial)
    assert merge_results(results).notes == serial.notes
    # The file changed since the listing: the listings are not used, shards plan themselves.
    os.utime(z, ns=(1, 1))
    results = [import_slack(z, shard=(i, n_shards), listing=parts[i]) for i in range(n_shards)]
    _same_result(merge_results(results), serial)


@pytest.mark.parametrize("non_ascii", [False, True])
def test_shard_plan_column_wise_equals_member_wise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    non_ascii: bool) -> None:
    """``shard_listings`` plans on the listing's table with polars when every name is printable
    ASCII; the listings equal those of the member-by-member plan, name edge cases included."""
    import zipfile

    from orgnet.importers import slack
    from orgnet.importers._archive import SafeArchive

    names = ["users.json", "channels.json", "top.json", "extra/notes.txt",
             "__MACOSX/general/2024-05-01.json", "a/b/2024-05-01.json", "a/2024-5-01.json",
             "x/2024-05-01.jsonx", "x/2024-05-01.json.bak", "Z-dm/2024-05-03.json",
             "__MACOSX/2024-05-01.json"]
    names += [f"{c}/2024-05-{d:02d}.json" for c in ("general", "random", "dev", "a_b", "Q")
              for d in range(1, 2 + len(c))]
    names += [f"e{k}/2024-05-01.json" for k in range(12)]  # empty: each folder counts 1 byte
    if non_ascii:  # Arabic-Indic digits are \d to re; such names take the member-wise plan
        names += ["caf\u00e9/2024-05-01.json", "y/\u0661\u0662\u0663\u0664-05-01.json"]
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for k, name in enumerate(names):
            zf.writestr(name, b"[]" if name.endswith("s.json") and "/" not in name
                        else b"" if name.startswith("e") else b" " * (k % 3))
    with SafeArchive(z) as archive:
        listing = archive.listing()
        days, _ignored = slack._day_files(archive)
        sizes = slack._folder_sizes(archive, days)
    assert (slack._plan_columnar(listing.table, 3) is None) == non_ascii
    for n in (2, 3, 4):
        plan = slack._plan_columnar(listing.table, n)
        if plan is not None:  # the same folders, members and shards as the member-wise plan
            folders, shard_of, row_shard, outside = plan
            assert folders == sorted(days) and shard_of == slack._shard_indexes(sizes, n)
            assert outside == _ignored
            where = {m: k for f, k in zip(folders, shard_of, strict=True) for m in days[f]}
            assert row_shard.to_list() == [where.get(m) for m in listing.table["key"]]
            assert len(set(shard_of)) == n
        got = slack.shard_listings(z, listing, n)
        with monkeypatch.context() as m:
            m.setattr(slack, "_plan_columnar", lambda table, n_shards: None)
            want = slack.shard_listings(z, listing, n)
        assert [p.folders for p in got] == [p.folders for p in want]
        assert [p.outside for p in got] == [p.outside for p in want] == [_ignored] * n
        assert all(g.table.equals(w.table) for g, w in zip(got, want, strict=True))
        planned = sorted(f for p in got for f in p.folders or ())
        assert "__MACOSX" not in planned and "x" not in planned and "extra" not in planned
        assert sum(len(p.folders or ()) for p in got[1:]) > 0


def _forged_zip(path: Path, members: list[tuple[str, bytes, int]]) -> None:
    """A stored zip whose directory claims ``size`` for each member (zip64 past 4 GiB)."""
    import struct
    import zlib

    out, cd = bytearray(), bytearray()
    for name, data, claimed in members:
        offset, raw, crc = len(out), name.encode(), zlib.crc32(data)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, len(data),
                           len(data), len(raw), 0) + raw + data
        extra = struct.pack("<HHQ", 1, 8, claimed) if claimed >= 0xFFFFFFFF else b""
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                          len(data), 0xFFFFFFFF if extra else claimed, len(raw), len(extra),
                          0, 0, 0, 0o100644 << 16, offset) + raw + extra
    start = len(out)
    out += cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd),
                            start, 0)
    path.write_bytes(bytes(out))


@pytest.mark.parametrize("claims", [[(1 << 63) - 1] * 2, [(1 << 63) - 1, (1 << 63) - 1, 1],
                                    [(1 << 64) - 1]])
def test_shards_with_huge_claimed_sizes_merge_to_the_serial_result(
        export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        claims: list[int]) -> None:
    """Claimed sizes are untrusted: sums past 2**63 (an Int64 would wrap) or 2**53 (floats
    round) must neither drop a folder from every shard nor differ between the two plans."""
    from orgnet import pipeline
    from orgnet.importers import slack
    from orgnet.importers._archive import SafeArchive
    from orgnet.importers._base import merge_results

    files = sorted(p for p in export_dir.rglob("*") if p.is_file())
    members = [(f"0big/2024-05-{k + 1:02d}.json", b"[]", c) for k, c in enumerate(claims)]
    members += [(p.relative_to(export_dir).as_posix(), p.read_bytes(), p.stat().st_size)
                for p in files]
    z = tmp_path / "export.zip"
    _forged_zip(z, members)
    serial = import_slack(z)
    assert serial.tables["interactions"].height > 0
    with SafeArchive(z) as archive:
        days, _ignored = slack._day_files(archive)
        sizes = slack._folder_sizes(archive, days)
        if max(claims) < 1 << 63:
            listing = archive.listing()
        else:  # past Int64: no listing; the pipeline's shards then list the zip themselves
            with pytest.raises(ValueError, match="do not fit a listing"):
                archive.listing()
            listing = None
    assert sizes[0] == sum(claims) + 1
    assert (pipeline._shared_listing(z) is None) == (listing is None)
    for n in (2, 3, 5):
        assert all(0 <= k < n for k in slack._shard_indexes(sizes, n))
        if listing is None:
            results = [import_slack(z, shard=(i, n)) for i in range(n)]
            _same_result(merge_results(results), serial)
            continue
        got = slack.shard_listings(z, listing, n)
        with monkeypatch.context() as m:
            m.setattr(slack, "_plan_columnar", lambda table, n_shards: None)
            want = slack.shard_listings(z, listing, n)
        assert [p.folders for p in got] == [p.folders for p in want]
        results = [import_slack(z, shard=(i, n), listing=got[i]) for i in range(n)]
        _same_result(merge_results(results), serial)


@pytest.mark.parametrize("users", [b'[{"id": "U01ANA"', b'{"not": "a list"}', None])
def test_planned_shards_with_bad_users_file_act_as_unplanned(
        export_dir: Path, tmp_path: Path, users: bytes | None) -> None:
    """Unreadable users metadata (or a bad entry in it): the plan packs no lookups when it cannot
    read them, and the shards then fail (or reject) exactly as a serial import does."""
    import json

    from orgnet.importers import slack
    from orgnet.importers._archive import SafeArchive
    from orgnet.importers._base import merge_results

    if users is None:  # readable, with an entry without an id (a reject of shard 0)
        data = json.loads((export_dir / "users.json").read_text(encoding="utf-8"))
        users = json.dumps([*data, {"name": "no id"}]).encode()
    d = _copy(export_dir, tmp_path)
    (d / "users.json").write_bytes(users)
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(d).as_posix())
    with SafeArchive(z) as archive:
        listing = archive.listing()
    parts = slack.shard_listings(z, listing, 3)
    try:
        serial = import_slack(z)
    except InputError as exc:
        assert all(part.lookups is None for part in parts)
        for i in range(3):
            with pytest.raises(InputError) as raised:
                import_slack(z, shard=(i, 3), listing=parts[i])
            assert str(raised.value) == str(exc)
        return
    assert parts[0].lookups is None and all(part.lookups is not None for part in parts[1:])
    assert serial.rejects.height >= 1
    results = [import_slack(z, shard=(i, 3), listing=parts[i]) for i in range(3)]
    _same_result(merge_results(results), serial)
