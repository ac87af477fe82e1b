"""The figures a reviewer asks of the scores: test-retest, stability, internal consistency, sensitivity.

``compute_figures`` reads ``marts.fct_relationship_scores`` of a warehouse and
returns, per indicator (the five and overall):

- **test-retest**: Pearson's r of score(w) against score(w + 1) over the pairs
  of consecutive ISO weeks of one account where both are scored, pooled over
  the accounts;
- **stability**: over the same pairs, the standard deviation of the
  week-on-week change score(w + 1) − score(w), and the number of drops of more
  than ``DROP_POINTS`` points;
- **internal consistency**: Cronbach's alpha of the indicator's components over
  the account-weeks where every one of them is defined. The components are read
  from the model's YAML (:func:`discover_components`), on the 0-1 scale they
  enter the indicator with;
- **sensitivity** (optional, it reruns dbt): for each numeric var of
  ``dbt_project.yml`` that a model reads, the scoring is rerun at −20 % and
  +20 % on a copy of the warehouse (:func:`perturbed_values`), and compared
  with a rerun at the project's values: the mean absolute change of each
  score, and, for the ranking of the accounts by their mean overall score over
  the last ``RANKING_WEEKS`` weeks, Spearman's rank correlation and the largest
  rank shift.

The user's warehouse is only read: the reruns work on a copy in a temporary
folder, made while a read-only connection keeps every writer out.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from rapport.errors import ConfigurationError, RapportError
from rapport.settings import Settings

INDICATORS: Final = ("trust", "openness", "involvement", "investment", "commitment", "overall")
SCORES_MODEL: Final = "fct_relationship_scores"
SCORES_TABLE: Final = f"marts.{SCORES_MODEL}"

DROP_POINTS: Final = 15.0
"""A week-on-week drop larger than this is counted (the report's default drop alert)."""
PERTURBATION: Final = 0.2
"""Each var is moved by this share of its value, down and up."""
RANKING_WEEKS: Final = 12
"""Accounts are ranked by their mean overall score over this many latest weeks (the report's average)."""
MIN_ROWS_FOR_ALPHA: Final = 10
"""Fewer complete account-weeks than this: no alpha (two variances from a handful of rows say little)."""


class FiguresError(RapportError, RuntimeError):
    """The warehouse cannot give the figures: missing, locked, or without scores; the message names it."""


# --------------------------------------------------------------------------- statistics


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation of two equally long series; ``None`` under 2 pairs or without variance."""
    if len(xs) != len(ys):
        raise ValueError(f"series of different lengths: {len(xs)} and {len(ys)}")
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    spread_x = sum((x - mean_x) ** 2 for x in xs)
    spread_y = sum((y - mean_y) ** 2 for y in ys)
    if spread_x == 0 or spread_y == 0:
        return None
    return covariance / math.sqrt(spread_x * spread_y)


def sample_variance(values: Sequence[float]) -> float:
    """The unbiased variance (n − 1); 0 under 2 values."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return sum((value - mean) ** 2 for value in values) / (n - 1)


def cronbach_alpha(rows: Sequence[Sequence[float]]) -> float | None:
    """Cronbach's alpha of the items (columns) over ``rows``: k/(k−1) · (1 − Σ var(itemᵢ) / var(Σ items)).

    ``None`` with fewer than 2 items, fewer than 2 rows, or totals without variance.
    """
    if len(rows) < 2 or len(rows[0]) < 2:
        return None
    items = len(rows[0])
    total_variance = sample_variance([sum(row) for row in rows])
    if total_variance == 0:
        return None
    item_variances = sum(sample_variance([row[item] for row in rows]) for item in range(items))
    return items / (items - 1) * (1 - item_variances / total_variance)


def average_ranks(values: Sequence[float]) -> list[float]:
    """The rank of each value, 1 for the smallest, ties sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation: Pearson's r of the average ranks (ties handled)."""
    return pearson(average_ranks(xs), average_ranks(ys))


# --------------------------------------------------------------------------- the model's YAML


@dataclass(frozen=True)
class Component:
    """One component column of an indicator, and how it enters the indicator on 0-1."""

    column: str
    inverted: bool = False  # enters as 1 − value ("1 - burst_penalty")
    capped: bool = False  # enters as min(value, 1) ("min(effort_ratio, 1)")
    percent: bool = False  # a 0-100 column (``*_score``), divided by 100

    def level(self, value: float) -> float:
        """The component's value on the 0-1 scale it is weighed on."""
        level = value / 100 if self.percent else value
        level = min(level, 1.0) if self.capped else level
        return 1 - level if self.inverted else level

    def label(self) -> str:
        text = f"min({self.column}, 1)" if self.capped else self.column
        return f"1 - {text}" if self.inverted else text


def model_yaml(project_dir: Path, model: str = SCORES_MODEL) -> dict[str, Any]:
    """The YAML entry of ``model`` under ``models/``; raise ``ConfigurationError`` when there is none."""
    import yaml

    for path in sorted((project_dir / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in document.get("models") or []:
            if isinstance(entry, dict) and entry.get("name") == model:
                return entry
    raise ConfigurationError(f"{project_dir / 'models'}: no YAML describes the model {model}")


def project_vars(project_dir: Path) -> dict[str, Any]:
    """The ``vars:`` of ``dbt_project.yml``."""
    import yaml

    path = project_dir / "dbt_project.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    variables = document.get("vars") or {}
    if not isinstance(variables, dict):
        raise ConfigurationError(f"{path}: vars is not a mapping")
    return variables


_CAPPED = re.compile(r"\bmin\(\s*(\w+)\s*,\s*1(?:\.0)?\s*\)")
_INVERTED = re.compile(r"\b1\s*-\s*(\w+)")
_PARENTHESES = re.compile(r"\([^()]*\)")
_WORD = re.compile(r"\b[a-z][a-z0-9_]*\b")


def discover_components(model: Mapping[str, Any], variables: Mapping[str, Any]) -> dict[str, list[Component]]:
    """Each indicator's components, read from the model's YAML.

    In this order of preference:

    1. columns whose ``meta`` says ``component_of: <indicator>`` (or a list of
       indicators), with optional ``meta.inverted`` / ``meta.capped``;
    2. the columns named in the first sentence of ``<indicator>_score``'s
       description ("Weighted mean of a, min(b, 1) and 1 - c."), text in
       parentheses (conditions) left out;
    3. for an indicator whose description names no column (overall: "the
       indicators"), ``<name>_score`` for each var ``<indicator>_weight_<name>``.

    ``*_score`` columns are on 0-100 and divided by 100.
    """
    columns = {str(column["name"]): column for column in model.get("columns") or []}
    by_meta: dict[str, list[Component]] = {}
    for name, column in columns.items():
        meta = column.get("meta") or (column.get("config") or {}).get("meta") or {}
        owners = meta.get("component_of")
        for owner in [owners] if isinstance(owners, str) else owners or []:
            by_meta.setdefault(str(owner), []).append(
                Component(
                    name,
                    inverted=bool(meta.get("inverted")),
                    capped=bool(meta.get("capped")),
                    percent=name.endswith("_score"),
                )
            )
    if by_meta:
        return {indicator: by_meta.get(indicator, []) for indicator in INDICATORS}

    components: dict[str, list[Component]] = {}
    for indicator in INDICATORS:
        description = str((columns.get(f"{indicator}_score") or {}).get("description") or "")
        found = _components_described(description, columns)
        if not found:
            prefix = f"{indicator}_weight_"
            found = [
                Component(f"{name[len(prefix) :]}_score", percent=True)
                for name in variables
                if name.startswith(prefix) and f"{name[len(prefix) :]}_score" in columns
            ]
        components[indicator] = found
    return components


def _components_described(description: str, columns: Mapping[str, Any]) -> list[Component]:
    text = " ".join(description.split())
    capped = set(_CAPPED.findall(text))
    text = _CAPPED.sub(r"\1", text)
    text = _PARENTHESES.sub(" ", text)
    first_sentence = re.split(r"\.(?:\s|$)", text, maxsplit=1)[0]
    inverted = set(_INVERTED.findall(first_sentence))
    found: list[Component] = []
    for word in _WORD.findall(first_sentence):
        if word in columns and word not in {component.column for component in found}:
            found.append(
                Component(
                    word, inverted=word in inverted, capped=word in capped, percent=word.endswith("_score")
                )
            )
    return found


# --------------------------------------------------------------------------- reading the warehouse

Row = dict[str, Any]


def copy_warehouse(warehouse: Path, target: Path) -> None:
    """Copy ``warehouse`` (and a write-ahead log beside it) to ``target`` while a read-only connection
    keeps every writer out; raise ``FiguresError`` naming the file when it is missing or locked."""
    connection = _open(warehouse)
    try:
        shutil.copyfile(warehouse, target)
        log = Path(f"{warehouse}.wal")
        if log.exists():
            shutil.copyfile(log, Path(f"{target}.wal"))
    finally:
        connection.close()


def _open(warehouse: Path) -> Any:
    import duckdb

    from rapport.load import connect

    if not warehouse.is_file():
        raise FiguresError(
            f"{warehouse}: no warehouse there (run the pipeline first, or name one with --warehouse)"
        )
    try:
        return connect(warehouse, read_only=True)
    except duckdb.Error as error:  # a lock held by a writer: connect's message names the file
        message = str(error)
        raise FiguresError(
            message if message.startswith(str(warehouse)) else f"{warehouse}: {message}"
        ) from None


def read_scores(warehouse: Path, columns: Iterable[str]) -> list[Row]:
    """The rows of ``marts.fct_relationship_scores`` with ``account_id``, ``week_start_date`` and those
    of ``columns`` the table has, by account and week; raise ``FiguresError`` naming the file when the
    table is missing."""
    import duckdb

    connection = _open(warehouse)
    try:
        present = {
            str(name)
            for (name,) in connection.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ?",
                [SCORES_MODEL],
            ).fetchall()
        }
        if not present:
            raise FiguresError(f"{warehouse}: no {SCORES_TABLE} (the marts were never built: run dbt)")
        wanted = ["account_id", "week_start_date", *dict.fromkeys(c for c in columns if c in present)]
        cursor = connection.execute(
            f"select {', '.join(_quoted(c) for c in wanted)} from {SCORES_TABLE} "
            "order by account_id, week_start_date"
        )
        return [dict(zip(wanted, values, strict=True)) for values in cursor.fetchall()]
    except duckdb.Error as error:
        raise FiguresError(f"{warehouse}: cannot read {SCORES_TABLE}: {error}") from None
    finally:
        connection.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _score(row: Mapping[str, Any], indicator: str) -> float | None:
    value = row.get(f"{indicator}_score")
    return None if value is None else float(value)


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Retest:
    """Test-retest and stability of one indicator over consecutive account-weeks."""

    indicator: str
    pairs: int
    correlation: float | None
    change_sd: float | None
    drops: int


@dataclass(frozen=True)
class Consistency:
    """Cronbach's alpha of one indicator's components; ``reason`` says why there is none."""

    indicator: str
    components: list[str]
    rows: int
    alpha: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Perturbation:
    """The scores rerun with one var moved: how far each score and the ranking moved."""

    var: str
    default: float
    value: float
    mean_absolute_change: dict[str, float | None]
    spearman: float | None
    largest_rank_shift: float | None
    accounts_ranked: int


@dataclass
class Figures:
    """Every figure of one warehouse."""

    warehouse: str
    accounts: int
    account_weeks: int
    first_week: str | None
    last_week: str | None
    retest: list[Retest]
    consistency: list[Consistency]
    sensitivity: list[Perturbation] = field(default_factory=list)
    sensitivity_skipped: dict[str, str] = field(default_factory=dict)
    sensitivity_seconds: float | None = None
    dbt_runs: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def consecutive_pairs(rows: Sequence[Row], indicator: str) -> list[tuple[float, float]]:
    """(score(w), score(w + 1)) for each account's consecutive ISO weeks where both are scored."""
    pairs: list[tuple[float, float]] = []
    previous: Row | None = None
    for row in rows:
        if (
            previous is not None
            and previous["account_id"] == row["account_id"]
            and row["week_start_date"] - previous["week_start_date"] == timedelta(days=7)
        ):
            before, after = _score(previous, indicator), _score(row, indicator)
            if before is not None and after is not None:
                pairs.append((before, after))
        previous = row
    return pairs


def retest_of(rows: Sequence[Row], indicator: str) -> Retest:
    """Test-retest (Pearson's r of consecutive weeks) and stability (sd of the change, drops)."""
    pairs = consecutive_pairs(rows, indicator)
    changes = [after - before for before, after in pairs]
    return Retest(
        indicator,
        pairs=len(pairs),
        correlation=pearson([before for before, _ in pairs], [after for _, after in pairs]),
        change_sd=math.sqrt(sample_variance(changes)) if len(changes) >= 2 else None,
        drops=sum(1 for change in changes if -change > DROP_POINTS),
    )


def consistency_of(rows: Sequence[Row], indicator: str, components: Sequence[Component]) -> Consistency:
    """Cronbach's alpha of ``components`` over the rows where all are defined, or the reason for none."""
    labels = [component.label() for component in components]
    if len(components) < 2:
        return Consistency(
            indicator, labels, 0, None, f"{len(components)} component(s): alpha needs 2 or more"
        )
    missing = [
        component.column for component in components if component.column not in (rows[0] if rows else {})
    ]
    if missing:
        return Consistency(indicator, labels, 0, None, f"not in the warehouse: {', '.join(missing)}")
    complete = [
        [component.level(float(row[component.column])) for component in components]
        for row in rows
        if all(row[component.column] is not None for component in components)
    ]
    if len(complete) < MIN_ROWS_FOR_ALPHA:
        return Consistency(
            indicator,
            labels,
            len(complete),
            None,
            f"{len(complete)} complete rows, fewer than {MIN_ROWS_FOR_ALPHA}",
        )
    alpha = cronbach_alpha(complete)
    return Consistency(indicator, labels, len(complete), alpha, None if alpha is not None else "no variance")


def ranking_means(rows: Sequence[Row], weeks: int = RANKING_WEEKS) -> dict[str, float]:
    """Each account's mean overall score over the warehouse's latest ``weeks`` weeks (scored weeks only)."""
    if not rows:
        return {}
    latest: date = max(row["week_start_date"] for row in rows)
    since = latest - timedelta(weeks=weeks - 1)
    values: dict[str, list[float]] = {}
    for row in rows:
        overall = _score(row, "overall")
        if row["week_start_date"] >= since and overall is not None:
            values.setdefault(row["account_id"], []).append(overall)
    return {account: sum(scores) / len(scores) for account, scores in values.items()}


def compare_runs(
    baseline: Sequence[Row], perturbed: Sequence[Row]
) -> tuple[dict[str, float | None], float | None, float | None, int]:
    """Per indicator the mean absolute change of the scores over the account-weeks scored in both runs;
    then Spearman's rho of the two rankings, the largest rank shift, and the number of accounts ranked."""
    after = {(row["account_id"], row["week_start_date"]): row for row in perturbed}
    changes: dict[str, float | None] = {}
    for indicator in INDICATORS:
        differences = []
        for row in baseline:
            other = after.get((row["account_id"], row["week_start_date"]))
            before, now = _score(row, indicator), _score(other or {}, indicator)
            if before is not None and now is not None:
                differences.append(abs(now - before))
        changes[indicator] = sum(differences) / len(differences) if differences else None
    base_means, new_means = ranking_means(baseline), ranking_means(perturbed)
    accounts = sorted(set(base_means) & set(new_means))
    # Rank 1 = the best: ranks of the negated means.
    base_ranks = average_ranks([-base_means[account] for account in accounts])
    new_ranks = average_ranks([-new_means[account] for account in accounts])
    rho = spearman(base_ranks, new_ranks) if len(accounts) >= 2 else None
    shift = max((abs(a - b) for a, b in zip(base_ranks, new_ranks, strict=True)), default=None)
    return changes, rho, shift, len(accounts)


# --------------------------------------------------------------------------- sensitivity


def numeric_vars(variables: Mapping[str, Any]) -> dict[str, float]:
    """The vars that are numbers (not booleans, lists or text)."""
    return {
        name: value
        for name, value in variables.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def perturbed_values(value: float, share: float = PERTURBATION) -> list[float]:
    """The values a var is rerun at: ``value`` × (1 − share) and × (1 + share).

    An integer var (a count of days, weeks, hours, actions, questions) stays an
    integer: the product is rounded, moved at least 1 away from ``value`` (2
    days −20 % would round back to 2), and kept at 1 or more (0 days of
    presence, 0 weeks of window, 0 expected actions divide by zero or mean
    nothing). A value equal to the default after that is dropped (1 −20 %).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return [round(value * (1 - share), 10), round(value * (1 + share), 10)]
    down = min(round(value * (1 - share)), value - 1)
    up = max(round(value * (1 + share)), value + 1)
    return [candidate for candidate in (max(down, 1), up) if candidate != value]


_VAR_CALL = re.compile(r"""\bvar\(\s*['"](\w+)['"]""")
_MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(")


def models_reading_vars(project_dir: Path) -> dict[str, set[str]]:
    """Each var's readers: the models that call ``var('name')``, directly or through a macro.

    A call whose name is not a literal (the configuration hash's ``var(name)``
    loop over every var) names no var here: it reads them all, as bookkeeping.
    """
    macros_reading: dict[str, set[str]] = {}
    for path in sorted((project_dir / "macros").rglob("*.sql")):
        text = path.read_text(encoding="utf-8")
        macro_vars = set(_VAR_CALL.findall(text))
        for macro in _MACRO.findall(text) if macro_vars else ():
            macros_reading.setdefault(macro, set()).update(macro_vars)
    readers: dict[str, set[str]] = {}
    for path in sorted((project_dir / "models").rglob("*.sql")):
        text = path.read_text(encoding="utf-8")
        names = set(_VAR_CALL.findall(text))
        for macro, read in macros_reading.items():
            if re.search(rf"\b{macro}\s*\(", text):
                names |= read
        for name in names:
            readers.setdefault(name, set()).add(path.stem)
    return readers


def run_sensitivity(
    settings: Settings,
    warehouse: Path,
    baseline_rows_columns: Sequence[str],
    var_names: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Perturbation], dict[str, str], float, int]:
    """Rerun the scoring on a copy of ``warehouse`` for each var at −20 % and +20 %.

    One ``dbt run --full-refresh`` per perturbation, of the models that read the
    var and their children, with only that var changed (``--vars``), on a fresh
    copy of a baseline: the same models rerun once at the project's values, so
    that only the var differs. Returns the perturbations, the vars skipped with
    the reason, the seconds spent and the number of dbt runs. Raises
    ``ConfigurationError`` for a var name ``var_names`` gives that is not a
    numeric var of the project, ``TransformError`` when dbt fails.
    """
    from rapport.transform import run_dbt

    started = time.monotonic()
    numbers = numeric_vars(project_vars(settings.dbt_project_dir))
    readers = models_reading_vars(settings.dbt_project_dir)
    skipped: dict[str, str] = {}
    if var_names:
        unknown = [name for name in var_names if name not in numbers]
        if unknown:
            raise ConfigurationError(
                f"--vars: {', '.join(unknown)}: not a numeric var of "
                f"{settings.dbt_project_dir / 'dbt_project.yml'} (numeric vars: {', '.join(numbers)})"
            )
        chosen = {name: numbers[name] for name in var_names}
    else:
        chosen = numbers
    plans: dict[str, tuple[list[str], list[float]]] = {}
    for name, default in chosen.items():
        models = sorted(readers.get(name, ()))
        values = perturbed_values(default)
        if not models:
            skipped[name] = "read by no model"
        elif not values:
            skipped[name] = f"{default} cannot move: integers stay at 1 or more"
        else:
            plans[name] = ([f"{model}+" for model in models], values)
    runs = 0
    perturbations: list[Perturbation] = []
    if plans:
        _require_raw_tables(warehouse)
        with tempfile.TemporaryDirectory(prefix="rapport-methodology-") as folder:
            base = Path(folder) / "baseline.duckdb"
            copy_warehouse(warehouse, base)
            selection = sorted({selector for selectors, _ in plans.values() for selector in selectors})
            _say(progress, f"baseline: dbt run --full-refresh --select {' '.join(selection)}")
            run_dbt(settings, "run", "--full-refresh", "--select", *selection, warehouse=base)
            runs += 1
            baseline = read_scores(base, baseline_rows_columns)
            rerun = Path(folder) / "perturbed.duckdb"
            for name, (selectors, values) in plans.items():
                for value in values:
                    _say(progress, f"{name} = {value} (default {chosen[name]})")
                    shutil.copyfile(base, rerun)
                    run_dbt(
                        settings,
                        "run",
                        "--full-refresh",
                        "--select",
                        *selectors,
                        "--vars",
                        json.dumps({name: value}),
                        warehouse=rerun,
                    )
                    runs += 1
                    changes, rho, shift, ranked = compare_runs(
                        baseline, read_scores(rerun, baseline_rows_columns)
                    )
                    perturbations.append(Perturbation(name, chosen[name], value, changes, rho, shift, ranked))
    return perturbations, skipped, time.monotonic() - started, runs


def _require_raw_tables(warehouse: Path) -> None:
    """Raise ``FiguresError`` unless the warehouse holds the raw tables the reruns score again."""
    connection = _open(warehouse)
    try:
        (tables,) = connection.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw'"
        ).fetchone() or (0,)
    finally:
        connection.close()
    if not tables:
        raise FiguresError(
            f"{warehouse}: no raw tables to score again (a published copy holds the marts only): "
            "name the warehouse itself, or add --skip-sensitivity"
        )


def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def compute_figures(
    settings: Settings,
    warehouse: Path,
    *,
    sensitivity: bool = True,
    var_names: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Every figure of ``warehouse`` (see the module's docstring); the warehouse is only read.

    Raises ``FiguresError`` naming the file when it is missing, locked or has
    no scores, ``ConfigurationError`` for an unknown var in ``var_names`` or a
    project without the scores' YAML, ``TransformError`` when a rerun fails.
    """
    components = discover_components(
        model_yaml(settings.dbt_project_dir), project_vars(settings.dbt_project_dir)
    )
    columns = [f"{indicator}_score" for indicator in INDICATORS] + [
        component.column for found in components.values() for component in found
    ]
    rows = read_scores(warehouse, columns)
    weeks = [row["week_start_date"] for row in rows]
    figures = Figures(
        warehouse=str(warehouse),
        accounts=len({row["account_id"] for row in rows}),
        account_weeks=len(rows),
        first_week=min(weeks).isoformat() if weeks else None,
        last_week=max(weeks).isoformat() if weeks else None,
        retest=[retest_of(rows, indicator) for indicator in INDICATORS],
        consistency=[consistency_of(rows, indicator, components[indicator]) for indicator in INDICATORS],
    )
    if sensitivity:
        score_columns = [f"{indicator}_score" for indicator in INDICATORS]
        (
            figures.sensitivity,
            figures.sensitivity_skipped,
            figures.sensitivity_seconds,
            figures.dbt_runs,
        ) = run_sensitivity(settings, warehouse, score_columns, var_names, progress)
    return figures


# --------------------------------------------------------------------------- Markdown


def _number(value: float | None, digits: int = 2) -> str:
    # + 0.0 turns a -0.0 into 0.0, and round() first keeps -0.001 from printing as -0.00.
    return "n/a" if value is None else f"{round(value, digits) + 0.0:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def figures_markdown(figures: Figures) -> str:
    """The figures as Markdown: one heading and one table per figure."""
    lines = [
        f"Warehouse `{figures.warehouse}`: {figures.accounts} accounts, "
        f"{figures.account_weeks} account-weeks, "
        f"weeks {figures.first_week} to {figures.last_week}.",
        "",
        "#### Test-retest and stability (consecutive weeks of one account, both scored)",
        "",
        *_table(
            [
                "indicator",
                "pairs",
                "r (week w, w+1)",
                "sd of weekly change",
                f"drops > {DROP_POINTS:g} points",
            ],
            (
                [
                    item.indicator,
                    str(item.pairs),
                    _number(item.correlation),
                    _number(item.change_sd, 1),
                    str(item.drops),
                ]
                for item in figures.retest
            ),
        ),
        "",
        "#### Internal consistency (Cronbach's alpha of the components on 0-1, account-weeks with all "
        "defined)",
        "",
        *_table(
            ["indicator", "components", "rows", "alpha"],
            (
                [
                    item.indicator,
                    ", ".join(item.components) or "none",
                    str(item.rows),
                    _number(item.alpha) if item.reason is None else f"n/a ({item.reason})",
                ]
                for item in figures.consistency
            ),
        ),
    ]
    if figures.sensitivity or figures.sensitivity_skipped:
        lines += [
            "",
            f"#### Sensitivity (each var at −{PERTURBATION:.0%} and +{PERTURBATION:.0%}: mean absolute "
            f"change of the scores, in points; ranking by mean overall over the last {RANKING_WEEKS} weeks)",
            "",
            *_table(
                ["var", "default", "rerun at", *INDICATORS, "Spearman", "largest rank shift"],
                (
                    [
                        item.var,
                        f"{item.default:g}",
                        f"{item.value:g}",
                        *(_number(item.mean_absolute_change[indicator]) for indicator in INDICATORS),
                        _number(item.spearman, 3),
                        _number(item.largest_rank_shift, 1),
                    ]
                    for item in figures.sensitivity
                ),
            ),
        ]
        if figures.sensitivity_skipped:
            lines += [
                "",
                "Not perturbed: "
                + "; ".join(f"`{n}` ({why})" for n, why in figures.sensitivity_skipped.items())
                + ".",
            ]
        if figures.sensitivity_seconds is not None:
            lines += [
                "",
                f"{figures.dbt_runs} dbt runs (a baseline and one per perturbation) in "
                f"{figures.sensitivity_seconds:.0f} s.",
            ]
    return "\n".join(lines) + "\n"
