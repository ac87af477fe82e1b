"""The Docker setup (Dockerfile, docker-compose.yml, .env.example, .dockerignore), checked offline.

No Docker engine runs where Rapport is developed, so these tests read the files and check what
can be checked without one: the compose file's structure, its mounts against the repository,
its versions against pyproject.toml, its variables against .env.example, and that no secret is
written into any of them.
"""

import fnmatch
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from rapport.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
PYPROJECT = REPO_ROOT / "pyproject.toml"

AIRFLOW_SERVICES = frozenset(
    {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
)
LONG_RUNNING_AIRFLOW_SERVICES = AIRFLOW_SERVICES - {"airflow-init"}
RAPPORT_FOLDERS = ("dags", "plugins", "sql", "config", "data")
LOCK_FILE = "requirements/constraints.txt"

# The only values a secret may hold in these files: empty, or a placeholder to change in .env.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "change-me-to-a-long-random-string"})
# The metadata DB's credential, as in the official compose file: Postgres is reachable only
# inside the compose network, and docs/docker.md says so.
LOCAL_POSTGRES_CREDENTIAL = "airflow"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|API_KEY|PRIVATE_KEY", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s]+:[^@\s]*@[^\s]+", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<operator>:?[-?+])?(?P<word>[^}]*)\}")
WHOLE_INTERPOLATION = re.compile(rf"^{INTERPOLATION.pattern}$")


# --- readers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = compose["services"]
    return by_name


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return read_dockerfile(DOCKERFILE)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a dotenv file the way docker compose does for simple KEY=value lines."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, separator, value = stripped.partition("=")
        assert separator, f"{path.name}: not a KEY=value line: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def read_dockerfile(path: Path) -> list[tuple[str, str]]:
    """Return the Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def copy_sources(dockerfile: list[tuple[str, str]]) -> list[str]:
    sources: list[str] = []
    for keyword, arguments in dockerfile:
        if keyword in {"COPY", "ADD"}:
            words = [word for word in arguments.split() if not word.startswith("--")]
            sources.extend(words[:-1])
    return sources


def strings_in(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML document, mapping keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings_in(key)
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)


def mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The service's volumes as (source, target, mode); mode is "rw" unless stated."""
    parsed = []
    for volume in service.get("volumes", []):
        assert isinstance(volume, str), f"use the short volume syntax: {volume!r}"
        source, target, *options = volume.split(":")
        parsed.append((source, target, options[0] if options else "rw"))
    return parsed


def is_host_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def init_script(services: dict[str, dict[str, Any]]) -> str:
    command = services["airflow-init"]["command"]
    return command if isinstance(command, str) else "\n".join(command)


def possible_values(raw: str, env_example: dict[str, str]) -> list[str]:
    """What a compose value can become: its literal, or its default and its .env.example value."""
    match = WHOLE_INTERPOLATION.match(raw)
    if not match:
        return [raw]
    values = []
    if match["operator"] in {"-", ":-"}:
        values.append(match["word"])
    if match["name"] in env_example:
        values.append(env_example[match["name"]])
    return values


def container_to_host(path: PurePosixPath, service: dict[str, Any]) -> tuple[Path, str] | None:
    """The host path and mount mode behind a container path, or None when no bind mount holds it."""
    for source, target, mode in mounts(service):
        if is_host_path(source) and path.is_relative_to(target):
            return REPO_ROOT / source / path.relative_to(target), mode
    return None


def settings_defaults() -> dict[str, str]:
    """The defaults of ``rapport.settings.Settings``, as {variable: default as written in the environment}."""
    from pydantic_core import PydanticUndefined

    from rapport.settings import Settings

    defaults = {}
    for field in Settings.model_fields.values():
        if field.default is PydanticUndefined or field.default is None:
            continue
        default = field.default
        defaults[str(field.validation_alias)] = (
            str(default).lower() if isinstance(default, bool) else str(default)
        )
    return defaults


# --- what runs -------------------------------------------------------------------------------


def test_compose_file_parses_into_services_and_volumes(compose: dict[str, Any]) -> None:
    assert isinstance(compose.get("services"), dict)
    assert isinstance(compose.get("volumes"), dict)


def test_compose_runs_postgres_and_the_airflow_3_components_without_celery_or_redis(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == AIRFLOW_SERVICES | {"postgres"}


def test_postgres_is_version_16_with_a_persistent_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    named_volumes = [source for source, _, _ in mounts(postgres) if not is_host_path(source)]
    assert named_volumes and all(name in compose["volumes"] for name in named_volumes)


@pytest.mark.parametrize("service_name", sorted(AIRFLOW_SERVICES))
def test_every_airflow_service_runs_the_image_built_from_the_dockerfile(
    services: dict[str, dict[str, Any]], pyproject: dict[str, Any], service_name: str
) -> None:
    service = services[service_name]
    build = service["build"]
    context = (REPO_ROOT / build["context"]).resolve()
    assert context == REPO_ROOT
    assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
    assert service["image"] == f"rapport-airflow:{pyproject['project']['version']}"


def test_dockerfile_base_image_matches_the_airflow_pin_and_python_of_pyproject(
    dockerfile: list[tuple[str, str]], pyproject: dict[str, Any]
) -> None:
    bases = [arguments for keyword, arguments in dockerfile if keyword == "FROM"]
    assert len(bases) == 1
    match = re.fullmatch(r"apache/airflow:(?P<airflow>\d+\.\d+\.\d+)-python(?P<python>\d+\.\d+)", bases[0])
    assert match, f"unexpected base image {bases[0]!r}"
    airflow_pins = [pin for pin in pyproject["project"]["dependencies"] if pin.startswith("apache-airflow==")]
    assert airflow_pins == [f"apache-airflow=={match['airflow']}"]
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains(match["python"])


def test_dockerfile_installs_the_project_as_the_airflow_user_against_the_lock_file(
    dockerfile: list[tuple[str, str]],
) -> None:
    user = "root"
    installs = []
    for keyword, arguments in dockerfile:
        if keyword == "USER":
            user = arguments.split(":")[0]
        elif keyword == "RUN" and "pip install" in arguments:
            installs.append((user, arguments))
    assert len(installs) == 1
    user, command = installs[0]
    assert user == "airflow", "the official image must not pip install as root"
    words = command.split()
    assert words[words.index("-c") + 1] == LOCK_FILE
    assert words[-1] == "."
    assert "--no-cache-dir" in words
    assert LOCK_FILE in copy_sources(dockerfile)


def test_dockerfile_copies_what_the_project_build_reads(
    dockerfile: list[tuple[str, str]], pyproject: dict[str, Any]
) -> None:
    sources = [source.rstrip("/") for source in copy_sources(dockerfile)]
    assert "pyproject.toml" in sources
    for package_root in pyproject["tool"]["setuptools"]["packages"]["find"]["where"]:
        assert package_root in sources
        assert (REPO_ROOT / package_root).is_dir()
    readme = pyproject["project"]["readme"]
    assert any(fnmatch.fnmatchcase(readme, source) for source in sources)


def test_dockerignore_keeps_what_the_dockerfile_copies_and_drops_local_state(
    dockerfile: list[tuple[str, str]],
) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        result = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            body = pattern.lstrip("!").rstrip("/")
            bodies = [body, body[3:]] if body.startswith("**/") else [body]
            if any(fnmatch.fnmatchcase(candidate, b) for candidate in candidates for b in bodies):
                result = not negated
        return result

    for source in copy_sources(dockerfile):
        concrete = re.sub(r"\[(.)\]", r"\1", source.rstrip("/"))
        assert not ignored(concrete), f".dockerignore drops {source}, which the Dockerfile copies"
    for local_state in (
        ".venv",
        ".git",
        ".env",
        "data",
        ".airflow",
        "sql/target",
        "plugins/rapport.egg-info",
    ):
        assert ignored(local_state), f"{local_state} must not be sent to the Docker build"


def test_dockerfile_declares_no_secret(dockerfile: list[tuple[str, str]]) -> None:
    for keyword, arguments in dockerfile:
        if keyword in {"ARG", "ENV", "LABEL"}:
            assert not SECRET_NAME.search(arguments), f"secret in the image: {keyword} {arguments}"


# --- how Airflow is configured ---------------------------------------------------------------


@pytest.mark.parametrize("service_name", sorted(AIRFLOW_SERVICES))
def test_airflow_uses_the_local_executor_and_the_postgres_service_as_metadata_db(
    services: dict[str, dict[str, Any]], service_name: str
) -> None:
    environment = services[service_name]["environment"]
    postgres = services["postgres"]["environment"]
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    url = urlsplit(environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert url.scheme.startswith("postgresql")
    assert url.hostname == "postgres"
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]
    assert services[service_name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_nothing_in_compose_mentions_celery_or_redis(compose: dict[str, Any]) -> None:
    mentions = [text for text in strings_in(compose) if re.search("celery|redis", text, re.IGNORECASE)]
    assert mentions == []


@pytest.mark.parametrize("service_name", sorted(AIRFLOW_SERVICES))
def test_airflow_hides_the_examples_and_pauses_new_dags(
    services: dict[str, dict[str, Any]], service_name: str
) -> None:
    environment = services[service_name]["environment"]
    assert environment["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert environment["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == "true"


def test_tasks_reach_the_execution_api_through_the_published_apiserver(
    services: dict[str, dict[str, Any]],
) -> None:
    apiserver = services["airflow-apiserver"]
    assert apiserver["command"] == "api-server"
    assert "8080:8080" in apiserver["ports"]
    for name in AIRFLOW_SERVICES:
        url = urlsplit(services[name]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (url.hostname, url.port, url.path) == ("airflow-apiserver", 8080, "/execution/")


def test_all_airflow_containers_sign_task_tokens_with_one_shared_jwt_secret(
    services: dict[str, dict[str, Any]],
) -> None:
    secrets = {
        services[name]["environment"].get("AIRFLOW__API_AUTH__JWT_SECRET") for name in AIRFLOW_SERVICES
    }
    assert len(secrets) == 1
    assert None not in secrets


def test_airflow_init_migrates_the_db_and_creates_the_admin_user_from_env(
    services: dict[str, dict[str, Any]],
) -> None:
    init = services["airflow-init"]
    environment = init["environment"]
    assert environment["_AIRFLOW_DB_MIGRATE"] == "true"
    assert environment["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert WHOLE_INTERPOLATION.match(environment["_AIRFLOW_WWW_USER_USERNAME"])
    assert WHOLE_INTERPOLATION.match(environment["_AIRFLOW_WWW_USER_PASSWORD"])
    # The image entrypoint runs the migration and user creation before the command it is given.
    assert re.search(r"^\s*/entrypoint (airflow |bash -c )", init_script(services), re.MULTILINE)


def test_airflow_init_imports_the_project_pools_with_a_single_writer_slot(
    services: dict[str, dict[str, Any]],
) -> None:
    # The pools are derived from the platform folders, by the rapport command installed in the image.
    written = re.findall(r"rapport pools --output (\S+)", init_script(services))
    imported = re.findall(r"airflow pools import (\S+?)'?$", init_script(services), re.MULTILINE)
    assert written == imported == ["/tmp/rapport_pools.json"]
    from rapport.pipeline import airflow_pools
    from rapport.sources import platforms

    pools = airflow_pools()
    assert pools["rapport_warehouse"]["slots"] == 1
    assert {contract.pool for contract in platforms()} | {"rapport_warehouse"} == set(pools)


def test_long_running_services_have_healthchecks_and_wait_for_airflow_init(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["postgres"]["healthcheck"]["test"]
    for name in LONG_RUNNING_AIRFLOW_SERVICES:
        service = services[name]
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
        assert service["restart"] == "always"
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_scheduler_waits_for_a_healthy_apiserver_because_it_runs_the_tasks(
    services: dict[str, dict[str, Any]],
) -> None:
    depends_on = services["airflow-scheduler"]["depends_on"]
    assert depends_on["airflow-apiserver"]["condition"] == "service_healthy"


# --- what is mounted -------------------------------------------------------------------------


@pytest.mark.parametrize("service_name", sorted(AIRFLOW_SERVICES))
def test_airflow_services_mount_the_rapport_folders_under_opt_airflow(
    services: dict[str, dict[str, Any]], service_name: str
) -> None:
    mounted = {(source, target) for source, target, _ in mounts(services[service_name])}
    for folder in RAPPORT_FOLDERS:
        assert (f"./{folder}", f"/opt/airflow/{folder}") in mounted


@pytest.mark.parametrize("service_name", sorted(LONG_RUNNING_AIRFLOW_SERVICES))
def test_airflow_services_write_to_data_only_and_read_the_sources_read_only(
    services: dict[str, dict[str, Any]], service_name: str
) -> None:
    writable = {
        source for source, _, mode in mounts(services[service_name]) if is_host_path(source) and mode != "ro"
    }
    assert writable == {"./data"}


def test_every_mounted_host_path_exists_in_the_repository_or_is_made_by_airflow_init(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    made_by_init = {
        word for line in re.findall(r"mkdir -p ([^\n]+)", init_script(services)) for word in line.split()
    }
    for name, service in services.items():
        for source, target, _ in mounts(service):
            if not is_host_path(source):
                assert source in compose["volumes"], f"{name}: undeclared named volume {source}"
                continue
            assert source.startswith("./"), f"{name}: {source} must be relative to the repository"
            host = (REPO_ROOT / source).resolve()
            assert host.is_relative_to(REPO_ROOT)
            assert host.exists() or target in made_by_init, f"{name}: {source} does not exist"


def test_rapport_paths_inside_the_containers_resolve_into_the_mounted_folders(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = services["airflow-scheduler"]
    for key in [key for key in os.environ if key.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    for key, value in scheduler["environment"].items():
        if key.startswith("RAPPORT_") and not INTERPOLATION.search(value):
            monkeypatch.setenv(key, value)
    settings = get_settings()
    assert settings.home == Path("/opt/airflow")

    # What rapport reads comes from the repository, mounted.
    accounts = container_to_host(PurePosixPath(settings.accounts_file), scheduler)
    assert accounts is not None and accounts[0].is_file(), "the accounts file is not mounted"
    dbt_project = container_to_host(PurePosixPath(settings.dbt_project_dir), scheduler)
    assert dbt_project is not None and dbt_project[0].resolve() == REPO_ROOT / "sql"
    # What it writes lands on a writable host folder, the warehouse in ./data.
    written = [
        settings.data_dir,
        settings.landing_dir,
        settings.staging_dir,
        settings.quarantine_dir,
        settings.warehouse,
        settings.gx_docs_dir,
    ]
    for path in written:
        host = container_to_host(PurePosixPath(path), scheduler)
        assert host is not None, f"{path} is not in a mounted folder"
        assert host[1] == "rw", f"{path} is in a read-only mount"
    warehouse = container_to_host(PurePosixPath(settings.warehouse), scheduler)
    assert warehouse is not None
    assert warehouse[0].resolve() == REPO_ROOT / "data" / "warehouse.duckdb"


def test_rapport_path_variables_in_compose_are_ones_that_settings_reads(
    services: dict[str, dict[str, Any]],
) -> None:
    settings_source = (REPO_ROOT / "plugins" / "rapport" / "settings.py").read_text(encoding="utf-8")
    known = set(re.findall(r"\"(RAPPORT_[A-Z_]+)\"", settings_source))
    environment = services["airflow-scheduler"]["environment"]
    path_variables = {
        key for key, value in environment.items() if key.startswith("RAPPORT_") and "/" in value
    }
    assert path_variables
    assert path_variables <= known


# --- variables and secrets -------------------------------------------------------------------


def test_compose_defaults_for_the_dag_settings_equal_the_dag_defaults(
    services: dict[str, dict[str, Any]],
) -> None:
    dag_defaults = settings_defaults()
    compared = set()
    for key, raw in services["airflow-scheduler"]["environment"].items():
        match = WHOLE_INTERPOLATION.match(str(raw))
        if match and match["name"] in dag_defaults:
            assert match["word"] == dag_defaults[match["name"]], key
            compared.add(match["name"])
    assert {"RAPPORT_SCHEDULE", "RAPPORT_TIMEZONE"} <= compared


def test_every_compose_variable_has_a_default_or_is_listed_in_env_example(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    for text in strings_in(compose):
        unescaped = text.replace("$$", "")
        bare = re.findall(r"\$(?!\{)\S*", unescaped)
        assert not bare, f"write ${{VAR}} for compose or $$ for the shell: {bare}"
        for match in INTERPOLATION.finditer(unescaped):
            has_default = match["operator"] in {"-", ":-"}
            assert has_default or match["name"] in env_example, f"${{{match['name']}}} has no value"


def test_compose_defaults_equal_the_values_in_env_example(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    checked = 0
    for text in strings_in(compose):
        for match in INTERPOLATION.finditer(text.replace("$$", "")):
            if match["name"] in env_example and match["operator"] in {"-", ":-"}:
                assert match["word"] == env_example[match["name"]], match["name"]
                checked += 1
    assert checked >= len({"AIRFLOW_UID", "RAPPORT_SCHEDULE", "RAPPORT_TIMEZONE"})


def test_env_example_holds_only_placeholder_secrets_and_the_documented_defaults(
    env_example: dict[str, str],
) -> None:
    assert env_example["AIRFLOW_UID"] == "50000"
    assert env_example["_AIRFLOW_WWW_USER_USERNAME"] == "admin"
    assert {"RAPPORT_SCHEDULE", "RAPPORT_TIMEZONE"} <= set(env_example)
    secrets = {key: value for key, value in env_example.items() if SECRET_NAME.search(key)}
    assert "_AIRFLOW_WWW_USER_PASSWORD" in secrets
    for key, value in secrets.items():
        assert value in PLACEHOLDER_SECRETS, f".env.example: {key} is not a placeholder"


def test_no_literal_password_appears_in_compose_beyond_the_documented_placeholders(
    services: dict[str, dict[str, Any]], compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    checked = 0
    for name, service in services.items():
        for key, raw in service.get("environment", {}).items():
            if not SECRET_NAME.search(key):
                continue
            allowed = {LOCAL_POSTGRES_CREDENTIAL} if key == "POSTGRES_PASSWORD" else PLACEHOLDER_SECRETS
            for value in possible_values(str(raw), env_example):
                assert value in allowed, f"{name}: {key} holds a literal secret"
                checked += 1
    for text in strings_in(compose):
        for match in URL_WITH_PASSWORD.finditer(text):
            url = urlsplit(match.group())
            allowed = {LOCAL_POSTGRES_CREDENTIAL} if url.hostname == "postgres" else PLACEHOLDER_SECRETS
            assert url.password in allowed, f"a URL carries a literal password: {url.hostname}"
            checked += 1
    assert checked > 0


def test_env_file_never_reaches_git_or_the_image() -> None:
    gitignore = (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    dockerignore = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    assert ".env" in gitignore
    assert ".env" in dockerignore
