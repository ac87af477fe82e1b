from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from rapport.accounts import RegistryError, load_registry
from rapport.sources import platform_names
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
    # The example shows an account of every platform: a new platform folder adds its entry there.
    assert {account.platform for account in example.accounts} == set(platform_names())


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
        # A pattern ending in '$' accepted a final newline: '@news\n' landed in the folder of '@news_'.
        pytest.param(
            'handle: "@citylibrary"',
            'handle: "@citylibrary\\n"',
            "malformed mastodon handle '@citylibrary\\n'",
            id="mastodon handle with a trailing newline",
        ),
        pytest.param(
            "handle: citylibrary.bsky.social",
            'handle: "citylibrary.bsky.social\\n"',
            "malformed bluesky handle 'citylibrary.bsky.social\\n'",
            id="bluesky handle with a trailing newline",
        ),
        pytest.param(
            "instance: Mastodon.Social",
            'instance: "mastodon.social\\n"',
            "needs 'instance'",
            id="instance with a trailing newline",
        ),
        pytest.param(
            "id: city-library",
            'id: "city-library\\n"',
            "'id' must be a lowercase slug",
            id="organization id with a trailing newline",
        ),
        pytest.param(
            "language: en",
            'language: "en\\n"',
            "'language' must be a two-letter ISO 639-1 code",
            id="language with a trailing newline",
        ),
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


# --------------------------------------------------------------------------- issue 14: whole values


@pytest.fixture
def no_private_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", raising=False)


def one_account(account: str, organization: str = "city-library") -> str:
    """A registry of one organization (its accounts list at line 8) holding ``account``."""
    return (
        "organizations:\n"
        f"  - id: {organization}\n"
        "    name: City Library\n"
        "    peer_group: culture\n"
        "    size_band: medium\n"
        "    language: en\n"
        "    accounts:\n"
        f"{account}"
    )


def test_a_demo_handle_with_a_trailing_newline_is_refused():
    from rapport.accounts import parse_account

    with pytest.raises(RegistryError, match="malformed demo handle"):
        parse_account("demo", "@petit_theatre\n")


def test_two_handles_that_once_shared_a_landing_folder_are_one_refused_and_one_kept(tmp_path: Path):
    from rapport.landing import account_dir

    text = one_account('      - {platform: mastodon, handle: "@news\\n", instance: social.example}\n')
    with pytest.raises(RegistryError, match=r"accounts\[0\]: malformed mastodon handle '@news\\n'"):
        load_registry(write_registry(tmp_path / "newline.yml", text))
    [kept] = load_registry(
        write_registry(tmp_path / "underscore.yml", text.replace("@news\\n", "@news_"))
    ).accounts
    assert account_dir(tmp_path, kept) == tmp_path / "platform=mastodon" / "account=news__social.example"


def test_existing_lowercase_keys_and_landing_folders_do_not_change():
    from rapport.accounts import parse_account

    account = parse_account("mastodon", "@org001@social.example")
    assert (account.account_id, account.slug) == ("mastodon:@org001@social.example", "org001_social.example")
    bluesky = parse_account("bluesky", "org001.bsky.social")
    assert (bluesky.account_id, bluesky.slug) == ("bluesky:org001.bsky.social", "org001.bsky.social")


# --------------------------------------------------------------------------- issue 14: case


def test_two_entries_differing_only_in_case_are_one_account_refused_naming_both_lines(tmp_path: Path):
    text = VALID + (
        "  - id: city-library-2\n"
        "    name: City Library 2\n"
        "    peer_group: culture\n"
        "    size_band: medium\n"
        "    language: en\n"
        "    accounts:\n"
        '      - {platform: mastodon, handle: "@CityLibrary", instance: mastodon.SOCIAL}\n'
    )
    path = write_registry(tmp_path / "accounts.yml", text)
    with pytest.raises(RegistryError) as raised:
        load_registry(path)
    assert str(raised.value) == (
        f"{path}:19: city-library-2.accounts[0] (mastodon:@CityLibrary@mastodon.social): duplicate account, "
        "first listed at line 8 as mastodon:@citylibrary@mastodon.social (handles and instances ignore case)"
    )


def test_a_bluesky_handle_is_case_insensitive_and_kept_lowercase(tmp_path: Path):
    upper = VALID.replace("citylibrary.bsky.social", "CityLibrary.Bsky.Social")
    registry = load_registry(write_registry(tmp_path / "accounts.yml", upper))
    assert registry.accounts[1].account_id == "bluesky:citylibrary.bsky.social"

    twice = upper + "      - {platform: bluesky, handle: citylibrary.bsky.social}\n"
    with pytest.raises(RegistryError, match=r"accounts\[2\] \(bluesky:citylibrary.bsky.social\): duplicate"):
        load_registry(write_registry(tmp_path / "twice.yml", twice))


def test_a_mastodon_key_keeps_the_case_it_is_written_in_and_is_found_in_any_case(tmp_path: Path):
    text = VALID.replace('"@citylibrary"', '"@CityLibrary"')
    registry = load_registry(write_registry(tmp_path / "accounts.yml", text))
    account = registry.accounts[0]
    assert account.account_id == "mastodon:@CityLibrary@mastodon.social"
    assert registry.account("mastodon:@citylibrary@Mastodon.Social") is account


# --------------------------------------------------------------------------- issue 14: unknown keys


def test_a_misspelt_key_is_refused_at_its_line_with_the_key_it_resembles(tmp_path: Path):
    path = write_registry(tmp_path / "accounts.yml", VALID.replace("    accounts:", "    acounts:"))
    with pytest.raises(RegistryError) as raised:
        load_registry(path)
    # One error, not also "'accounts' is empty".
    assert str(raised.value) == (
        f"{path}:7: organizations[0] (city-library): unknown key 'acounts' (did you mean 'accounts'?)"
    )


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        (
            "    peer_group: culture\n",
            "    peer-group: culture\n",
            ":4: organizations[0] (city-library): unknown key 'peer-group' (did you mean 'peer_group'?)",
        ),
        (
            "    language: en\n",
            "    language: en\n    colour: blue\n",
            ":7: organizations[0] (city-library): unknown key 'colour' "
            "(known keys: id, name, peer_group, size_band, language, accounts)",
        ),
        (
            "        instance: Mastodon.Social\n",
            "        instance: Mastodon.Social\n        colour: blue\n",
            ":11: city-library.accounts[0]: unknown key 'colour' (known keys: platform, handle, instance, inbox)",
        ),
        (
            "        handle: citylibrary.bsky.social\n",
            "        handel: citylibrary.bsky.social\n",
            ":12: city-library.accounts[1]: unknown key 'handel' (did you mean 'handle'?)",
        ),
        (
            "organizations:\n",
            "organisations:\n",
            ":1: top level: unknown key 'organisations' (did you mean 'organizations'?)",
        ),
        ("organizations:\n", "version: 2\norganizations:\n", ":1: top level: unknown key 'version'"),
    ],
)
def test_an_unknown_key_is_refused_alone_naming_the_file_the_line_and_the_entry(
    tmp_path: Path, replace: str, by: str, message: str
):
    path = write_registry(tmp_path / "accounts.yml", VALID.replace(replace, by))
    with pytest.raises(RegistryError) as raised:
        load_registry(path)
    assert str(raised.value).startswith(f"{path}{message}")
    assert "\n" not in str(raised.value)


# --------------------------------------------------------------------------- issue 14: instances


def news_on(instance: str) -> str:
    """A registry whose one account, at line 8, is Mastodon's '@news' on ``instance``."""
    return one_account(f'      - {{platform: mastodon, handle: "@news", instance: "{instance}"}}\n')


REFUSED_INSTANCES = [
    ("127.0.0.1", "is an IP address"),
    ("127.1", "is an IP address"),
    ("0x7f.1", "is an IP address"),
    ("0177.0.0.1", "is an IP address"),
    ("2130706433", "is an IP address"),
    ("169.254.169.254", "is an IP address"),
    ("[::1]", "is an IP address"),
    ("[::ffff:127.0.0.1]:80", "is an IP address"),
    ("::1", "is an IP address"),
    ("localhost", "is a name of the local network"),
    ("LOCALHOST:3000", "is a name of the local network"),
    ("metadata", "is a name of the local network"),
    ("metadata.google.internal", "is a name of an internal network"),
    ("metadata.google.internal:80", "is a name of an internal network"),
    ("printer.local", "is a name of an internal network"),
    ("api.localhost", "is a name of an internal network"),
    ("router.home.arpa", "is a name of an internal network"),
    ("10.0.0.1.nip.io", "is a wildcard DNS name"),
    ("app.192-168-1-1.sslip.io", "is a wildcard DNS name"),
    ("127.0.0.1.xip.io", "is a wildcard DNS name"),
    ("mastodon.social:8443", "has a port"),
]


@pytest.mark.usefixtures("no_private_instances")
@pytest.mark.parametrize(("instance", "reason"), REFUSED_INSTANCES)
def test_a_private_instance_is_refused_naming_the_file_the_line_the_account_and_the_field(
    tmp_path: Path, instance: str, reason: str
):
    path = write_registry(
        tmp_path / "accounts.yml",
        news_on(instance),
    )
    with pytest.raises(RegistryError) as raised:
        load_registry(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:8: city-library.accounts[0] (@news): 'instance' {instance!r} {reason}")
    assert "RAPPORT_ALLOW_PRIVATE_INSTANCES=true" in message
    assert "\n" not in message


@pytest.mark.usefixtures("no_private_instances")
@pytest.mark.parametrize("address", ["@news@169.254.169.254", "@news@metadata.google.internal"])
def test_an_account_typed_on_the_command_line_on_a_private_instance_is_refused(address: str):
    from rapport.accounts import parse_account

    with pytest.raises(RegistryError, match=r"'instance' '[\w.]+' is (an IP address|a name of an internal)"):
        parse_account("mastodon", address)


@pytest.mark.parametrize(
    ("instance", "outcome"),
    [
        ("[::1]", "[::1]"),
        ("[0:0::1]:080", "[::1]:80"),
        ("127.0.0.1:3000", "127.0.0.1:3000"),
        ("localhost:3000", "localhost:3000"),
        ("metadata.google.internal:80", "metadata.google.internal:80"),
        ("10.0.0.1.nip.io", "10.0.0.1.nip.io"),
        # A form that has another is refused: one account, one key.
        ("127.1", "'instance' '127.1' is an IPv4 address in a short form: write its four numbers"),
        ("[::ffff:127.0.0.1]", "is an IPv4 address written as IPv6: write 127.0.0.1"),
        ("[fe80::1%eth0]", "names a network interface"),
        ("::1", "is an IPv6 address: write it in brackets"),
        ("social.example:70000", "has a port outside 1-65535"),
    ],
)
def test_the_private_instances_setting_allows_them_in_one_written_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: str, outcome: str
):
    monkeypatch.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", "true")
    path = write_registry(tmp_path / "accounts.yml", news_on(instance))
    if " " in outcome:  # a reason, not an instance
        with pytest.raises(RegistryError, match=outcome):
            load_registry(path)
    else:
        [account] = load_registry(path).accounts
        assert account.instance == outcome


@pytest.mark.usefixtures("no_private_instances")
@pytest.mark.parametrize(
    "instance",
    [
        "mastodon.social",
        "Social.Example",
        "home.social",
        "localnews.social",
        "internal.example.org",
        "xn--j1aef.xn--p1ai.social",
    ],
)
def test_a_public_instance_is_read_without_any_dns_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: str
):
    import socket

    def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the registry looked a name up: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    monkeypatch.setattr(socket, "gethostbyname", no_lookup)
    text = news_on(instance)
    [account] = load_registry(write_registry(tmp_path / "accounts.yml", text)).accounts
    assert account.instance == instance.lower()


# --------------------------------------------------------------------------- issue 14: messages


def test_invalid_yaml_is_reported_on_one_line_with_its_line(tmp_path: Path):
    path = write_registry(
        tmp_path / "accounts.yml", VALID.replace("    name: City Library\n", "    name: [\n")
    )
    with pytest.raises(RegistryError) as raised:
        load_registry(path)
    assert str(raised.value).startswith(f"{path}:5: not valid YAML: ")
    assert "\n" not in str(raised.value)


@pytest.mark.usefixtures("no_private_instances")
def test_accounts_check_prints_every_problem_on_one_line_without_a_traceback(tmp_path: Path):
    from typer.testing import CliRunner

    from rapport.cli import app

    text = VALID.replace("    accounts:", "    acounts:") + (
        "  - id: museum\n    name: Museum\n    peer_group: culture\n    size_band: small\n    language: fr\n"
        '    accounts:\n      - {platform: mastodon, handle: "@news\\n", instance: "metadata.google.internal:80"}\n'
        '      - {platform: mastodon, handle: "@news", instance: "metadata.google.internal:80"}\n'
    )
    path = write_registry(tmp_path / "accounts.yml", text)
    result = CliRunner().invoke(app, ["accounts", "check", "--file", str(path)])
    assert result.exit_code == 2  # a mistake in the configuration
    lines = result.output.splitlines()
    assert lines == [
        f"error: {path}:7: organizations[0] (city-library): unknown key 'acounts' (did you mean 'accounts'?)",
        f"{path}:19: museum.accounts[0]: malformed mastodon handle '@news\\n'; expected '@' then the user "
        "name (1-30 letters, digits or '_'), with the server under 'instance'",
        lines[2],
    ]
    assert lines[2].startswith(
        f"{path}:20: museum.accounts[1] (@news): 'instance' 'metadata.google.internal:80' is a name of an internal"
    )
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- issue 14: landing folders

# Small alphabets, so that many pairs differ by one character, a case or a character a slug replaces.
ENDINGS = st.sampled_from(["", "", "", "", "", "", "\n", "_", " ", "@"])
USERS = st.builds("@{}{}".format, st.from_regex(r"[aAb_]{1,4}", fullmatch=True), ENDINGS)
NAMES = st.from_regex(r"[aAb]{1,2}(\.[aAb]{1,2})?\.(ex|Ex)|[aA_-]{1,2}\.ex", fullmatch=True)
HOSTS = st.builds("{}{}{}".format, NAMES, st.sampled_from(["", "", "", "", ":80", ":080", "_80"]), ENDINGS)
ADDRESSES = st.sampled_from(
    [
        "localhost",
        "localhost:80",
        "ex",
        "80",
        "127.0.0.1",
        "127.1",
        "[::1]",
        "[0::1]",
        "[::1]:80",
        "[1::]",
        "[::]",
    ]
)
ACCOUNTS = st.one_of(
    st.tuples(st.just("mastodon"), USERS, st.one_of(HOSTS, ADDRESSES)),
    st.tuples(st.just("bluesky"), st.builds("{}{}".format, NAMES, ENDINGS), st.none()),
    st.tuples(st.just("demo"), USERS.map(str.lower), st.none()),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(first=ACCOUNTS, second=ACCOUNTS, allow_private=st.booleans())
@example(
    first=("mastodon", "@news\n", "social.example"),
    second=("mastodon", "@news_", "social.example"),
    allow_private=False,
)
@example(
    first=("mastodon", "@News", "social.example"),
    second=("mastodon", "@news", "Social.Example"),
    allow_private=False,
)
@example(first=("mastodon", "@a_", "[::1]"), second=("mastodon", "@a", "[::1]"), allow_private=True)
@example(
    first=("mastodon", "@a_b", "localhost"), second=("mastodon", "@a", "b_localhost"), allow_private=True
)
def test_two_entries_the_registry_accepts_as_distinct_accounts_land_in_distinct_folders(
    tmp_path_factory: pytest.TempPathFactory,
    first: tuple[str, str, str | None],
    second: tuple[str, str, str | None],
    allow_private: bool,
):
    from rapport.landing import account_dir

    entries = "".join(
        "      - {"
        + ", ".join(
            f"{key}: {json.dumps(value)}"
            for key, value in zip(("platform", "handle", "instance"), entry, strict=True)
            if value is not None
        )
        + "}\n"
        for entry in (first, second)
    )
    path = write_registry(tmp_path_factory.mktemp("property") / "accounts.yml", one_account(entries))
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("RAPPORT_ALLOW_PRIVATE_INSTANCES", str(allow_private).lower())
        try:
            registry = load_registry(path)
        except RegistryError as error:
            assert str(error).startswith(f"{path}:")
            return
    event("accepted")
    landing = Path("landing")
    folders = {str(account_dir(landing, account)).lower() for account in registry.accounts}
    # Two accounts, two folders, even on a file system that ignores case.
    assert len(folders) == 2, registry.accounts
    assert all(folder.count(os.sep) == 2 for folder in folders)
