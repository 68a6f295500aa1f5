"""The README is the user's manual: its CLI section must name every command the CLI has."""

from __future__ import annotations

from pathlib import Path

import click

from mltrace_core.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(group: click.Group, prefix: str = "") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix}{name} ")
        else:
            found.append(prefix + name)
    return found


def test_readme_cli_section_lists_every_command():
    text = README.read_text()
    section = text[text.index("## CLI") :].split("\n## ", 1)[0]
    missing = [c for c in commands(cli) if c.split()[-1] not in section or c.split()[0] not in section]
    assert missing == []
    assert len(commands(cli)) >= 15  # recent history inspect trace downstream tag components tags flag ...
