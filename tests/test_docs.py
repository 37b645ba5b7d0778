"""The README and docs as a new user reads them: links resolve, settings match the code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bot.__main__ import build_parser
from bot.config import CONSOLE_LOG_LEVEL, DEFAULT_LOG_LEVEL

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def relative_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_relative_link_resolves(doc):
    for link in relative_links(doc):
        file_part, _, anchor = link.partition("#")
        target = (doc.parent / file_part).resolve() if file_part else doc
        assert target.exists(), f"{doc.name}: {link} points at a missing file"
        assert target.is_relative_to(ROOT), f"{doc.name}: {link} leaves the repository"
        if anchor and target.suffix == ".md":
            assert anchor in anchors(target), f"{doc.name}: {link} names no heading"


def test_the_readme_link_to_the_slack_manifest_resolves():
    assert "slack/manifest.yml" in relative_links(ROOT / "README.md")


def settings_row(name: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]
    return row


def test_the_documented_log_level_default_is_the_codes():
    default = settings_row("LOG_LEVEL").rsplit("|", 2)[1]
    assert f"`{DEFAULT_LOG_LEVEL}`" in default
    assert f"`{CONSOLE_LOG_LEVEL}` in the console" in default


def test_every_setting_the_code_reads_is_documented():
    source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'get\("([A-Z_]+)"\)', source)) | {"QUESTIONS_DIR"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names, "no settings found in bot/config.py"
    for name in names:
        assert f"`{name}`" in readme, f"{name} is not in the README"


def test_the_procfile_has_a_web_process_on_port_and_a_worker():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(processes) == {"web", "worker"}
    for command in processes.values():
        words = shlex.split(command)
        assert words[:3] == ["python", "-m", "bot"]
        assert build_parser().parse_args(words[3:]).command == "run"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "- `web` when Slack runs in HTTP" in readme and "- `worker` for Discord" in readme
