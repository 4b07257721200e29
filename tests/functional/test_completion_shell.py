"""`--show-completion SHELL` / `--install-completion SHELL`: the shell named wins over the
one gitmv runs under (Typer's flags alone detect it and ignored the name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import gitmv

# A line only each shell's script has.
MARKS = {
    "bash": "complete -o default -F _gitmv_completion gitmv",
    "zsh": "#compdef gitmv",
    "fish": "complete --command gitmv",
    "powershell": "Register-ArgumentCompleter -Native -CommandName gitmv",
}


@pytest.mark.parametrize("shell", sorted(MARKS))
def test_the_named_shell_wins(tmp_path: Path, shell: str) -> None:
    # run under a $SHELL that is not the one named (bash for all but bash itself)
    running = "/usr/bin/zsh" if shell == "bash" else "/bin/bash"
    for args in (("--show-completion", shell), (f"--show-completion={shell}",)):
        proc = gitmv(tmp_path, *args, env={"SHELL": running})
        assert MARKS[shell] in proc.stdout, (args, proc.stdout[:200])
        others = [mark for name, mark in MARKS.items() if name != shell]
        assert not any(mark in proc.stdout for mark in others), proc.stdout[:200]
        assert proc.stderr == ""


def test_without_a_name_the_running_shell_is_used(tmp_path: Path) -> None:
    proc = gitmv(tmp_path, "--show-completion", env={"SHELL": "/bin/bash"})
    assert "_GITMV_COMPLETE" in proc.stdout


def test_an_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    proc = gitmv(tmp_path, "--show-completion", "tcsh", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0].startswith("error: --show-completion: unknown shell 'tcsh'")
    assert proc.stderr.splitlines()[1].startswith("hint: ")


def test_install_completion_writes_the_named_shells_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"SHELL": "/bin/bash", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    proc = gitmv(tmp_path, "--install-completion", "fish", env=env)
    script = home / ".config/fish/completions/gitmv.fish"
    assert MARKS["fish"] in script.read_text(), proc.stdout
    assert "fish completion installed" in proc.stdout
    assert not (home / ".bashrc").exists()  # bash, the shell running, was not touched
