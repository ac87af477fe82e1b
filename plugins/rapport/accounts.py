"""The account registry: which organizations Rapport scores, on which platforms.

The registry is a YAML file (``config/accounts.yml`` by default, see
``config/accounts.example.yml``). Loading it checks everything a run relies
on and reports each problem with the file, the line and the entry at fault,
so a typo never turns into a silently missing account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import yaml

from rapport.errors import ConfigurationError
from rapport.records import PLATFORMS

SIZE_BANDS: Final = ("small", "medium", "large")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_INSTANCE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$")
_HANDLES: Final = {
    # demo: '@name'; mastodon: '@name' on an instance; bluesky: a domain handle.
    "demo": re.compile(r"^@[a-z0-9_]{1,30}$"),
    "mastodon": re.compile(r"^@[A-Za-z0-9_]{1,30}$"),
    "bluesky": re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
}
_NEEDS_INSTANCE: Final = frozenset({"mastodon"})


class RegistryError(ConfigurationError, ValueError):
    """The account registry cannot be used; the message names file, line and entry."""


@dataclass(frozen=True)
class Account:
    """One platform account of an organization."""

    organization_id: str
    platform: str
    handle: str
    instance: str | None = None

    @property
    def account_id(self) -> str:
        """Rapport's stable key for the account, e.g. ``mastodon:@news@example.social``."""
        if self.instance:
            return f"{self.platform}:{self.handle}@{self.instance}"
        return f"{self.platform}:{self.handle}"

    @property
    def slug(self) -> str:
        """A file-system-safe form of ``account_id`` for landing-zone paths."""
        return re.sub(r"[^A-Za-z0-9._-]", "_", self.account_id.split(":", 1)[1].lstrip("@"))


@dataclass(frozen=True)
class Organization:
    """An organization and the accounts through which it speaks to its publics."""

    organization_id: str
    name: str
    peer_group: str
    size_band: str
    language: str
    accounts: tuple[Account, ...]


@dataclass(frozen=True)
class Registry:
    """The validated content of an account registry file."""

    path: Path
    organizations: tuple[Organization, ...]

    @property
    def accounts(self) -> list[Account]:
        return [account for organization in self.organizations for account in organization.accounts]

    @cached_property
    def _by_id(self) -> dict[str, Account]:
        # Looked up once per extraction: a scan of the list made validating 10,000 accounts quadratic.
        return {account.account_id: account for account in self.accounts}

    def account(self, account_id: str) -> Account:
        """Return the account with that key; raise ``KeyError`` naming it otherwise."""
        try:
            return self._by_id[account_id]
        except KeyError:
            raise KeyError(f"account {account_id!r} is not in {self.path}") from None


def parse_account(platform: str, address: str, organization_id: str = "adhoc") -> Account:
    """Read an account written as on its platform: ``@user@instance`` (Mastodon),
    ``name.bsky.social`` (Bluesky) or ``@name`` (demo).

    Returns the account; raises ``RegistryError`` saying what is malformed.
    """
    entry: dict[str, Any] = {"platform": platform, "handle": address}
    if platform in _NEEDS_INSTANCE and address.count("@") == 2:
        user, instance = address.rsplit("@", 1)
        entry = {"platform": platform, "handle": user, "instance": instance}
    problems: list[str] = []
    account = _read_account(f"{platform} account {address!r}", organization_id, entry, problems)
    if account is None:
        raise RegistryError("\n".join(problems))
    return account


def load_registry(path: Path) -> Registry:
    """Read and validate an account registry.

    Returns the registry; raises ``RegistryError`` listing every problem found,
    each with the file, the line and the entry at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RegistryError(f"{path}: cannot read the account registry ({error.strerror})") from error
    # Parsed once, into nodes (their lines name an entry at fault), then built; by libyaml when
    # PyYAML has it: a registry of 10,000 accounts took 11 s in pure Python, 1.3 s so.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        root_node = loader.get_single_node()
        document = loader.construct_document(root_node) if root_node is not None else None
    except yaml.YAMLError as error:
        raise RegistryError(f"{path}: not valid YAML: {error}") from error
    finally:
        loader.dispose()
    problems: list[str] = []
    organizations = _read_organizations(path, root_node, document, problems)
    if problems:
        raise RegistryError("\n".join(problems))
    return Registry(path=path, organizations=tuple(organizations))


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key and isinstance(value_node, yaml.Node):
                return value_node
    return None


def _items(node: yaml.Node | None) -> list[yaml.Node | None]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _read_organizations(
    path: Path, root_node: yaml.Node | None, document: Any, problems: list[str]
) -> list[Organization]:
    if not isinstance(document, dict) or not isinstance(document.get("organizations"), list):
        problems.append(f"{path}:{_line(root_node)}: expected a top-level 'organizations:' list")
        return []
    entries = document["organizations"]
    if not entries:
        problems.append(f"{path}:{_line(root_node)}: 'organizations' is empty: list at least one")
        return []
    nodes = _items(_child(root_node, "organizations"))
    seen_organizations: dict[str, int] = {}
    seen_accounts: dict[str, int] = {}
    organizations = []
    for index, entry in enumerate(entries):
        node = nodes[index] if index < len(nodes) else None
        where = f"{path}:{_line(node)}: organizations[{index}]"
        organization_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
        if organization_id in seen_organizations:
            problems.append(
                f"{where} ({organization_id}): duplicate organization id, "
                f"first defined at line {seen_organizations[organization_id]}"
            )
            continue
        seen_organizations[organization_id] = _line(node)
        organization = _read_organization(where, entry, node, problems, seen_accounts, path)
        if organization is not None:
            organizations.append(organization)
    return organizations


def _read_organization(
    where: str,
    entry: Any,
    node: yaml.Node | None,
    problems: list[str],
    seen_accounts: dict[str, int],
    path: Path,
) -> Organization | None:
    if not isinstance(entry, dict):
        problems.append(
            f"{where}: expected a mapping with id, name, peer_group, size_band, language, accounts"
        )
        return None
    before = len(problems)
    organization_id = str(entry.get("id", ""))
    label = f"{where} ({organization_id or 'no id'})"
    if not _SLUG.match(organization_id):
        problems.append(f"{label}: 'id' must be a lowercase slug like 'city-museum'")
    for field in ("name", "peer_group"):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            problems.append(f"{label}: '{field}' is required")
    if entry.get("size_band") not in SIZE_BANDS:
        problems.append(
            f"{label}: 'size_band' must be one of {', '.join(SIZE_BANDS)}, not {entry.get('size_band')!r}"
        )
    if not isinstance(entry.get("language"), str) or not _LANGUAGE.match(entry["language"]):
        problems.append(f"{label}: 'language' must be a two-letter ISO 639-1 code such as 'fr' or 'en'")
    raw_accounts = entry.get("accounts")
    if not isinstance(raw_accounts, list) or not raw_accounts:
        problems.append(f"{label}: 'accounts' is empty: list at least one platform account")
        raw_accounts = []
    account_nodes = _items(_child(node, "accounts"))
    accounts = []
    for index, raw_account in enumerate(raw_accounts):
        account_node = account_nodes[index] if index < len(account_nodes) else None
        account_where = f"{path}:{_line(account_node)}: {organization_id}.accounts[{index}]"
        account = _read_account(account_where, organization_id, raw_account, problems)
        if account is None:
            continue
        if account.account_id in seen_accounts:
            problems.append(
                f"{account_where} ({account.account_id}): duplicate account, "
                f"first listed at line {seen_accounts[account.account_id]}"
            )
            continue
        seen_accounts[account.account_id] = _line(account_node)
        accounts.append(account)
    if len(problems) > before:
        return None
    return Organization(
        organization_id=organization_id,
        name=entry["name"].strip(),
        peer_group=entry["peer_group"].strip(),
        size_band=entry["size_band"],
        language=entry["language"],
        accounts=tuple(accounts),
    )


def _read_account(where: str, organization_id: str, entry: Any, problems: list[str]) -> Account | None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a mapping with platform and handle")
        return None
    platform = entry.get("platform")
    handle = entry.get("handle")
    instance = entry.get("instance")
    if platform not in PLATFORMS:
        problems.append(f"{where}: unknown platform {platform!r}; known platforms: {', '.join(PLATFORMS)}")
        return None
    if not isinstance(handle, str) or not _HANDLES[platform].match(handle):
        problems.append(f"{where}: malformed {platform} handle {handle!r}; {_HANDLE_HINTS[platform]}")
        return None
    if platform in _NEEDS_INSTANCE:
        if not isinstance(instance, str) or not _INSTANCE.match(instance.lower()):
            problems.append(
                f"{where} ({handle}): {platform} needs 'instance', a host name such as 'mastodon.social'"
            )
            return None
        instance = instance.lower()
    elif instance is not None:
        problems.append(f"{where} ({handle}): {platform} takes no 'instance'")
        return None
    return Account(organization_id=organization_id, platform=platform, handle=handle, instance=instance)


_HANDLE_HINTS: Final = {
    "demo": "expected '@' then 1-30 lowercase letters, digits or '_'",
    "mastodon": "expected '@' then the user name, with the server under 'instance'",
    "bluesky": "expected a domain handle such as 'example.bsky.social'",
}
