"""The generated pages of the manual match the code: the CLI reference is the CLI's own ``--help``, the
configuration reference the declared ``[mltrace]`` options and the core's environment variables.

Other engineers add commands and options all the time; a page retyped by hand would drift on the first
one. When a test here fails, run ``make docs-gen`` and commit the regenerated pages."""

from __future__ import annotations

import importlib.util
import re

import click
import pytest

from mltrace_airflow.config import OPTIONS
from mltrace_core.cli import cli
from tests.support.airflow_env import REPO

HOW = "the committed page is stale: run `make docs-gen` (python scripts/gen_docs.py) and commit docs/"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()


@pytest.mark.parametrize("page", sorted(gen_docs.PAGES))
def test_committed_page_is_what_the_code_generates(page):
    committed = (REPO / page).read_text("utf-8")
    assert committed == gen_docs.PAGES[page](), f"{page}: {HOW}"


def every_command(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += every_command(command, (*prefix, name))
    return found


def test_cli_reference_has_every_command_and_its_help():
    page = (REPO / "docs" / "cli.md").read_text("utf-8")
    commands = every_command(cli)
    assert len(commands) >= 17  # 13 top-level commands (db and spool are groups), 4 subcommands
    for path in commands:
        name = " ".join(("mltrace", *path))
        assert f"\n## {name}\n" in page, f"{name} is missing from docs/cli.md: {HOW}"
        assert f"Usage: {name} [OPTIONS]" in page, name
    # Each section is the --help a user gets: the docstring of the command is in it.
    assert "Impact analysis: every run downstream of ADDRESS, transitively" in page
    assert "--depth INTEGER RANGE" in page


def test_configuration_reference_has_every_option_and_its_environment_variable():
    page = (REPO / "docs" / "configuration.md").read_text("utf-8")
    for option in OPTIONS:
        assert f"### `{option.name}`" in page, f"[mltrace] {option.name} is missing: {HOW}"
        assert f"`AIRFLOW__MLTRACE__{option.name.upper()}`" in page
    for name in ("MLTRACE_DB_URI", "MLTRACE_HOME", "MLTRACE_SPOOL_DIR", "AIRFLOW_HOME"):
        assert re.search(rf"^\| `{name}` \|", page, re.M), name


def test_every_environment_variable_the_core_reads_is_described():
    """The generator refuses to write the page when the core reads a variable it does not describe."""
    read = gen_docs.core_env_names()
    assert {"MLTRACE_DB_URI", "MLTRACE_HOME", "MLTRACE_SPOOL_DIR", "AIRFLOW__MLTRACE__SPOOL_DIR"} <= read
    described = [name for name, _, _ in gen_docs.CORE_ENV]
    assert read <= set(described), (
        f"describe {sorted(read - set(described))} in CORE_ENV in scripts/gen_docs.py"
    )
    assert len(described) == len(set(described)), "a variable is described twice in CORE_ENV"


def test_environment_reads_are_found_in_every_form(tmp_path, monkeypatch):
    core = tmp_path / "mltrace_core"
    core.mkdir()
    (core / "config.py").write_text(
        "import os\n"
        "from os import environ\n"
        "a = os.environ.get('A_GET')\n"
        "b = os.getenv('B_GETENV', '')\n"
        "c = os.environ['C_ITEM']\n"
        "d = 'D_IN' in os.environ\n"
        "e = environ.get('E_BARE')\n"
        "for name in ('F_LOOP', 'G_LOOP'):\n"
        "    os.environ.get(name)\n"
        "NOT_READ = 'H_CONSTANT'\n"
    )
    (core / "cli.py").write_text("import click\nopt = click.option('--x', envvar='I_CLICK')\n")
    monkeypatch.setattr(gen_docs, "REPO", tmp_path)
    assert gen_docs.core_env_names() == {
        "A_GET", "B_GETENV", "C_ITEM", "D_IN", "E_BARE", "F_LOOP", "G_LOOP", "I_CLICK"
    }  # fmt: skip
    with pytest.raises(SystemExit, match="describe it in CORE_ENV"):
        gen_docs.configuration_reference()


def test_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gen_docs, "REPO", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("# retyped by hand\n")
    monkeypatch.setattr(gen_docs, "PAGES", {"docs/cli.md": gen_docs.cli_reference})
    assert gen_docs.main(["--check"]) == 1
    assert "make docs-gen" in capsys.readouterr().err
    assert (tmp_path / "docs" / "cli.md").read_text() == "# retyped by hand\n"  # --check writes nothing
    assert gen_docs.main([]) == 0
    assert gen_docs.main(["--check"]) == 0
