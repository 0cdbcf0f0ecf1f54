"""The columnar identity resolution gives what the sequential union-find gave, row for row.

``tests/_identity_reference.py`` keeps the sequential implementation as an oracle. Random tables
here are built to hit every rule: shared names, two org-chart people claiming one address,
bots, shared and noreply addresses, empty and odd handles, names that differ only by accents.
"""

from __future__ import annotations

import random
import re
import sys

import polars as pl
import pytest

from orgnet.identity import (
    _BOT_PATTERNS_POLARS,
    _FAST,
    _PY_SPACE,
    BOT_PATTERNS,
    _mapped,
    _multi_word,
    claim_rows,
    is_shared_address,
    resolve,
)
from orgnet.schema import SCHEMAS
from tests._identity_reference import resolve_reference

NAMES = ["Ana Ruiz", "Ana  Ruíz", "ana ruiz", "Bo Chen", "Bo Chen", "İlker Yılmaz", "ILKER YILMAZ",
         "Cy", "Dee Dee Ramone", "renovate[bot]", "ci-runner", " Jenkins ", "", None]
DOMAINS = ["acme.example", "acme.example", "old.example", "gmail.com", "users.noreply.github.com"]
LOCALS = ["ana", "ana.ruiz", "bo", "bchen", "ilker", "dee", "root", "noreply", "x"]
SOURCES = ["git", "github", "slack", "mbox", "gerrit", "jira", "email", "gitlab", None]


def _email(rnd: random.Random) -> str | None:
    pick = rnd.random()
    if pick < 0.15:
        return None
    if pick < 0.2:
        return rnd.choice(["noreply@github.com", "root@localhost", "", "not-an-address",
                           f"{rnd.randint(1, 9)}+{rnd.choice(LOCALS)}@users.noreply.github.com"])
    local = rnd.choice(LOCALS)
    address = f"{local}@{rnd.choice(DOMAINS)}"
    return rnd.choice([address, address.upper(), f"<{address}>", f" {address}"])


def _table(seed: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    rows: list[dict[str, object]] = []
    people = [f"E{k}" for k in range(rnd.randint(0, 5))]
    for emp in people:
        name = rnd.choice(NAMES[:9])
        email = _email(rnd) or f"{emp.lower()}@acme.example"
        head = claim_rows(emp, origin="hris", source="hris", handle=emp, evidence="hris")
        head.update({"identity_id": "h" + emp, "native_id": emp, "email": email, "name": name})
        rows.append(head)
        for _ in range(rnd.randint(0, 3)):
            source = rnd.choice(["email", "github", "slack", "git"])
            handle = (_email(rnd) or "x@acme.example") if source in ("email", "git") else (
                rnd.choice(LOCALS))
            origin = rnd.choice(["hris", "hris", "alias"])
            rows.append(claim_rows(emp, origin=origin, source=source, handle=handle, name=name))
    for k in range(rnd.randint(1, 40)):
        source = rnd.choice(SOURCES)
        email = _email(rnd)
        native = rnd.choice([email, rnd.choice(LOCALS), str(rnd.randint(1, 6)), "", None, " X "])
        rows.append({
            "identity_id": f"o{seed}-{k:03d}" if rnd.random() < 0.6 else f"a{k}",
            "person_id": rnd.choice([None, "E0"]), "source": source, "instance": None,
            "native_id": native, "username": rnd.choice([None, "", "@", "AnaR", "anar", "bors",
                                                         "bo", "dependabot[bot]"]),
            "email": email, "name": rnd.choice(NAMES), "is_bot": rnd.choice([False, False, None, True]),
            "origin": "observed", "evidence": None,
        })
    rnd.shuffle(rows)
    frame = pl.DataFrame(rows, schema=SCHEMAS["identities"], orient="row")
    return frame.unique("identity_id", keep="first", maintain_order=True)


@pytest.mark.parametrize("seed", range(400))
def test_columnar_resolution_equals_the_sequential_one(seed: int) -> None:
    frame = _table(seed)
    want_idents, want_people = resolve_reference(frame)
    got_idents, got_people = resolve(frame)
    assert got_idents.to_dicts() == want_idents.to_dicts()
    assert got_people.to_dicts() == want_people.to_dicts()


def test_the_random_tables_reach_every_rule() -> None:
    """The generator is only worth its seeds if they hit refused joins and every name rule."""
    labels: set[str] = set()
    for seed in range(400):
        labels |= set(resolve_reference(_table(seed))[0]["evidence"].to_list())
    for wanted in ("hris:email", "alias:email", "email", "native-id", "username", "name",
                   "github-noreply",
                   "ambiguous:name shared by several org-chart people",
                   "ambiguous:same name, conflicting e-mail addresses", "self"):
        assert wanted in labels, wanted
    # A join refused because both sides belong to different org-chart people leaves no label
    # an identity keeps (each side already joined its person), so the tables are checked for
    # such conflicts directly.
    contested = 0
    for seed in range(400):
        claims = _table(seed).filter(pl.col("origin") != "observed", pl.col("email").is_not_null())
        contested += claims.group_by("email").agg(pl.col("person_id").n_unique() > 1)[
            "person_id"].sum()
    assert contested >= 20


def test_duplicate_identity_ids_are_refused() -> None:
    frame = _table(1)
    with pytest.raises(ValueError, match="identity_id"):
        resolve(pl.concat([frame, frame.head(1)]))


def test_polars_strips_and_matches_bot_names_as_python_does() -> None:
    """The bot check runs in polars: same whitespace and same case-insensitive letters."""
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert set(_PY_SPACE) == set(spaces)
    letters = sorted(set(re.sub(r"[^a-z]", "", BOT_PATTERNS.pattern.lower())))
    # Every character Python or Rust folds onto one of the pattern's letters.
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000]
    any_letter = re.compile(f"[{''.join(letters)}]", re.IGNORECASE)
    series = pl.Series(chars)
    folded = set(series.filter(series.str.contains(f"(?i)^[{''.join(letters)}]$")).to_list())
    folded |= {ch for ch in chars if any_letter.fullmatch(ch)}
    words = [w.replace("i", ch) for w in ("ci", "jenkins", "mergify") for ch in sorted(folded)]
    words += [f"{ch}bot{ch}" for ch in spaces] + ["renovate[bot]", "Ci-runner", "ana", "ÇI"]
    got = pl.Series(words).str.strip_chars(_PY_SPACE).str.contains(_BOT_PATTERNS_POLARS)
    assert got.to_list() == [BOT_PATTERNS.search(w.strip()) is not None for w in words]


@pytest.mark.parametrize("fn", list(_FAST), ids=lambda fn: fn.__name__)
def test_polars_forms_of_the_string_rules_equal_python_on_ascii(fn: object) -> None:
    """Each rule's polars form gives what the Python rule gives on printable ASCII, and
    ``_mapped`` leaves other values to Python."""
    rnd = random.Random(7)
    alphabet = "aAzZ09._-+%'<>@ @!#~\"" + "".join(chr(c) for c in range(0x20, 0x7F))
    words = ["", " ", "@", "@@", "<>", "a@b", "a@b.c", "<A@B.C>", "root@x.org", "noreply@github.com",
             "no-reply@acme.example", "123+Ana@users.noreply.github.com", "Ana  Ruiz ", "  bo ",
             "O'Neil-Smith Jr.", "x@localhost", "Ana Ruíz", "İlker", "ana\tb", "a\u200bb@c.d"]
    words += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14)))
              for _ in range(4000)]
    words += [f"{rnd.choice(['ana', 'Root', 'NOREPLY', '12+x'])}@{rnd.choice(['a.b', 'b', 'c.D'])}"
              for _ in range(500)]
    dtype = pl.Boolean if fn in (is_shared_address, _multi_word) else pl.String
    got = _mapped(pl.Series([*words, None]), fn, dtype).to_list()  # type: ignore[arg-type]
    assert got == [fn(w) for w in words] + [None]  # type: ignore[operator]
