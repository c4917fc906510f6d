"""The arbiter command: check-policy and explain, as a user sees them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from arbiter.cli import app

runner = CliRunner()


def test_check_policy_accepts_the_example(example_policy_path: Path):
    result = runner.invoke(app, ["check-policy", str(example_policy_path)])
    assert result.exit_code == 0
    assert "policy 'dangerous-individuals' version 1, 2 entities, 2 rules" in result.stdout


def test_check_policy_names_file_and_line(tmp_path: Path):
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        "id: x\nversion: 1\nentities:\n  - id: a\n    names: [A B]\n"
        "rules:\n  - id: r\n    when: mentions('b')\n    action: zap\n"
    )
    result = runner.invoke(app, ["check-policy", str(policy)])
    assert result.exit_code == 2
    assert f"{policy}:8: rule 'r': unknown entity 'b' in mentions()" in result.stderr
    assert f"{policy}:9: rule 'r': unknown action 'zap'" in result.stderr
    assert "2 problem(s); the policy was not loaded." in result.stderr


def test_scan_refuses_an_invalid_policy(tmp_path: Path):
    policy = tmp_path / "bad.yaml"
    policy.write_text("id: x\n")
    result = runner.invoke(app, ["scan", "-", "-p", str(policy)], input="")
    assert result.exit_code == 2
    assert "'version' is missing" in result.stderr


def test_explain_lists_the_matches(example_policy_path: Path):
    result = runner.invoke(
        app, ["explain", "-p", str(example_policy_path), "-t", "RIP Ｑａｓｓｅｍ S0leimani"]
    )
    assert result.exit_code == 0
    assert "Ｑａｓｓｅｍ S0leimani" in result.stdout
    assert "homoglyph" in result.stdout and "qs" in result.stdout


def test_explain_says_when_nothing_matched(example_policy_path: Path):
    result = runner.invoke(app, ["explain", "-p", str(example_policy_path), "-t", "Islam Slimani"])
    assert result.exit_code == 0 and "no match" in result.stdout


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "arbiter", "--help"], capture_output=True, text=True, check=True
    )
    assert "check-policy" in result.stdout
