"""Mattermost bulk-export importer: events, identities, malformed lines, zip/gzip, canary, re-import."""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers._base import identity_id_for
from orgnet.importers._io import MAX_LINE_BYTES
from orgnet.importers.mattermost import detect, import_mattermost
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

CANARY = "CANARY-7f3a"


@pytest.fixture
def export(fixtures: Path) -> Path:
    return fixtures / "mattermost" / "export.jsonl"


def uid(name: str) -> str:
    return identity_id_for("mattermost", name)


def _with_lines(export: Path, tmp_path: Path, *lines: str | bytes) -> Path:
    p = tmp_path / "bad.jsonl"
    data = export.read_bytes()
    for line in lines:
        data += (line.encode() if isinstance(line, str) else line) + b"\n"
    p.write_bytes(data)
    return p


def test_events(export: Path) -> None:
    r = import_mattermost(export)
    ev = r.tables["interactions"]
    assert dict(ev.group_by("kind").len().iter_rows()) == {
        "chat_message": 5, "chat_reply": 2, "mention": 2, "reaction": 2, "reference": 3}
    replies = ev.filter(pl.col("kind") == "chat_reply").sort("ts")
    assert replies.select("actor_id", "target_id", "target_role").rows() == [
        (uid("ohaddad"), uid("ksato"), "thread_root_author"),
        (uid("lfisc"), uid("ksato"), "thread_root_author")]
    reactions = ev.filter(pl.col("kind") == "reaction").sort("ts")
    assert reactions.select("actor_id", "target_id", "value").rows() == [
        (uid("ohaddad"), uid("ksato"), "eyes"), (uid("ksato"), uid("lfisc"), "tada")]
    # Reactions carry their own time (milliseconds).
    assert reactions["ts"][0] == dt.datetime(2024, 5, 2, 14, 8, 20, 456000, tzinfo=dt.UTC)
    mentions = ev.filter(pl.col("kind") == "mention").sort("ts")
    assert mentions.select("actor_id", "target_id").rows() == [
        (uid("ohaddad"), uid("ksato")), (uid("lfisc"), uid("ohaddad"))]  # @here not expanded
    assert sorted(ev.filter(pl.col("kind") == "reference")["value"]) == [
        "github:acme/widgets#412", "gitlab:infra/deployer#88", "path:src/deployer/main.go"]
    dm = ev.filter(pl.col("container") == "dm:ksato+lfisc+ohaddad")
    assert sorted(dm.filter(pl.col("kind") == "chat_message")["target_id"]) == sorted(
        [uid("ksato"), uid("ohaddad")])
    assert set(ev.filter(pl.col("kind") == "chat_message")["container"]) == {
        "eng/platform", "dm:ksato+ohaddad", "dm:ksato+lfisc+ohaddad"}


def test_identities(export: Path) -> None:
    r = import_mattermost(export)
    ids = {row["native_id"]: row for row in r.tables["identities"].iter_rows(named=True)}
    assert (ids["ksato"]["email"], ids["ksato"]["name"]) == ("ksato@example.com", "Keiko Sato")
    assert ids["lfisc"]["name"] == "Lena F"
    assert ids["deploybot"]["is_bot"] and not ids["ksato"]["is_bot"]
    assert r.counts.read == 5 and r.counts.skipped_reasons == {"system post": 1}


def test_zip_and_gzip_give_the_same_events(export: Path, tmp_path: Path) -> None:
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(export, "import.jsonl")
        zf.writestr("data/attachments/readme.txt", "ignored")
    g = tmp_path / "export.jsonl.gz"
    g.write_bytes(gzip.compress(export.read_bytes()))
    ids = [sorted(import_mattermost(p).tables["interactions"]["event_id"]) for p in (export, z, g)]
    assert ids[0] == ids[1] == ids[2]
    assert detect(export) and detect(z) and detect(g)
    assert not detect(tmp_path)


def test_zip_without_jsonl_and_unsafe_zip(tmp_path: Path) -> None:
    z = tmp_path / "x.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(InputError, match=r"no \.jsonl file"):
        import_mattermost(z)
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../evil.jsonl", '{"type":"version","version":1}\n')
    with pytest.raises(InputError, match="escapes the archive"):
        import_mattermost(z)


@pytest.mark.parametrize(
    ("line", "reason", "field"),
    [
        ('{"type":"post","post":{"team":"eng"', "invalid JSON", None),
        ('{"type":"post","post":{"create_at":NaN}}', "NaN", None),
        ('{"type":"post","type":"user"}', "duplicate key 'type'", None),
        ("[" * 300 + "]" * 300, "nested deeper than", None),
        (b'{"type":"post","post":{"message":"caf\xe9"}}', "invalid UTF-8", None),
        ('["type", "post"]', "not a {", "type"),
        ('{"type":"reaction","reaction":{}}', "unknown line type", "type"),
        ('{"type":"user","user":{"email":"x@example.com"}}', "user without a valid username",
         "username"),
        ('{"type":"post","post":"text"}', "post line without a 'post' object", "post"),
    ],
)
def test_unreadable_lines(export: Path, tmp_path: Path, line: str, reason: str,
                          field: str | None) -> None:
    p = _with_lines(export, tmp_path, line)
    r = import_mattermost(p)
    assert r.rejects.height == 1
    row = r.rejects.row(0, named=True)
    assert reason in row["reason"] and row["line"] == 14 and row["field"] == field
    assert r.counts.rejected == 1 and r.counts.read == 6


@pytest.mark.parametrize(
    ("post", "field"),
    [
        ('{"team":"eng","channel":"platform","message":"x","create_at":1714660000000}', "user"),
        ('{"team":"eng","channel":"platform","user":"ksato","create_at":"yesterday"}',
         "create_at"),
        ('{"team":"eng","channel":"platform","user":"ksato","create_at":true}', "create_at"),
        ('{"channel":"platform","user":"ksato","create_at":1714660000000}', "team/channel"),
        ('{"team":"eng","channel":"platform","user":"ksato","create_at":1714660000000,"type":3}',
         "type"),
    ],
)
def test_invalid_posts_rejected(export: Path, tmp_path: Path, post: str, field: str) -> None:
    r = import_mattermost(_with_lines(export, tmp_path, f'{{"type":"post","post":{post}}}'))
    rej = r.rejects.filter(pl.col("outcome") == "rejected")
    assert rej["field"].to_list() == [field] and rej["line"].to_list() == [14]
    bad_dm = '{"type":"direct_post","direct_post":{"channel_members":"ksato","user":"ksato",' \
             '"create_at":1714660000000}}'
    r = import_mattermost(_with_lines(export, tmp_path, bad_dm))
    assert r.rejects["field"].to_list() == ["channel_members"]


def test_bad_replies_and_reactions_are_repaired(export: Path, tmp_path: Path) -> None:
    line = ('{"type":"post","post":{"team":"eng","channel":"platform","user":"ksato",'
            '"message":"x","create_at":1714670000000,"reactions":[{"user":"ohaddad"}],'
            '"replies":[{"message":"no user","create_at":1714670001000},'
            '{"user":"lfisc","message":"ok","create_at":1714670002000}, 7]}}')
    r = import_mattermost(_with_lines(export, tmp_path, line))
    assert sorted(r.rejects["reason"]) == ["1 malformed reaction(s) ignored",
                                          "reply is not an object; ignored",
                                          "reply without a valid user; ignored"]
    assert set(r.rejects["outcome"]) == {"repaired"}
    assert r.counts.rejected == 0 and r.counts.repaired == 3
    late = r.tables["interactions"].filter(pl.col("ts") >= dt.datetime(2024, 5, 2, 17,
                                                                       tzinfo=dt.UTC))
    assert sorted(late["kind"]) == ["chat_message", "chat_reply"]


def test_huge_line_rejected(export: Path, tmp_path: Path) -> None:
    huge = '{"type":"post","post":{"message":"' + "x" * (MAX_LINE_BYTES + 10) + '"}}'
    r = import_mattermost(_with_lines(export, tmp_path, huge,
                                      '{"type":"post","post":{"team":"eng","channel":"c",'
                                      '"user":"ksato","create_at":1714670000000}}'))
    assert r.rejects["reason"].to_list() == [f"line longer than {MAX_LINE_BYTES} bytes"]
    assert r.counts.read == 7  # the line after the huge one is still read


def test_truncated_gzip(export: Path, tmp_path: Path) -> None:
    g = tmp_path / "cut.jsonl.gz"
    g.write_bytes(gzip.compress(export.read_bytes())[:-30])
    r = import_mattermost(g)
    assert any("truncated or corrupt" in x for x in r.rejects["reason"])


def test_webhook_and_window(export: Path, tmp_path: Path) -> None:
    hook = ('{"type":"post","post":{"team":"eng","channel":"platform","user":"ksato",'
            '"message":"x","create_at":1714670000000,"props":{"from_webhook":"true"}}}')
    r = import_mattermost(_with_lines(export, tmp_path, hook),
                          since=dt.datetime(2024, 5, 2, 14, 9, tzinfo=dt.UTC),
                          until=dt.datetime(2024, 5, 2, 15, 0, 30, tzinfo=dt.UTC))
    assert r.counts.skipped_reasons == {"system post": 1, "webhook post": 1,
                                        "outside --since/--until": 1}
    ev = r.tables["interactions"]
    assert ev["ts"].min() >= dt.datetime(2024, 5, 2, 14, 9, tzinfo=dt.UTC)
    # The root post is outside the window but its replies are inside: the record is kept.
    assert "chat_message" not in ev.filter(pl.col("container") == "eng/platform").filter(
        pl.col("actor_id") == uid("ksato"))["kind"].to_list()


def test_ingest_twice_is_noop(export: Path, workspace: Workspace) -> None:
    first = ingest(workspace, import_mattermost(export))
    assert first.counts.adds_up() and first.counts.imported == 4
    second = ingest(workspace, import_mattermost(export))
    assert all(v == 0 for v in second.rows_added.values()), second.rows_added
    assert second.counts.duplicate == first.counts.imported and second.counts.adds_up()


def test_canary_never_stored(export: Path, tmp_path: Path) -> None:
    p = _with_lines(
        export, tmp_path,
        '{"type":"post","post":{"team":"eng","channel":"platform","message":"CANARY-7f3a"}}',
        '{"type":"post","post":{"team":"eng","channel":"platform","user":"ksato",'
        '"message":"CANARY-7f3a","create_at":1714670000000,'
        '"replies":[{"message":"CANARY-7f3a"}],"reactions":"CANARY-7f3a"}}',
        '{"type":"CANARY-7f3a"}',
        '{"type":"post","post":{"message":"CANARY-7f3a",',
    )
    r = import_mattermost(p)
    assert r.rejects.height >= 4
    for name, frame in [*r.tables.items(), ("rejects", r.rejects)]:
        for col in frame.columns:
            if frame.schema[col] == pl.String:
                assert not frame[col].str.contains(CANARY).any(), (name, col)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=8))
def test_arbitrary_lines_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                     lines: list[bytes]) -> None:
    p = tmp_path_factory.mktemp("mm") / "x.jsonl"
    p.write_bytes(b"\n".join(lines))
    try:
        r = import_mattermost(p)
    except InputError:
        return
    assert r.counts.read == r.counts.rejected + r.counts.skipped + sum(
        1 for s in r.record_status if s == "ok")


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(
    st.sampled_from(["team", "channel", "user", "message", "create_at", "replies", "reactions",
                     "type", "props", "channel_members"]),
    st.one_of(st.none(), st.integers(), st.booleans(), st.text(max_size=10),
              st.lists(st.dictionaries(st.sampled_from(["user", "create_at", "emoji_name",
                                                        "message"]),
                                       st.one_of(st.text(max_size=6), st.integers())),
                       max_size=3))))
def test_arbitrary_posts_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                     post: dict[str, object]) -> None:
    import json

    p = tmp_path_factory.mktemp("mmp") / "x.jsonl"
    p.write_text('{"type":"version","version":1}\n'
                 + json.dumps({"type": "post", "post": post}) + "\n"
                 + json.dumps({"type": "direct_post", "direct_post": post}) + "\n")
    r = import_mattermost(p)
    assert r.counts.read == 2
