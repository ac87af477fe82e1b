"""The weekly report in a real headless Chromium (Debian's ``chromium`` package), at 360, 768 and 1,400 px.

The page is opened from disk with networking features off: what renders is what the report carries
itself. Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): a
headless window is never narrower than 500 px, while the protocol's device metrics set the exact
viewport. The report has no script: the measurements are expressions the test evaluates in the page.
Screenshots at each width are saved under the test's tmp dir and, when ``RAPPORT_TEST_ARTIFACTS``
names a folder, copied there.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rapport.publish.report import write_report
from tests.unit.test_report_html import build_warehouse

pytestmark = pytest.mark.slow

WIDTHS = (360, 768, 1400)
ORGANIZATIONS = ("museum", "open-lab", "theatre", "quiet-bank")
MIN_TEXT_PX = 11

# Every rendered text of the page whose size is under the minimum: HTML text by its computed
# font size, SVG text by its font size times the scale the SVG is drawn at (a viewBox scaled down
# shrinks its text). Then the page's widths and every organization's charts.
MEASURE = """
(() => {
  const root = document.documentElement;
  const closedHeight = root.scrollHeight, closedScrollWidth = root.scrollWidth;
  document.querySelectorAll('details').forEach(details => { details.open = true; });
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let texts = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode, element = node.parentElement;
    if (!node.textContent.trim() || !element || element.closest('title, desc')) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    let size = parseFloat(getComputedStyle(element).fontSize);
    if (element instanceof SVGElement) {
      const matrix = element.getScreenCTM();
      size *= Math.hypot(matrix.a, matrix.b);
    }
    texts += 1;
    if (size < MIN_TEXT_PX - 0.01) small.push([element.tagName, node.textContent.trim().slice(0, 40), size]);
  }
  const charts = {};
  document.querySelectorAll('section.organization').forEach(section => {
    charts[section.dataset.organization] = {
      radar: [...section.querySelectorAll('svg.radar')].filter(svg => svg.getBoundingClientRect().width > 0).length,
      trends: [...section.querySelectorAll('figure.trend svg')]
        .filter(svg => svg.getBoundingClientRect().width > 0).length,
      lines: [...section.querySelectorAll('figure.trend path.series')]
        .filter(path => path.getBoundingClientRect().width > 0).length,
    };
  });
  return {
    innerWidth: window.innerWidth, clientWidth: root.clientWidth, closedHeight, closedScrollWidth,
    openScrollWidth: root.scrollWidth, openHeight: root.scrollHeight, small, texts, charts,
  };
})()
""".replace("MIN_TEXT_PX", str(MIN_TEXT_PX))


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not installed: this test renders the report in Debian's chromium package. "
            "Install it with: apt-get update && apt-get install -y chromium"
        )
    return path


def _above(descriptor: int, lowest: int = 10) -> int:
    import fcntl

    moved = fcntl.fcntl(descriptor, fcntl.F_DUPFD, lowest)
    os.close(descriptor)
    return moved


class Browser:
    """A headless Chromium driven over the DevTools protocol on fds 3 and 4 (NUL-separated JSON)."""

    def __init__(self, profile: Path) -> None:
        chrome_reads, self._writer = os.pipe()
        self._reader, chrome_writes = os.pipe()
        # Chromium reads fd 3 and writes fd 4: its ends are moved above them first, so that wiring one
        # never overwrites the other.
        chrome_reads, chrome_writes = (_above(chrome_reads), _above(chrome_writes))

        def wire() -> None:
            os.dup2(chrome_reads, 3)
            os.dup2(chrome_writes, 4)

        self.process = subprocess.Popen(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=wire,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(chrome_reads)
        os.close(chrome_writes)
        self._ids = itertools.count(1)
        self._buffer = b""
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._reader, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)  # type: ignore[no-any-return]

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, method: str) -> None:
        while not any(event.get("method") == method for event in self.events):
            self.events.append(self._receive())

    def open(self, page: Path, width: int) -> None:
        """Open ``page`` in a new tab whose viewport is ``width`` CSS px wide, and wait for its load."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False
        )
        self.events.clear()
        self.send("Page.navigate", url=page.as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"]["value"]

    def errors(self) -> list[str]:
        """The page's console errors, uncaught exceptions and error log entries since it was opened."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event.get("method") == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "assert",
            ):
                found.append(json.dumps(params.get("args")))
            elif event.get("method") == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}).get("text")))
            elif event.get("method") == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def screenshot(self, path: Path, width: int, height: int) -> None:
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self._reader)
            os.close(self._writer)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    opened = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = build_warehouse(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb")
    return write_report(
        warehouse, tmp_path_factory.mktemp("report"), links={"dbt docs": "../dbt_docs/index.html"}
    )


@pytest.fixture(scope="module")
def measured(browser: Browser, report: Path) -> dict[int, dict[str, Any]]:
    results = {}
    for width in WIDTHS:
        browser.open(report, width)
        results[width] = browser.evaluate(MEASURE) | {"errors": browser.errors()}
    return results


def test_the_console_check_catches_a_page_error(browser: Browser, tmp_path: Path):
    """The control: a page that logs an error is caught, so a clean report means something."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>broken</title></head><body>"
        "<script>console.error('probe'); notDefined();</script></body></html>",
        encoding="utf-8",
    )
    browser.open(page, 360)
    assert len(browser.errors()) == 2, browser.events


def test_the_measurements_catch_an_overflow_and_small_text(browser: Browser, tmp_path: Path):
    """The control: a page wider than the screen, with 9 px text and a scaled-down SVG, is caught."""
    page = tmp_path / "wide.html"
    page.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>wide</title></head><body>"
        "<table style='width: 900px'><tr><td style='font-size: 9px'>small</td></tr></table>"
        "<svg viewBox='0 0 1000 100' style='width: 300px'><text x='0' y='50' font-size='12'>shrunk</text></svg>"
        "</body></html>",
        encoding="utf-8",
    )
    browser.open(page, 360)
    result = browser.evaluate(MEASURE)
    assert result["innerWidth"] == 360
    assert result["openScrollWidth"] > result["clientWidth"]
    assert [text for _, text, _ in result["small"]] == ["small", "shrunk"]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_has_no_horizontal_scroll(measured: dict[int, dict[str, Any]], width: int):
    result = measured[width]
    assert result["innerWidth"] == width
    assert result["closedScrollWidth"] <= result["clientWidth"], result
    assert result["openScrollWidth"] <= result["clientWidth"], result


@pytest.mark.parametrize("width", WIDTHS)
def test_no_text_of_the_report_is_under_11_px(measured: dict[int, dict[str, Any]], width: int):
    assert measured[width]["texts"] > 200
    assert measured[width]["small"] == []


@pytest.mark.parametrize("width", WIDTHS)
def test_every_organizations_charts_are_drawn_without_console_errors(
    measured: dict[int, dict[str, Any]], width: int
):
    assert measured[width]["errors"] == []
    charts = measured[width]["charts"]
    assert {organization: (chart["radar"], chart["trends"]) for organization, chart in charts.items()} == {
        organization: (1, 6) for organization in ORGANIZATIONS
    }
    # Museum's commitment was never scored: its chart is drawn empty; every other score has its line.
    assert sum(chart["lines"] for chart in charts.values()) == 4 * 6 - 1


def test_the_details_keep_the_default_page_short(measured: dict[int, dict[str, Any]]):
    desktop = measured[1400]
    assert desktop["closedHeight"] < 4000 < desktop["openHeight"], desktop


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_screenshots_are_saved(browser: Browser, report: Path, tmp_path: Path, width: int):
    browser.open(report, width)
    height = min(browser.evaluate("document.documentElement.scrollHeight"), 16_000)
    screenshot = tmp_path / f"report-{width}px.png"
    browser.screenshot(screenshot, width, height)
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (width, height)
    # A blank page of this size compresses to a few kB; the report's text and charts to far more.
    assert len(data) > 40_000, f"{screenshot}: {len(data)} bytes, the page looks empty"
    artifacts = os.environ.get("RAPPORT_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / screenshot.name)
