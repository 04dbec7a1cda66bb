"""``simsme view`` in a real browser: a headless Chromium loads the page, presses Step and play,
and the counts and the plots change.

The server runs in its own process group on a free localhost port and is always killed. Chromium
comes from the Debian packages (``.ci/run`` installs it; Playwright never downloads a browser);
without a chromium binary the test is skipped, saying so.

Run as a script to regenerate the README's screenshot::

    python tests/test_view_browser.py docs/figures/view.png
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 180  # the first start imports solara, matplotlib and numba-free simsme
PAGE_LOAD_MS = 180_000


def chromium_binary() -> str | None:
    """The Debian chromium (or ``SIMSME_CHROMIUM``), if installed."""
    for candidate in (
        os.environ.get("SIMSME_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@contextmanager
def view_server(*args: str) -> Iterator[str]:
    """Start ``simsme view`` on a free port; yield its URL once it serves; always kill it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simsme", "view", "--no-browser", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "serving on" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not ready.wait(0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("simsme view did not start:\n" + "".join(lines[-40:]))
        yield f"http://127.0.0.1:{port}/"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def step_number(page) -> int:  # noqa: ANN001
    """The step SolaraViz shows in its Information card."""
    text = page.get_by_text(re.compile(r"^Step: \d+$")).inner_text()
    return int(text.split(":")[1])


def counts(page) -> dict[str, int]:  # noqa: ANN001
    """SMEs per stage, read off the page's counts line."""
    text = page.get_by_text(re.compile("SMEs founded")).inner_text()
    return {m[1]: int(m[2]) for m in re.finditer(r"(unaware|aware|ready|exporting) (\d+)", text)}


def plot_images(page, attempts: int = 5) -> list[bytes]:  # noqa: ANN001
    """The pixels of every figure on the page (network, stages, TTFE, agencies, channels).

    SolaraViz replaces a figure's element when it redraws it; a screenshot taken at that moment
    finds the old node gone ("not visible"), so the page is read again, a second later."""
    from playwright.sync_api import Error

    for attempt in range(attempts):
        images = page.locator("img")
        try:
            return [images.nth(i).screenshot(timeout=10_000) for i in range(images.count())]
        except Error:
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)
    return []


def drive(
    url: str,
    screenshot: Path,
    play_steps: int = 24,
    render_every: int = 1,
    reset_with_mco: bool = False,
) -> dict[str, object]:
    """Load the page, press Step, then play until ``play_steps`` (drawing every
    ``render_every`` steps, an odd number); optionally switch the movement-control order on and
    reset. Return what was seen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_binary(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(url, timeout=PAGE_LOAD_MS)
            page.get_by_text("Step: 0", exact=True).wait_for(timeout=PAGE_LOAD_MS)
            page.locator("img").nth(4).wait_for(timeout=PAGE_LOAD_MS)
            seen: dict[str, object] = {"start": counts(page), "start_images": plot_images(page)}

            page.get_by_role("button", name="Step").click()
            page.get_by_text(re.compile(r"^Step: [1-9]\d*$")).wait_for(timeout=PAGE_LOAD_MS)
            seen["after_step"] = step_number(page)

            if render_every > 1:  # SolaraViz's "Render Interval" slider: 1, 3, 5, ...
                page.get_by_role("slider").nth(1).focus()
                for _ in range((render_every - 1) // 2):
                    page.keyboard.press("ArrowRight")
            page.get_by_role("button", name="▶").click()
            deadline = time.monotonic() + 300
            while step_number(page) < play_steps and time.monotonic() < deadline:
                time.sleep(0.5)
            page.get_by_role("button", name="❚❚").click()
            time.sleep(2.0)  # let the last frame arrive
            seen["after_play"] = step_number(page)
            seen["end"] = counts(page)
            seen["end_images"] = plot_images(page)
            page.screenshot(path=str(screenshot))
            if reset_with_mco:  # move a lever, then Reset: a new model with the order on
                page.get_by_text("Movement-control order (2020-21)").click()
                page.get_by_role("button", name="Reset").click()
                page.get_by_text("Step: 0", exact=True).wait_for(timeout=PAGE_LOAD_MS)
                page.get_by_text(re.compile("movement-control order on")).wait_for(
                    timeout=PAGE_LOAD_MS
                )
                seen["after_reset"] = counts(page)
            return seen
        finally:
            browser.close()


@pytest.mark.slow
def test_view_steps_and_plays_in_a_real_browser(tmp_path: Path) -> None:
    pytest.importorskip("playwright", reason="playwright is not installed (the test extra)")
    if chromium_binary() is None:
        # In CI the browser is part of the setup (.ci/run installs it): its absence is a failure
        # there, not a reason to skip the one test of the page.
        assert not os.environ.get("CI"), "CI without chromium: .ci/run should have installed it"
        pytest.skip("no chromium binary (CI installs Debian's chromium: see .ci/run)")
    with view_server("--smes", "150", str(ROOT / "scenarios" / "baseline.yaml")) as url:
        seen = drive(url, tmp_path / "view.png", reset_with_mco=True)
    start, end = seen["start"], seen["end"]
    assert sum(start.values()) == 150 and start["unaware"] == 150  # nobody aware at week 0
    assert seen["after_step"] >= 1
    assert seen["after_play"] >= 24
    assert sum(end.values()) == 150
    assert end["unaware"] < start["unaware"]  # the counts moved: programmes became known
    before, after = seen["start_images"], seen["end_images"]
    assert len(before) == len(after) == 5
    assert before[1] != after[1]  # the stage plot drew the new steps
    assert before[0] != after[0]  # network nodes recoloured
    assert (tmp_path / "view.png").stat().st_size > 10_000
    assert seen["after_reset"] == start  # a new model, back at week 0 (the order starts in 2020)


if __name__ == "__main__":  # regenerate the README screenshot
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/figures/view.png")
    with view_server("--smes", "200", str(ROOT / "scenarios" / "baseline.yaml")) as url:
        drive(url, out, play_steps=int(sys.argv[2]) if len(sys.argv) > 2 else 400, render_every=25)
    print(f"wrote {out}")
