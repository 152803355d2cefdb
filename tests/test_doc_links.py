"""The docs stand alone: every relative link in README.md and docs/*.md names a file in
the repository, and no doc, scenario or template points outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")  # [text](target)
OUTSIDE = re.compile(r"\.\./shared|/work/|\bshared/MODEL\.md")


def relative_links(doc: Path) -> list[str]:
    return [target for target in LINK.findall(doc.read_text())
            if not re.match(r"[a-z]+:", target) and not target.startswith("#")]


def test_the_docs_have_links_to_check():
    assert sum(len(relative_links(doc)) for doc in DOCS) >= 5


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_names_a_file_in_the_repository(doc):
    for target in relative_links(doc):
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name}: {target} points outside the repository"
        assert path.exists(), f"{doc.name}: {target} does not exist"


@pytest.mark.parametrize("path", [*DOCS, *sorted((ROOT / "scenarios").glob("*.toml")),
                                  *sorted((ROOT / "sim" / "scenario" / "templates").glob("*.toml"))],
                         ids=lambda p: p.name)
def test_nothing_refers_to_files_outside_the_repository(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        assert not OUTSIDE.search(line), f"{path.name}:{number}: {line.strip()}"


def test_scenario_sources_are_the_reference_figures():
    """Every source a bundled scenario cites ([Hiya], [rules], ...) is one that
    docs/model.md "Reference figures" lists, and every scenario cites at least one
    source or calls its figures assumptions."""
    import re

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "model.md").read_text()
    section = text[text.index("## Reference figures"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    listed = set(re.findall(r"\*\*\[([A-Za-z]+)\]\*\*", section))
    assert {"practitioners", "Hiya", "Gong", "rules", "vendors"} <= listed
    for path in sorted((root / "scenarios").glob("*.toml")):
        comments = "\n".join(line for line in path.read_text().splitlines()
                             if line.lstrip().startswith("#"))
        cited = set(re.findall(r"\[([A-Z][A-Za-z]+|practitioners|rules|vendors|trainer)\]", comments))
        assert cited <= listed, (path.name, cited - listed)
        assert cited or "assumption" in comments or "baseline.toml" in comments, path.name
