"""The sweep report in a real browser: headless Chromium opens sweep_report.html.

Skips (fails under CI) like tests/test_report_browser.py when Chromium is missing.
"""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app

from .conftest import SCENARIOS
from .test_report_browser import _browser_or_skip, loaded_page

pytestmark = pytest.mark.browser
SMALL = ["--set", "calendar.days=1", "--set", "prospects.count=300", "--set", "team.reps=2"]


def test_sweep_report_renders_in_headless_chromium(tmp_path):
    _browser_or_skip()  # before simulating
    from selenium.webdriver.common.by import By

    out = tmp_path / "sweep"
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", str(SCENARIOS / "sweep_callback_vs_screening.toml"),
                                 "--workers", "1", "-q", "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    report = out / "sweep_report.html"
    winners = [r for r in pq.read_table(out / "sweep_summary.parquet").to_pylist() if r["is_winner"]]
    tie = [r["runner_up"] is not None and not r["margin_clear"] for r in winners]
    ties = sum(tie)
    clear_wins = Counter(r["winner"] for r, t in zip(winners, tie) if not t)

    with loaded_page(report, tmp_path) as (session, images):
        assert len(images) == 1  # two swept keys: the winner map
        for alt, width, height in images:
            assert width > 0 and height > 0, f"image {alt!r} did not decode"
        rows = session.find_elements(By.CSS_SELECTOR, "table tr")[1:]
        assert len(rows) == len(winners) == 20
        assert len(session.find_elements(By.CSS_SELECTOR, "tr.tie")) == ties
        body = session.find_element(By.TAG_NAME, "body").text
        assert f"Ties, not wins: {ties} of 20 points" in body
        for name, count in clear_wins.items():  # a tie is nobody's win
            assert f"{name} at {count} of 20 points" in body
        assert session.save_screenshot(str(tmp_path / "sweep_report.png"))
