from __future__ import annotations

from pathlib import Path

import pytest

from rapport.accounts import RegistryError, load_registry
from tests.conftest import PROJECT_ROOT, write_registry

VALID = """\
organizations:
  - id: city-library
    name: City Library
    peer_group: culture
    size_band: medium
    language: en
    accounts:
      - platform: mastodon
        handle: "@citylibrary"
        instance: Mastodon.Social
      - platform: bluesky
        handle: citylibrary.bsky.social
"""


def test_the_shipped_registries_are_valid():
    demo = load_registry(PROJECT_ROOT / "config" / "accounts.yml")
    example = load_registry(PROJECT_ROOT / "config" / "accounts.example.yml")
    assert len(demo.organizations) == 8
    assert {account.platform for account in demo.accounts} == {"demo"}
    assert {account.platform for account in example.accounts} == {"mastodon", "bluesky", "demo"}


def test_account_ids_name_platform_handle_and_lowercased_instance(tmp_path: Path):
    registry = load_registry(write_registry(tmp_path / "accounts.yml", VALID))
    assert [account.account_id for account in registry.accounts] == [
        "mastodon:@citylibrary@mastodon.social",
        "bluesky:citylibrary.bsky.social",
    ]
    assert registry.accounts[0].slug == "citylibrary_mastodon.social"
    assert registry.organizations[0].size_band == "medium"


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("platform: bluesky", "platform: myspace", "accounts[1]: unknown platform 'myspace'"),
        (
            "handle: citylibrary.bsky.social",
            "handle: '@citylibrary'",
            "malformed bluesky handle '@citylibrary'",
        ),
        ('handle: "@citylibrary"', 'handle: "citylibrary"', "malformed mastodon handle 'citylibrary'"),
        ("        instance: Mastodon.Social\n", "", "mastodon needs 'instance'"),
        (
            "size_band: medium",
            "size_band: huge",
            "'size_band' must be one of small, medium, large, not 'huge'",
        ),
        ("language: en", "language: english", "'language' must be a two-letter ISO 639-1 code"),
        ("id: city-library", "id: City Library", "'id' must be a lowercase slug"),
    ],
)
def test_a_bad_entry_is_reported_with_file_line_and_entry(
    tmp_path: Path, replace: str, by: str, message: str
):
    path = write_registry(tmp_path / "accounts.yml", VALID.replace(replace, by))
    with pytest.raises(RegistryError) as raised:
        load_registry(path)
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"{path}:")


def test_a_duplicate_account_names_the_line_of_the_first(tmp_path: Path):
    duplicated = VALID + VALID.split("organizations:\n", 1)[1].replace("city-library", "city-library-2")
    with pytest.raises(RegistryError) as raised:
        load_registry(write_registry(tmp_path / "accounts.yml", duplicated))
    text = str(raised.value)
    assert "duplicate account, first listed at line 8" in text
    assert "city-library-2.accounts[0]" in text


def test_a_duplicate_organization_is_refused(tmp_path: Path):
    with pytest.raises(RegistryError, match="duplicate organization id"):
        load_registry(
            write_registry(tmp_path / "accounts.yml", VALID + VALID.split("organizations:\n", 1)[1])
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("organizations: []\n", "'organizations' is empty"),
        ("accounts: []\n", "expected a top-level 'organizations:' list"),
        (VALID.split("    accounts:")[0] + "    accounts: []\n", "'accounts' is empty"),
        ("organizations: [\n", "not valid YAML"),
    ],
)
def test_an_empty_or_unreadable_registry_is_refused(tmp_path: Path, text: str, message: str):
    with pytest.raises(RegistryError, match=message):
        load_registry(write_registry(tmp_path / "accounts.yml", text))


def test_a_missing_registry_file_is_named(tmp_path: Path):
    with pytest.raises(RegistryError, match=r"nowhere\.yml: cannot read the account registry"):
        load_registry(tmp_path / "nowhere.yml")


def test_looking_up_an_unknown_account_names_it_and_the_file(tmp_path: Path):
    registry = load_registry(write_registry(tmp_path / "accounts.yml", VALID))
    with pytest.raises(KeyError, match="demo:@ghost"):
        registry.account("demo:@ghost")


@pytest.mark.parametrize(
    ("platform", "address", "account_id"),
    [
        ("mastodon", "@news@Example.Social", "mastodon:@news@example.social"),
        ("bluesky", "news.bsky.social", "bluesky:news.bsky.social"),
        ("demo", "@petit_theatre", "demo:@petit_theatre"),
    ],
)
def test_an_account_written_as_on_its_platform_is_understood(platform: str, address: str, account_id: str):
    from rapport.accounts import parse_account

    assert parse_account(platform, address).account_id == account_id


def test_a_mastodon_address_without_its_instance_is_refused_with_a_hint():
    from rapport.accounts import parse_account

    with pytest.raises(RegistryError, match="mastodon needs 'instance'"):
        parse_account("mastodon", "@news")
