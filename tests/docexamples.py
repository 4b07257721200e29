"""Run the console examples of a Markdown page, as a reader would type them.

Sybil (a maintained library for testing examples in documentation) finds the blocks
(```console fences and `<!-- invisible-code-block: console -->` comments, in page order)
and the `<!-- skip: ... -->` markers; this module is only the part Sybil cannot know: how
to run one `$ command` line in a shell and compare what it prints. docs/contributing.md
describes the convention for the writers of the pages.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser

# What the reader sees as the page's scratch folder; the real one is a pytest tmp folder.
# Commands may name it (`gitmv remote add origin /tmp/gmvdoc/remote`); output shows it.
SHOWN_ROOT = "/tmp/gmvdoc"

# Fixed dates and identity: commit ids on the pages are then the ones a run prints.
PINNED_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2026-01-05T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-05T12:00:00+00:00",
    "COLUMNS": "100",
    "NO_COLOR": "1",
    "TERM": "dumb",
    "LC_ALL": "C.UTF-8",
    "DVC_NO_ANALYTICS": "1",
}

COMMAND_TIMEOUT = 120  # seconds; a hung command fails its example instead of the suite


# Loopback servers a page starts (`moto_server -H 127.0.0.1 -p 5000 ...`): the page shows
# these ports, the run uses free ones, so parallel runs do not collide.
SHOWN_PORTS = (5000, 9023)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Shell:
    """One page's shell: its scratch folder, the folder `cd` left it in, the variables
    `export` set, and the processes it left running."""

    root: Path
    env: dict[str, str]
    cwd: Path = field(init=False)
    status: int = 0  # of the last command, for `$?`
    groups: list[int] = field(default_factory=list)  # process groups, one per command
    ports: dict[int, int] = field(default_factory=dict)  # shown -> real

    def __post_init__(self) -> None:
        self.cwd = self.root
        self.ports = {shown: _free_port() for shown in SHOWN_PORTS}

    def run(self, command: str) -> tuple[int, str]:
        """Run one command line in bash (stdout and stderr together, as a terminal shows
        them); remember the folder it ends in and what it exported, as an interactive
        shell would. Output goes to a file, not a pipe: a server started with `&` then
        does not hold the command open."""
        state = self.root.parent
        # `(exit N)` first: `$?` is the previous command's status, as `echo $?` expects
        script = (
            '[ -f "$3/env" ] && . "$3/env"\ncd "$1" || exit 99\n(exit "$4")\neval "$2"\n'
            'rc=$?\npwd > "$3/cwd"\nexport -p > "$3/env"\nexit $rc\n'
        )
        args = [str(self.cwd), self._real(command), str(state), str(self.status)]
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(
                ["bash", "-c", script, "docshell", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,  # its own group: what it leaves running is found
            )
            self.groups.append(proc.pid)
            try:
                code = proc.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.close()
                raise
            out.seek(0)
            # a page that `cat`s a binary file fails on its diff, not here
            text = out.read().decode("utf-8", errors="replace")
        if (state / "cwd").exists():
            self.cwd = Path((state / "cwd").read_text().strip())
            (state / "cwd").unlink()
        self.status = code
        return code, self._shown(text)

    def close(self) -> None:
        """End what the page left running (a server started with `&`)."""
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGTERM)

    def _real(self, command: str) -> str:
        command = command.replace(SHOWN_ROOT, str(self.root))
        for shown, real in self.ports.items():
            command = command.replace(f"127.0.0.1:{shown}", f"127.0.0.1:{real}")
            command = command.replace(f"-p {shown}", f"-p {real}")
            command = command.replace(f"--port {shown}", f"--port {real}")
        return command

    def _shown(self, text: str) -> str:
        text = text.replace(str(self.root), SHOWN_ROOT)
        for shown, real in self.ports.items():
            text = text.replace(f"127.0.0.1:{real}", f"127.0.0.1:{shown}")
        return text


_AS_GITMV = "import sys; sys.argv[0] = 'gitmv'; from gitmv.cli import main; main()"


def make_shell(scratch: Path) -> Shell:
    """A shell in `scratch/work` (the page's `/tmp/gmvdoc`) with a home of its own in
    `scratch/home`: git's identity and `init.defaultBranch main`, no system config; its
    `gitmv` is this checkout's (`python -m gitmv` with the test interpreter), and its
    `python3` is that interpreter too."""
    work, home = scratch / "work", scratch / "home"
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True)
    work.mkdir()
    for name, line in (
        # `python -m gitmv` would name itself so in usage lines; a user's `gitmv` says gitmv
        ("gitmv", f'exec "{sys.executable}" -c "{_AS_GITMV}" "$@"'),
        ("python3", f'exec "{sys.executable}" "$@"'),
        ("python", f'exec "{sys.executable}" "$@"'),
    ):
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{line}\n")
        path.chmod(0o755)
    (home / "gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
    )
    (home / "templates").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITMV_"))},
        **PINNED_ENV,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "xdg"),
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TEMPLATE_DIR": str(home / "templates"),
        # as a reader's terminal shows it: stdout line by line, between the stderr lines
        # (piped, Python would hold stdout back until exit and print every warning first)
        "PYTHONUNBUFFERED": "1",
        # then the test interpreter's own bin: the test requirements (dvc) that pages use
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
    }
    return Shell(work, env)


@dataclass(frozen=True)
class Step:
    command: str
    source: list[str]  # the page's lines for it: `$ ...`, continuations
    expected: list[str]
    line: int  # of the `$` line, within the block


def parse_block(text: str) -> list[Step]:
    """`$ cmd` lines, each followed by its output. A command goes on on the next line
    after a trailing backslash, and on `> ` lines (the shell's own continuation prompt,
    as a heredoc shows on a terminal)."""
    steps: list[Step] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ ") and line != "$":
            if not steps:
                raise ValueError(f"output before the first `$ ` command: {line!r}")
            steps[-1].expected.append(line)
            i += 1
            continue
        start = i
        command = line[2:]
        i += 1
        while i < len(lines) and (
            command.endswith("\\") or lines[i].startswith("> ") or lines[i] == ">"
        ):
            # bash reads a backslash-newline itself; `> ` is the prompt, not the text
            command += "\n" + (lines[i][2:] if lines[i].startswith(">") else lines[i])
            i += 1
        steps.append(Step(command, lines[start:i], [], start))
    return steps


_EXIT_LINE = re.compile(r"\[(\d+)\]")


def expected_exit(expected: list[str]) -> tuple[int | None, list[str]]:
    """The exit code the page promises: `[N]` as the last output line says N; an `error:`
    line says non-zero (None); otherwise 0."""
    if expected and _EXIT_LINE.fullmatch(expected[-1].strip()):
        return int(expected[-1].strip()[1:-1]), expected[:-1]
    if any(line.startswith(("error:", "fatal:", "Usage:")) for line in expected):
        return None, expected
    return 0, expected


def matches(expected: list[str], actual: str) -> bool:
    """`...` (or `…`) alone on a line stands for any lines, none included; `...` inside a
    line for any text on that line. Trailing spaces and blank lines at the end do not count."""
    pattern = []
    for line in _trim(expected):
        if line.strip() in ("...", "…"):
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            parts = [re.escape(part) for part in line.rstrip().split("...")]
            pattern.append("[^\n]*?".join(parts) + r"\n")
    got = "".join(line + "\n" for line in _trim(actual.splitlines()))
    return re.fullmatch("".join(pattern), got) is not None


def _trim(lines: list[str]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def evaluate_console(example: Example) -> str | None:
    shell: Shell = example.namespace["shell"]
    rewritten: list[str] | None = [] if "updates" in example.namespace else None
    for step in parse_block(str(example.parsed)):
        want_code, want_lines = expected_exit(step.expected)
        code, output = shell.run(step.command)
        where = f"{example.path}:{example.line + step.line + 1}"
        failure = _compare(step, want_code, want_lines, code, output)
        if rewritten is not None:  # --update: keep what still holds, write what ran
            rewritten.extend(step.source)
            rewritten.extend(step.expected if failure is None else _as_shown(code, output))
        elif failure is not None:
            return f"{where}: `$ {step.command}` {failure}"
    if rewritten is not None:
        example.namespace["updates"].append((example, rewritten))
    return None


def _compare(
    step: Step, want_code: int | None, want_lines: list[str], code: int, output: str
) -> str | None:
    if not matches(want_lines, output):
        diff = "\n".join(
            difflib.unified_diff(
                _trim(want_lines), _trim(output.splitlines()), "page", "run", lineterm=""
            )
        )
        return f"printed other output:\n{diff}"
    if not (code != 0 if want_code is None else code == want_code):
        promised = "non-zero" if want_code is None else str(want_code)
        return (
            f"exited {code}, the page promises {promised} (an `error:` line means"
            f" non-zero; `[N]` as the last line means N)\n{output}"
        )
    return None


def _as_shown(code: int, output: str) -> list[str]:
    lines = _trim(output.splitlines())
    want_code, _ = expected_exit(lines)
    if not (code != 0 if want_code is None else code == want_code):
        lines.append(f"[{code}]")
    return lines


SYBIL = Sybil(
    parsers=[CodeBlockParser(language="console", evaluator=evaluate_console), SkipParser()],
)


@dataclass
class PageRun:
    ran: int = 0
    skipped: list[str] = field(default_factory=list)  # "page:line: reason"
    commands: int = 0  # `$` lines of the console blocks that ran
    skipped_commands: int = 0  # `$` lines of the console blocks a skip marker held back


def _commands(example: Example) -> int:
    """The `$` commands of a console block (0 for a skip marker)."""
    if example.region.evaluator is not evaluate_console:
        return 0
    return len(parse_block(str(example.parsed)))


def run_page(page: Path, root: Path) -> PageRun:
    """Every console example of `page`, in page order, in one scratch folder `root`.
    Raises SybilFailure (with the diff) on the first that fails."""
    document = SYBIL.parse(page)
    document.namespace["shell"] = make_shell(root)
    # for `<!-- skip: start if(not git_lfs, reason="...") -->`
    document.namespace["git_lfs"] = _has_git_lfs()
    result = PageRun()
    try:
        for example in document.examples():
            try:
                example.evaluate()
            except unittest.SkipTest as skip:  # `<!-- skip: next "reason" -->`: go on
                result.skipped.append(f"{page.name}:{example.line}: {skip}")
                result.skipped_commands += _commands(example)
            else:
                result.ran += 1
                result.commands += _commands(example)
    finally:
        document.namespace["shell"].close()
    return result


def count_page(page: Path) -> PageRun:
    """What `run_page` would run and skip, without running it: the skip markers are
    evaluated as a run evaluates them, the console blocks only counted."""
    document = SYBIL.parse(page)
    document.namespace["git_lfs"] = _has_git_lfs()
    result = PageRun()
    for example in document.examples():
        if example.region.evaluator is evaluate_console:
            # the document's own skip state decides, as in a run; the block is not run
            example.region.evaluator = _count_only
        try:
            example.evaluate()
        except unittest.SkipTest as skip:
            result.skipped.append(f"{page.name}:{example.line}: {skip}")
            if example.region.evaluator is _count_only:
                result.skipped_commands += len(parse_block(str(example.parsed)))
        else:
            result.ran += 1
            if example.region.evaluator is _count_only:
                result.commands += len(parse_block(str(example.parsed)))
    return result


def _count_only(example: Example) -> str | None:
    return None


def _has_git_lfs() -> bool:
    return subprocess.run(["git", "lfs", "version"], capture_output=True).returncode == 0


def update_page(page: Path, root: Path) -> int:
    """Run `page` and write each block's actual output into it where the page's no longer
    matches (wildcards that still match are kept); returns how many blocks changed.
    For a writer: review the diff, then put `...` back where output varies."""
    document = SYBIL.parse(page)
    document.namespace["shell"] = make_shell(root)
    document.namespace["git_lfs"] = _has_git_lfs()
    updates: list[tuple[Example, list[str]]] = []
    document.namespace["updates"] = updates
    try:
        for example in document.examples():
            with contextlib.suppress(unittest.SkipTest):
                example.evaluate()
    finally:
        document.namespace["shell"].close()
    text = page.read_text()
    changed = 0
    for example, lines in reversed(updates):  # from the end: earlier offsets stay valid
        old = str(example.parsed)
        new = "".join(line + "\n" for line in lines)
        if new == old:
            continue
        start, end = example.region.start, example.region.end
        region = text[start:end]
        indent = region[: len(region) - len(region.lstrip(" "))]
        if indent:  # a block inside a list item: Sybil gave it dedented
            old, new = _indented(old, indent), _indented(new, indent)
        text = text[:start] + region.replace(old, new, 1) + text[end:]
        changed += 1
    page.write_text(text)
    return changed


def _indented(block: str, indent: str) -> str:
    return "".join(indent + line if line.strip() else line for line in block.splitlines(True))


def _print_counts(names: list[str]) -> None:
    ran = total = 0
    for name in names:
        counted = count_page(Path(name))
        ran += counted.commands
        total += counted.commands + counted.skipped_commands
        print(f"{name}: {counted.commands} of {counted.commands + counted.skipped_commands} run")
        for skipped in counted.skipped:
            print(f"  skipped {skipped}")
    print(f"all: {ran} of {total} commands run")


if __name__ == "__main__" and sys.argv[1:2] == ["--count"]:
    # `python -m tests.docexamples --count README.md docs/*.md`: how many commands run
    _print_counts(sys.argv[2:])
elif __name__ == "__main__":
    for name in sys.argv[1:]:
        with tempfile.TemporaryDirectory(prefix="gmvdoc-") as scratch:
            print(f"{name}: {update_page(Path(name), Path(scratch))} blocks rewritten")
