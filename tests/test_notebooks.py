"""The exploration notebooks in ``notebooks/`` run without error and are committed without outputs.

Execution (marked ``slow``; deselect with ``-m "not slow"``): each notebook runs with nbclient in a
fresh kernel, working directory the repository root. The kernel must be *this* interpreter (the
venv with orgnet installed), not whatever ``python3`` kernelspec the machine has: the module installs
a ``python3`` kernelspec for ``sys.executable`` into a temporary prefix and puts it first on
``JUPYTER_PATH``, and every run appends a cell proving the kernel's ``sys.prefix`` is ours.
The real-data notebook also runs with ``ORGNET_REALDATA`` pointing nowhere, where every cell must
only print that it skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import install as install_kernelspec
from nbclient import NotebookClient

from tests.conftest import REALDATA

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
REAL_DATA_NOTEBOOK = NOTEBOOK_DIR / "03_real_data.ipynb"
PROBE = "import sys\nprint('KERNEL-PREFIX=' + sys.prefix)"


def test_the_notebooks_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_explore.ipynb", "02_gatekeeping.ipynb",
                                           "03_real_data.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    nbformat.validate(nbformat.from_dict(raw))
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell["outputs"] == [], f"{path.name} cell {cell.get('id')}: outputs committed"
        assert cell["execution_count"] is None, f"{path.name} cell {cell.get('id')}: execution_count set"
    assert raw["cells"][0]["cell_type"] == "markdown", "notebooks open with a markdown introduction"


def test_strip_script_agrees() -> None:
    done = subprocess.run([sys.executable, str(NOTEBOOK_DIR / "strip_outputs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# -- execution ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ``python3`` kernelspec for this interpreter, first on JUPYTER_PATH; a private TMPDIR."""
    prefix = tmp_path_factory.mktemp("jupyter-prefix")
    install_kernelspec(prefix=str(prefix), kernel_name="python3", display_name="orgnet test kernel")
    spec = json.loads((prefix / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    scratch = tmp_path_factory.mktemp("notebook-tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        mp.setenv("TMPDIR", str(scratch))            # the notebooks' temporary workspaces land here
        mp.delenv("ORGNET_WORKSPACE", raising=False)  # 01 would otherwise explore that workspace
        yield scratch


def _execute(path: Path) -> tuple[Any, float]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    started = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    seconds = time.perf_counter() - started
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"
    probe = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert f"KERNEL-PREFIX={sys.prefix}" in probe, f"the kernel is not this venv's python: {probe!r}"
    nb.cells.pop()
    return nb, seconds


def _stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, kernel_env: Path) -> None:
    nb, seconds = _execute(path)
    shown = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert shown, f"{path.name} produced no output at all"
    assert seconds < 90, f"{path.name} took {seconds:.0f} s; keep each notebook well under a minute"
    if path == REAL_DATA_NOTEBOOK and (REALDATA / "cargo-rust-team").is_dir():
        skipped = [c.id for c in nb.cells if c.cell_type == "code" and "; skipped" in _stdout(c)]
        assert not skipped, f"real data is at {REALDATA} but cells {skipped} skipped"


@pytest.mark.slow
def test_real_data_notebook_skips_without_data(kernel_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = kernel_env / "no-realdata-here"
    monkeypatch.setenv("ORGNET_REALDATA", str(missing))
    nb, _ = _execute(REAL_DATA_NOTEBOOK)
    code = [c for c in nb.cells if c.cell_type == "code"]
    message = f"real data not found at {missing / 'cargo-rust-team'}; skipped\n"
    for cell in code:
        assert _stdout(cell) == message, f"cell {cell.id}: {_stdout(cell)!r}"
        assert all(o.output_type == "stream" for o in cell.outputs), f"cell {cell.id} displayed something"
