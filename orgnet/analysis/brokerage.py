"""Brokerage: Gould-Fernandez roles and Burt's structural holes (ANALYSES §4, SOCIOTECH §5.1-5.2).

:func:`gould_fernandez`
    Gould & Fernandez (1989) brokerage roles on the directed review + communication graph with
    formal units as groups, counted, normalised and z-scored exactly as R's ``sna::brokerage``
    (Butts; ``R/models.R`` and ``src/gli.c``).
:func:`structural_holes`
    Burt's (1992) constraint and effective size on the undirected collaboration graph, with the
    weighted definitions of ``networkx.algorithms.structuralholes``.

Both are computed with scipy sparse algebra (products are evaluated in row blocks and masked to
the graph's arcs, so memory stays proportional to the edges), and agree with the reference
implementations to floating-point precision (tests cross-check against a brute-force enumeration
and against networkx).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from orgnet.analysis._context import AnalysisContext, ensure_context, memoized
from orgnet.dataset import Dataset, Window

__all__ = [
    "BROKERAGE_ROLES",
    "GOULD_FERNANDEZ_SCHEMA",
    "STRUCTURAL_HOLES_SCHEMA",
    "BrokerageView",
    "gould_fernandez",
    "gould_fernandez_counts",
    "gould_fernandez_moments",
    "structural_holes",
]

BrokerageView = Literal["review+communication", "review", "communication"]
Unassigned = Literal["singleton", "exclude"]

#: Role columns, in ``sna::brokerage`` order (``w_I, w_O, b_IO, b_OI, b_O, t``).
BROKERAGE_ROLES: Final = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison", "total")

GOULD_FERNANDEZ_SCHEMA: Final[dict[str, type[pl.DataType] | pl.DataType]] = {
    "person_id": pl.String,
    "unit_id": pl.String,
    **dict.fromkeys(BROKERAGE_ROLES, pl.Int64),
    **{f"exp_{role}": pl.Float64 for role in BROKERAGE_ROLES},
    **{f"sd_{role}": pl.Float64 for role in BROKERAGE_ROLES},
    **{f"z_{role}": pl.Float64 for role in BROKERAGE_ROLES},
}

STRUCTURAL_HOLES_SCHEMA: Final[dict[str, type[pl.DataType] | pl.DataType]] = {
    "person_id": pl.String,
    "degree": pl.Int64,
    "constraint": pl.Float64,
    "effective_size": pl.Float64,
    "efficiency": pl.Float64,
}

#: Rows per block when a sparse product is evaluated block by block (bounds memory).
_BLOCK_ROWS: Final = 2048


# -- sparse helpers (shared with influence) ------------------------------------------------------

def _row_blocks(n: int, block: int | None = None) -> Iterator[slice]:
    block = block or _BLOCK_ROWS
    for start in range(0, n, block):
        yield slice(start, min(n, start + block))


def _masked_colsums(x: sp.csr_matrix, yt: sp.csr_matrix, masks: list[sp.csr_matrix]) -> list[np.ndarray]:
    """Column sums of ``(x @ yt) ∘ mask`` for each mask, computed in row blocks.

    ``x @ yt`` (a two-step product) can have far more entries than the graph; only its entries
    on a mask's arcs are needed, so each row block is multiplied, masked and summed at once.
    """
    n_cols = yt.shape[1]
    out = [np.zeros(n_cols, dtype=np.float64) for _ in masks]
    for rows in _row_blocks(x.shape[0]):
        prod = x[rows] @ yt
        for k, mask in enumerate(masks):
            out[k] += np.asarray(prod.multiply(mask[rows]).sum(axis=0)).ravel()
    return out


#: Base of the packed closed-2-path counts (each count is below every vertex degree).
_PACK_BITS: Final = 15
_PACK: Final = 1 << _PACK_BITS


def _closed_counts_packed(
    a: sp.csr_matrix, a_same: sp.csr_matrix
) -> tuple[np.ndarray, ...]:
    """Closed 2-path counts ``P``, ``Q``, ``R`` on every arc from one sparse product.

    With ``K = 2**15``, ``X = A + K·A_same`` and ``Y = A + K²·A_same``,
    ``(X Yᵀ)[a, v] = P + K·R + K²·Q + K³·S`` (``S = A_same A_sameᵀ``); every term is below ``K``
    when every degree is, so the four counts are read back from the bits of one int64 product.
    Column sums over the arcs, split by whether the arc stays in its group, give ``P_same``,
    ``P_diff``, ``Q_same``, ``Q_diff`` and ``R_diff`` (the three products ``_masked_colsums``
    would compute separately).
    """
    n = a.shape[0]
    a_int = sp.csr_matrix(a, dtype=np.int64)
    s_int = sp.csr_matrix(a_same, dtype=np.int64)
    x = sp.csr_matrix(a_int + _PACK * s_int)
    yt = sp.csr_matrix((a_int + (_PACK * _PACK) * s_int).T)
    d_int = sp.csr_matrix(a_int - s_int)
    d_int.eliminate_zeros()
    bits = _PACK - 1

    def block(rows: slice) -> np.ndarray:
        part = np.zeros((5, n), dtype=np.float64)
        prod = x[rows] @ yt
        for mask, same in ((s_int, True), (d_int, False)):
            m = sp.csr_matrix(prod.multiply(mask[rows]))
            v, col = m.data, m.indices
            p_sum = np.bincount(col, weights=v & bits, minlength=n)
            q_sum = np.bincount(col, weights=(v >> (2 * _PACK_BITS)) & bits, minlength=n)
            if same:
                part[0] += p_sum
                part[2] += q_sum
            else:
                part[1] += p_sum
                part[3] += q_sum
                part[4] += np.bincount(col, weights=(v >> _PACK_BITS) & bits, minlength=n)
        return part

    # Row blocks on two threads (scipy's sparse products release the GIL): integer counts in
    # float64, so the sums are exact in any order.
    blocks = list(_row_blocks(n))
    sums = np.zeros((5, n), dtype=np.float64)
    if len(blocks) > 1 and (os.cpu_count() or 1) > 1:
        with ThreadPoolExecutor(2) as pool:
            for part in pool.map(block, blocks):
                sums += part
    else:
        for rows in blocks:
            sums += block(rows)
    return tuple(sums)


def _masked_product(x: sp.csr_matrix, yt: sp.csr_matrix, mask: sp.csr_matrix) -> sp.csr_matrix:
    """``(x @ yt) ∘ mask`` as CSR, computed in row blocks."""
    parts = [sp.csr_matrix((x[rows] @ yt).multiply(mask[rows])) for rows in _row_blocks(x.shape[0])]
    if not parts:
        return sp.csr_matrix(mask.shape, dtype=np.float64)
    return sp.csr_matrix(sp.vstack(parts, format="csr"))


def _index_edges(edges: pl.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer positions of ``src``/``dst`` (names must cover them) and the weights."""
    lookup = pl.DataFrame({"name": pl.Series(names, dtype=pl.String),
                           "pos": np.arange(len(names), dtype=np.int64)})
    e = (
        edges.select("src", "dst", "weight")
        .join(lookup.rename({"name": "src", "pos": "i"}), on="src", how="inner")
        .join(lookup.rename({"name": "dst", "pos": "j"}), on="dst", how="inner")
    )
    return e["i"].to_numpy(), e["j"].to_numpy(), e["weight"].to_numpy().astype(np.float64)


def _directed_binary(ctx: AnalysisContext, view: BrokerageView) -> tuple[sp.csr_matrix, list[str]]:
    """The binarised directed graph of ``view`` (arc a->c when any weight), no self-loops."""
    parts = view.split("+")
    if not parts or any(p not in ("review", "communication") for p in parts):
        raise ValueError(f"unknown brokerage view {view!r}; expected review, communication or "
                         "review+communication")
    graphs = [ctx.graph(p) for p in parts]  # type: ignore[arg-type]
    names = sorted(set().union(*(g.nodes for g in graphs)))
    edges = pl.concat([g.edges.select("src", "dst", "weight") for g in graphs])
    i, j, _w = _index_edges(edges.filter(pl.col("weight") > 0), names)
    keep = i != j
    n = len(names)
    mat = sp.csr_matrix((np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(n, n))
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat, names


def _undirected_weighted(ctx: AnalysisContext) -> tuple[sp.csr_matrix, list[str]]:
    """Symmetric weighted adjacency of the collaboration graph (no self-loops)."""
    mat, names = ctx.graph("collaboration").to_sparse()
    mat = sp.csr_matrix(mat, dtype=np.float64)
    mat.setdiag(0)
    mat.eliminate_zeros()
    return mat, names


# -- Gould-Fernandez ------------------------------------------------------------------------------

def gould_fernandez_counts(adjacency: sp.spmatrix, groups: np.ndarray) -> np.ndarray:
    """Raw Gould-Fernandez role counts per vertex, by sparse algebra.

    Parameters
    ----------
    adjacency
        Square directed adjacency; any nonzero off-diagonal entry is an arc.
    groups
        Integer group label per vertex.

    Returns
    -------
    numpy.ndarray
        ``n x 6`` counts: coordinator, itinerant, representative, gatekeeper, liaison, total.

    Notes
    -----
    Vertex *v* brokers each open 2-path ``a -> v -> c`` (``a != c``, no arc ``a -> c``). All
    2-paths through *v* are ``in(v) x out(v)``; grouped by whether ``g(a)``, ``g(c)`` equal
    ``g(v)`` and each other, their numbers follow from in/out degrees within the own group and
    ``Σ_g in_g(v)·out_g(v)`` (rows of ``(AᵀG) ∘ (AG)``, ``G`` the group indicator). The pairs
    ``a == c`` (mutual arcs, ``A ∘ Aᵀ``) and the closed 2-paths (``a -> c`` present) are then
    subtracted; closed ones are counted per arc ``(a, v)`` from ``(A Aᵀ) ∘ A`` and its
    variants with one factor restricted to same-group arcs, evaluated only on the arcs.
    """
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    a.setdiag(0)
    a.eliminate_zeros()
    a.data[:] = 1.0
    n = a.shape[0]
    out = np.zeros((n, 6), dtype=np.int64)
    if n == 0 or a.nnz == 0:
        return out
    groups = np.asarray(groups)
    coo = a.tocoo()
    same_arc = groups[coo.row] == groups[coo.col]
    a_same = sp.csr_matrix((np.ones(int(same_arc.sum())), (coo.row[same_arc], coo.col[same_arc])),
                           shape=(n, n))
    a_diff = sp.csr_matrix((np.ones(int((~same_arc).sum())), (coo.row[~same_arc], coo.col[~same_arc])),
                           shape=(n, n))
    indeg = np.asarray(a.sum(axis=0)).ravel()
    outdeg = np.asarray(a.sum(axis=1)).ravel()
    in_same = np.asarray(a_same.sum(axis=0)).ravel()
    out_same = np.asarray(a_same.sum(axis=1)).ravel()
    _, glab = np.unique(groups, return_inverse=True)
    gmat = sp.csr_matrix((np.ones(n), (np.arange(n), glab)), shape=(n, int(glab.max()) + 1))
    in_by_group = sp.csr_matrix(a.T @ gmat)
    out_by_group = sp.csr_matrix(a @ gmat)
    same_ends = np.asarray(in_by_group.multiply(out_by_group).sum(axis=1)).ravel()

    # All 2-paths in(v) x out(v), including a == c and closed ones.
    coord = in_same * out_same
    itin = same_ends - coord
    rep = in_same * (outdeg - out_same)
    gate = (indeg - in_same) * out_same
    liai = (indeg - in_same) * (outdeg - out_same) - itin

    # a == c: a mutual arc a <-> v; g(a) == g(c), so coordinator or itinerant.
    mutual = sp.csr_matrix(a.multiply(a.T))
    mut_all = np.asarray(mutual.sum(axis=1)).ravel()
    mut_same = np.asarray(mutual.multiply(a_same).sum(axis=1)).ravel()
    coord = coord - mut_same
    itin = itin - (mut_all - mut_same)

    # Closed 2-paths a -> v -> c with a -> c, counted on the arc (a, v):
    #   P[a,v] = Σ_c A[a,c] A[v,c]          (all closing c)
    #   Q[a,v] = Σ_c A[a,c] A_same[v,c]     (c in g(v))
    #   R[a,v] = Σ_c A_same[a,c] A[v,c]     (c in g(a))
    if max(outdeg.max(), indeg.max()) < _PACK:
        p_same, p_diff, q_same, q_diff, r_diff = _closed_counts_packed(a, a_same)
    else:  # a vertex with >= 2**15 arcs: three separate products
        at = sp.csr_matrix(a.T)
        a_same_t = sp.csr_matrix(a_same.T)
        p_same, p_diff = _masked_colsums(a, at, [a_same, a_diff])
        q_same, q_diff = _masked_colsums(a, a_same_t, [a_same, a_diff])
        (r_diff,) = _masked_colsums(a_same, at, [a_diff])
    coord = coord - q_same                     # g(a) = g(v) = g(c)
    rep = rep - (p_same - q_same)              # g(a) = g(v) != g(c)
    gate = gate - q_diff                       # g(a) != g(v) = g(c)
    itin = itin - r_diff                       # g(a) = g(c) != g(v)
    liai = liai - (p_diff - q_diff - r_diff)   # all distinct

    roles = np.column_stack([coord, itin, rep, gate, liai])
    out[:, :5] = np.rint(roles).astype(np.int64)
    out[:, 5] = out[:, :5].sum(axis=1)
    return out


def gould_fernandez_moments(
    sizes: np.ndarray, n_arcs: int, n_vertices: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts and standard deviations per group, as ``sna::brokerage`` computes them.

    Parameters
    ----------
    sizes
        Size of each group.
    n_arcs, n_vertices
        Arcs ``m`` and vertices ``N`` of the graph; density ``d = m / (N(N-1))``.

    Returns
    -------
    (expected, sd)
        Two ``len(sizes) x 6`` arrays (roles in :data:`BROKERAGE_ROLES` order) for a broker
        in each group.

    Notes
    -----
    With ``c = d²(1-d)`` and ``e = d³(1-d)³`` (``sna`` ``R/models.R``)::

        E[w_I]  = c (n_i-1)(n_i-2)          Var = E(1-c) + 2 (n_i-1)(n_i-2)(n_i-3) e
        E[w_O]  = c Σ_{j≠i} n_j(n_j-1)      Var = E(1-c) + 2 Σ_{j≠i} n_j(n_j-1)(n_j-2) e
        E[b_IO] = E[b_OI] = c (N-n_i)(n_i-1)
                                            Var = E(1-c) + 2 ((n_i-1) C(N-n_i,2) + (N-n_i) C(n_i-1,2)) e
        E[b_O]  = c ((Σ_{j≠i} n_j)² - Σ_{j≠i} n_j²)
                                            Var = E(1-c) + 4 Σ_{j≠i} n_j C(N-n_j-n_i, 2) e
        E[t]    = c (N-1)(N-2)              Var = E(1-c) + 2 (N-1)(N-2)(N-3) e

    The sums over ``j ≠ i`` are evaluated in closed form from power sums of the sizes.
    """
    n = np.asarray(sizes, dtype=np.float64)
    big_n = float(n_vertices)
    k = n.size
    if k == 0 or big_n < 2:
        return np.zeros((k, 6)), np.zeros((k, 6))
    d = n_arcs / (big_n * (big_n - 1))
    c = d * d * (1 - d)
    e = d**3 * (1 - d) ** 3

    def choose2(x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.where(x >= 2, x * (x - 1) / 2, 0.0)

    s2 = float(np.sum(n * (n - 1)))
    s3 = float(np.sum(n * (n - 1) * (n - 2)))
    q = float(np.sum(n * n))
    c3 = float(np.sum(n**3))
    rest = big_n - n
    exp = np.zeros((k, 6))
    var = np.zeros((k, 6))
    exp[:, 0] = c * (n - 1) * (n - 2)
    var[:, 0] = exp[:, 0] * (1 - c) + 2 * (n - 1) * (n - 2) * (n - 3) * e
    exp[:, 1] = c * (s2 - n * (n - 1))
    var[:, 1] = exp[:, 1] * (1 - c) + 2 * (s3 - n * (n - 1) * (n - 2)) * e
    exp[:, 2] = c * rest * (n - 1)
    var[:, 2] = exp[:, 2] * (1 - c) + 2 * ((n - 1) * choose2(rest) + rest * choose2(n - 1)) * e
    exp[:, 3] = exp[:, 2]
    var[:, 3] = var[:, 2]
    q_rest = q - n * n
    exp[:, 4] = c * (rest * rest - q_rest)
    # Σ_{j≠i} n_j (x-n_j)(x-n_j-1)/2 with x = N - n_i (each term is n_j·C(N-n_j-n_i, 2)).
    c3_rest = c3 - n**3
    liaison_pairs = 0.5 * (rest * rest * rest - 2 * rest * q_rest + c3_rest - rest * rest + q_rest)
    var[:, 4] = exp[:, 4] * (1 - c) + 4 * liaison_pairs * e
    exp[:, 5] = c * (big_n - 1) * (big_n - 2)
    var[:, 5] = exp[:, 5] * (1 - c) + 2 * (big_n - 1) * (big_n - 2) * (big_n - 3) * e
    return exp, np.sqrt(np.maximum(var, 0.0))


@memoized
def gould_fernandez(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    view: BrokerageView = "review+communication",
    unassigned: Unassigned = "singleton",
) -> pl.DataFrame:
    """Gould-Fernandez brokerage roles per person, with formal units as groups.

    Implements Gould & Fernandez (1989), "Structures of mediation", *Sociological Methodology*
    19:89-126, exactly as R's ``sna::brokerage`` (counts, expectations, standard deviations and
    z-scores; SOCIOTECH §5.1).

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window, unit_kind
        Events considered and the formal level whose units are the groups.
    view
        The directed graph: ``review`` (author -> reviewer), ``communication`` (speaker ->
        addressee) or their union (default). It is binarised: an arc ``a -> c`` exists when any
        event links them; weights play no role in the roles.
    unassigned
        People without a unit at ``unit_kind``: ``singleton`` (default) makes each their own
        one-person group (they can then only be itinerants or liaisons, and they still close
        or open other people's 2-paths); ``exclude`` drops them from the graph (density,
        ``N`` and every 2-path through them change accordingly).

    Returns
    -------
    pl.DataFrame
        One row per person (sorted by ``person_id``):

        ``person_id``, ``unit_id`` (the person's main unit, null when unassigned);
        ``coordinator`` (``w_I``: a, v, c in one group), ``itinerant`` (``w_O``: a and c in one
        group, v outside it), ``representative`` (``b_IO``: a with v, c elsewhere),
        ``gatekeeper`` (``b_OI``: a elsewhere, v with c; who controls inflow into the unit),
        ``liaison`` (``b_O``: three different groups), ``total`` (Int64 counts of open 2-paths
        ``a -> v -> c``, ``a != c``, no arc ``a -> c``);
        ``exp_<role>``, ``sd_<role>``: expectation and standard deviation under a random graph
        of the same density (``sna``); ``z_<role> = (raw - exp) / sd`` (null when ``sd == 0``).
        Every person of the graph has a row (people without ties score 0); a window without
        any arc gives an empty frame.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    adjacency, names = _directed_binary(ctx, view)
    home = ctx.home_unit()
    units = [home.get(p) for p in names]
    if unassigned == "exclude":
        keep = np.array([u is not None for u in units], dtype=bool)
        idx = np.flatnonzero(keep)
        adjacency = sp.csr_matrix(adjacency[idx][:, idx])
        names = [names[i] for i in idx]
        units = [units[i] for i in idx]
    elif unassigned != "singleton":
        raise ValueError(f"unassigned must be 'singleton' or 'exclude', not {unassigned!r}")
    if not names or adjacency.nnz == 0:   # nothing happened in the window
        return pl.DataFrame(schema=GOULD_FERNANDEZ_SCHEMA)
    labels = [u if u is not None else f"\x00{p}" for p, u in zip(names, units, strict=True)]
    uniq, groups = np.unique(np.array(labels, dtype=object), return_inverse=True)
    counts = gould_fernandez_counts(adjacency, groups)
    sizes = np.bincount(groups, minlength=len(uniq))
    exp_g, sd_g = gould_fernandez_moments(sizes, int(adjacency.nnz), len(names))
    exp = exp_g[groups]
    sd = sd_g[groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (counts - exp) / np.where(sd > 0, sd, 1.0), np.nan)
    cols: dict[str, object] = {"person_id": names, "unit_id": units}
    for r, role in enumerate(BROKERAGE_ROLES):
        cols[role] = counts[:, r]
    for prefix, arr in (("exp", exp), ("sd", sd), ("z", z)):
        for r, role in enumerate(BROKERAGE_ROLES):
            cols[f"{prefix}_{role}"] = arr[:, r]
    frame = pl.DataFrame(cols, schema=GOULD_FERNANDEZ_SCHEMA)
    return frame.with_columns(pl.col("^z_.*$").fill_nan(None)).sort("person_id")


# -- Burt's structural holes ---------------------------------------------------------------------

def _burt(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Degree, constraint and effective size of a weighted undirected graph (sparse).

    ``p_ij = (a_ij + a_ji) / Σ_k (a_ik + a_ki)``, ``m_jq = (a_jq + a_qj) / max_k (a_jk + a_kj)``;
    constraint ``C_i = Σ_{j∈N(i)} (p_ij + Σ_q p_iq p_qj)²``; effective size
    ``ES_i = Σ_{j∈N(i)} (1 - Σ_q p_iq m_jq)`` (networkx ``structuralholes``). Isolates get NaN.
    """
    a = sp.csr_matrix(adjacency, dtype=np.float64)
    n = a.shape[0]
    mutual = sp.csr_matrix(a + a.T)
    mutual.setdiag(0)
    mutual.eliminate_zeros()
    pattern = mutual.copy()
    pattern.data[:] = 1.0
    degree = np.diff(mutual.indptr).astype(np.int64)
    row_sum = np.asarray(mutual.sum(axis=1)).ravel()
    row_max = mutual.max(axis=1).toarray().ravel() if n else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sp.csr_matrix(sp.diags(np.where(row_sum > 0, 1.0 / row_sum, 0.0)) @ mutual)
        m = sp.csr_matrix(sp.diags(np.where(row_max > 0, 1.0 / row_max, 0.0)) @ mutual)
    indirect = _masked_product(p, sp.csr_matrix(p), pattern)       # Σ_q p_iq p_qj on arcs
    local = p + indirect
    constraint = np.asarray(local.multiply(local).sum(axis=1)).ravel()
    redundancy = _masked_product(p, sp.csr_matrix(m.T), pattern)  # Σ_q p_iq m_jq on arcs
    effective = degree - np.asarray(redundancy.sum(axis=1)).ravel()
    isolated = degree == 0
    constraint[isolated] = np.nan
    effective = effective.astype(np.float64)
    effective[isolated] = np.nan
    return degree, constraint, effective


@memoized
def structural_holes(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> pl.DataFrame:
    """Burt's constraint and effective size per person on the undirected collaboration graph.

    Implements Burt (1992), *Structural Holes*, with the weighted formulas of networkx
    ``constraint`` / ``effective_size`` (SOCIOTECH §5.2). Computed with sparse products masked
    to the graph's edges (networkx's own matrix path materialises dense ``n x n`` arrays for
    effective size and takes ~10 s at 10,000 people); the tests check equality with networkx.

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window, unit_kind
        Events considered; ``unit_kind`` is unused (kept for the common signature).

    Returns
    -------
    pl.DataFrame
        One row per person (sorted by ``person_id``): ``person_id``, ``degree`` (distinct
        collaborators), ``constraint`` (``C_i``, 0..1+; low = spans structural holes),
        ``effective_size`` (non-redundant contacts), ``efficiency`` (effective size / degree).
        Isolated people have null constraint, effective size and efficiency; a window without
        any collaboration gives an empty frame.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    adjacency, names = _undirected_weighted(ctx)
    if not names or adjacency.nnz == 0:   # nothing happened in the window
        return pl.DataFrame(schema=STRUCTURAL_HOLES_SCHEMA)
    degree, constraint, effective = _burt(adjacency)
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = np.where(degree > 0, effective / np.maximum(degree, 1), np.nan)
    return (
        pl.DataFrame(
            {"person_id": names, "degree": degree, "constraint": constraint,
             "effective_size": effective, "efficiency": efficiency},
            schema=STRUCTURAL_HOLES_SCHEMA,
        )
        .with_columns(pl.col("constraint", "effective_size", "efficiency").fill_nan(None))
        .sort("person_id")
    )
