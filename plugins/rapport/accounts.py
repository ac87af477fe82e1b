"""The account registry: which organizations Rapport scores, on which platforms.

The registry is a YAML file (``config/accounts.yml`` by default, see
``config/accounts.example.yml``). Loading it checks everything a run relies
on and reports each problem on one line with the file, the line and the entry
at fault, so a typo never turns into a silently missing account:

- Every value is checked whole: a pattern that accepted ``'@news\\n'`` (``$``
  matches before a final newline) gave that handle the landing folder of
  ``@news_``, and each read the other's watermark.
- A key the registry does not know (``acounts:``, ``peer-group:``, ``colour:``)
  is refused at its line, with the known key it most resembles.
- Handles and instances are case-insensitive, as on their platforms: two
  entries that differ only in case are one account, and the second is refused
  as a duplicate naming the line of the first. Refusing keeps every key as
  written. Folding keys to lowercase would have moved the landing folder and
  the warehouse key of every Mastodon account written with capitals today
  (``@CityLibrary``), orphaning its history and watermark; a refused duplicate
  costs one edit and loses nothing. Bluesky handles are stored lowercase, as
  the AT Protocol normalizes them (no registry could hold capitals before, so
  no key changes); DIDs, which are case-sensitive, are not accepted as handles.
- An instance is a public host name, checked without any DNS lookup (the HTTP
  client refuses, when it connects, a name that resolves to a private
  address). An IP address in any form (``127.1``, ``0x7f.1``, ``2130706433``,
  ``[::1]``), ``localhost``, a single-label name, a name under a suffix of
  internal networks (``.internal``, ``.local``, ``.localhost``, ``.lan``,
  ``.home.arpa``...) or of a wildcard DNS service that resolves to the address
  written in the name (``nip.io``, ``sslip.io``...: an IP address in disguise)
  is refused, and so is a port: a Mastodon instance is a host name served on
  HTTPS's port, as its accounts' addresses (``@user@host``) say. Only
  ``RAPPORT_ALLOW_PRIVATE_INSTANCES=true``, for a local test server, allows
  them.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

from rapport.errors import ConfigurationError
from rapport.sources import get_platform, platform_names

SIZE_BANDS: Final = ("small", "medium", "large")
# Every pattern is used with fullmatch, and re.ASCII keeps \d, \w and case folding to ASCII.
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)
_LANGUAGE = re.compile(r"[a-z]{2}", re.ASCII)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*", re.ASCII)
_PUBLIC_TOP_LEVEL_DOMAIN = re.compile(r"[a-z]{2,63}", re.ASCII)
# As the WHATWG URL standard reads a host: one whose last label is a number is an IPv4 address.
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*", re.ASCII)
_HOST_AND_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]{1,5}))?", re.ASCII)
_KEYS: Final = {
    "registry": ("organizations",),
    "organization": ("id", "name", "peer_group", "size_band", "language", "accounts"),
    "account": ("platform", "handle", "instance", "inbox"),
}
# Names that designate a machine of the local network or of a cloud's infrastructure
# (metadata.google.internal), or that wildcard DNS services resolve to the address they spell.
_INTERNAL_SUFFIXES: Final = (
    "localhost",
    "local",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "arpa",
    "svc",
)
_ADDRESS_IN_NAME_SUFFIXES: Final = (
    "nip.io",
    "sslip.io",
    "xip.io",
    "traefik.me",
    "localtest.me",
    "lvh.me",
    "vcap.me",
)
_PRIVATE_INSTANCES_SETTING: Final = "RAPPORT_ALLOW_PRIVATE_INSTANCES=true"


class RegistryError(ConfigurationError, ValueError):
    """The account registry cannot be used; the message names file, line and entry."""


@dataclass(frozen=True)
class Account:
    """One platform account of an organization."""

    organization_id: str
    platform: str
    handle: str
    instance: str | None = None
    inbox: Path | None = None
    """The folder its analytics exports are dropped in, when the registry names one (``inbox:``,
    relative to the registry's folder): the account is then read from those files, not the API."""

    @property
    def account_id(self) -> str:
        """Rapport's stable key for the account, e.g. ``mastodon:@news@example.social``."""
        if self.instance:
            return f"{self.platform}:{self.handle}@{self.instance}"
        return f"{self.platform}:{self.handle}"

    @property
    def identity(self) -> str:
        """What makes two accounts one: the key without case (every part of a key is case-insensitive)."""
        return self.account_id.lower()

    @property
    def slug(self) -> str:
        """A file-system-safe form of ``account_id`` for landing-zone paths.

        Distinct accounts of one platform have distinct slugs, even on a file
        system that ignores case: the registry refuses two accounts that differ
        only in case, and ``<handle>_<instance>`` splits one way only: a handle
        holds only letters, digits and '_'; a host name holds no '_' and is
        never a bare number, so only its port follows a '_'; an IPv6 address is
        in brackets and in its one compressed form (a property test checks it).
        Kept as it was so that no landing folder moves.
        """
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
    def _by_identity(self) -> dict[str, Account]:
        # Looked up once per extraction: a scan of the list made validating 10,000 accounts quadratic.
        return {account.identity: account for account in self.accounts}

    def account(self, account_id: str) -> Account:
        """Return the account with that key, in any case; raise ``KeyError`` naming it otherwise."""
        try:
            return self._by_identity[account_id.lower()]
        except KeyError:
            raise KeyError(f"account {account_id!r} is not in {self.path}") from None


@dataclass(frozen=True)
class _Place:
    """Where an entry was read: the file (none for an address typed on the command line) and its label."""

    path: Path | None
    label: str

    def at(self, node: yaml.Node | None) -> str:
        return f"{self.path}:{_line(node)}: {self.label}" if self.path is not None else self.label


class _Checks:
    """What a load needs besides the text: the problems found, and the private-instances setting."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        # Read when an instance needs it only: a registry of public instances loads whatever the settings.
        self.allow_private_instances: Callable[[], bool] = cache(_private_instances_allowed)


def _private_instances_allowed() -> bool:
    from rapport.settings import get_settings

    return get_settings().allow_private_instances


def parse_account(platform: str, address: str, organization_id: str = "adhoc") -> Account:
    """Read an account written as on its platform: ``@user@instance`` (Mastodon),
    ``name.bsky.social`` (Bluesky) or ``@name`` (demo).

    Returns the account; raises ``RegistryError`` saying what is malformed.
    """
    entry: dict[str, Any] = {"platform": platform, "handle": address}
    needs_instance = platform in platform_names() and get_platform(platform).needs_instance
    if needs_instance and address.count("@") == 2:
        user, instance = address.rsplit("@", 1)
        entry = {"platform": platform, "handle": user, "instance": instance}
    checks = _Checks()
    account = _read_account(
        _Place(None, f"{platform} account {address!r}"), organization_id, entry, None, checks
    )
    if account is None:
        raise RegistryError("\n".join(checks.problems))
    return account


def load_registry(path: Path) -> Registry:
    """Read and validate an account registry.

    Returns the registry; raises ``RegistryError`` listing every problem found,
    one a line, each with the file, the line and the entry at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise RegistryError(f"{path}: cannot read the account registry ({reason})") from error
    # Parsed once, into nodes (their lines name an entry at fault), then built; by libyaml when
    # PyYAML has it: a registry of 10,000 accounts took 11 s in pure Python, 1.3 s so.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        root_node = loader.get_single_node()
        document = loader.construct_document(root_node) if root_node is not None else None
    except yaml.YAMLError as error:
        raise RegistryError(_yaml_problem(path, error)) from error
    finally:
        loader.dispose()
    checks = _Checks()
    organizations = _read_organizations(path, root_node, document, checks)
    if checks.problems:
        raise RegistryError("\n".join(checks.problems))
    return Registry(path=path, organizations=tuple(organizations))


def _yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        problem = "; ".join(part for part in (error.context, error.problem) if part)
        return f"{path}:{error.problem_mark.line + 1}: not valid YAML: {problem}"
    return f"{path}: not valid YAML: {' '.join(str(error).split())}"


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


def _shown(text: str) -> str:
    """``text`` as it can be printed on one line: as is when a slug, quoted and escaped otherwise."""
    return text if _SLUG.fullmatch(text) else repr(text)


def _check_keys(place: _Place, node: yaml.Node | None, known: Sequence[str], checks: _Checks) -> set[str]:
    """Report each key of a mapping that is not in ``known``, at its line, with the known key it
    most resembles. Returns those resembled keys: their absence needs no report of its own."""
    if place.path is None or not isinstance(node, yaml.MappingNode):
        return set()
    resembled = set()
    for key_node, _ in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "(a collection)"
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        checks.problems.append(f"{place.at(key_node)}: unknown key {key!r} ({hint})")
        resembled.update(close)
    return resembled


def _read_organizations(
    path: Path, root_node: yaml.Node | None, document: Any, checks: _Checks
) -> list[Organization]:
    resembled = _check_keys(_Place(path, "top level"), root_node, _KEYS["registry"], checks)
    if not isinstance(document, dict) or not isinstance(document.get("organizations"), list):
        if "organizations" not in resembled:
            checks.problems.append(f"{path}:{_line(root_node)}: expected a top-level 'organizations:' list")
        return []
    entries = document["organizations"]
    if not entries:
        checks.problems.append(f"{path}:{_line(root_node)}: 'organizations' is empty: list at least one")
        return []
    nodes = _items(_child(root_node, "organizations"))
    seen_organizations: dict[str, int] = {}
    seen_accounts: dict[str, tuple[int, str]] = {}
    organizations = []
    for index, entry in enumerate(entries):
        node = nodes[index] if index < len(nodes) else None
        organization_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
        label = f"organizations[{index}] ({_shown(organization_id) if organization_id else 'no id'})"
        if organization_id in seen_organizations:
            checks.problems.append(
                f"{_Place(path, label).at(node)}: duplicate organization id, "
                f"first defined at line {seen_organizations[organization_id]}"
            )
            continue
        seen_organizations[organization_id] = _line(node)
        organization = _read_organization(_Place(path, label), entry, node, checks, seen_accounts)
        if organization is not None:
            organizations.append(organization)
    return organizations


def _read_organization(
    place: _Place,
    entry: Any,
    node: yaml.Node | None,
    checks: _Checks,
    seen_accounts: dict[str, tuple[int, str]],
) -> Organization | None:
    problems = checks.problems
    if not isinstance(entry, dict):
        problems.append(
            f"{place.at(node)}: expected a mapping with id, name, peer_group, size_band, language, accounts"
        )
        return None
    before = len(problems)
    organization_id = str(entry.get("id", ""))
    label = place.at(node)
    resembled = _check_keys(place, node, _KEYS["organization"], checks)

    def missing(field: str) -> bool:
        """Whether to report ``field`` as missing: not when an unknown key was its misspelling."""
        return not (field in resembled and field not in entry)

    if not _SLUG.fullmatch(organization_id) and missing("id"):
        problems.append(f"{label}: 'id' must be a lowercase slug like 'city-museum'")
    for field in ("name", "peer_group"):
        if (not isinstance(entry.get(field), str) or not entry[field].strip()) and missing(field):
            problems.append(f"{label}: '{field}' is required")
    if entry.get("size_band") not in SIZE_BANDS and missing("size_band"):
        problems.append(
            f"{label}: 'size_band' must be one of {', '.join(SIZE_BANDS)}, not {entry.get('size_band')!r}"
        )
    language = entry.get("language")
    if not (isinstance(language, str) and _LANGUAGE.fullmatch(language)) and missing("language"):
        problems.append(f"{label}: 'language' must be a two-letter ISO 639-1 code such as 'fr' or 'en'")
    raw_accounts = entry.get("accounts")
    if not isinstance(raw_accounts, list) or not raw_accounts:
        if missing("accounts"):
            problems.append(f"{label}: 'accounts' is empty: list at least one platform account")
        raw_accounts = []
    account_nodes = _items(_child(node, "accounts"))
    accounts = []
    for index, raw_account in enumerate(raw_accounts):
        account_node = account_nodes[index] if index < len(account_nodes) else None
        account_place = _Place(place.path, f"{_shown(organization_id)}.accounts[{index}]")
        account = _read_account(account_place, organization_id, raw_account, account_node, checks)
        if account is None:
            continue
        if account.identity in seen_accounts:
            first_line, first_id = seen_accounts[account.identity]
            same = (
                ""
                if first_id == account.account_id
                else f" as {first_id} (handles and instances ignore case)"
            )
            problems.append(
                f"{account_place.at(account_node)} ({account.account_id}): duplicate account, "
                f"first listed at line {first_line}{same}"
            )
            continue
        seen_accounts[account.identity] = (_line(account_node), account.account_id)
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


def _read_account(
    place: _Place, organization_id: str, entry: Any, node: yaml.Node | None, checks: _Checks
) -> Account | None:
    where = place.at(node)
    problems = checks.problems
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a mapping with platform and handle")
        return None
    before = len(problems)
    resembled = _check_keys(place, node, _KEYS["account"], checks)
    platform = entry.get("platform")
    handle = entry.get("handle")
    instance = entry.get("instance")
    if not isinstance(platform, str) or platform not in platform_names():
        if not ("platform" in resembled and platform is None):
            problems.append(
                f"{where}: unknown platform {platform!r}; known platforms: {', '.join(platform_names())}"
            )
        return None
    contract = get_platform(platform)
    if not isinstance(handle, str) or not contract.handle.fullmatch(handle):
        if not ("handle" in resembled and handle is None):
            problems.append(f"{where}: malformed {platform} handle {handle!r}; {contract.handle_hint}")
        return None
    if contract.lowercase_handles:
        handle = handle.lower()
    if contract.needs_instance:
        needs_instance = f"{where} ({handle}): {platform} needs 'instance', {_INSTANCE_HINT}"
        if not isinstance(instance, str):
            if not ("instance" in resembled and instance is None):
                problems.append(needs_instance)
            return None
        try:
            instance = _canonical_instance(instance, checks.allow_private_instances)
        except _NotAHostNameError:
            problems.append(f"{needs_instance}, not {instance!r}")
            return None
        except _InstanceError as refused:
            problems.append(f"{where} ({handle}): 'instance' {instance!r} {refused}")
            return None
    elif instance is not None:
        problems.append(f"{where} ({handle}): {platform} takes no 'instance'")
        return None
    inbox = _inbox(place, entry.get("inbox"), f"{where} ({handle})", contract.exports != (), problems)
    if len(problems) > before:
        return None
    return Account(
        organization_id=organization_id, platform=platform, handle=handle, instance=instance, inbox=inbox
    )


def _inbox(place: _Place, value: Any, where: str, imports: bool, problems: list[str]) -> Path | None:
    """The account's own inbox, as the registry names it (relative to the registry's folder)."""
    if value is None:
        return None
    if not imports:
        problems.append(f"{where}: 'inbox' is for a platform whose analytics exports Rapport imports")
        return None
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        problems.append(f"{where}: 'inbox' must be a folder path, not {value!r}")
        return None
    folder = Path(value.strip()).expanduser()
    if not folder.is_absolute() and place.path is not None:
        folder = place.path.parent / folder
    return folder


class _InstanceError(ValueError):
    """Why an instance is refused, to follow ``'instance' '<value>'`` in a message."""


class _NotAHostNameError(_InstanceError):
    """The instance is not even a host name."""


def _canonical_instance(text: str, allow_private: Callable[[], bool]) -> str:
    """The instance in the one form its key uses (lowercase, IPv6 compressed, port without zeros).

    Raises ``_InstanceError`` when it is no host name, when it designates a
    private host or has a port and the setting does not allow those, or when
    the setting allows it but it is written in a form that has another.
    """
    parts = _HOST_AND_PORT.fullmatch(text) if text.isascii() else None
    if parts is None:
        if not _is_ipv6(text):
            raise _NotAHostNameError
        if not allow_private():
            raise _InstanceError(_private_hint("is an IP address"))
        raise _InstanceError("is an IPv6 address: write it in brackets, as [::1]")
    host, port = parts["host"].lower(), parts["port"]
    private = _private_kind(host)
    if private is not None and not allow_private():
        raise _InstanceError(_private_hint(private))
    if port is not None and not 1 <= int(port) <= 65535:
        raise _InstanceError("has a port outside 1-65535")
    if port is not None and not allow_private():
        raise _InstanceError(
            "has a port: a Mastodon instance is a host name served on the HTTPS port "
            f"({_PRIVATE_INSTANCES_SETTING} allows a port, for a local test server)"
        )
    host = _canonical_address(host) if private == _IP_ADDRESS else host
    return host if port is None else f"{host}:{int(port)}"


_IP_ADDRESS: Final = "is an IP address"


@lru_cache(maxsize=1024)  # a registry names few instances, each for many accounts
def _private_kind(host: str) -> str | None:
    """What makes ``host`` (lowercase) private, if anything; raise ``_NotAHostNameError`` if no host."""
    if host.startswith("["):
        if not _is_ipv6(host[1:-1]):
            raise _NotAHostNameError
        return _IP_ADDRESS
    if not _HOST_NAME.fullmatch(host):
        raise _NotAHostNameError
    if _NUMBER.fullmatch(host.rsplit(".", 1)[-1]):
        return _IP_ADDRESS
    if "." not in host:
        return "is a name of the local network"
    if _under(host, _INTERNAL_SUFFIXES):
        return "is a name of an internal network"
    if _under(host, _ADDRESS_IN_NAME_SUFFIXES):
        return "is a wildcard DNS name, an IP address in disguise"
    if not _PUBLIC_TOP_LEVEL_DOMAIN.fullmatch(host.rsplit(".", 1)[-1]):
        raise _NotAHostNameError
    return None


def _private_hint(private: str) -> str:
    return (
        f"{private}: an instance is a public host name such as 'mastodon.social' "
        f"({_PRIVATE_INSTANCES_SETTING} allows private ones, for a local test server)"
    )


def _canonical_address(host: str) -> str:
    """An IP address in its one written form; raise ``_InstanceError`` for a form that has another."""
    if not host.startswith("["):
        try:
            if str(ipaddress.IPv4Address(host)) == host:
                return host
        except ValueError:
            pass
        raise _InstanceError("is an IPv4 address in a short form: write its four numbers, as 127.0.0.1")
    address = ipaddress.IPv6Address(host[1:-1])
    if address.scope_id is not None:
        raise _InstanceError("names a network interface ('%'): write the address alone")
    if address.ipv4_mapped is not None:
        # Python 3.13 writes these ::ffff:1.2.3.4 and 3.11 ::ffff:102:304: a key must not depend on it.
        raise _InstanceError(f"is an IPv4 address written as IPv6: write {address.ipv4_mapped}")
    return f"[{address.compressed}]"


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _under(host: str, suffixes: Sequence[str]) -> bool:
    return any(host == suffix or host.endswith(f".{suffix}") for suffix in suffixes)


_INSTANCE_HINT: Final = "a host name such as 'mastodon.social'"
