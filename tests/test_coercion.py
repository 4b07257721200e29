"""Typer 0.29 converts option values through pydantic, 0.13-0.18 s of CPU per command:
gitmv's plain str/int/bool/list[str] options are converted without it (gitmv.cli.coercion)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git, gitmv

PROBE = """
import sys
sys.argv = ["gitmv", *sys.argv[1:]]
from gitmv.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("pydantic" in sys.modules, code, file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["ls", "--rev", "HEAD"], ["remote", "list", "--json"], ["push", "-h"], ["status", "-v"]],
)
def test_typer_commands_do_not_load_pydantic(repo: Path, args: list[str]) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=repo, capture_output=True, text=True
    )
    loaded, code = done.stderr.strip().splitlines()[-1].split()
    assert (loaded, code) == ("False", "0"), done.stderr


def test_values_are_converted_and_bad_ones_are_usage_errors(repo: Path) -> None:
    bad = gitmv(repo, "push", "--jobs", "many", code=2)
    assert "error: invalid value for '--jobs'" in bad.stderr and "'many'" in bad.stderr
    low = gitmv(repo, "push", "--jobs", "0", code=2)  # `min=1`: Typer's range, kept
    assert "error: invalid value for '--jobs'" in low.stderr and "x>=1" in low.stderr
    (repo / "m.bin").write_bytes(b"x")
    gitmv(repo, "add", "m.bin", "--meta", "a=1", "--meta", "b=two", "--json")
    assert "a: 1\n" in (repo / "m.bin.gmv").read_text()
    assert "b: two\n" in (repo / "m.bin.gmv").read_text()
