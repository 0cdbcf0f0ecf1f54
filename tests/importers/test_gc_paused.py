"""Every file importer runs with the cyclic garbage collector paused (its repeated scans of
millions of new rows cost a tenth of a Slack shard's or a git log's CPU) and restores it."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

import orgnet.importers._base as base
from orgnet.pipeline import _function

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

CASES: list[tuple[str, Path, dict[str, Any]]] = [
    ("orgnet.importers.slack:import_slack", SAMPLE / "slack.zip", {}),
    ("orgnet.importers.git:import_git", FIXTURES / "git" / "good.gitlog", {}),
    ("orgnet.importers.github:import_github", FIXTURES / "github" / "perceval_github.jsonl", {}),
    ("orgnet.importers.gitlab:import_gitlab", FIXTURES / "gitlab" / "perceval_gitlab.jsonl", {}),
    ("orgnet.importers.gerrit:import_gerrit", FIXTURES / "gerrit" / "perceval_gerrit.jsonl", {}),
    ("orgnet.importers.mbox:import_mbox", FIXTURES / "mbox" / "list.mbox", {}),
    ("orgnet.importers.mattermost:import_mattermost", FIXTURES / "mattermost" / "export.jsonl",
     {}),
    ("orgnet.importers.orgchart:import_orgchart", FIXTURES / "orgchart" / "canonical.csv", {}),
    ("orgnet.importers.owners:import_owners", FIXTURES / "owners" / "CODEOWNERS",
     {"container": "acme/widgets"}),
    ("orgnet.importers.aliases:import_aliases", FIXTURES / "aliases.csv", {}),
]


def test_every_file_importer_is_covered() -> None:
    """Each ``import_<source>`` entry point of :mod:`orgnet.importers` is in ``CASES``, so a new
    importer without the pause fails here."""
    import importlib
    import pkgutil

    import orgnet.importers as package

    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"orgnet.importers.{info.name}")
        found |= {f"{module.__name__}:{name}" for name in dir(module)
                  if name == f"import_{info.name}" and callable(getattr(module, name))}
    assert found == {target for target, _path, _options in CASES}


@pytest.mark.parametrize(("target", "path", "options"), CASES,
                         ids=[c[0].rpartition(":")[2] for c in CASES])
def test_importer_runs_with_the_collector_paused(
    target: str, path: Path, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if path.name == "aliases.csv":  # no fixture file: two links and a bad row
        path = tmp_path / "aliases.csv"
        path.write_text("person_id,source,handle\nE7,slack,U777\nE7,email,a@b.example\n,x,y\n")
    seen: list[bool] = []
    real_finish = base.ImportBuilder.finish

    def finish(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_finish(self, *args, **kwargs)

    monkeypatch.setattr(base.ImportBuilder, "finish", finish)
    assert gc.isenabled()
    result = _function(target)(path, **options)
    assert seen and not any(seen), "the collector ran during the import"
    assert gc.isenabled(), "the collector was not restored"
    assert result.counts.read > 0


def test_paused_collector_is_restored_after_an_error_and_left_off_when_it_was() -> None:
    @base.gc_paused()
    def fails() -> None:
        assert not gc.isenabled()
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fails()
    assert gc.isenabled()
    gc.disable()
    try:
        with base.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_ingest_resolves_identities_with_the_collector_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orgnet.ingest as ingest_module
    from orgnet.workspace import Workspace

    seen: list[bool] = []
    real_resolve = ingest_module.resolve

    def resolve(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_resolve(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "resolve", resolve)
    result = _function(CASES[-2][0])(CASES[-2][1])
    summary = ingest_module.ingest(Workspace(tmp_path / "ws"), result)
    assert seen == [False]
    assert gc.isenabled()
    assert summary.counts.imported > 0
