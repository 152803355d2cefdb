"""The report in a real browser: headless Chromium opens report.html from disk.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs both) and
the ``selenium`` package (the dev extra). Without them the test is skipped locally
with the reason, but FAILS when the environment variable CI is set: CI must never
skip it silently. Run it alone with ``.venv/bin/pytest -m browser``.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from contextlib import contextmanager

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli import app

from .conftest import SCENARIOS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1280,2000")


def _browser_or_skip():
    """(chromium path, chromedriver path, selenium.webdriver), or skip/fail saying what is missing."""
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromium-driver", driver)) if not path]
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        reason = (f"browser test needs {', '.join(missing)} "
                  "(Debian: apt-get install chromium chromium-driver)")
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run this test, not skip it")
        pytest.skip(reason)
    return browser, driver, webdriver


@contextmanager
def loaded_page(page, tmp_path):
    """A headless Chromium session on ``page`` (a file), once it and every image have
    loaded; yields (session, [(alt, natural width, natural height)] of its images)."""
    browser, driver, webdriver = _browser_or_skip()
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        session.set_page_load_timeout(60)
        session.get(page.as_uri())
        WebDriverWait(session, 30).until(
            lambda s: s.execute_script(
                "return document.readyState === 'complete' && "
                "Array.from(document.images).every(i => i.complete)"))
        images = session.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
        yield session, images
    finally:
        session.quit()


def test_report_renders_in_headless_chromium(tmp_path):
    _browser_or_skip()  # before simulating
    from selenium.webdriver.common.by import By

    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, [
        "run", str(SCENARIOS / "baseline.toml"), "--set", "prospects.count=300",
        "--set", "calendar.days=2", "--set", "team.reps=2", "-n", "3", "--workers", "1",
        "-q", "--out", str(out), "-s", "never", "-s", "always", "-s", "rotate"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    report = out / "report.html"

    with loaded_page(report, tmp_path) as (session, widths):
        assert len(widths) == 4
        for alt, width, height in widths:
            assert width > 0 and height > 0, f"image {alt!r} did not decode"
        table = session.find_element(By.ID, "comparison")
        assert table.is_displayed()
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == ["never", "always", "rotate"]
        assert "The answer" in session.find_element(By.ID, "answer").text
        shot = tmp_path / "report.png"
        assert session.save_screenshot(str(shot))
    image = Image.open(io.BytesIO(shot.read_bytes()))
    image.load()
    assert image.size[0] >= 1000
