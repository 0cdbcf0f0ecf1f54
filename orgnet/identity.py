"""Identity resolution: every handle -> one ``person_id`` (ARCHITECTURE §3).

Union-find over explicit evidence, strongest first:

1. ``hris``: identity columns of the org chart (work e-mail, other e-mails, GitHub login,
   Slack id, ...). The org chart's ``employee_id`` is the person id.
2. ``alias``: the alias file (``person_id,source,handle``).
3. ``email``: the same normalised e-mail address in two sources. Git identities already carry
   the ``.mailmap`` canonical address, so mailmap evidence arrives here.
4. ``github-noreply``: ``12345+login@users.noreply.github.com`` links to GitHub login ``login``.
5. ``name``: the same normalised full name (two words or more), only when the name belongs to
   at most one org-chart person and the two sides hold no conflicting e-mail addresses.

Guards. Two components anchored to different org-chart people are never merged (the attempt is
recorded as ``ambiguous``). Bots and shared addresses (``noreply@github.com``, ``root@localhost``,
CI users) take part in no e-mail or name evidence, so they never bridge two people.

Claims. Org-chart and alias evidence is stored as identity rows with ``origin`` ``"hris"`` or
``"alias"`` and a preset ``person_id``; observed handles (``origin="observed"``) join them by key.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl
from polars._typing import PolarsDataType
from scipy import sparse
from scipy.sparse import csgraph

from orgnet._text import normalize_email, normalize_handle, normalize_name, stable_hash
from orgnet.schema import SCHEMAS

__all__ = [
    "BOT_PATTERNS",
    "SHARED_ADDRESSES",
    "USERNAME_SOURCES",
    "claim_rows",
    "is_bot_handle",
    "is_shared_address",
    "resolve",
]

#: Sources whose ``username`` is a stable, unique login within the source.
USERNAME_SOURCES: Final = frozenset({"github", "gitlab", "gerrit", "mattermost", "slack"})

#: Name, login or e-mail patterns of automation accounts (case-insensitive).
BOT_PATTERNS: Final = re.compile(
    r"(\[bot\]$|^bot$|-bot$|^bot-|_bot$|bot@|^bors$|^bors-|^renovate|^dependabot|^github-actions"
    r"|^jenkins|^ci$|^ci[-_ ]|[-_ ]ci$|^buildbot|build bot|^gerrit code review|^zuul|^syzbot"
    r"|^kernel test robot|^lkp@|^gitlab-bot|^codecov|^mergify|^copybara|^service account"
    r"|^automation|^autobuild|^slackbot$|^uslackbot$)",
    re.IGNORECASE,
)

#: Addresses many people share; they are never evidence that two handles are one person.
SHARED_ADDRESSES: Final = frozenset(
    {
        "noreply@github.com",
        "no-reply@github.com",
        "github@github.com",
        "root@localhost",
        "root@localhost.localdomain",
        "none@none",
        "unknown@unknown",
        "nobody@nowhere",
        "noreply@gitlab.com",
        "gerrit@localhost",
        "user@example.com",
        "you@example.com",
        "email@example.com",
    }
)
_SHARED_LOCALPARTS: Final = re.compile(r"^(no-?reply|do-?not-?reply|root|admin|mailer-daemon)$")
_NOREPLY: Final = re.compile(r"^(?:\d+\+)?(?P<login>[a-z0-9._%+-]+)@users\.noreply\.github\.com$")
_FREEMAIL: Final = frozenset(
    {"gmail.com", "googlemail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com",
     "me.com", "protonmail.com", "proton.me", "gmx.de", "gmx.net", "qq.com", "163.com",
     "126.com", "users.noreply.github.com", "live.com", "aol.com", "mail.ru", "yandex.ru",
     "web.de", "fastmail.com"}
)


def is_shared_address(email: str | None) -> bool:
    """True for addresses shared by many people (``noreply@github.com``, ``root@localhost`` ...)."""
    e = normalize_email(email)
    if e is None:
        return False
    local, _, domain = e.partition("@")
    return e in SHARED_ADDRESSES or bool(_SHARED_LOCALPARTS.match(local)) or "." not in domain


def is_bot_handle(*values: str | None) -> bool:
    """True when a name, login or e-mail looks like an automation account."""
    return any(v and _looks_like_bot(v) for v in values)


@functools.lru_cache(maxsize=1 << 18)
def _looks_like_bot(value: str) -> bool:
    return BOT_PATTERNS.search(value.strip()) is not None


def claim_rows(
    person_id: str,
    *,
    origin: str,
    source: str,
    handle: str,
    name: str | None = None,
    evidence: str | None = None,
) -> dict[str, object]:
    """An identity row that claims ``handle`` in ``source`` for ``person_id``.

    ``source`` ``"email"`` claims an address in every source; a username source
    (``github``, ``gitlab`` ...) claims a login; any other source claims a native id.
    """
    src = source.strip().lower()
    row: dict[str, object] = {
        "identity_id": "c" + stable_hash(origin, src, handle.strip().lower(), person_id),
        "person_id": person_id,
        "source": src,
        "instance": None,
        "native_id": None,
        "username": None,
        "email": None,
        "name": name,
        "is_bot": False,
        "origin": origin,
        "evidence": evidence or f"{origin}:{src}",
    }
    if src in ("email", "git", "mbox"):
        row["email"] = normalize_email(handle) or handle.strip().lower()
        row["source"] = "email"
    elif src in USERNAME_SOURCES:
        row["username"] = handle.strip().lstrip("@")
        # Slack, Gerrit and Mattermost ids are native ids; a claim may name either.
        row["native_id"] = handle.strip()
    else:
        row["native_id"] = handle.strip()
    return row


#: Characters Python's ``str.strip()`` removes (``str.isspace``): polars strips exactly these, so
#: the bot check in polars sees what ``is_bot_handle`` sees.
_PY_SPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: ``BOT_PATTERNS`` for polars' regex engine. Python's case-insensitive ``i`` also matches the
#: Turkish dotted and dotless i, the Rust engine's does not, so they are spelled out.
_BOT_PATTERNS_POLARS: Final = "(?i)" + BOT_PATTERNS.pattern.replace("i", "[iİı]")
_EMAIL_SOURCES: Final = ("git", "mbox", "email")
_AMBIGUOUS_NAME: Final = "ambiguous:name shared by several org-chart people"
_AMBIGUOUS_EMAILS: Final = "ambiguous:same name, conflicting e-mail addresses"


#: Printable ASCII without spaces (logins, addresses, ids) and with spaces (names): on such
#: values Unicode normalisation, control-character removal and case folding are no-ops, so
#: polars computes the normalised forms; other values go through Python's own functions.
_ASCII_WORD: Final = r"^[\x21-\x7e]+$"
_ASCII_TEXT: Final = r"^[\x20-\x7e]*$"


def _fast_email(v: pl.Expr) -> pl.Expr:
    e = v.str.strip_chars("<>").str.to_lowercase()
    # One "@" with something on both sides (no spaces: the value has none).
    one_at = ((e.str.count_matches("@", literal=True) == 1) & ~e.str.starts_with("@")
              & ~e.str.ends_with("@"))
    return pl.when(one_at).then(e)


def _fast_shared(v: pl.Expr) -> pl.Expr:
    parts = _fast_email(v).str.split_exact("@", 1)
    local, domain = parts.struct.field("field_0"), parts.struct.field("field_1")
    shared = (local.is_in(sorted({a.partition("@")[0] for a in SHARED_ADDRESSES}))
              & (local + "@" + domain).is_in(sorted(SHARED_ADDRESSES)))
    return (shared | local.str.contains(_SHARED_LOCALPARTS.pattern)
            | ~domain.str.contains(".", literal=True)).fill_null(False)


def _fast_handle_key(v: pl.Expr) -> pl.Expr:
    h = v.str.strip_chars_start("@").str.to_lowercase()
    return pl.when(h != "").then(h).otherwise(pl.lit("None"))


def _fast_name(v: pl.Expr) -> pl.Expr:
    n = (v.str.to_lowercase().str.replace_all(r"[^a-z0-9_\s'-]", " ")
         .str.replace_all(r"\s+", " ").str.strip_chars(" "))
    return pl.when(n != "").then(n)


def _handle_key(v: str) -> str:
    return str(normalize_handle(v))  # a login that normalises to nothing keys as "None"


def _nid_key(v: str) -> str:
    return v.strip().lower()


def _multi_word(v: str) -> bool:
    return len(v.split()) >= 2


def _login(email: str) -> str | None:
    m = _NOREPLY.match(email)
    return m.group("login").lower() if m else None


#: Python rule -> (values polars may take, the same rule as a polars expression).
_FAST: Final[dict[Callable[[str], object], tuple[str, Callable[[pl.Expr], pl.Expr]]]] = {
    normalize_email: (_ASCII_WORD, _fast_email),
    is_shared_address: (_ASCII_WORD, _fast_shared),
    _handle_key: (_ASCII_WORD, _fast_handle_key),
    _nid_key: (_ASCII_WORD, lambda v: v.str.to_lowercase()),
    str.lower: (_ASCII_TEXT, lambda v: v.str.to_lowercase()),
    normalize_name: (_ASCII_TEXT, _fast_name),
    _multi_word: (_ASCII_TEXT, lambda v: v.str.strip_chars(" ").str.contains(" ", literal=True)),
    _login: (_ASCII_WORD, lambda v: v.str.extract(_NOREPLY.pattern, 1)),
}


def _mapped(s: pl.Series, fn: Callable[[str], object], dtype: PolarsDataType = pl.String) -> pl.Series:
    """``fn`` applied to every non-null value of ``s``.

    Printable-ASCII values are computed by the polars form of ``fn`` (``_FAST``); the others by
    ``fn`` itself, once per distinct value, so Python's own string rules (Unicode
    normalisation, ``lower``) apply where they matter.
    """
    pattern, fast = _FAST[fn]
    frame = s.to_frame("v")
    ascii_ = s.str.contains(pattern).fill_null(True)
    out = frame.select(pl.when(pl.col("v").is_not_null()).then(fast(pl.col("v"))).cast(dtype)
                       ).to_series()
    if ascii_.all():
        return out.alias(s.name)
    distinct = s.filter(~ascii_).unique()
    new = pl.Series([fn(v) for v in distinct.to_list()], dtype=dtype)
    slow = s.replace_strict(distinct, new, default=None, return_dtype=dtype)
    return out.zip_with(ascii_, slow).alias(s.name)


def _truthy(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & (pl.col(col) != "")


def _facts(identities: pl.DataFrame) -> pl.DataFrame:
    """One row per identity (``r``, in table order) with every value resolution compares."""
    f = identities.select(
        pl.col("identity_id").alias("iid"),
        pl.col("source").fill_null("None").alias("src"),  # as an f-string spells None
        pl.col("origin").fill_null("None").alias("org"),
        "native_id", "username", "email", "name", "person_id",
        pl.col("is_bot").fill_null(False).alias("bot_in"),
    ).with_row_index("r")
    observed = pl.col("org") == "observed"
    f = f.with_columns(
        observed.alias("observed"),
        pl.when(~observed & _truthy("person_id")).then("person_id").alias("claim_pid"),
        (pl.col("bot_in") | (observed & pl.any_horizontal(
            pl.col(c).str.strip_chars(_PY_SPACE).str.contains(_BOT_PATTERNS_POLARS).fill_null(False)
            for c in ("username", "name", "email", "native_id")
        ))).alias("is_bot"),
        pl.when(pl.col("src").is_in(_EMAIL_SOURCES)).then("native_id").alias("_nid_mail"),
        pl.when(_truthy("native_id")).then("native_id").alias("_nid"),
        pl.when(_truthy("username") & pl.col("src").is_in(USERNAME_SOURCES)).then("username")
        .alias("_user"),
        pl.when(_truthy("name")).then("name").alias("_name"),
        # A set's stable key falls back to the native id, login, name or identity id.
        pl.coalesce(*(pl.when(_truthy(c)).then(c) for c in ("native_id", "username", "name")),
                    pl.col("iid")).alias("_fallback"),
    )
    email_n = _mapped(f["email"], normalize_email)
    key_email = email_n.zip_with(email_n.is_not_null(), _mapped(f["_nid_mail"], normalize_email))
    name_n = _mapped(f["_name"], normalize_name)
    f = f.with_columns(
        email_n.alias("email_n"),
        key_email.alias("key_email"),
        _mapped(key_email, is_shared_address, pl.Boolean).alias("key_email_shared"),
        _mapped(key_email, _login).alias("noreply_login"),
        _mapped(f["_nid"], _nid_key).alias("nid_key"),
        _mapped(f["_user"], _handle_key).alias("user_key"),
        name_n.alias("name_n"),
        _mapped(name_n, _multi_word, pl.Boolean).alias("name_multi"),
        _mapped(f["email"], is_shared_address, pl.Boolean).fill_null(False).alias("raw_shared"),
        _mapped(email_n, is_shared_address, pl.Boolean).fill_null(False).alias("norm_shared"),
        _mapped(f["_nid_mail"], is_shared_address, pl.Boolean).fill_null(False).alias("_nid_shared"),
        _mapped(f["_fallback"], str.lower).alias("_fallback"),
    )
    domain = pl.col("email_n").str.split("@").list.get(1, null_on_oob=True)
    addressed = pl.col("email_n").is_not_null() & ~pl.col("norm_shared")
    return f.with_columns(
        (pl.col("raw_shared") | pl.col("_nid_shared")).alias("shared"),
        pl.when(addressed).then(pl.lit("0") + pl.col("email_n"))
        .otherwise(pl.lit("1") + pl.col("src") + pl.lit(":") + pl.col("_fallback"))
        .alias("stable"),
        pl.when(addressed & ~domain.is_in(_FREEMAIL)).then(domain).alias("domain"),
    )


def _evidence_keys(f: pl.DataFrame) -> pl.DataFrame:
    """Evidence keys (``s`` strength, ``key``, ``reason``) per identity, sorted strongest first.

    Claims (org chart, alias file) hold their e-mail, login and native id with the claim's
    strength; observed handles their native id and login (1), e-mail (2, never for bots or
    shared addresses) and the login inside a GitHub noreply address (3).
    """
    claims = f.filter(~pl.col("observed") & (pl.col("src") != "hris"))
    strength = pl.when(pl.col("org") == "hris").then(0).otherwise(1)
    claim_reason = pl.col("org") + pl.lit(":") + pl.col("src")
    seen = f.filter("observed")
    mail = seen.filter(
        pl.col("key_email").is_not_null() & ~pl.col("is_bot") & ~pl.col("key_email_shared"))
    email_key = pl.lit("email:") + pl.col("key_email")
    user_key = pl.lit("user:") + pl.col("src") + pl.lit(":") + pl.col("user_key")
    id_key = pl.lit("id:") + pl.col("src") + pl.lit(":") + pl.col("nid_key")

    def part(frame: pl.DataFrame, s: pl.Expr, reason: pl.Expr, key: pl.Expr) -> pl.DataFrame:
        return frame.select("r", "iid", s.cast(pl.Int8).alias("s"), key.alias("key"),
                            reason.alias("reason"))

    parts = [
        part(claims.filter(pl.col("key_email").is_not_null()), strength,
             pl.col("org") + pl.lit(":email"), email_key),
        part(claims.filter(pl.col("user_key").is_not_null()), strength, claim_reason, user_key),
        part(claims.filter(pl.col("nid_key").is_not_null() & (pl.col("src") != "email")),
             strength, claim_reason, id_key),
        part(seen.filter(pl.col("nid_key").is_not_null()), pl.lit(1), pl.lit("native-id"), id_key),
        part(seen.filter(pl.col("user_key").is_not_null()), pl.lit(1), pl.lit("username"),
             user_key),
        part(mail, pl.lit(2), pl.lit("email"), email_key),
        part(mail.filter(pl.col("noreply_login").is_not_null()), pl.lit(3),
             pl.lit("github-noreply"), pl.lit("user:github:") + pl.col("noreply_login")),
    ]
    return pl.concat(parts).sort(["s", "key", "reason", "iid"]).drop("iid")


class _Forest:
    """Union-find over node ranks; a set's root is its least rank (names merge least-first)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while (up := parent.get(root, root)) != root:
            root = up
        while x != root:
            parent[x], x = root, parent.get(x, x)
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra
        return ra


@dataclass
class _State:
    """Resolution state between the rules. Nodes are ranks: rows and claimed people ordered by
    name (identity id, ``person:<id>``), so the least rank of a set is the root a name-ordered
    union-find would keep."""

    n: int
    observed: np.ndarray  # per row
    rank: np.ndarray  # per node (rows, then people): its rank
    row_of_rank: np.ndarray  # per rank: row, or -1 for a person node
    root: np.ndarray  # per rank: root after the key rules
    anchor: np.ndarray  # per root rank: person index, or -1
    evidence: list[str | None]  # per row
    ambiguous: dict[int, str]  # row -> label, first label wins


def _key_rules(f: pl.DataFrame, persons: pl.Series) -> _State:
    """Claims join their person; then, key by key strongest first, the first holder of a key
    joins every later holder, unless both sides belong to different org-chart people."""
    n = f.height
    n_nodes = n + persons.len()
    observed = f["observed"].to_numpy()
    person_node = f["claim_pid"].replace_strict(
        persons, pl.Series(range(n, n_nodes), dtype=pl.Int64), default=-1, return_dtype=pl.Int64
    ).to_numpy()
    names = pl.concat([f["iid"], "person:" + persons])
    rank = np.empty(n_nodes, dtype=np.int64)
    rank[names.arg_sort().to_numpy()] = np.arange(n_nodes)
    row_of_rank = np.full(n_nodes, -1, dtype=np.int64)
    row_of_rank[rank[:n]] = np.arange(n)

    keyed = _evidence_keys(f).with_row_index("pos")
    events = keyed.with_columns(
        pl.col("r").first().over("key").alias("f"),
        pl.col("reason").first().over("key").alias("f_reason"),
    ).filter(pl.col("pos") != pl.col("pos").first().over("key"))
    ev_f = events["f"].to_numpy().astype(np.int64)
    ev_i = events["r"].to_numpy().astype(np.int64)
    # The first holder came with the strongest evidence: a claim names the join for both.
    labels = events["reason"].zip_with(pl.Series(observed[ev_f]), events["f_reason"])

    claimed = np.flatnonzero(person_node >= 0)
    a = np.concatenate([claimed, ev_f])
    b = np.concatenate([person_node[claimed], ev_i])
    graph = sparse.coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes))
    n_comp, comp = csgraph.connected_components(graph, directed=False)
    # A set holding two org-chart people may refuse a join: only those are replayed in order.
    contested = np.bincount(comp[n:], minlength=n_comp) >= 2
    comp_root = np.full(n_comp, n_nodes, dtype=np.int64)
    np.minimum.at(comp_root, comp, rank)
    root = np.empty(n_nodes, dtype=np.int64)
    root[rank] = comp_root[comp]
    anchor = np.full(n_nodes, -1, dtype=np.int64)
    alone = ~contested[comp[n:]]
    anchor[comp_root[comp[n:][alone]]] = np.flatnonzero(alone)
    state = _State(n, observed, rank, row_of_rank, root, anchor, [None] * n, {})

    ev_contested = contested[comp[ev_f]]
    if contested.any():
        _replay(state, claimed[contested[comp[claimed]]], person_node,
                np.flatnonzero(contested[comp]), ev_f[ev_contested], ev_i[ev_contested],
                labels.filter(pl.Series(ev_contested)).to_list())
    # Elsewhere every join succeeds: an identity's evidence is the first key event it is in.
    easy = ~ev_contested
    pos = events["pos"].to_numpy()[easy]
    lab = labels.filter(pl.Series(easy))
    rows = np.concatenate([ev_f[easy], ev_i[easy]])
    first_ev = pl.DataFrame({
        "row": rows, "pos": np.concatenate([pos, pos]), "label": pl.concat([lab, lab]),
    }).filter(pl.Series(observed[rows])).sort("pos").unique("row", keep="first")
    for row, label in zip(first_ev["row"].to_list(), first_ev["label"].to_list(), strict=True):
        state.evidence[row] = label
    return state


def _replay(state: _State, claimed: np.ndarray, person_node: np.ndarray, nodes: np.ndarray,
            ev_f: np.ndarray, ev_i: np.ndarray, labels: list[str]) -> None:
    """The key rules one union at a time, for the sets where two org-chart people meet."""
    rank, observed, evidence = state.rank, state.observed, state.evidence
    forest = _Forest()
    anchor: dict[int, int] = {}
    for r in claimed.tolist():
        anchor[forest.union(int(rank[person_node[r]]), int(rank[r]))] = (
            int(person_node[r]) - state.n)
    for fr, ir, label in zip(ev_f.tolist(), ev_i.tolist(), labels, strict=True):
        ra, rb = forest.find(int(rank[fr])), forest.find(int(rank[ir]))
        if ra != rb:
            pa, pb = anchor.get(ra), anchor.get(rb)
            if pa is not None and pb is not None and pa != pb:
                for x in (fr, ir):
                    if observed[x]:
                        state.ambiguous.setdefault(x, f"ambiguous:{label}")
                continue
            joined = forest.union(ra, rb)
            if pa is not None or pb is not None:
                anchor[joined] = pa if pa is not None else pb  # type: ignore[assignment]
        for x in (ir, fr):
            if observed[x] and evidence[x] is None:
                evidence[x] = label
    for node in nodes.tolist():
        top = forest.find(int(rank[node]))
        state.root[rank[node]] = top
        state.anchor[top] = anchor.get(top, -1)


def _name_rules(state: _State, f: pl.DataFrame, persons: pl.Series) -> tuple[_Forest, set[int]]:
    """Weakest evidence: the same full name joins sets, name by name in order, only when the
    name belongs to at most one org-chart person and the sets hold no conflicting addresses.

    Returns the forest over the key rules' roots and the rows that gained ``name`` evidence.
    """
    root, anchor, ambiguous = state.root, state.anchor, state.ambiguous
    person_rank = pl.Series(state.rank[state.n:])
    owners = (
        f.filter((pl.col("org") == "hris") & pl.col("claim_pid").is_not_null()
                 & pl.col("name_n").is_not_null())
        .group_by("name_n").agg(pl.col("claim_pid").unique().alias("owners"))
    )
    candidates = f.filter(
        pl.col("observed") & ~pl.col("is_bot") & ~pl.col("shared") & pl.col("name_multi")
    ).select("r", "name_n")
    candidates = candidates.with_columns(
        pl.Series("kroot", root[state.rank[candidates["r"].to_numpy()]]))
    groups = candidates.group_by("name_n").agg(
        pl.col("r"), pl.col("kroot").min().alias("lo"), pl.col("kroot").max().alias("hi"),
    ).join(owners, on="name_n", how="left")
    person_ix = {p: i for i, p in enumerate(persons.to_list())}
    forest = _Forest()
    named: set[int] = set()
    active: list[tuple[str, list[int], list[str]]] = []
    for name, members, lo, hi, owned in groups.iter_rows():
        who: list[str] = owned or []
        if len(who) == 1:
            owner_root = int(root[person_rank[person_ix[who[0]]]])
            if lo == hi == owner_root:
                continue
        elif len(who) == 0 and lo == hi:
            continue
        active.append((name, members, who))
    if not active:
        return forest, named
    # Addresses per domain of every set a name may join.
    touched = {int(root[state.rank[m]]) for _, ms, _ in active for m in ms}
    touched |= {int(root[person_rank[person_ix[p]]]) for _, _, who in active for p in who}
    mail = f.filter(pl.col("domain").is_not_null()).select("r", "domain", "email_n")
    mail = mail.with_columns(pl.Series("kroot", root[state.rank[mail["r"].to_numpy()]])).filter(
        pl.col("kroot").is_in(list(touched)))
    domains: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for kr, dom, email in mail.select("kroot", "domain", "email_n").iter_rows():
        domains[kr][dom].add(email)

    def find(node_rank: int) -> int:
        return forest.find(int(root[node_rank]))

    for _name, members, who in sorted(active):
        if len(who) > 1:
            for m in members:
                if anchor[find(int(state.rank[m]))] < 0:
                    ambiguous.setdefault(m, _AMBIGUOUS_NAME)
            continue
        targets = sorted({find(int(state.rank[m])) for m in members})
        if who:
            targets = [int(person_rank[person_ix[who[0]]]), *targets]
        if len(targets) < 2:
            continue
        base = targets[0]
        for other in targets[1:]:
            ra, rb = find(base), find(other)
            if ra == rb:
                continue
            da, db = domains.get(ra, {}), domains.get(rb, {})
            if any(da[d].isdisjoint(db[d]) for d in set(da) & set(db)):
                for m in members:
                    if find(int(state.rank[m])) in (ra, rb):
                        ambiguous.setdefault(m, _AMBIGUOUS_EMAILS)
                continue
            pa, pb = int(anchor[ra]), int(anchor[rb])
            if pa >= 0 and pb >= 0 and pa != pb:
                for x in (ra, rb):
                    row = int(state.row_of_rank[x])
                    if row >= 0 and state.observed[row]:
                        ambiguous.setdefault(row, "ambiguous:name")
                continue
            joined = forest.union(ra, rb)
            anchor[joined] = pa if pa >= 0 else pb
            merged: dict[str, set[str]] = defaultdict(set)
            for part in (domains.pop(ra, {}), domains.pop(rb, {})):
                for d, es in part.items():
                    merged[d] |= es
            domains[joined] = merged
            named.update(members)
    return forest, named


def _finish(identities: pl.DataFrame, f: pl.DataFrame, state: _State, forest: _Forest,
            named: set[int], persons: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Person ids, evidence labels and the people table from the final sets."""
    n = state.n
    row_root = state.root[state.rank[:n]]
    if forest.parent:
        lut = np.arange(state.rank.size, dtype=np.int64)
        moved = list(forest.parent)
        lut[moved] = [forest.find(x) for x in moved]
        row_root = lut[row_root]
    row_anchor = state.anchor[row_root]
    g = f.select("r", "src", "org", "observed", "is_bot", "stable", "name", "username",
                 "native_id", "email_n", "raw_shared").with_columns(
        pl.Series("root", row_root), pl.Series("anchor", row_anchor))
    # A set without an org-chart person is named by a hash of its least stable key.
    free = g.filter(pl.col("anchor") < 0).group_by("root").agg(pl.col("stable").min())
    free = free.with_columns(pl.Series(
        "pid", ["p-" + stable_hash(k, length=12) for k in free["stable"].to_list()],
        dtype=pl.String))
    g = g.join(free.select("root", "pid"), on="root", how="left", maintain_order="left")
    if persons.len():
        anchored = persons.gather(np.maximum(row_anchor, 0))
        g = g.with_columns(anchored.zip_with(pl.Series(row_anchor >= 0), g["pid"]).alias("pid"))
    person_id = g["pid"]

    # Evidence: a claim's own; otherwise the first key event, the name rule, or an ambiguity
    # when nothing joined the identity (or its set is itself alone).
    size = np.bincount(row_root, minlength=state.rank.size)[row_root]
    ev = pl.Series("evidence", state.evidence, dtype=pl.String).to_frame().with_row_index("r")
    if named:
        is_named = np.zeros(n, dtype=bool)
        is_named[list(named)] = True
        ev = ev.with_columns(pl.when(pl.col("evidence").is_null() & pl.Series(is_named))
                             .then(pl.lit("name")).otherwise("evidence").alias("evidence"))
    if state.ambiguous:
        amb = pl.DataFrame({"r": list(state.ambiguous), "amb": list(state.ambiguous.values())},
                           schema={"r": pl.UInt32, "amb": pl.String})
        ev = ev.join(amb, on="r", how="left", maintain_order="left").with_columns(
            pl.when(pl.col("amb").is_not_null()
                    & (pl.col("evidence").is_null() | pl.Series(size == 1)))
            .then("amb").otherwise("evidence").alias("evidence"))
    evidence = ev.select(
        pl.when(~pl.Series(state.observed))
        .then(pl.when(f["src"] == "hris").then(pl.lit("hris"))
              .otherwise(f["org"] + ":" + f["src"]))
        .otherwise(pl.col("evidence").fill_null("self")).alias("evidence")
    ).to_series()
    resolved = identities.with_columns(
        person_id.alias("person_id"), evidence, f["is_bot"].alias("is_bot")
    ).sort("identity_id")
    return resolved.select(list(SCHEMAS["identities"])), _people(g)


def _mode(g: pl.DataFrame, col: str) -> pl.DataFrame:
    """Most frequent value of ``col`` per set; ties go to the value seen first."""
    return (
        g.group_by("root", col).agg(pl.len().alias("_n"), pl.col("r").min().alias("_first"))
        .sort(["root", "_n", "_first"], descending=[False, True, False])
        .unique("root", keep="first", maintain_order=True).select("root", col)
    )


def _people(g: pl.DataFrame) -> pl.DataFrame:
    """One row per set: the org chart's name and address where the set holds the org-chart
    row, otherwise the most frequent name (or least handle) and address."""
    hris = pl.col("src") == "hris"
    sets = g.group_by("root").agg(
        pl.col("r").min().alias("_first"),
        pl.col("pid").first(),
        hris.any().alias("in_org_chart"),
        (pl.col("observed").any() & pl.col("is_bot").filter("observed").all()).alias("_bots"),
        pl.col("name").filter(hris).sort_by(pl.col("r").filter(hris)).first().alias("_hname"),
        pl.col("email_n").filter(hris).sort_by(pl.col("r").filter(hris)).first().alias("_hmail"),
        pl.coalesce(pl.when(_truthy("username")).then("username"),
                    pl.when(_truthy("native_id")).then("native_id")).min().alias("_handle"),
    )
    names = _mode(g.filter(_truthy("name")), "name")
    mails = _mode(g.filter(pl.col("email_n").is_not_null() & ~pl.col("raw_shared")), "email_n")
    sets = sets.join(names, on="root", how="left").join(mails, on="root", how="left")
    people = sets.sort("_first").select(
        pl.col("pid").alias("person_id"),
        pl.when("in_org_chart").then(
            pl.when(_truthy("_hname")).then("_hname").otherwise("pid"))
        .otherwise(pl.coalesce("name", "_handle", "pid")).alias("display_name"),
        pl.when("in_org_chart").then("_hmail").otherwise("email_n").alias("primary_email"),
        (pl.col("_bots") & ~pl.col("in_org_chart")).alias("is_bot"),
        "in_org_chart",
    )
    # Two sets share a person id only by a hash of the same stable key; keep the first.
    return people.unique("person_id", keep="first", maintain_order=True).sort("person_id")


def resolve(identities: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Resolve identities to people.

    Parameters
    ----------
    identities
        The ``identities`` table: observed handles plus org-chart and alias claims. The incoming
        ``person_id``/``evidence`` of observed rows are ignored; claims keep theirs.

    Returns
    -------
    identities : pl.DataFrame
        Same rows with ``person_id`` and ``evidence`` (``"hris:email"``, ``"email"``, ``"name"``,
        ``"ambiguous:name"``, ``"self"`` ...) filled in, sorted by ``identity_id``.
    people : pl.DataFrame
        The ``people`` table, sorted by ``person_id``.

    Raises
    ------
    ValueError
        When an ``identity_id`` is missing or appears twice.

    Notes
    -----
    The result is that of a union-find applying the rules one key at a time, strongest first,
    but computed in columns: keys and their first holders by polars, the sets they join by
    scipy's connected components. Joins are replayed one by one only inside sets where two
    org-chart people meet (a join may be refused there), and only names that span two sets go
    through the name rules, so the Python work grows with the contested cases, not the org.
    """
    n = identities.height
    ids = identities.get_column("identity_id")
    if ids.null_count() or ids.n_unique() != n:
        raise ValueError("identities: identity_id must be present and unique")
    f = _facts(identities)
    persons = f["claim_pid"].drop_nulls().unique(maintain_order=True)
    state = _key_rules(f, persons)
    forest, named = _name_rules(state, f, persons)
    return _finish(identities, f, state, forest, named, persons)
