"""`make loadtest` works end to end: a few seconds with two people against the stack `make run`
starts, every request answered and every status change the sandbox made shown by the dashboard."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


def test_it_runs_a_short_load_test_with_no_errors_and_nothing_lost(tmp_path):
    figures = tmp_path / "figures.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOADTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--users", "2", "--seconds", "6", "--json", str(figures)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(figures.read_text())
    assert (result["errors"], result["lost"]) == (0, 0)
    assert result["requests"] > 0
    assert "p95 ms" in done.stdout  # the table of page kinds
