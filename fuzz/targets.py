"""Fuzz targets: every parser entry point of orgnet, fed one input as bytes.

Shared by ``fuzz/fuzz_parsers.py`` (long runs) and ``tests/test_hostile_inputs.py`` (hypothesis and
the regression corpus). A target writes the bytes where its importer expects them (a CSV, a saved
git log, a JSON-lines export, one file of a Slack export directory, a whole zip ...) and calls the
importer. The contract: the importer returns a result (with rejects) or raises
:class:`orgnet.exceptions.InputError`; anything else is a bug.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orgnet.importers._base import ImportResult

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class Target:
    """One parser entry point."""

    name: str
    #: File name the bytes are written to (inside a fresh folder, or inside ``base``).
    filename: str
    #: Calls the importer on the written path (or on the base folder).
    run_path: Callable[[Path], ImportResult]
    #: Fixture files whose bytes seed the corpus.
    seeds: tuple[Path, ...] = ()
    #: A fixture folder copied once; the bytes replace ``filename`` inside it.
    base: Path | None = None
    #: "jsonl", "json" or None: how structure-aware mutation reads a seed.
    json_kind: str | None = None

    def run(self, data: bytes, workdir: Path) -> ImportResult:
        """Write ``data`` and import it (``workdir`` is reused between calls)."""
        if self.base is not None:
            folder = workdir / f"{self.name}-base"
            if not folder.is_dir():
                shutil.copytree(self.base, folder)
            target = folder / self.filename
            original = target.read_bytes() if target.is_file() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            try:
                return self.run_path(folder)
            finally:
                if original is None:
                    target.unlink()
                else:
                    target.write_bytes(original)
        path = workdir / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return self.run_path(path)

    def seed_inputs(self) -> list[bytes]:
        """Seed inputs: the fixture files and the regression corpus."""
        out = [p.read_bytes() for p in self.seeds if p.is_file()]
        folder = CORPUS / self.name
        if folder.is_dir():
            out.extend(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())
        return out or [b""]


def _git(path: Path) -> ImportResult:
    from orgnet.importers.git import import_git

    return import_git(path, repo_name="fuzz/repo")


def _orgchart(path: Path) -> ImportResult:
    from orgnet.importers.orgchart import import_orgchart

    return import_orgchart(path)


def _aliases(path: Path) -> ImportResult:
    from orgnet.importers.aliases import import_aliases

    return import_aliases(path)


def _github(path: Path) -> ImportResult:
    from orgnet.importers.github import import_github

    return import_github(path)


def _gitlab(path: Path) -> ImportResult:
    from orgnet.importers.gitlab import import_gitlab

    return import_gitlab(path)


def _gerrit(path: Path) -> ImportResult:
    from orgnet.importers.gerrit import import_gerrit

    return import_gerrit(path)


def _slack(path: Path) -> ImportResult:
    from orgnet.importers.slack import import_slack

    return import_slack(path)


def _mattermost(path: Path) -> ImportResult:
    from orgnet.importers.mattermost import import_mattermost

    return import_mattermost(path)


def _mbox(path: Path) -> ImportResult:
    from orgnet.importers.mbox import import_mbox

    return import_mbox(path, list_name="fuzz")


def _owners(kind: str) -> Callable[[Path], ImportResult]:
    def run(path: Path) -> ImportResult:
        from orgnet.importers.owners import import_owners

        return import_owners(path, kind=kind, container="fuzz/repo")  # type: ignore[arg-type]

    return run


def _slack_zip_seed() -> Path:
    """A zip of the Slack fixture export (made once per process)."""
    import zipfile

    out = Path(tempfile.gettempdir()) / "orgnet-fuzz-slack-seed.zip"
    if not out.is_file():
        src = FIXTURES / "slack" / "export"
        tmp = out.with_suffix(".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(src.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(src).as_posix())
        tmp.replace(out)
    return out


SLACK = FIXTURES / "slack" / "export"
GH = FIXTURES / "github"

TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("orgchart", "hris.csv", _orgchart,
           (FIXTURES / "orgchart" / "canonical.csv", FIXTURES / "orgchart" / "ragged.csv")),
    Target("orgchart_json", "hris.jsonl", _orgchart, (FIXTURES / "orgchart" / "rippling.jsonl",),
           json_kind="jsonl"),
    Target("aliases", "aliases.csv", _aliases),
    Target("git", "repo.gitlog", _git,
           (FIXTURES / "git" / "good.gitlog", FIXTURES / "git" / "bad.gitlog")),
    Target("github", "items.jsonl", _github, (GH / "perceval_github.jsonl",), json_kind="jsonl"),
    Target("github_rest", "pulls/1.json", _github, (GH / "rest" / "pulls" / "1.json",),
           base=GH / "rest", json_kind="json"),
    Target("gitlab", "items.jsonl", _gitlab, (FIXTURES / "gitlab" / "perceval_gitlab.jsonl",),
           json_kind="jsonl"),
    Target("gerrit", "changes.jsonl", _gerrit, (FIXTURES / "gerrit" / "ssh_query.jsonl",),
           json_kind="jsonl"),
    Target("gerrit_rest", "changes.json", _gerrit, (FIXTURES / "gerrit" / "rest_changes.json",),
           json_kind="json"),
    Target("slack_users", "users.json", _slack, (SLACK / "users.json",), base=SLACK,
           json_kind="json"),
    Target("slack_channels", "channels.json", _slack, (SLACK / "channels.json",), base=SLACK,
           json_kind="json"),
    Target("slack_day", "general/2024-05-01.json", _slack, (SLACK / "general" / "2024-05-01.json",),
           base=SLACK, json_kind="json"),
    Target("slack_zip", "export.zip", _slack),
    Target("mattermost", "export.jsonl", _mattermost, (FIXTURES / "mattermost" / "export.jsonl",),
           json_kind="jsonl"),
    Target("mattermost_zip", "export.zip", _mattermost),
    Target("mbox", "list.mbox", _mbox, (FIXTURES / "mbox" / "list.mbox",)),
    Target("owners_codeowners", "CODEOWNERS", _owners("codeowners"),
           (FIXTURES / "owners" / "CODEOWNERS", FIXTURES / "owners" / "CODEOWNERS.bad")),
    Target("owners_owners", "OWNERS", _owners("owners"), (FIXTURES / "owners" / "k8s" / "OWNERS",)),
    Target("owners_chromium", "OWNERS", _owners("owners"),
           (FIXTURES / "owners" / "chromium" / "OWNERS",)),
    Target("owners_aliases", "OWNERS_ALIASES", _owners("owners_aliases"),
           (FIXTURES / "owners" / "k8s" / "OWNERS_ALIASES",)),
    Target("owners_maintainers", "MAINTAINERS", _owners("maintainers"),
           (FIXTURES / "owners" / "MAINTAINERS", FIXTURES / "owners" / "MAINTAINERS.grouped")),
    Target("owners_authors", "AUTHORS", _owners("authors"), (FIXTURES / "owners" / "AUTHORS",)),
]}


def zip_seed(name: str) -> bytes:
    """Seed bytes of the zip targets (built, not stored as fixtures)."""
    import io
    import zipfile

    if name == "slack_zip":
        return _slack_zip_seed().read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export.jsonl", (FIXTURES / "mattermost" / "export.jsonl").read_bytes())
    return buf.getvalue()


def seeds_of(target: Target) -> list[bytes]:
    """Fixture seeds, generated zip seeds and the regression corpus of a target."""
    out = target.seed_inputs()
    if target.name.endswith("_zip"):
        out = [zip_seed(target.name), *[s for s in out if s]]
    return out


# -- mutation (used by the random loop; hypothesis has its own strategies) ---------------------

_INTERESTING = [b"\x00", b"\xff\xfe", b"\xc3\x28", b"\n", b"\r\n", b"{", b"}", b"[", b"]", b'"',
                b"\\", b",", b":", b"NaN", b"1e999", b"-0", b"null", b"\x1b[31m", b"=cmd|' /C calc'!A0",
                b"\xe2\x80\xae", b"../../", b"@", b"<", b">", b"#", b"\t", b"\x1e", b"\x1f", b"\x1d"]


def mutate_bytes(data: bytes, rng: random.Random, rounds: int = 4) -> bytes:
    """Random byte-level edits: flips, inserts of interesting tokens, deletes, splices, truncation."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = rng.choice(_INTERESTING)
        elif op == 2 and buf:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 3 and buf:
            start = rng.randrange(len(buf))
            chunk = buf[start:start + rng.randint(1, 256)]
            buf[pos:pos] = chunk * rng.randint(1, 4)
        elif op == 4:
            del buf[pos:]
        else:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value of the wrong type, sometimes nested."""
    kinds = ["null", "bool", "int", "float", "str", "list", "dict"] if depth < 4 else \
        ["null", "bool", "int", "float", "str"]
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, -(2**63), 10**30, rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e-320, 3.0, 1.7e308])
    if kind == "str":
        return rng.choice(["", "x", "2024-13-45", "1970-01-01T00:00:00Z", "@", "a@b", "\u202e",
                           "\x00", "9" * 40, "../x", "=1+1", "\ud800"[:0] + "é"])
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["id", "user", "name", "data", "type", "x"]): random_json(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            out.extend(_paths(v, (*prefix, i)))
    return out


def replace_at(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``doc`` with the value at ``path`` replaced (copy-on-write)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        out = dict(doc)
        out[head] = replace_at(doc[head], rest, new)
        return out
    out_list = list(doc)
    out_list[head] = replace_at(doc[head], rest, new)
    return out_list


def mutate_json(data: bytes, kind: str, rng: random.Random) -> bytes:
    """Replace a random node of a JSON (or JSON-lines) seed with a value of a random type."""
    text = data.decode("utf-8", "replace")
    if kind == "jsonl":
        lines = text.splitlines()
        if not lines:
            return data
        i = rng.randrange(len(lines))
        try:
            doc = json.loads(lines[i])
        except (ValueError, RecursionError):
            return data
        paths = _paths(doc)
        lines[i] = json.dumps(replace_at(doc, rng.choice(paths), random_json(rng)))
        return ("\n".join(lines) + "\n").encode()
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return data
    return json.dumps(replace_at(doc, rng.choice(_paths(doc)), random_json(rng))).encode()


def paths_of(data: bytes, kind: str) -> list[tuple[int, tuple[Any, ...]]]:
    """Every (line, path) of a JSON or JSON-lines seed (for hypothesis to choose from)."""
    text = data.decode("utf-8", "replace")
    docs = text.splitlines() if kind == "jsonl" else [text]
    out: list[tuple[int, tuple[Any, ...]]] = []
    for i, line in enumerate(docs):
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            continue
        out.extend((i, p) for p in _paths(doc))
    return out


def replace_json_node(data: bytes, kind: str, line: int, path: tuple[Any, ...], new: Any) -> bytes:
    """The seed with the node at (``line``, ``path``) replaced by ``new``."""
    text = data.decode("utf-8", "replace")
    if kind == "jsonl":
        lines = text.splitlines()
        lines[line] = json.dumps(replace_at(json.loads(lines[line]), path, new))
        return ("\n".join(lines) + "\n").encode()
    return json.dumps(replace_at(json.loads(text), path, new)).encode()
