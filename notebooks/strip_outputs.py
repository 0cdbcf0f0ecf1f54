"""Strip outputs from the notebooks before committing them.

Usage (from the repository root)::

    .venv/bin/python notebooks/strip_outputs.py            # strip every notebooks/*.ipynb in place
    .venv/bin/python notebooks/strip_outputs.py --check    # exit 1 and list notebooks that need it
    .venv/bin/python notebooks/strip_outputs.py FILE ...   # only these notebooks

A stripped notebook has no outputs, ``execution_count`` null on every code cell, no per-cell
execution metadata, and the ``python3`` kernelspec (the test suite executes it with that kernel).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
#: Notebook-level metadata kept; everything else (widget state, editor settings) is dropped.
KEEP_METADATA = ("kernelspec", "language_info")


def strip(nb: Any) -> Any:
    """The notebook without outputs, execution counts or execution metadata (modified in place)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {}
    metadata = {k: nb.metadata[k] for k in KEEP_METADATA if k in nb.metadata}
    metadata["kernelspec"] = dict(KERNELSPEC)
    metadata["language_info"] = {"name": "python"}
    nb.metadata = nbformat.from_dict(metadata)
    return nb


def render(nb: Any) -> str:
    """The notebook as committed: nbformat's JSON with a final newline."""
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Strip (or with ``--check`` only list) notebooks that carry outputs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 if any needs it.")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path(__file__).resolve().parent.glob("*.ipynb"))
    dirty = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        clean = render(strip(nbformat.reads(text, as_version=4)))
        if clean != text:
            dirty.append(path)
            if not args.check:
                path.write_text(clean, encoding="utf-8")
    for path in dirty:
        print(f"{'needs stripping' if args.check else 'stripped'}: {path}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
