"""Times, durations and statuses look the same in the CLI, the pages and the browser: the rules of
mltrace_core/formats.py and of static/formats.js, run on the same values."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from mltrace_core import formats
from mltrace_core.records import Run
from mltrace_core.render import runs_table
from tests.support.js import run_js

SECONDS = [0, 0.0004, 0.0005, 0.0015, 0.35, 0.9994, 0.9996, 1, 4.24, 4.25, 59.9, 59.94, 59.95, 60, 60.5, 61.5,
           187.4, 3599.4, 3599.5, 3600, 7500, 86400 * 3 + 5, -1, None]  # fmt: skip
TIMES = [
    datetime(2026, 3, 1, 14, 5, 9, tzinfo=timezone.utc),
    datetime(2026, 3, 1, 14, 5, 9, 999_000, tzinfo=timezone.utc),
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 1, 2, 3, 4, 5),  # naive: UTC
]


def test_durations_agree():
    js = run_js(f"{json.dumps(SECONDS)}.map(globalThis.MltraceFormats.duration)")
    assert js == [formats.duration(s) for s in SECONDS]
    assert formats.duration(0.35) == "350 ms" and formats.duration(187.4) == "3 min 07 s"
    assert formats.duration(7500) == "2 h 05 min" and formats.duration(None) == ""


def test_times_agree():
    iso = [(t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat() for t in TIMES]
    js = run_js(f"{json.dumps(iso)}.map(globalThis.MltraceFormats.when)")
    assert js == [formats.when(t) for t in TIMES]
    assert formats.when(TIMES[2]) == "2027-01-01 04:59:59 UTC"


def test_one_status_vocabulary():
    assert run_js("globalThis.MltraceFormats.STATUSES") == list(formats.STATUSES)
    assert run_js("['success', 'bogus'].map(globalThis.MltraceFormats.status)") == ["success", "unknown"]


def test_the_cli_prints_the_same_formats(capsys):
    start = datetime(2026, 3, 1, 14, 5, 9, tzinfo=timezone.utc)
    run = Run(id=7, component="train", start=start, end=start + timedelta(seconds=187.4), status="success")
    runs_table([run], "Recent runs")
    out = capsys.readouterr().out
    assert formats.when(start) in out and "3 min 07 s" in out
