"""Running the pages' plain JavaScript (static/*.js) in Node.js, so tests can hold it to the Python rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "mltrace_airflow" / "web" / "static"


def run_js(expression: str, files=("formats.js",), data: object = None) -> object:
    """The JSON value of ``expression``, evaluated after ``files`` (from static/), with ``data`` (any JSON
    value) bound to ``DATA``. Skips when Node.js is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Node.js) is not installed")
    script = "\n".join((STATIC / name).read_text() for name in files)
    script += "\nconst DATA = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
    script += f"\nprocess.stdout.write(JSON.stringify({expression}));"
    done = subprocess.run(
        [node, "-e", script], input=json.dumps(data), capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr[-3000:])
    return json.loads(done.stdout)
