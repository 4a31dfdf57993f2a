"""Path safety of connected storages (SPEC 5): each rule of a storage path, and the join of a storage's
prefix with a reference, which must stay under the prefix even if a rule upstream were dropped."""

from __future__ import annotations

import pytest

from pixelport.contract import storage as contract
from pixelport.contract.references import parse_storage
from pixelport.storage import paths
from pixelport.storage.paths import OutsidePrefix, folder_url, object_key


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("a\\b", "must not contain backslashes"),
        ("/a", "must be relative: no leading '/'"),
        ("a/\x00b", "must not contain control characters"),
        ("a/../b", "must not contain '.' or '..' segments"),
        ("..", "must not contain '.' or '..' segments"),
        ("./a", "must not contain '.' or '..' segments"),
        ("a//b", "must not contain empty segments ('//')"),
    ],
)
def test_each_path_rule_names_its_problem(path: str, problem: str) -> None:
    assert contract.storage_path_problem(path) == problem


@pytest.mark.parametrize("path", ["", "a", "a/b/", "a/b.c/d.png", "ünï cödé/ß.png", "a..b/c", "...x"])
def test_ordinary_paths_pass(path: str) -> None:
    assert contract.storage_path_problem(path) is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [("", ""), ("a/b/", "a/b"), ("catalogue%2F2026", "catalogue/2026"), ("caf%C3%A9", "café")],
)
def test_a_storage_prefix_is_percent_decoded_and_kept_without_a_trailing_slash(
    value: str, stored: str
) -> None:
    assert contract.normalise_prefix(value) == stored


@pytest.mark.parametrize("value", ["%2e%2e", "a/%2E%2E/b", "a%2F%2Fb", "%5C", "%2Fabs", "a%00b"])
def test_percent_encoded_traversal_in_a_prefix_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"^path must"):
        contract.normalise_prefix(value)


@pytest.mark.parametrize("value", ["%ZZ%C3", "%ED%A0%80", "%FF.png"])
def test_percent_encoding_that_is_not_utf8_is_refused_not_replaced(value: str) -> None:
    with pytest.raises(ValueError, match="not valid percent-encoded UTF-8"):
        contract.normalise_prefix(value)
    with pytest.raises(ValueError, match="not valid percent-encoded UTF-8"):
        parse_storage(f"storage://s/{value}", folder_allowed=True)


@pytest.mark.parametrize(
    ("prefix", "path", "key"),
    [("", "a.png", "a.png"), ("shop", "a/b.png", "shop/a/b.png"), ("shop/2026", "out/", "shop/2026/out/")],
)
def test_a_key_is_the_prefix_joined_with_the_path(prefix: str, path: str, key: str) -> None:
    assert object_key(prefix, path) == key


@pytest.mark.parametrize("path", ["../x.png", "a/../../x.png", "/x.png", "a\\..\\x", "a//x", "./x"])
def test_the_join_refuses_a_path_the_contract_would_have_refused(path: str) -> None:
    with pytest.raises(OutsidePrefix):
        object_key("shop", path)


@pytest.mark.parametrize("path", ["../x.png", "a/../../x.png", "/x.png", "./x"])
def test_the_join_stays_under_the_prefix_even_without_the_path_rules(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Belt and braces: with every rule of storage_path_problem dropped, the joined key is still checked.
    monkeypatch.setattr(paths, "storage_path_problem", lambda _: None)
    with pytest.raises(OutsidePrefix, match="leaves its prefix"):
        object_key("shop", path)


def test_a_prefix_that_is_a_name_stem_of_another_cannot_be_left_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paths, "storage_path_problem", lambda _: None)
    with pytest.raises(OutsidePrefix):
        object_key("shop", "../shop-private/x.png")


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("a b/ü.png", "https://img.example.com/base/a%20b/%C3%BC.png"),
        ("x.png?sig=1", "https://img.example.com/base/x.png%3Fsig%3D1"),
        ("x.png#frag", "https://img.example.com/base/x.png%23frag"),
        ("%2e%2e/x.png", "https://img.example.com/base/%252e%252e/x.png"),
        ("a;b/x.png", "https://img.example.com/base/a%3Bb/x.png"),
    ],
)
def test_a_web_folder_url_stays_under_its_base_url(path: str, url: str) -> None:
    assert folder_url("https://img.example.com/base/", path) == url


@pytest.mark.parametrize("path", ["../secret.png", "/etc/passwd", "a//b"])
def test_a_web_folder_refuses_a_path_that_could_leave_its_base(path: str) -> None:
    with pytest.raises(OutsidePrefix):
        folder_url("https://img.example.com/base/", path)


@pytest.mark.parametrize(
    "reference",
    [
        "storage://s/../x.png",
        "storage://s/%2e%2e/x.png",
        "storage://s/a/%2E%2E/%2E%2E/x.png",
        "storage://s//x.png",
        "storage://s/a%5C..%5Cx.png",
        "storage://s/a\\x.png",
        "storage://s/./x.png",
    ],
)
def test_a_reference_that_could_escape_is_refused_when_parsed(reference: str) -> None:
    with pytest.raises(ValueError, match="storage path must not"):
        parse_storage(reference, folder_allowed=True)
