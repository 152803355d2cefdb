"""`dialsim plot` and `dialsim report`: decodable charts, a self-contained report,
and clear errors (exit 2) for results folders that are missing, half-written or old."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import types
from html.parser import HTMLParser

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli import app
from sim.analysis.compare import headline_verdict
from sim.present.plots import CHARTS, load_run, paid_fraction_by_hour, render_charts
from sim.present.report import describe_strategy, render_report

from .conftest import ROOT, SCENARIOS

runner = CliRunner()
TINY = ["--set", "prospects.count=300", "--set", "calendar.days=2", "--set", "team.reps=2",
        "--workers", "1", "-q"]
STRATEGIES = ("never", "always", "rotate")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One small finished run of scenarios/baseline.toml (three strategies)."""
    out = tmp_path_factory.mktemp("plots") / "run"
    args = ["run", str(SCENARIOS / "baseline.toml"), *TINY, "-n", "4", "--out", str(out)]
    for name in STRATEGIES:
        args += ["-s", name]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel: a truncated or corrupt PNG raises here
    assert image.format == "PNG"
    return image


def _assert_chart(image: Image.Image) -> None:
    width, height = image.size
    assert width >= 800 and height >= 450
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # drawn on, not a blank canvas


# ------------------------------------------------------------------ plot


def test_plot_writes_every_chart_as_a_decodable_png(run_dir):
    result = runner.invoke(app, ["plot", str(run_dir)])
    assert result.exit_code == 0, result.output
    for name in CHARTS:
        path = run_dir / name
        assert str(path) in result.output
        _assert_chart(_png(path.read_bytes()))
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temp files left


def test_charts_differ_by_baseline(run_dir):
    """The difference panel is drawn against the chosen baseline (so the image changes)."""
    data = load_run(run_dir)
    other = load_run(run_dir, "rotate")
    assert data.baseline == "never" and other.baseline == "rotate"
    only = ("connects_per_rep_hour.png",)
    assert list(render_charts(data, only)) == list(only)
    assert render_charts(data, only) != render_charts(other, only)


def test_paid_fraction_by_hour_closed_form():
    windows = [(9 * 3600, 12 * 3600), (13 * 3600, 17 * 3600 + 1800)]
    fraction = paid_fraction_by_hour(windows)
    assert list(fraction[8:19]) == [0, 1, 1, 1, 0, 1, 1, 1, 1, 0.5, 0]
    assert fraction.sum() == pytest.approx(7.5)  # the paid hours per day


def test_importing_plots_and_report_loads_no_matplotlib(run_dir):
    """No import-time side effects; charts never touch pyplot's global state."""
    code = (
        "import sys, sim.present.plots, sim.present.report\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        f"data = sim.present.plots.load_run({str(run_dir)!r})\n"
        "assert sim.present.plots.render_charts(data, ('connects_by_hour.png',))\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_plot_hands_a_sweep_folder_to_sweep_plots(tmp_path, monkeypatch):
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"results_schema_version": 1, "kind": "sweep"}))
    calls = []
    fake = types.ModuleType("sim.present.sweep_plots")
    fake.plot_sweep = lambda run_dir: calls.append(run_dir) or [run_dir / "sweep_chart.png"]
    monkeypatch.setitem(sys.modules, "sim.present.sweep_plots", fake)
    result = runner.invoke(app, ["plot", str(folder)])
    assert result.exit_code == 0, result.output
    assert calls == [folder] and "sweep_chart.png" in result.output


# ---------------------------------------------------------------- report


class _Page(HTMLParser):
    """Collects what the tests check: images, tables and their body rows, scripts, links."""

    def __init__(self):
        super().__init__()
        self.images, self.tables, self.external, self.scripts = [], {}, [], 0
        self._table, self._in_body = None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._table].append([])
        elif tag == "th" and self._in_body and attrs.get("scope") == "row":
            self.tables[self._table][-1].append("row-header")
        elif tag == "script":
            self.scripts += 1
        for key in ("href", "src"):
            value = attrs.get(key) or ""
            if value and not value.startswith(("data:", "#")):
                self.external.append(value)

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_report_is_self_contained_with_table_charts_and_verdict(run_dir):
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    path = run_dir / "report.html"
    assert str(path) in result.output
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    assert len(page.images) == len(CHARTS)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        _assert_chart(_png(base64.b64decode(src.split(",", 1)[1])))
    assert page.external == [] and page.scripts == 0
    assert "http://" not in text and "https://" not in text and "<link" not in text
    assert len(page.tables["comparison"]) == len(STRATEGIES)
    assert "<title>Voicemail strategies: baseline</title>" in text
    for heading in ("The question", "The answer", "Key assumptions", "Charts"):
        assert heading in text
    data = load_run(run_dir)
    found = headline_verdict(data.summary, data.strategies)
    assert f"<b>{found.best}</b>" in text  # the verdict names the leader
    for spec in data.scenario.strategies:
        if spec.name in STRATEGIES:
            assert describe_strategy(spec) in text
    assert f"{data.scenario.prospects.count:,}" in text  # an assumption is shown
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]


def test_report_escapes_scenario_text(run_dir):
    data = load_run(run_dir)
    data.scenario = data.scenario.model_copy(update={"description": "<script>alert(1)</script>"})
    text = render_report(data, {})
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_tie_is_reported_as_a_tie(tmp_path):
    """Two strategies that behave identically: the CLI and the report refuse to pick."""
    out = tmp_path / "tie"
    result = runner.invoke(app, [
        "run", str(SCENARIOS / "baseline.toml"), *TINY[:-1], "-n", "3", "--out", str(out),
        "--set", 'strategies=["always", {name = "same", sequence = ["A"]}]'])
    assert result.exit_code == 0, result.output
    assert "cannot separate always" in result.output.replace("\n", " ")
    result = runner.invoke(app, ["report", str(out), "--baseline", "same"])
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text()
    assert "cannot tell" in text and "Best:" not in text
    assert "difference from same" in text  # --baseline overrides the run's baseline


# -------------------------------------------------------------- bad input


def _copy(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    return copy


def _older(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["results_schema_version"] = 0
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _then(action):
    """Damage a copied folder with ``action`` and hand the folder on."""
    def damage(folder):
        action(folder)
        return folder
    return damage


BAD = {
    "missing": (lambda d: d.parent / "nowhere", "no such results folder"),
    "half-written": (_then(lambda d: (d / "manifest.json").unlink()), "no manifest.json"),
    "no summary": (_then(lambda d: (d / "summary.parquet").unlink()), "summary.parquet is missing"),
    "corrupt summary": (_then(lambda d: (d / "summary.parquet").write_bytes(b"PAR1 not really")),
                        "unreadable"),
    "older schema": (_then(_older), "results_schema_version 0"),
}


@pytest.mark.parametrize("command", ["plot", "report"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_results_folder_exits_2_with_a_clear_message(run_dir, tmp_path, command, case):
    damage, message = BAD[case]
    folder = damage(_copy(run_dir, tmp_path))
    result = runner.invoke(app, [command, str(folder)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_report_on_a_sweep_folder_and_unknown_baseline(run_dir, tmp_path):
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"results_schema_version": 1, "kind": "sweep"}))
    result = runner.invoke(app, ["report", str(folder)])
    # a sweep folder with no points (here its manifest has no parameters either): one line
    assert result.exit_code == 2 and "sweep" in result.output and len(result.output.splitlines()) == 1
    result = runner.invoke(app, ["report", str(run_dir), "--baseline", "sometimes"])
    assert result.exit_code == 2
    assert "choose from: never, always, rotate" in result.output
