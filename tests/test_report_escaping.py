"""report.html escapes every value from the manifest and the scenario (stored injection)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app

from .conftest import SCENARIOS

runner = CliRunner()
SCRIPT = "<script>alert('x')</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A run whose scenario names, and then whose manifest, hold markup."""
    out = tmp_path_factory.mktemp("hostile") / "run"
    sets = [f"name={json.dumps(SCRIPT)}", f"description={json.dumps(IMG)}",
            f"strategies.1.name={json.dumps('<b>always</b>')}",
            f"experiment.baseline={json.dumps('<b>always</b>')}",
            'prospects.segments=[{name="<i>cold</i>", weight=1}, {name="warm&co", weight=1}]']
    args = ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "--workers", "1", "-q",
            "--set", "calendar.days=1", "--set", "prospects.count=200", "--out", str(out)]
    for text in sets:
        args += ["--set", text]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["seed"] = SCRIPT  # the report used to write the seed unescaped
    manifest["scenario_source"] = IMG
    manifest["versions"]["dialsim"] = SCRIPT
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_no_value_from_the_manifest_or_scenario_becomes_markup(hostile_run):
    result = runner.invoke(app, ["report", str(hostile_run)])
    assert result.exit_code == 0, result.output
    page = (hostile_run / "report.html").read_text()
    for raw in ("<script", "<img src=x", "<i>", "<b>always</b>", "warm&co"):
        assert raw not in page, raw
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page  # title, heading, seed
    assert page.count("&lt;script&gt;") >= 4
    assert "&lt;b&gt;always&lt;/b&gt;" in page  # strategy names in table, verdict, headers
    assert "&lt;i&gt;cold&lt;/i&gt;" in page and "warm&amp;co" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>" in page  # the page's own markup is still there
