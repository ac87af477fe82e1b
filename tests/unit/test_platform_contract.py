"""A platform is one folder: everything else derives from its contract, and nothing lists the platforms.

Three parts:

- **A new folder is enough**: a throwaway platform package, put in a temporary
  folder of ``rapport.sources.__path__``, is in the registry, the pools, the
  validation suites, the DAG, the CLI and ``raw.platforms`` with nothing else
  changed.
- **No list to drift**: no file outside the platform folders lists two
  platforms or names a platform's pool; a platform added after the first three
  is named nowhere outside its folder.
- **Every folder honours the contract**: its package exports the contract and
  the three entry points, imports light, and its README states what the
  contract declares (availability table, cost figures, credentials).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import io
import json
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

import rapport.sources
from rapport.accounts import RegistryError, load_registry, parse_account
from rapport.cli import app
from rapport.errors import RapportError
from rapport.records import RECORD_TYPES_BY_NAME
from rapport.sources import get_platform, platform_names
from rapport.sources.contract import Platform
from tests.conftest import PROJECT_ROOT, write_registry
from tests.factories import batch_frames

FIRST_PLATFORMS = ("demo", "mastodon", "bluesky")
"""The platforms of Rapport 0.1, named in places that predate the contract (docs, test data, _ORDER)."""
PLATFORMS = platform_names()
"""The platform folders of the repository, read before any test adds one."""

TRIAL = "trial"
TRIAL_UNAVAILABLE = "account_snapshots.following_count"
_TRIAL_INIT = '''"""A throwaway platform: its contract and three trivial entry points, nothing else."""

import re
from dataclasses import dataclass

from rapport.sources.contract import Credential, Measure, NightlyCost, Platform

PLATFORM = Platform(
    name="{name}",
    title="Trial",
    handle=re.compile(r"#[a-z]{{3,12}}", re.ASCII),
    handle_hint="expected '#' then 3-12 lowercase letters",
    address_example="'#name'",
    concurrency=3,
    pool_description="Concurrent extractions from the trial platform",
    cost=NightlyCost(unit="requests", formula="1", first_run=1, nightly=1, nothing_new=1, example="any"),
    availability=(Measure("followers", "yes", "its profile"), Measure("following", "no", "never shown")),
    credentials=(Credential("a key", variables=("RAPPORT_TRIAL_KEY",)),),
    unavailable={{"{unavailable}": "the platform never shows whom an account follows"}},
    post_url="https://trial.example/{{author}}/{{post_id}}",
)


@dataclass
class ExtractionStats:
    threads: None = None

    def counters(self):
        return {{"requests": 0, "retries": 0, "rate_limited": 0, "slept_seconds": 0.0}}


def extract(account, window):
    return iter(())


def extract_with_stats(account, window, *, ledger=None):
    return extract(account, window), ExtractionStats()


def normalize(pages, account, observed_at, fetched_at=None):
    return {{"account_snapshots": [], "posts": [], "interactions": [], "thread_reads": []}}
'''

runner = CliRunner()


@contextmanager
def platform_folder(root: Path, folder: str, declared: str) -> Iterator[Path]:
    """A platform package ``folder`` declaring ``PLATFORM.name == declared``, found by discovery."""
    package = root / folder
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        _TRIAL_INIT.format(name=declared, unavailable=TRIAL_UNAVAILABLE), encoding="utf-8"
    )
    importlib.invalidate_caches()
    rapport.sources.__path__.append(str(root))
    rapport.sources._platforms.cache_clear()
    try:
        yield root
    finally:
        rapport.sources.__path__.remove(str(root))
        sys.modules.pop(f"rapport.sources.{folder}", None)
        rapport.sources._platforms.cache_clear()


@pytest.fixture
def trial(tmp_path: Path) -> Iterator[Path]:
    """The throwaway platform ``trial``, in a folder of its own outside the repository."""
    with platform_folder(tmp_path / "sources", TRIAL, TRIAL) as root:
        yield root


# --------------------------------------------------------------------------- a new folder is enough


def test_a_new_platform_folder_is_a_platform_after_the_first_three(trial: Path):
    assert TRIAL in platform_names()
    assert [name for name in platform_names() if name != TRIAL] == list(PLATFORMS)
    assert platform_names()[:3] == FIRST_PLATFORMS  # then the others by name
    assert get_platform(TRIAL).pool == "rapport_trial"
    assert rapport.sources.get_source(TRIAL).PLATFORM is get_platform(TRIAL)


def test_the_registry_takes_a_new_platforms_handles_and_refuses_a_malformed_one_with_its_hint(
    trial: Path, tmp_path: Path
):
    assert parse_account(TRIAL, "#library").account_id == "trial:#library"
    with pytest.raises(RegistryError, match="malformed trial handle '@library'; expected '#' then 3-12"):
        parse_account(TRIAL, "@library")
    registry = write_registry(
        tmp_path / "accounts.yml",
        "organizations:\n"
        "  - {id: library, name: Library, peer_group: culture, size_band: small, language: en,\n"
        "     accounts: [{platform: trial, handle: '#library'}, {platform: trial, handle: '#x'}]}\n",
    )
    with pytest.raises(RegistryError, match=r"malformed trial handle '#x'; expected '#' then 3-12") as error:
        load_registry(registry)
    assert "#library" not in str(error.value)  # the well-formed one is accepted
    registry.write_text(registry.read_text().replace(", {platform: trial, handle: '#x'}", ""))
    assert [account.account_id for account in load_registry(registry).accounts] == ["trial:#library"]


def test_rapport_pools_gives_a_new_platform_its_pool_with_its_concurrency(trial: Path):
    from rapport.pipeline import airflow_pools

    expected = {
        "description": "Concurrent extractions from the trial platform",
        "include_deferred": False,
        "slots": 3,
    }
    assert airflow_pools()["rapport_trial"] == expected
    result = runner.invoke(app, ["pools"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rapport_trial"] == expected


def test_the_suites_accept_a_new_platform_and_null_only_in_its_unavailable_columns(
    trial: Path, tmp_path: Path
):
    from rapport.validation import BatchValidator

    validator = BatchValidator(tmp_path / "gx")  # its suites are built now, with the trial platform

    def failures(**overrides: list[dict[str, object]]) -> list[str]:
        return [str(failure) for failure in validator.validate(batch_frames(**overrides), run_name="t")]

    assert (
        failures(snapshots=[{"platform": TRIAL, "following_count": None}], posts=[{"platform": TRIAL}]) == []
    )
    [hidden_elsewhere] = failures(snapshots=[{"platform": TRIAL, "followers_count": None}])
    assert hidden_elsewhere.startswith(
        "account_snapshots.followers_count: expect_column_values_to_not_be_null"
    )
    [shown_by_demo] = failures(snapshots=[{"platform": "demo", "following_count": None}])
    assert shown_by_demo.startswith("account_snapshots.following_count: expect_column_values_to_not_be_null")


def test_the_dag_extracts_a_new_platform_in_its_own_pool(trial: Path):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "rapport_nightly.py"))
    assert bag.import_errors == {}
    dag = bag.dags["rapport_nightly"]
    extract = dag.get_task("extract_trial")
    assert extract.pool == "rapport_trial"
    assert extract.is_mapped
    assert dag.get_task("list_trial_accounts").downstream_task_ids == {"extract_trial"}
    assert extract.downstream_task_ids == {"validate"}


def test_the_fetch_help_names_a_new_platform_and_its_address(trial: Path):
    result = runner.invoke(app, ["fetch", "--help"], env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    help_text = " ".join(result.output.split())
    assert ", ".join(platform_names()) + "." in help_text
    assert "trial" in platform_names()
    assert "'#name' (trial)" in help_text


def test_the_warehouse_lists_a_new_platform_in_raw_platforms(trial: Path, tmp_path: Path):
    from rapport.load import create_tables

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        create_tables(connection)
        rows = connection.execute(
            "select platform, platform_name, is_simulated, needs_instance, cost_unit, unavailable_columns "
            "from raw.platforms order by platform"
        ).fetchall()
    assert [row[0] for row in rows] == sorted([*PLATFORMS, TRIAL])
    assert ("trial", "Trial", False, False, "requests", [TRIAL_UNAVAILABLE]) in rows


def test_the_warehouse_keeps_each_platforms_post_url_template_for_the_links_to_posts(
    trial: Path, tmp_path: Path
):
    from rapport.load import create_tables
    from rapport.sources import platforms

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        create_tables(connection)
        templates = dict(
            connection.execute("select platform, post_url_template from raw.platforms").fetchall()
        )
    assert templates["trial"] == "https://trial.example/{author}/{post_id}"
    assert templates == {contract.name: contract.post_url for contract in platforms()}
    assert templates["demo"] is None  # a simulated platform: no public post to link to


def test_a_folder_declaring_another_platforms_name_is_refused_naming_both(tmp_path: Path):
    message = "rapport.sources.misnamed declares the platform 'trial': a platform's name is its folder's"
    with platform_folder(tmp_path / "sources", "misnamed", TRIAL):
        with pytest.raises(RapportError) as error:
            platform_names()
        assert str(error.value) == message
        result = runner.invoke(app, ["platforms"])
    assert result.exit_code == 1
    assert result.output == f"error: {message}\n"


# --------------------------------------------------------------------------- no list to drift

SCANNED = ("plugins", "dags", "sql", "config", "Makefile", "docker-compose.yml", "Dockerfile")
"""Where a list of platforms would have to be kept in step with the folders."""
STRICTLY_SCANNED = ("plugins", "dags", "sql", "Makefile", "docker-compose.yml")
"""Where a platform added after the first three must not be named at all, outside its folder."""
_TEXT_SUFFIXES = {
    ".py",
    ".sql",
    ".yml",
    ".yaml",
    ".json",
    ".toml",
    ".cfg",
    ".ini",
    ".sh",
    ".j2",
    ".html",
    ".txt",
}
_SKIPPED_DIRECTORIES = {"__pycache__", "target", "dbt_packages", "logs", ".venv"}
_LIST_EXEMPTIONS = {
    # An order, not a list: a platform missing from it is still found, after the others (rapport.sources).
    ("plugins/rapport/sources/__init__.py", "_ORDER"),
}
_COMMENT = {".sql": "--", ".py": "#"}
_LIST_SEPARATORS = r"""[\s,'"`|]+"""


def scanned_files(root: Path, places: Sequence[str], platforms: Sequence[str]) -> Iterator[Path]:
    """The text files of ``places`` under ``root``, less the platform folders and the registries."""
    own_folders = {root / "plugins" / "rapport" / "sources" / name for name in platforms}
    for place in places:
        path = root / place
        candidates = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for candidate in candidates:
            relative = candidate.relative_to(root)
            if not candidate.is_file() or _SKIPPED_DIRECTORIES & set(relative.parts):
                continue
            # What an install writes beside the package (its file list names every module): not ours.
            if any(part.endswith(".egg-info") for part in relative.parts):
                continue
            if any(folder in candidate.parents for folder in own_folders):
                continue
            if relative.parts[0] == "config" and re.fullmatch(r"accounts.*\.ya?ml", candidate.name):
                continue
            if candidate.suffix in _TEXT_SUFFIXES or candidate.name in ("Makefile", "Dockerfile"):
                yield candidate


def platform_lists(root: Path, platforms: Sequence[str]) -> list[str]:
    """Every list of two or more of ``platforms`` (a list, tuple, set, dict's keys, ``in (...)``,
    ``accepted_values``, a shell word list) and every platform pool name (``rapport_<platform>``)
    written in the scanned files, as ``path:line: what``."""
    names = {name.lower() for name in platforms}
    pool = re.compile(rf"\brapport_(?:{'|'.join(map(re.escape, names))})\b", re.IGNORECASE)
    found: list[str] = []
    for path in scanned_files(root, SCANNED, platforms):
        relative = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".py":
            lines = _python_lists(text, names, relative)
            pools = [(line, value) for line, value in _python_code_strings(text) if pool.search(value)]
        else:
            code = _without_comments(text, path)
            lines = _yaml_lists(code, names) if path.suffix in (".yml", ".yaml", ".json") else None
            if lines is None:
                lines = _text_lists(code, names)
            pools = [(number, line) for number, line in enumerate(code.splitlines(), 1) if pool.search(line)]
        found += [f"{relative}:{line}: a list of platforms" for line in lines]
        found += [f"{relative}:{line}: a platform's pool, {pool.search(value)[0]}" for line, value in pools]  # type: ignore[index]
    return sorted(set(found))


SHORT_NAME = 3
"""A platform named in fewer letters (``x``) is a common variable and word: it is looked for where
it cannot be anything else (a string or value that is the name alone, ``'x'`` in SQL, ``sources.x``)."""


def later_platform_mentions(root: Path, later: Sequence[str], platforms: Sequence[str]) -> list[str]:
    """Every mention, in code (not comments or docstrings), of a platform of ``later`` outside
    its own folder, in the strictly scanned places, as ``path:line: name``."""
    if not later:
        return []
    long_names = [name for name in later if len(name) >= SHORT_NAME]
    short_names = [name for name in later if len(name) < SHORT_NAME]
    # A name inside an identifier counts too: YOUTUBE_API_KEY, youtube_video_id.
    word = (
        re.compile(rf"(?<![a-z0-9])(?:{'|'.join(map(re.escape, long_names))})(?![a-z0-9])", re.IGNORECASE)
        if long_names
        else None
    )
    short = "|".join(map(re.escape, short_names))
    alone = re.compile(rf"\s*(?:{short})\s*", re.IGNORECASE) if short_names else None
    path = re.compile(rf"sources[./](?:{short})(?![a-z0-9_])", re.IGNORECASE) if short_names else None
    quoted = re.compile(rf"""(?<![\w'"])['"](?:{short})['"]""", re.IGNORECASE) if short_names else None
    found = []
    for path_name in scanned_files(root, STRICTLY_SCANNED, platforms):
        relative = path_name.relative_to(root).as_posix()
        text = path_name.read_text(encoding="utf-8", errors="replace")
        strings: list[tuple[int, str]] | None
        if path_name.suffix == ".py":
            strings = _python_code_strings(text)
            pieces = [*strings, *_python_names(text)]
            modules = _python_imports(text)
        else:
            strings = _yaml_values(text) if path_name.suffix in (".yml", ".yaml") else None
            pieces = (
                strings
                if strings is not None
                else list(enumerate(_without_comments(text, path_name).splitlines(), 1))
            )
            modules = []
        if word is not None:
            found += [
                f"{relative}:{line}: {match[0]}" for line, piece in pieces for match in word.finditer(piece)
            ]
        if alone is None or path is None or quoted is None:
            continue
        for line, piece in [*(strings or []), *modules]:
            if alone.fullmatch(piece):
                found.append(f"{relative}:{line}: {piece.strip()}")
            found += [f"{relative}:{line}: {match[0]}" for match in path.finditer(piece)]
        if strings is None:  # SQL, a Makefile: the name quoted, or as a module path
            for line, piece in pieces:
                found += [
                    f"{relative}:{line}: {match[0]}"
                    for match in (*quoted.finditer(piece), *path.finditer(piece))
                ]
    return sorted(set(found))


def _python_imports(text: str) -> list[tuple[int, str]]:
    """The modules a Python file imports, with their line."""
    modules = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            modules += [(node.lineno, alias.name) for alias in node.names]
    return modules


def _python_lists(text: str, names: set[str], relative: str) -> list[int]:
    tree = ast.parse(text)
    exempt = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and (relative, t.id) in _LIST_EXEMPTIONS for t in targets):
                exempt.add(id(node.value))
    lines = []
    for node in ast.walk(tree):
        items: Sequence[ast.expr | None] = ()
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict) and id(node) not in exempt:
            items = node.keys
        listed = {
            item.value.lower()
            for item in items
            if isinstance(item, ast.Constant) and isinstance(item.value, str) and item.value.lower() in names
        }
        if len(listed) >= 2:
            lines.append(node.lineno)
    return lines


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The lines of every lone string statement: docstrings of modules, classes, functions, attributes."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _python_code_strings(text: str) -> list[tuple[int, str]]:
    """The string literals of Python code but its docstrings, with their first line."""
    docstrings = _docstring_lines(ast.parse(text))
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.lineno not in docstrings
    ]


def _python_names(text: str) -> list[tuple[int, str]]:
    """The identifiers of Python code (imports, attributes, variables), with their line."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [(token.start[0], token.string) for token in tokens if token.type == tokenize.NAME]


def _without_comments(text: str, path: Path) -> str:
    marker = _COMMENT.get(path.suffix, "#")
    return "\n".join(line.split(marker, 1)[0] if marker in line else line for line in text.splitlines())


def _yaml_lists(text: str, names: set[str]) -> list[int] | None:
    try:
        documents = list(yaml.compose_all(text))
    except yaml.YAMLError:
        return None  # a template (Jinja in YAML): read as text
    lines = []
    pending: list[yaml.Node] = [document for document in documents if document is not None]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.SequenceNode):
            children = node.value
            scalars = children
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
            scalars = [key for key, _ in node.value]
        else:
            continue
        listed = {
            s.value.lower() for s in scalars if isinstance(s, yaml.ScalarNode) and s.value.lower() in names
        }
        if len(listed) >= 2:
            lines.append(node.start_mark.line + 1)
        pending.extend(children)
    return lines


def _yaml_values(text: str) -> list[tuple[int, str]] | None:
    """The keys and values of a YAML file but its ``description`` texts (documentation, like a
    docstring), with their line; ``None`` when it is no YAML (a template)."""
    try:
        documents = [document for document in yaml.compose_all(text) if document is not None]
    except yaml.YAMLError:
        return None
    values = []
    pending: list[yaml.Node] = documents
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.ScalarNode):
            values.append((node.start_mark.line + 1, node.value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                pending.append(key)
                if not (isinstance(key, yaml.ScalarNode) and key.value == "description"):
                    pending.append(value)
    return values


def _text_lists(text: str, names: set[str]) -> list[int]:
    """Lines of bracketed groups (``in ('a', 'b')``, ``['a', 'b']``) naming two platforms, and of
    platforms written one after the other (``for p in a b``, ``a|b``)."""
    word = rf"(?:{'|'.join(map(re.escape, names))})"

    def distinct(found: str) -> int:
        return len({match.lower() for match in re.findall(rf"\b{word}\b", found, re.IGNORECASE)})

    groups = [
        group for group in re.finditer(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}", text) if distinct(group[0]) >= 2
    ]
    runs = [
        run
        for run in re.finditer(rf"\b{word}\b(?:{_LIST_SEPARATORS}\b{word}\b)+", text, re.IGNORECASE)
        if distinct(run[0]) >= 2 and not any(group.start() < run.start() < group.end() for group in groups)
    ]
    return [text.count("\n", 0, found.start()) + 1 for found in (*groups, *runs)]


def test_no_file_outside_the_platform_folders_lists_the_platforms_or_names_their_pools():
    assert platform_lists(PROJECT_ROOT, platform_names()) == []


def test_a_platform_added_after_the_first_three_is_named_nowhere_outside_its_folder():
    later = [name for name in platform_names() if name not in FIRST_PLATFORMS]
    assert later_platform_mentions(PROJECT_ROOT, later, platform_names()) == []


PLANTED_LISTS = {
    "plugins/rapport/records.py": 'PLATFORMS = ("demo", "mastodon")\n',
    "plugins/rapport/accounts.py": 'HINTS = {\n    "mastodon": "a",\n    "bluesky": "b",\n}\n',
    "plugins/rapport/pipeline.py": 'def f(p):\n    return p in {"Mastodon", "bluesky"}\n',
    "plugins/rapport/settings.py": 'POOL = "rapport_bluesky"\n',
    "dags/rapport_nightly.py": 'for platform in ["demo", "bluesky"]:\n    pass\n',
    "sql/models/staging/stg_x.yml": (
        "models:\n  - name: stg_x\n    columns:\n      - name: platform\n        data_tests:\n"
        "          - accepted_values:\n              values: [demo, mastodon, bluesky]\n"
    ),
    "sql/models/marts/fct_x.sql": "select *\nfrom x\nwhere platform in (\n    'mastodon',\n    'bluesky'\n)\n",
    "config/pools.json": '{"rapport_warehouse": {"slots": 1},\n "x": {"demo": 8, "mastodon": 4}}\n',
    "Makefile": "pools:\n\tfor p in demo mastodon bluesky; do echo $$p; done\n",
    "docker-compose.yml": "services:\n  init:\n    command: airflow pools set rapport_mastodon 4 x\n",
    "Dockerfile": "RUN echo demo,mastodon\n",
}
HARMLESS = {
    "plugins/rapport/cli.py": (
        '"""Lists: demo, mastodon, bluesky (a docstring)."""\n'
        "# for p in demo mastodon bluesky (a comment)\n"
        'ACCOUNT = "demo:@x"\nPOOL = "rapport_warehouse"\nPOOLS = [f"rapport_{p}" for p in x]\n'
    ),
    "plugins/rapport/sources/mastodon/settings.py": 'CONNECTION_ID = "rapport_mastodon"\nX = ("mastodon", "demo")\n',
    "plugins/rapport/sources/__init__.py": '_ORDER = {"demo": 0, "mastodon": 1, "bluesky": 2}\n',
    "config/accounts.yml": "organizations: [{accounts: [{platform: demo}, {platform: mastodon}]}]\n",
    "sql/models/x.yml": "unit_tests:\n  - given:\n      - {platform: demo, id: 1}\n      - {platform: mastodon, id: 2}\n",
    "sql/models/y.sql": "-- in ('mastodon', 'bluesky')\nselect 1 as demo_count\n",
    "Makefile": "demo: airflow-init ## Run the demo on the demo platform\n",
    "docs/platforms.md": "demo, mastodon, bluesky\n",
}


def plant(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


def test_the_list_scan_finds_each_planted_list_and_pool_with_its_file_and_line(tmp_path: Path):
    root = plant(tmp_path, PLANTED_LISTS)
    assert platform_lists(root, FIRST_PLATFORMS) == [
        "Dockerfile:1: a list of platforms",
        "Makefile:2: a list of platforms",
        "config/pools.json:2: a list of platforms",
        "dags/rapport_nightly.py:1: a list of platforms",
        "docker-compose.yml:3: a platform's pool, rapport_mastodon",
        "plugins/rapport/accounts.py:1: a list of platforms",
        "plugins/rapport/pipeline.py:2: a list of platforms",
        "plugins/rapport/records.py:1: a list of platforms",
        "plugins/rapport/settings.py:1: a platform's pool, rapport_bluesky",
        "sql/models/marts/fct_x.sql:3: a list of platforms",
        "sql/models/staging/stg_x.yml:7: a list of platforms",
    ]


def test_the_list_scan_leaves_prose_comments_registries_test_rows_and_the_platforms_own_folders(
    tmp_path: Path,
):
    assert platform_lists(plant(tmp_path, HARMLESS), FIRST_PLATFORMS) == []


def test_the_strict_scan_finds_a_later_platform_named_in_code_outside_its_folder(tmp_path: Path):
    root = plant(
        tmp_path,
        {
            "plugins/rapport/accounts.py": (
                '"""A YouTube channel, in a docstring, is documentation."""\n'
                "# so is youtube in a comment\n"
                "from rapport.sources.youtube.settings import QUOTA\n"
                'HINT = "a YouTube handle"\n'
            ),
            "plugins/rapport/sources/youtube/__init__.py": 'PLATFORM = "youtube"\n',
            "sql/models/marts/fct_x.sql": "-- youtube, a comment\nselect 1 from x where platform = 'youtube'\n",
            "dags/rapport_nightly.py": "X = 1\n",
            "Makefile": "bench: ## youtube in a comment\n\techo youtube\n",
            "docker-compose.yml": "x: {YOUTUBE_KEY: 1}\n",
            "sql/models/staging/stg_x.yml": (
                "models:\n  - name: stg_x\n    description: A YouTube channel, documented.\n"
                "    columns:\n      - name: youtube_video_id\n"
            ),
            "config/airflow.cfg": "youtube = 1\n",  # config/ is not scanned strictly
        },
    )
    assert later_platform_mentions(root, ["youtube"], [*FIRST_PLATFORMS, "youtube"]) == [
        "Makefile:2: youtube",
        "docker-compose.yml:1: YOUTUBE",
        "plugins/rapport/accounts.py:3: youtube",
        "plugins/rapport/accounts.py:4: YouTube",
        "sql/models/marts/fct_x.sql:2: youtube",
        "sql/models/staging/stg_x.yml:5: youtube",
    ]


def test_the_strict_scan_finds_a_one_letter_platform_where_it_cannot_be_a_variable(tmp_path: Path):
    """``x`` (X, formerly Twitter) is also every coordinate and header prefix: only the name alone in
    a string or a value, quoted in SQL, or as a module path is a mention of the platform."""
    root = plant(
        tmp_path,
        {
            "plugins/rapport/accounts.py": (
                "from rapport.sources.x.exports import read_content\n"
                "import rapport.sources.x\n"
                'IS_X = platform == "x"\n'
                "x, y = point\n"
                "SVG = '<text x=\"1\">'\n"
                'HEADER = "X-App-Usage"\n'
            ),
            "sql/models/marts/fct_x.sql": "select x.a from t as x where platform = 'x'\n",
            "sql/models/staging/stg_x.yml": "models:\n  - name: stg_x\n    meta: {platform: x}\n",
            "docker-compose.yml": "x-airflow-common: {image: python3.x}\n",
            "Makefile": "run: ## python3.x\n\techo python3.x\n",
        },
    )
    assert later_platform_mentions(root, ["x"], [*FIRST_PLATFORMS, "x"]) == [
        "plugins/rapport/accounts.py:1: sources.x",
        "plugins/rapport/accounts.py:2: sources.x",
        "plugins/rapport/accounts.py:3: x",
        "sql/models/marts/fct_x.sql:1: 'x'",
        "sql/models/staging/stg_x.yml:3: x",
    ]


# --------------------------------------------------------------------------- every folder honours the contract


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_package_exports_its_contract_and_the_three_entry_points(platform: str):
    package = importlib.import_module(f"rapport.sources.{platform}")
    assert package.PLATFORM.name == platform
    for entry_point in ("extract", "extract_with_stats", "normalize"):
        assert callable(getattr(package, entry_point, None)), f"{platform} has no {entry_point}"
    assert (
        inspect.signature(package.extract_with_stats).parameters["ledger"].kind
        is inspect.Parameter.KEYWORD_ONLY
    )
    assert [*inspect.signature(package.normalize).parameters][:4] == [
        "pages",
        "account",
        "observed_at",
        "fetched_at",
    ]


HEAVY_MODULES = ("requests", "urllib3", "pandas", "pyarrow", "duckdb", "great_expectations", "airflow")


def heavy_imports(platform: str, *path: str) -> list[str]:
    """What importing ``rapport.sources.<platform>`` (in a fresh process, ``path`` added to
    ``rapport.sources``) loads that a contract does not need: an HTTP client, a simulator, pandas,
    DuckDB, GX, Airflow."""
    code = (
        "import sys, importlib, rapport.sources; "
        f"rapport.sources.__path__.extend({list(path)!r}); "
        f"importlib.import_module('rapport.sources.{platform}'); "
        "print('\\n'.join(sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    return sorted(
        {
            module.split(".")[0] if module.split(".")[0] in HEAVY_MODULES else module
            for module in loaded
            if module.split(".")[0] in HEAVY_MODULES
            or module in ("rapport.sources.http", f"rapport.sources.{platform}.client")
            or module.startswith("rapport.simulators")
        }
    )


def test_the_light_import_check_passes_a_contract_only_package(trial: Path):
    assert heavy_imports(TRIAL, str(trial)) == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_package_imports_light_no_http_client_no_simulator(platform: str):
    """The DAG reads every contract when it is parsed: importing a platform's ``__init__`` loads
    neither an HTTP client, a simulator, nor pandas, DuckDB, GX or Airflow."""
    assert heavy_imports(platform) == []


def readme(platform: str) -> str:
    path = PROJECT_ROOT / "plugins" / "rapport" / "sources" / platform / "README.md"
    assert path.is_file(), f"{path} is missing"
    return path.read_text(encoding="utf-8")


def _normalized(text: str) -> str:
    return " ".join(text.replace("`", "").replace("*", "").lower().split())


def availability_rows(text: str) -> dict[str, list[str]]:
    """The rows of the README's availability table, keyed by their first cell (normalized): the
    table under the heading that says what the platform can and cannot see."""
    rows: dict[str, list[str]] = {}
    level = None
    for line in text.splitlines():
        heading = re.match(r"(#+)\s+(.*)", line)
        if heading:
            if level is not None and len(heading[1]) <= level:
                break
            if re.search(r"can and cannot see|cannot|availab", heading[2], re.IGNORECASE):
                level = len(heading[1])
            continue
        if level is not None and line.startswith("|") and not re.fullmatch(r"[|\s:-]+", line):
            cells = [_normalized(cell) for cell in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def availability_problems(contract: Platform, text: str) -> list[str]:
    """What the README's availability table lacks of the contract's measures: a row named as the
    measure, saying what the contract says (yes, partly, no)."""
    rows = availability_rows(text)
    if not rows:
        return ["no table under a 'What it can and cannot see' heading"]
    problems = []
    for measure in contract.availability:
        cells = rows.get(_normalized(measure.name))
        if cells is None:
            problems.append(f"no row {measure.name!r}")
        elif not any(cell.startswith(measure.seen) for cell in cells):
            problems.append(f"row {measure.name!r} does not say {measure.seen!r}")
    return problems


def blocks(text: str) -> list[str]:
    """The README's paragraphs, list items and table rows, each one block."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.lstrip().startswith("|"):
            found += paragraph.splitlines()
        else:
            found += re.split(r"\n(?=\s*[-*] |\s*\d+\. )", paragraph)
    return [_normalized_spaces(block) for block in found]


def _normalized_spaces(text: str) -> str:
    return " ".join(text.split())


def cost_problems(contract: Platform, text: str) -> list[str]:
    """The contract's cost figures the README does not state: each in bold (``**51**``,
    ``**52 calls**``) in a paragraph, list item or table row that names it (first run, nightly,
    nothing new)."""
    cost = contract.cost
    text_blocks = blocks(text)
    missing = []
    for label, figure in (
        ("first run", cost.first_run),
        ("nightly", cost.nightly),
        ("nothing new", cost.nothing_new),
    ):
        written = "|".join(re.escape(form) for form in {str(figure), f"{figure:,}"})
        bold = re.compile(rf"\*\*(?:{written})(?:\s+[a-z ]+)?\*\*", re.IGNORECASE)
        if not any(label in block.lower() and bold.search(block) for block in text_blocks):
            missing.append(f"no {label} **{figure}**")
    return missing


def credential_problems(contract: Platform, text: str) -> list[str]:
    """The variables and Airflow Connections of the contract's credentials the README does not name."""
    return [
        f"{where} not named"
        for credential in contract.credentials
        for where in (*credential.variables, *credential.connection_ids)
        if where not in text
    ]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_readme_has_the_availability_table_of_its_contract(platform: str):
    assert availability_problems(get_platform(platform), readme(platform)) == []


def test_every_platform_declares_the_same_measures_in_the_same_order_so_readers_can_compare():
    """A measure has one name on every platform (``rapport platforms`` and the READMEs line up);
    a platform may add measures of its own after the shared ones."""
    shared = [measure.name for measure in get_platform(FIRST_PLATFORMS[0]).availability]
    for name in PLATFORMS:
        assert [measure.name for measure in get_platform(name).availability][: len(shared)] == shared, name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_readme_states_the_three_cost_figures_of_its_contract(platform: str):
    assert cost_problems(get_platform(platform), readme(platform)) == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_readme_names_where_its_credentials_are_read(platform: str):
    assert credential_problems(get_platform(platform), readme(platform)) == []


TRIAL_README = """# The trial platform

## What it costs, per account per night

| run | requests |
|---|---|
| first run | **1** |
| nightly | **1 request** |

A night with nothing new costs **1**. The key is read from `RAPPORT_TRIAL_KEY`.

## What it can and cannot see

| measure | seen | how |
|---|---|---|
| followers | yes | its profile |
| `following` | no | never shown |
"""


def test_the_readme_checks_pass_a_readme_that_states_the_contract_and_name_what_another_lacks(trial: Path):
    contract = get_platform(TRIAL)
    assert availability_problems(contract, TRIAL_README) == []
    assert cost_problems(contract, TRIAL_README) == []
    assert credential_problems(contract, TRIAL_README) == []
    lacking = (
        TRIAL_README.replace("| first run | **1** |", "| first run | 1 |")
        .replace("| `following` | no |", "| `following` | partly |")
        .replace("| followers |", "| followers count |")
        .replace("`RAPPORT_TRIAL_KEY`", "the environment")
    )
    assert availability_problems(contract, lacking) == [
        "no row 'followers'",
        "row 'following' does not say 'no'",
    ]
    assert cost_problems(contract, lacking) == ["no first run **1**"]
    assert credential_problems(contract, lacking) == ["RAPPORT_TRIAL_KEY not named"]
    untitled = lacking.replace("## What it can and cannot see", "## Notes")
    assert availability_problems(contract, untitled) == [
        "no table under a 'What it can and cannot see' heading"
    ]


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory):
    from rapport.validation import BatchValidator

    return BatchValidator(tmp_path_factory.mktemp("gx"))


_BATCH_KEYS = {"account_snapshots": "snapshots", "posts": "posts", "interactions": "interactions"}


def unavailable_problems(contract: Platform, validator) -> list[str]:
    """The contract's unavailable columns that are no column of :mod:`rapport.records`, or in which
    the suites refuse NULL on the contract's platform."""
    problems = []
    for column in contract.unavailable:
        record_type, _, name = column.partition(".")
        columns = {c.name: c for c in getattr(RECORD_TYPES_BY_NAME.get(record_type), "columns", ())}
        if name not in columns:
            problems.append(f"{column} is not a column of rapport.records")
            continue
        if not columns[name].nullable:
            problems.append(f"{column} is not nullable in rapport.records (nor in the warehouse)")
            continue
        null = [{"platform": contract.name, name: None}]
        frames = batch_frames(**{_BATCH_KEYS.get(record_type, record_type): null})
        if any(str(f).startswith(f"{column}:") for f in validator.validate(frames, run_name="t")):
            problems.append(f"{column}: the suites refuse NULL in it")
    return problems


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platforms_unavailable_columns_are_record_columns_the_suites_let_be_null(
    platform: str, validator
):
    assert unavailable_problems(get_platform(platform), validator) == []


def test_the_unavailable_check_names_a_column_that_is_not_one_and_one_the_suites_require(validator):
    """A count the suites require on every row (``posts.like_count``: not nullable in
    ``rapport.records``, nor in ``raw.posts``) cannot be declared unavailable without changing them."""
    declared = {
        "posts.like_count": "hidden",
        "posts.views": "no such column",
        "posts.language": "nullable",
        # The suites were built from demo's own contract, which shows it: they still require it.
        "account_snapshots.followers_count": "hidden",
    }
    contract = dataclasses.replace(get_platform("demo"), unavailable=declared)
    assert unavailable_problems(contract, validator) == [
        "posts.like_count is not nullable in rapport.records (nor in the warehouse)",
        "posts.views is not a column of rapport.records",
        "account_snapshots.followers_count: the suites refuse NULL in it",
    ]
