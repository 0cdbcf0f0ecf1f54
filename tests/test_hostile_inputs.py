"""Hostile input: every parser entry point either imports (with rejects) or raises InputError.

Three layers:

- hypothesis, per parser entry point (``fuzz/targets.py``: 22 targets covering every importer,
  every owners kind, Slack as a directory and as a zip, Mattermost plain and zipped, GitHub and
  Gerrit REST): arbitrary bytes, byte-level mutations of real fixtures, and structure-aware JSON
  mutations (a node of a valid document replaced by a value of a random type or shape);
- the regression corpus ``fuzz/corpus/<target>/`` replayed (and ingested);
- explicit cases: zip slip and zip bombs in Mattermost zips (Slack's are in
  tests/importers/test_slack.py), deeply nested JSON, huge lines, invalid UTF-8, NaN and
  duplicate keys, spreadsheet formulas, ANSI escapes and HTML in names (stored cleaned, printed
  safely by ``orgnet identities``), git trailer text never echoed into rejects.

Importer modules already hold arbitrary-bytes tests of their own; these add the structure-aware
and mutation layers and the entry points they do not cover (aliases, GitHub/Gerrit REST, Slack
users/channels/zip, Mattermost zip, every owners kind).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.export import write_safe_csv
from orgnet.importers._base import ImportResult
from orgnet.importers._io import MAX_JSON_DEPTH, MAX_LINE_BYTES
from orgnet.importers.aliases import import_aliases
from orgnet.importers.git import import_git
from orgnet.importers.github import import_github
from orgnet.importers.mattermost import import_mattermost
from orgnet.importers.mbox import import_mbox
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.slack import import_slack
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _load_targets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orgnet_fuzz_targets", ROOT / "fuzz" / "targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


T = _load_targets()
NAMES = sorted(T.TARGETS)
_SEEDS: dict[str, list[bytes]] = {}
_PATHS: dict[str, list[tuple[int, tuple[Any, ...]]]] = {}


def seeds(name: str) -> list[bytes]:
    if name not in _SEEDS:
        _SEEDS[name] = T.seeds_of(T.TARGETS[name])
    return _SEEDS[name]


def json_paths(name: str) -> list[tuple[int, tuple[Any, ...]]]:
    target = T.TARGETS[name]
    if name not in _PATHS:
        _PATHS[name] = T.paths_of(seeds(name)[0], target.json_kind) if target.json_kind else []
    return _PATHS[name]


def check_contract(result: ImportResult) -> None:
    """What a result of hostile input must still satisfy."""
    c = result.counts
    assert c.read == len([s for s in result.record_status if s != "derived"])
    assert c.rejected + c.skipped <= c.read
    for value in result.rejects["raw_excerpt"].drop_nulls().to_list():
        assert value.isprintable() or all(ch.isprintable() or ch == "…" for ch in value)
    for name, frame in result.tables.items():
        if name == "identities" and frame.height:
            for col in ("username", "email", "name"):
                for v in frame[col].drop_nulls().to_list():
                    assert "\x1b" not in v and "\x00" not in v, (col, v)


def run_target(name: str, data: bytes, workdir: Path) -> ImportResult | None:
    try:
        result = T.TARGETS[name].run(data, workdir)
    except InputError:
        return None
    check_contract(result)
    return result


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=24),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "user", "name", "type", "data", "login", "ts", "x"]), inner,
        max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: tmp_path_factory.mktemp(f"fuzz-{name}") for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=35, deadline=5000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_parser_never_crashes(name: str, data: st.DataObject, workdirs: dict[str, Path]) -> None:
    target = T.TARGETS[name]
    modes = ["bytes", "mutate"] + (["json"] if target.json_kind and json_paths(name) else [])
    mode = data.draw(st.sampled_from(modes), label="mode")
    if mode == "bytes":
        payload = data.draw(st.binary(max_size=600), label="bytes")
    elif mode == "mutate":
        seed = data.draw(st.sampled_from(seeds(name)), label="seed")
        rng = data.draw(st.randoms(use_true_random=False), label="rng")
        payload = T.mutate_bytes(seed, rng)
    else:
        line, path = data.draw(st.sampled_from(json_paths(name)), label="node")
        value = data.draw(JSON_VALUES, label="value")
        payload = T.replace_json_node(seeds(name)[0], target.json_kind, line, path, value)
    run_target(name, payload, workdirs[name])


def _corpus() -> list[tuple[str, Path]]:
    out = []
    for folder in sorted(T.CORPUS.iterdir()) if T.CORPUS.is_dir() else []:
        if folder.is_dir():
            out.extend((folder.name, f) for f in sorted(folder.iterdir()) if f.is_file())
    return out


def test_corpus_covers_every_target() -> None:
    names = {name for name, _ in _corpus()}
    assert names == set(NAMES)


#: Crashes found by fuzzing whose fix belongs in a file this suite's author may not edit
#: Crashes found by fuzzing and fixed since (UTF-16 byte-order mark followed by invalid UTF-16
#: in _io.decode_text; corrupt or truncated gzip in tabular.read_table): their corpus files are
#: replayed like every other seed and must now end in an InputError or a clean result.
FIXED_CRASHES = {(target, crash) for target in ("orgchart", "orgchart_json") for crash in (
    "crash-utf16-bom-truncated", "crash-utf16-bom-lone-surrogate", "crash-bad-gzip",
    "crash-truncated-gzip")}


def _corpus_params() -> list[Any]:
    return [pytest.param(name, path, id=f"{name}/{path.name}") for name, path in _corpus()]


@pytest.mark.parametrize(("name", "path"), _corpus_params())
def test_corpus_replays(name: str, path: Path, tmp_path: Path) -> None:
    result = run_target(name, path.read_bytes(), tmp_path)
    if result is not None:
        summary = ingest(Workspace(tmp_path / "ws", lock_timeout=30), result, sha256="x")
        assert summary.counts.adds_up()


# -- explicit cases ------------------------------------------------------------------------------


def _mm_zip(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export.jsonl", (FIXTURES / "mattermost" / "export.jsonl").read_bytes())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_mattermost_zip_slip(tmp_path: Path) -> None:
    z = _mm_zip(tmp_path / "slip.zip", {"../../evil.jsonl": b"{}\n"})
    with pytest.raises(InputError, match="escapes the archive"):
        import_mattermost(z)
    z = _mm_zip(tmp_path / "abs.zip", {"/etc/evil.jsonl": b"{}\n"})
    with pytest.raises(InputError, match="absolute member path"):
        import_mattermost(z)
    assert not (tmp_path.parent / "evil.jsonl").exists()


def test_mattermost_zip_bomb_by_ratio(tmp_path: Path) -> None:
    # 110 MiB of blanks deflate to ~110 KB: over 100x the archive size (floor 1 MiB).
    z = _mm_zip(tmp_path / "bomb.zip")
    with zipfile.ZipFile(z, "a", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open("more.jsonl", "w") as fh:
        chunk = b" " * (1024 * 1024)
        for _ in range(110):
            fh.write(chunk)
    assert z.stat().st_size < 1024 * 1024
    # Mattermost stops inflating the member and rejects it (the other member is still read).
    try:
        result = import_mattermost(z)
    except InputError as exc:
        assert "zip bomb" in str(exc)
        return
    bombs = result.rejects.filter(pl.col("reason").str.contains("zip bomb"))
    assert bombs.height == 1 and bombs["source_file"][0].endswith("!more.jsonl")
    assert result.counts.events > 0


def test_zip_bomb_absolute_limit(tmp_path: Path) -> None:
    # The absolute limits (1 GiB per member, 16 GiB in all) are too big to build in a test; the
    # archive reader enforces them with small limits in tests/importers/test_archive.py. Here:
    # a zip whose central directory claims a huge size for a small member is not trusted.
    z = _mm_zip(tmp_path / "liar.zip")
    data = bytearray(z.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed size
    (tmp_path / "liar2.zip").write_bytes(bytes(data))
    try:
        result = import_mattermost(tmp_path / "liar2.zip")
    except InputError:
        return
    check_contract(result)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_a_reject(tmp_path: Path, depth: int) -> None:
    good = (FIXTURES / "github" / "perceval_github.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([good[0], '{"data": ' + _nested(depth) + "}", *good[1:]]) + "\n")
    result = import_github(path)
    assert result.counts.rejected >= 1
    assert any("deeper" in r or "nest" in r for r in result.rejects["reason"].to_list())
    # Slack users.json nested too deep: an InputError or a reject, never a RecursionError.
    export = tmp_path / "slack"
    import shutil

    shutil.copytree(FIXTURES / "slack" / "export", export)
    (export / "users.json").write_text(_nested(depth))
    try:
        r = import_slack(export)
    except InputError as exc:
        assert "deep" in str(exc) or "nest" in str(exc)
    else:
        assert r.rejects.height >= 1


def test_huge_line_is_a_reject_and_the_import_continues(tmp_path: Path) -> None:
    lines = (FIXTURES / "mattermost" / "export.jsonl").read_bytes().splitlines()
    huge = b'{"type":"post","post":{"message":"' + b"x" * (MAX_LINE_BYTES + 10) + b'"}}'
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b"\n".join([*lines[:3], huge, *lines[3:]]) + b"\n")
    baseline = import_mattermost(FIXTURES / "mattermost" / "export.jsonl")
    result = import_mattermost(path)
    assert result.counts.rejected == baseline.counts.rejected + 1
    assert result.counts.events == baseline.counts.events
    reasons = " ".join(result.rejects["reason"].to_list())
    assert "long" in reasons or "bytes" in reasons


def test_invalid_utf8(tmp_path: Path) -> None:
    chart = tmp_path / "hris.csv"
    chart.write_bytes(b"employee_id,full_name,work_email,team\nE1,Ana \xff\xfe Ruiz,ana@x.example,A\n"
                      b"E2,Ben,ben@x.example,A\n")
    try:
        r = import_orgchart(chart)
    except InputError:
        pass
    else:
        names = r.tables["identities"]["name"].drop_nulls().to_list()
        assert all("\ufffd" not in n or "Ana" in n for n in names)
    log = (FIXTURES / "git" / "good.gitlog").read_bytes().replace(b"Bob Committer", b"Bob \xc3\x28")
    (tmp_path / "x.gitlog").write_bytes(log)
    r = import_git(tmp_path / "x.gitlog")
    assert r.counts.read == 4
    names = r.tables["identities"]["name"].drop_nulls().to_list()
    assert any("\ufffd" in n for n in names) or r.rejects.height
    mbox = (FIXTURES / "mbox" / "list.mbox").read_bytes().replace(b"Subject:", b"Subject: \xff\xfe", 1)
    (tmp_path / "x.mbox").write_bytes(mbox)
    check_contract(import_mbox(tmp_path / "x.mbox", list_name="x"))


def test_nan_and_duplicate_keys(tmp_path: Path) -> None:
    good = (FIXTURES / "github" / "perceval_github.jsonl").read_text(encoding="utf-8").splitlines()
    base = json.loads(good[0])
    nan_line = json.dumps(base).replace('"updated_on": ', '"updated_on": NaN, "x": ', 1)
    dup_line = '{"data": {}, "data": {}, "category": "pull_request"}'
    inf_line = json.dumps(base).replace('"updated_on": ', '"updated_on": Infinity, "y": ', 1)
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join([nan_line, dup_line, inf_line, *good[1:]]) + "\n")
    result = import_github(path)
    reasons = " | ".join(result.rejects["reason"].to_list())
    assert result.counts.rejected >= 3, reasons
    assert "NaN" in reasons and "duplicate" in reasons.lower()
    # Slack users.json with a duplicate key: the file is refused or its record rejected.
    export = tmp_path / "slack"
    import shutil

    shutil.copytree(FIXTURES / "slack" / "export", export)
    (export / "users.json").write_text('[{"id": "U1", "id": "U2", "name": "x"}]')
    try:
        r = import_slack(export)
    except InputError as exc:
        assert "duplicate" in str(exc).lower()
    else:
        assert r.rejects.height >= 1


FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_formula_injection_kept_on_import_neutralised_on_export(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.csv"
    rows = "".join(f'E{i},github,"{f.replace(chr(34), chr(34) * 2)}"\n' for i, f in enumerate(FORMULAS))
    aliases.write_text("person_id,source,handle\n" + rows, encoding="utf-8")
    result = import_aliases(aliases)
    stored = set(result.tables["identities"]["username"].drop_nulls().to_list())
    assert {"=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3"} <= stored  # kept as text
    ws = Workspace(tmp_path / "ws", lock_timeout=30)
    ingest(ws, result, sha256="x")
    out = write_safe_csv(ws.read("identities"), tmp_path / "ids.csv")
    for line in out.read_text(encoding="utf-8").splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "-", "@", "\t")), line


EVIL_NAME = "\x1b[31mMallory\x1b[0m \x1b]8;;http://evil\x07<b>O'Brien</b><script>alert(1)</script>\u202e"


def _evil_slack(tmp_path: Path) -> Path:
    import shutil

    export = tmp_path / "slack"
    shutil.copytree(FIXTURES / "slack" / "export", export)
    users = json.loads((export / "users.json").read_text(encoding="utf-8"))
    users[0]["real_name"] = EVIL_NAME
    users[0]["profile"]["real_name"] = EVIL_NAME
    users[0]["profile"]["display_name"] = "\x1b[2J\x1b[Hroot"
    (export / "users.json").write_text(json.dumps(users), encoding="utf-8")
    return export


def test_ansi_and_html_in_names_are_stored_cleaned(tmp_path: Path) -> None:
    result = import_slack(_evil_slack(tmp_path))
    ident = result.tables["identities"]
    everything = " ".join(str(v) for row in ident.iter_rows() for v in row)
    assert "\x1b" not in everything and "\x07" not in everything and "\u202e" not in everything
    names = ident["name"].drop_nulls().to_list()
    assert any("Mallory" in n for n in names)
    # HTML stays text in the data (every renderer escapes it); it never becomes markup here.
    assert any("<script>" in n for n in names)


def test_cli_identities_output_is_terminal_safe(tmp_path: Path) -> None:
    export = _evil_slack(tmp_path)
    ws = tmp_path / "ws"
    env = {**os.environ, "COLUMNS": "250", "TERM": "xterm-256color", "FORCE_COLOR": "1"}
    for args in (["import", "slack", str(export), "-w", str(ws)],
                 ["identities", "-w", str(ws), "--show", "all", "--limit", "100"],
                 ["rejects", "-w", str(ws)], ["status", "-w", str(ws)]):
        r = subprocess.run([sys.executable, "-m", "orgnet.cli", *args], capture_output=True,
                           env=env, timeout=120, check=False)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        out = r.stdout + r.stderr
        # Rich's own styling is allowed (FORCE_COLOR); what must not appear are the payload's
        # screen-clearing, hyperlink (OSC 8) and bell sequences, or a raw bidi override.
        for bad in (b"\x1b[2J", b"\x1b]8;;http://evil", b"\x07", "\u202e".encode()):
            assert bad not in out, (args, bad)
        if args[0] == "identities":
            assert b"Mallory" in out


def test_git_trailer_text_not_echoed_into_rejects(tmp_path: Path) -> None:
    """Regression: flagged trailers used to put the whole trailer line (free text) in raw_excerpt."""
    rs, us, gs = "\x1e", "\x1f", "\x1d"
    head = us.join(["a" * 40, "", "Ana", "ana@x.example", "Ana", "ana@x.example",
                    "2024-05-01T10:00:00+00:00", "Ana", "ana@x.example",
                    "2024-05-01T10:00:00+00:00", "subject",
                    "Reviewed-by: Ben <ben@x.example> secret words\nAcked-by: <sentence>\n"])
    (tmp_path / "t.gitlog").write_text(rs + head + gs + "\n", encoding="utf-8")
    r = import_git(tmp_path / "t.gitlog")
    assert r.rejects.height == 2
    text = " ".join(str(v) for row in r.rejects.iter_rows() for v in row)
    assert "secret" not in text and "sentence" not in text
    assert "ben@x.example" in text  # the parsed identity is still shown for the flag


def test_orgchart_control_characters_in_every_column(tmp_path: Path) -> None:
    chart = tmp_path / "hris.csv"
    chart.write_text("employee_id,full_name,work_email,team,title\n"
                     "E1,\x1b[31mAna\x1b[0m,ana@x.example,\u202eTeam,\x00Boss\x07\n",
                     encoding="utf-8")
    r = import_orgchart(chart)
    for frame in r.tables.values():
        for row in frame.iter_rows():
            for v in row:
                if isinstance(v, str):
                    assert "\x1b" not in v and "\x00" not in v and "\u202e" not in v, v


def test_write_safe_csv_neutralises_every_prefix(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": [*FORMULAS, "plain", "'quoted"], "n": list(range(7))})
    text = write_safe_csv(df, tmp_path / "x.csv").read_text(encoding="utf-8")
    body = io.StringIO(text)
    import csv as _csv

    cells = [row[0] for row in _csv.reader(body)][1:]
    assert all(not c.startswith(("=", "+", "-", "@", "\t")) for c in cells)
    assert "plain" in cells


def test_fixed_crash_seeds_are_in_the_corpus() -> None:
    present = {(name, path.name) for name, path in _corpus()}
    assert present >= FIXED_CRASHES
