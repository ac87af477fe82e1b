"""The weekly report in a real headless Chromium (Debian's ``chromium`` package).

The page is opened from disk with networking features off: what renders is what
the report carries itself. The screenshot is kept in ``test-artifacts/report.png``.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from rapport.publish.report import compute_alerts, write_report
from tests.conftest import PROJECT_ROOT
from tests.unit.test_report_html import build_warehouse

pytestmark = pytest.mark.slow

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
WINDOW = (1280, 3000)
# Lines Chromium writes to stderr for the page's console (console.error, uncaught exceptions).
PAGE_ERROR = re.compile(r"Uncaught|:CONSOLE[:(]", re.I)


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not installed: this test renders the report in Debian's chromium package. "
            "Install it with: apt-get update && apt-get install -y chromium"
        )
    return path


def run_chromium(page: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *arguments,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def page_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if PAGE_ERROR.search(line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = build_warehouse(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb")
    return write_report(
        warehouse,
        tmp_path_factory.mktemp("report"),
        links={"dbt docs": "../dbt_docs/index.html"},
        alerts=compute_alerts(warehouse),
    )


def test_the_console_check_catches_a_page_error(tmp_path: Path):
    """The control: a page that logs an error is caught, so a clean report means something."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>broken</title></head><body>"
        "<script>console.error('probe'); notDefined();</script></body></html>",
        encoding="utf-8",
    )
    result = run_chromium(page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert result.returncode == 0, result.stderr
    assert len(page_errors(result.stderr)) == 2, result.stderr


def test_the_report_renders_its_charts_without_console_errors(report: Path, tmp_path: Path):
    result = run_chromium(report, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert result.returncode == 0, result.stderr
    assert page_errors(result.stderr) == []
    dom = result.stdout
    assert "<title>Rapport relationship report, ISO week 2026-W47</title>" in dom
    assert dom.count('<section class="card organization"') == 4
    assert dom.count('<svg class="radar"') == 4
    assert dom.count('<figure class="trend">') == 4 * 6
    assert dom.count('<path class="series"') >= 4 * 5
    assert "Open &lt;script&gt;alert(1)&lt;/script&gt; Lab" in dom
    assert "<script" not in dom


def test_the_report_screenshot_is_a_full_page_image(report: Path, tmp_path: Path):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    width, height = WINDOW
    result = run_chromium(
        report, tmp_path / "profile", f"--screenshot={screenshot}", f"--window-size={width},{height}"
    )
    assert result.returncode == 0, result.stderr
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == WINDOW
    # A blank page of this size compresses to about 10 kB; the report's text and charts to far more.
    assert len(data) > 60_000, f"{screenshot}: {len(data)} bytes, the page looks empty"
