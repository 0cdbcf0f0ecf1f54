"""Graph views cached on disk, keyed by the workspace's data fingerprint.

Building a view means scanning the event table and aggregating millions of events into edges;
the result only changes when the data or the graph options do. :class:`ViewCache` keeps each
built view (its edge table and node list) in ``<workspace>/cache/views/<fingerprint>/`` as
Parquet, under a key made of the view name and every graph option (window included). An
:class:`~orgnet.analysis._context.AnalysisContext` given a cache reads a view from it when present
and writes it after building it otherwise, so a second ``orgnet analyze`` or ``orgnet report`` over
unchanged data skips the aggregation, and so does each monthly and quarterly view of
``org_change_lag`` and ``trends``.

The cache is not part of the workspace's committed state: files are written to a temporary name
and renamed (a reader sees a whole file or none), an unreadable entry is rebuilt, and only the
newest fingerprints' folders are kept; every commit to the workspace (an import, an erasure)
removes the views of earlier states, so nothing removed from the data survives in the cache.
Views whose weights depend on the current time (decay with an open window end) are never
cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Final

import polars as pl

from orgnet import __version__
from orgnet.graph.build import EDGE_SCHEMA, Graph, GraphOptions

__all__ = ["ViewCache", "options_key"]

#: Fingerprint folders kept (the newest by modification time); older ones are removed. Every
#: commit to the workspace also removes all but the current one (``Workspace._collect_garbage``).
KEEP: Final = 2
_FORMAT: Final = 1  # bump when the stored layout or a view's definition changes (the orgnet
# version is part of every key too, so an upgrade never reads views built by older code)


def options_key(view: str, options: GraphOptions) -> str | None:
    """A stable key for ``view`` under ``options``; ``None`` when the view must not be cached.

    Parameters
    ----------
    view
        View name.
    options
        Graph options (window, bots, weights, caps).

    Returns
    -------
    str or None
        Hex digest; ``None`` for decayed weights with an open window end (they depend on now).
    """
    if options.half_life_days and options.window.until is None:
        return None
    w = options.window
    body = {
        "format": _FORMAT, "orgnet": __version__, "view": view,
        "since": w.since.isoformat() if w.since else None,
        "until": w.until.isoformat() if w.until else None,
        "exclude_bots": options.exclude_bots,
        "kind_weights": sorted(options.kind_weights.items()),
        "view_weights": sorted(options.view_weights.items()),
        "half_life_days": options.half_life_days, "changeset_cap": options.changeset_cap,
        "coedit_depth": options.coedit_depth, "max_thread_size": options.max_thread_size,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]


class ViewCache:
    """Built graph views of one data state on disk.

    Parameters
    ----------
    root
        The cache folder (``<workspace>/cache/views``).
    fingerprint
        The data state (:meth:`orgnet.workspace.Workspace.fingerprint`); an empty fingerprint
        (a dataset not read from a workspace) disables the cache.
    """

    def __init__(self, root: str | Path, fingerprint: str) -> None:
        self.root = Path(root)
        self.fingerprint = fingerprint
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_workspace(cls, workspace: str | Path, fingerprint: str) -> ViewCache:
        """The cache of a workspace folder for the data state ``fingerprint``."""
        return cls(Path(workspace) / "cache" / "views", fingerprint)

    @property
    def folder(self) -> Path:
        """Where this fingerprint's views are stored."""
        return self.root / self.fingerprint

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.edges.parquet", self.folder / f"{key}.nodes.parquet"

    def load(self, view: str, options: GraphOptions) -> Graph | None:
        """The cached view, or ``None`` (not cached, not cacheable, or unreadable)."""
        key = options_key(view, options) if self.fingerprint else None
        if key is None:
            return None
        edges_path, nodes_path = self._paths(key)
        try:
            edges = pl.read_parquet(edges_path)
            nodes = pl.read_parquet(nodes_path)
        except (OSError, pl.exceptions.PolarsError):
            self.misses += 1
            return None
        if dict(edges.schema) != EDGE_SCHEMA or nodes.columns != ["node", "directed"]:
            self.misses += 1
            return None
        self.hits += 1
        directed = bool(nodes["directed"][0]) if nodes.height else view in ("review",
                                                                            "communication")
        return Graph(edges, tuple(nodes["node"].to_list()), directed, view)

    def save(self, graph: Graph, options: GraphOptions) -> None:
        """Store a built view (atomically; failures to write are ignored: it is only a cache)."""
        key = options_key(graph.view, options) if self.fingerprint else None
        if key is None:
            return
        edges_path, nodes_path = self._paths(key)
        nodes = pl.DataFrame({"node": list(graph.nodes),
                              "directed": [graph.directed] * len(graph.nodes)},
                             schema={"node": pl.String, "directed": pl.Boolean})
        try:
            new_folder = not self.folder.is_dir()
            self.folder.mkdir(parents=True, exist_ok=True)
            # Nodes last: load() needs both, so a crash between the two leaves a miss.
            for frame, path in ((graph.edges, edges_path), (nodes, nodes_path)):
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                frame.write_parquet(tmp, compression="zstd")
                os.replace(tmp, path)
            if new_folder:
                self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        """Remove all but the newest :data:`KEEP` fingerprint folders."""
        folders = [p for p in self.root.iterdir() if p.is_dir()]
        folders.sort(key=lambda p: (p.name == self.fingerprint, p.stat().st_mtime), reverse=True)
        for old in folders[KEEP:]:
            with contextlib.suppress(OSError):
                shutil.rmtree(old)
