"""Identity resolution: evidence order, guards against bots, shared addresses and name clashes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from orgnet.identity import claim_rows, is_bot_handle, is_shared_address, resolve
from orgnet.importers._base import Identity, identity_id_for
from orgnet.importers.aliases import import_aliases
from orgnet.ingest import ingest
from orgnet.schema import SCHEMAS, validate
from orgnet.workspace import Workspace


def _observed(*idents: Identity) -> list[dict[str, object]]:
    return [
        {"identity_id": i.identity_id, "person_id": None, "source": i.source,
         "instance": i.instance, "native_id": i.native_id, "username": i.username,
         "email": i.email, "name": i.name, "is_bot": i.is_bot, "origin": "observed",
         "evidence": None}
        for i in idents
    ]


def _hris(emp: str, name: str, email: str, *, others: tuple[str, ...] = (),
          github: str | None = None) -> list[dict[str, object]]:
    rows = [claim_rows(emp, origin="hris", source="hris", handle=emp, evidence="hris")]
    rows[0].update({"identity_id": "h" + emp, "source": "hris", "native_id": emp,
                    "email": email, "name": name})
    rows += [claim_rows(emp, origin="hris", source="email", handle=e, name=name)
             for e in (email, *others)]
    if github:
        rows.append(claim_rows(emp, origin="hris", source="github", handle=github, name=name))
    return rows


def _resolve(rows: list[dict[str, object]]) -> tuple[dict[str, str], pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(rows, schema=SCHEMAS["identities"], orient="row")
    idents, people = resolve(frame)
    validate("identities", idents)
    validate("people", people)
    return dict(idents.select("identity_id", "person_id").rows()), idents, people


GIT_A = Identity("git", "ana@acme.example", email="ana@acme.example", name="Ana Ruiz")
GIT_B = Identity("git", "ana.ruiz@gmail.com", email="ana.ruiz@gmail.com", name="Ana Ruiz")
GIT_C = Identity("git", "ana@oldjob.example", email="ana@oldjob.example", name="Ana  Ruíz")
GH = Identity("github", "5521370", username="AnaR", name=None)


def test_one_person_under_three_emails_and_a_login_merges_through_the_org_chart() -> None:
    rows = _hris("E1", "Ana Ruiz", "ana@acme.example", others=("ana.ruiz@gmail.com",),
                 github="anar") + _observed(GIT_A, GIT_B, GIT_C, GH)
    person, idents, people = _resolve(rows)
    assert {person[i.identity_id] for i in (GIT_A, GIT_B, GIT_C, GH)} == {"E1"}
    ev = dict(idents.select("identity_id", "evidence").rows())
    assert ev[GIT_A.identity_id] == "hris:email"
    assert ev[GIT_B.identity_id] == "hris:email"
    assert ev[GH.identity_id] == "hris:github"
    assert ev[GIT_C.identity_id] == "name"
    assert people.filter(pl.col("person_id") == "E1")["display_name"].item() == "Ana Ruiz"
    assert people.height == 1


def test_without_an_org_chart_email_noreply_and_name_evidence_merge() -> None:
    noreply = Identity("git", "123+anar@users.noreply.github.com",
                       email="123+anar@users.noreply.github.com", name="Ana Ruiz")
    slack = Identity("slack", "U1", username="ana", email="ana@acme.example", name="Ana")
    person, idents, _ = _resolve(_observed(GIT_A, GIT_B, noreply, GH, slack))
    assert len({person[i.identity_id] for i in (GIT_A, GIT_B, noreply, GH, slack)}) == 1
    ev = dict(idents.select("identity_id", "evidence").rows())
    assert ev[slack.identity_id] == "email"
    assert ev[GH.identity_id] == "github-noreply"
    assert person[GIT_A.identity_id].startswith("p-")


def test_two_people_sharing_a_name_with_conflicting_emails_do_not_merge() -> None:
    js1 = Identity("git", "john.smith@acme.example", email="john.smith@acme.example",
                   name="John Smith")
    js2 = Identity("git", "jsmith@acme.example", email="jsmith@acme.example", name="John Smith")
    person, idents, _ = _resolve(_observed(js1, js2))
    assert person[js1.identity_id] != person[js2.identity_id]
    ev = dict(idents.select("identity_id", "evidence").rows())
    assert ev[js1.identity_id].startswith("ambiguous")


def test_a_name_shared_by_two_org_chart_people_is_ambiguous() -> None:
    js1 = Identity("git", "john.smith@acme.example", email="john.smith@acme.example",
                   name="John Smith")
    js2 = Identity("git", "jsmith@acme.example", email="jsmith@acme.example", name="John Smith")
    stray = Identity("git", "johnny@gmail.com", email="johnny@gmail.com", name="John Smith")
    rows = (_hris("E1", "John Smith", "john.smith@acme.example")
            + _hris("E2", "John Smith", "jsmith@acme.example") + _observed(js1, js2, stray))
    person, idents, _ = _resolve(rows)
    assert person[js1.identity_id] == "E1" and person[js2.identity_id] == "E2"
    assert person[stray.identity_id] not in ("E1", "E2")
    ev = dict(idents.select("identity_id", "evidence").rows())
    assert ev[stray.identity_id].startswith("ambiguous")


def test_org_chart_name_with_a_conflicting_work_address_does_not_merge() -> None:
    other = Identity("git", "ana.r@acme.example", email="ana.r@acme.example", name="Ana Ruiz")
    person, _, _ = _resolve(_hris("E1", "Ana Ruiz", "ana@acme.example") + _observed(other))
    assert person[other.identity_id] != "E1"


def test_bots_and_shared_addresses_never_bridge_two_people() -> None:
    ana = Identity("git", "ana@acme.example", email="ana@acme.example", name="Ana Ruiz")
    bo = Identity("git", "bo@acme.example", email="bo@acme.example", name="Bo Li")
    web_ana = Identity("git", "noreply@github.com", email="noreply@github.com", name="Ana Ruiz")
    slack_bo = Identity("slack", "U9", username="bo", email="noreply@github.com", name="Bo Li")
    bot1 = Identity("github", "49699333", username="dependabot[bot]", name="Bo Li")
    bot2 = Identity("git", "ci@acme.example", email="ci@acme.example", name="jenkins")
    person, idents, people = _resolve(_observed(ana, bo, web_ana, slack_bo, bot1, bot2))
    assert person[ana.identity_id] != person[bo.identity_id]
    assert person[web_ana.identity_id] not in (person[ana.identity_id], person[bo.identity_id])
    assert person[bot1.identity_id] != person[bo.identity_id]
    bots = dict(idents.select("identity_id", "is_bot").rows())
    assert bots[bot1.identity_id] and bots[bot2.identity_id] and not bots[ana.identity_id]
    assert people.filter(pl.col("person_id") == person[bot1.identity_id])["is_bot"].item()


def test_helpers() -> None:
    assert is_shared_address("noreply@github.com") and is_shared_address("root@localhost")
    assert not is_shared_address("ana@acme.example")
    assert is_bot_handle("renovate[bot]") and is_bot_handle("bors") and not is_bot_handle("Ana")
    assert identity_id_for("git", "Ana@X.org") == identity_id_for("git", "ana@x.org")


def test_resolution_is_deterministic_and_order_independent() -> None:
    rows = _hris("E1", "Ana Ruiz", "ana@acme.example") + _observed(GIT_A, GIT_B, GIT_C, GH)
    a = _resolve(rows)[1]
    b = _resolve(list(reversed(rows)))[1]
    assert a.equals(b)


def test_alias_file_links_handles_and_rejects_bad_rows(tmp_path: Path, workspace: Workspace) -> None:
    p = tmp_path / "aliases.csv"
    p.write_text("person_id,source,handle\nE7,slack,U777\nE7,email,ana@home.example\n"
                 "E7,email,not-an-address\n,github,x\nE7,slack,U777\nE7,fax,12345\n")
    r = import_aliases(p)
    got = [(x["line"], x["outcome"], x["reason"]) for x in r.rejects.iter_rows(named=True)]
    assert got == [
        (4, "rejected", "'not-an-address' is not an e-mail address"),
        (5, "rejected", "missing person_id"),
        (7, "flagged", "source 'fax' is not one orgnet imports; kept as given"),
    ]
    s = ingest(workspace, r)
    assert (s.counts.read, s.counts.imported, s.counts.duplicate, s.counts.rejected) == (6, 3, 1, 2)
    # A Slack identity seen later resolves to E7 through the alias.
    from orgnet.importers._base import ImportBuilder

    b = ImportBuilder("slack", "export.zip")
    b.begin(line=1)
    b.identity(Identity("slack", "U777", username="ana", name="Ana"))
    ingest(workspace, b.finish())
    idents = workspace.read("identities").filter(pl.col("origin") == "observed")
    assert idents["person_id"].to_list() == ["E7"]
    assert idents["evidence"].to_list() == ["alias:slack"]
