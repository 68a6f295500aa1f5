"""The README is the front door: it promises two commands, exactly as CI and the Makefile run them, a
screenshot that exists, and links into docs/ that resolve. (The CLI reference, with every command, is
docs/cli.md: see test_generated_pages.py.)"""

from __future__ import annotations

import re

from tests.support.airflow_env import REPO

README = (REPO / "README.md").read_text("utf-8")
MAKEFILE = (REPO / "Makefile").read_text("utf-8")


def test_readme_promises_the_two_commands_ci_and_the_makefile_run():
    block = README[README.index("## The two commands") :].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", MAKEFILE, re.M), f"the Makefile has no {target} target"
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert re.search(r"^exec make test$", ci, re.M), "CI must run the README's test command"
    # make test builds the manual strictly and lints, as the README says
    assert re.search(r"^test: .*\blint\b.*\bdocs\b", MAKEFILE, re.M)


def test_readme_links_and_screenshot_resolve():
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if not re.match(r"^[a-z]+://", t)]
    assert any(t.startswith("docs/") for t in local)
    missing = [t for t in local if not (REPO / t).exists()]
    assert missing == []
    assert "mltrace_airflow/web/static/screenshots/trace-in-airflow.png" in local


def test_readme_stays_a_front_door():
    assert len(README.encode("utf-8")) <= 10_000, "keep the README short: put the manual in docs/"
