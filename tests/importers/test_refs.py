"""Reference extraction from message text, and chat mention parsing."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgnet.importers._refs import (
    MAX_SCAN_CHARS,
    at_mentions,
    extract_references,
    slack_mentions,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("text", "values", "artifacts"),
    [
        ("see https://github.com/acme/widgets/pull/412.", ["github:acme/widgets#412"],
         ["github:acme/widgets#412"]),
        ("<https://github.com/acme/widgets/pull/412|the PR>", ["github:acme/widgets#412"],
         ["github:acme/widgets#412"]),
        ("[MR](https://gitlab.example.com/grp/sub/proj/-/merge_requests/9)",
         ["gitlab:grp/sub/proj#9"], ["gitlab:grp/sub/proj#9"]),
        ("https://review.example.org/c/platform/infra/+/8812/3", ["gerrit:platform/infra#8812"],
         ["gerrit:platform/infra#8812"]),
        ("https://review.example.org/#/c/infra/+/77/", ["gerrit:infra#77"], ["gerrit:infra#77"]),
        ("acme/widgets#412 and infra/deployer#88213", [
            "github:acme/widgets#412", "github:infra/deployer#88213"],
         ["github:acme/widgets#412", "github:infra/deployer#88213"]),
        ("grp/proj!12", ["gitlab:grp/proj#12"], ["gitlab:grp/proj#12"]),
        ("https://github.com/acme/widgets/issues/7", ["github-issue:acme/widgets#7"], [None]),
        ("https://gitlab.com/g/p/-/issues/3", ["gitlab-issue:g/p#3"], [None]),
        ("clone https://github.com/acme/widgets.git", ["repo:acme/widgets"], [None]),
        ("https://github.com/acme/widgets/blob/main/services/payments/api.py#L10",
         ["repo:acme/widgets", "path:services/payments/api.py"], [None, None]),
        (f"https://github.com/acme/widgets/commit/{SHA}", [f"git:acme/widgets@{SHA}"],
         [f"git:acme/widgets@{SHA}"]),
        ("acme/widgets@1A2B3C4", ["git:acme/widgets@1a2b3c4"], [None]),
        ("edit services/payments/api.py and src/foo/bar.rs:12:3", [
            "path:services/payments/api.py", "path:src/foo/bar.rs"], [None, None]),
        ("(./lib/x.c) `.github/workflows/ci.yml`", ["path:lib/x.c",
                                                     "path:.github/workflows/ci.yml"], [None, None]),
    ],
)
def test_references(text: str, values: list[str], artifacts: list[str | None]) -> None:
    refs = extract_references(text)
    assert [r.value for r in refs] == values
    assert [r.artifact_id for r in refs] == artifacts


@pytest.mark.parametrize(
    "text",
    [
        "on 2024/05/02 we shipped 1/2.5 of it",
        "see example.com/page.html or and/or stuff",
        "https://docs.python.org/3/library/re.html",
        "mail ana@example.com",
        "https://github.com/acme",
        "fractions 3/4 and ../../etc/passwd.txt",
        "",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert extract_references(text) == []


def test_duplicates_collapse() -> None:
    refs = extract_references("acme/widgets#1 https://github.com/acme/widgets/pull/1 acme/widgets#1")
    assert [r.value for r in refs] == ["github:acme/widgets#1"]


def test_mentions() -> None:
    assert slack_mentions("<@U12AB> hi <@W9|ana> <!here> <!subteam^S1|@t> <@U12AB>") == [
        "U12AB", "W9"]
    assert at_mentions("@Ana, mail ana@example.com @here @bob. @all (@carl_x-)") == [
        "ana", "bob", "carl_x"]
    assert slack_mentions(None) == [] and at_mentions("") == []


def test_huge_text_is_bounded() -> None:
    text = ("a/" * 400_000) + " x" + ("b" * 1_000_000) + " acme/widgets#1"
    start = time.perf_counter()
    refs = extract_references(text)
    assert time.perf_counter() - start < 5
    assert len(text) > MAX_SCAN_CHARS and refs == []  # the tail is beyond the scan limit


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_never_raises(text: str) -> None:
    for ref in extract_references(text):
        assert ref.value and ":" in ref.value
    at_mentions(text)
    slack_mentions(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(
    ["https://", "http://", "HTTPS://", "github.com", "GitHub.com", "gitlab.com", "/", "acme",
     "widgets", "-", ".", "..", "c", "+", "pull", "pulls", "issues", "12", "0", "٣", "%2F",
     "#", "?", ":443", "x.git", "_", ".", ",", "!", "\n", "@"]), max_size=14).map("".join))
def test_github_pull_fast_path_equals_the_general_parser(tail: str) -> None:
    from orgnet.importers._refs import _TRAILING, _from_url, _from_url_general

    for url in (tail, "https://github.com/" + tail, "https://github.com/a/b/pull/" + tail):
        assert _from_url(url) == _from_url_general(url.rstrip(_TRAILING))


def test_github_pull_fast_path_cases() -> None:
    from orgnet.importers._refs import _GITHUB_PULL, _from_url, _from_url_general

    for url in ["https://github.com/acme/widgets/pull/0412", "http://github.com/a/b/pulls/7",
                "https://github.com/../r/pull/1", "https://github.com/c/+/pull/3",
                "https://github.com/-/x/pull/3", "https://github.com/a/-/pull/3",
                "https://github.com//a/b/pull/3", "https://github.com/a/b/pull/3#x",
                "https://github.com/a%2Fb/c/pull/3", "https://github.com/a/b/pull/3/files"]:
        assert _from_url(url) == _from_url_general(url), url
    assert _GITHUB_PULL.fullmatch("https://github.com/acme/widgets/pull/0412")
    assert [r.value for r in _from_url("https://github.com/acme/widgets/pull/0412.")] == [
        "github:acme/widgets#412"]


def test_remembered_words_give_what_a_fresh_read_gives() -> None:
    """Words are remembered across texts: the same word in another text, at another place or
    with other punctuation, gives the references a first read gives."""
    from orgnet.importers import _refs

    texts = ["see src/app/main.py:12 and acme/widgets#412.",
             "(src/app/main.py) then acme/widgets#412, again acme/widgets#412",
             "and/or src/app/main.py:12 acme/widgets@1a2b3c4"]
    _refs._token_refs.cache_clear()
    first = [[(r.kind, r.value, r.artifact_id) for r in extract_references(t)] for t in texts]
    assert _refs._token_refs.cache_info().hits > 0
    again = [[(r.kind, r.value, r.artifact_id) for r in extract_references(t)] for t in texts]
    _refs._token_refs.cache_clear()
    fresh = [[(r.kind, r.value, r.artifact_id) for r in extract_references(t)] for t in texts[::-1]]
    assert first == again == fresh[::-1]
    assert first[1] == [("path", "path:src/app/main.py", None),
                        ("change", "github:acme/widgets#412", "github:acme/widgets#412")]
    assert first[2][0] == ("path", "path:src/app/main.py", None)
