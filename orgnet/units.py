"""Derived formal units: companies from e-mail domains, for open-source data.

In an open-source project the formal structure that matters is often the employer. Each person's
company is the registered domain of the work addresses they use most (weighted by events), ignoring
free-mail, noreply and shared addresses.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import polars as pl

from orgnet._text import normalize_email
from orgnet.identity import is_shared_address
from orgnet.schema import conform
from orgnet.workspace import Workspace

__all__ = ["FREEMAIL_DOMAINS", "company_units_from_email", "registered_domain",
           "write_company_units"]

FREEMAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com",
     "me.com", "protonmail.com", "proton.me", "gmx.de", "gmx.net", "gmx.com", "qq.com", "163.com",
     "126.com", "live.com", "aol.com", "mail.ru", "yandex.ru", "web.de", "fastmail.com",
     "users.noreply.github.com", "msn.com", "foxmail.com", "posteo.de", "mailbox.org",
     "hey.com", "pm.me", "sina.com", "yeah.net", "139.com"}
)
_SECOND_LEVEL = frozenset({"co", "com", "ac", "org", "net", "gov", "edu", "ne", "or"})
SOURCE = "email-domain"


def registered_domain(domain: str) -> str:
    """``linux.intel.com`` -> ``intel.com``; ``mail.example.co.uk`` -> ``example.co.uk``."""
    parts = domain.lower().strip(".").split(".")
    if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL and len(parts[-1]) == 2:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def company_units_from_email(
    identities: pl.DataFrame, interactions: pl.LazyFrame, *, min_events: int = 1
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Company units and memberships from the e-mail domains of each person's identities.

    Returns
    -------
    (units, memberships)
        Canonical ``units`` rows (``unit_id`` ``company:<domain>``, kind ``company``) and
        ``memberships`` rows (role ``member``, open validity, precision ``unknown``).
    """
    counts = dict(
        interactions.group_by("actor_id").agg(pl.len()).collect().iter_rows()
    )
    weights: dict[str, Counter[str]] = defaultdict(Counter)
    for row in identities.filter(~pl.col("is_bot")).iter_rows(named=True):
        email = normalize_email(row["email"]) or (
            normalize_email(row["native_id"]) if row["source"] in ("git", "mbox", "email",
                                                                    "maintainers") else None)
        if email is None or is_shared_address(email):
            continue
        domain = registered_domain(email.partition("@")[2])
        if domain in FREEMAIL_DOMAINS or "." not in domain:
            continue
        n = counts.get(row["identity_id"], 0)
        if row["origin"] != "observed":
            n = max(n, 1)
        if n >= min_events:
            weights[row["person_id"]][domain] += n
    units: dict[str, str] = {}
    members = []
    for person in sorted(weights):
        domain, _n = sorted(weights[person].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        uid = f"company:{domain}"
        units[uid] = domain
        members.append({"person_id": person, "unit_id": uid, "role": "member",
                        "precision": "unknown", "source": SOURCE})
    units_df = conform("units", pl.DataFrame(
        [{"unit_id": u, "name": n, "kind": "company", "source": SOURCE}
         for u, n in sorted(units.items())],
        schema={"unit_id": pl.String, "name": pl.String, "kind": pl.String, "source": pl.String}))
    mem_df = conform("memberships", pl.DataFrame(
        members, schema={"person_id": pl.String, "unit_id": pl.String, "role": pl.String,
                         "precision": pl.String, "source": pl.String}))
    return units_df, mem_df


def write_company_units(ws: Workspace, *, min_events: int = 1) -> tuple[int, int]:
    """Replace the workspace's e-mail-domain company units; returns (units, people)."""
    with ws.transaction() as tx:
        units, members = company_units_from_email(
            tx.read("identities"), tx.scan("interactions"), min_events=min_events)
        old_units = tx.read("units").filter(pl.col("source") != SOURCE)
        old_members = tx.read("memberships").filter(pl.col("source") != SOURCE)
        tx.replace("units", pl.concat([old_units, units]).sort("unit_id"))
        tx.replace("memberships", pl.concat([old_members, members]))
        tx.log_import({"import_id": "derived", "source_kind": "units", "file": "email-domains",
                       "sha256": "", "options": {"min_events": min_events},
                       "counts": {"read": members.height, "imported": members.height,
                                  "duplicate": 0, "rejected": 0, "skipped": 0},
                       "rows_added": {"units": units.height, "memberships": members.height},
                       "notes": [],
                       "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return units.height, members.height
