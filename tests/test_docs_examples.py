"""Every console example in README.md and docs/*.md runs, and prints what the page says.

One test per page: its examples run in page order in one scratch folder (a page is a
story: `cd project` in one block holds for the next). The convention is in
docs/contributing.md; the runner in tests/docexamples.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sybil.example import SybilFailure

from tests.docexamples import (
    SHOWN_ROOT,
    count_page,
    matches,
    parse_block,
    run_page,
    update_page,
)

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/**/*.md"))]


@pytest.mark.parametrize("page", PAGES)
def test_page_examples(page: str, tmp_path: Path) -> None:
    run_page(ROOT / page, tmp_path)


def _page(tmp_path: Path, body: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(body)
    return page


def test_a_changed_output_fails(tmp_path: Path) -> None:
    page = _page(tmp_path, "# p\n\n```console\n$ echo one\none\n$ echo two\nthree\n```\n")
    with pytest.raises(SybilFailure) as failure:
        run_page(page, tmp_path / "run")
    assert "page.md:6: `$ echo two` printed other output" in str(failure.value)
    assert "-three\n+two" in str(failure.value)


def test_a_wrong_exit_code_fails(tmp_path: Path) -> None:
    # an `error:` line promises a non-zero exit, and no such line promises 0
    page = _page(tmp_path, "```console\n$ echo 'error: no'\nerror: no\n```\n")
    with pytest.raises(SybilFailure, match="exited 0, the page promises non-zero"):
        run_page(page, tmp_path / "a")
    page = _page(tmp_path, "```console\n$ echo hi; false\nhi\n```\n")
    with pytest.raises(SybilFailure, match="exited 1, the page promises 0"):
        run_page(page, tmp_path / "b")
    page = _page(tmp_path, "```console\n$ echo hi; exit 3\nhi\n[3]\n```\n")
    run_page(page, tmp_path / "c")


def test_blocks_share_folder_and_gitmv_is_this_checkout(tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        "<!-- invisible-code-block: console\n$ mkdir sub && cd sub\n-->\n\n"
        "```console\n$ pwd\n/tmp/gmvdoc/sub\n$ gitmv --version\ngitmv ...\n```\n\n"
        '<!-- skip: next "needs credentials" -->\n\n```console\n$ false\n```\n',
    )
    result = run_page(page, tmp_path / "run")
    # the skip marker and the hidden block are examples too, each counted once
    assert (result.ran, result.skipped) == (3, ["page.md:14: needs credentials"])
    assert SHOWN_ROOT == "/tmp/gmvdoc"


def test_wildcards() -> None:
    assert matches(["a", "...", "d"], "a\nb\nc\nd\n")
    assert matches(["a", "…", "b"], "a\nb\n")
    assert matches(["x ... z"], "x yyy z\n")
    assert not matches(["x ... z"], "x y\nz\n")
    assert not matches(["a", "b"], "a\nb\nc\n")
    steps = parse_block("$ echo a \\\n  b\na b\n$ true\n")
    assert [s.command for s in steps] == ["echo a \\\n  b", "true"]
    steps = parse_block("$ cat > f <<'EOF'\n> one\n>\n> EOF\n$ cat f\none\n\n")
    assert steps[0].command == "cat > f <<'EOF'\none\n\nEOF"
    assert (steps[1].command, steps[1].expected) == ("cat f", ["one", ""])


def test_exports_carry_over_and_servers_are_ended(tmp_path: Path) -> None:
    # a page's server listens on the port it shows (5000), mapped to a free one; what it
    # starts with `&` is ended with the page
    page = _page(
        tmp_path,
        "```console\n$ export GREETING=hi\n$ echo $GREETING\nhi\n"
        "$ python3 -m http.server -b 127.0.0.1 5000 >/dev/null 2>&1 & echo $! > pid; sleep 1\n"
        "$ echo http://127.0.0.1:5000\nhttp://127.0.0.1:5000\n```\n",
    )
    run_page(page, tmp_path / "run")
    pid = int((tmp_path / "run/work/pid").read_text())
    time.sleep(0.5)
    stat = Path(f"/proc/{pid}/stat")
    # gone, or a zombie that nobody reaped yet (its parent shell has exited)
    assert not stat.exists() or stat.read_text().split(") ")[1].startswith("Z")


def test_commands_are_counted_run_and_skipped(tmp_path: Path) -> None:
    # what `python -m tests.docexamples --count` reports: `$` lines, hidden blocks included
    page = _page(
        tmp_path,
        "<!-- invisible-code-block: console\n$ true\n-->\n\n"
        "```console\n$ echo a\na\n$ echo b \\\n  c\nb c\n```\n\n"
        '<!-- skip: next "needs a cloud" -->\n\n```console\n$ false\n$ false\n```\n',
    )
    counted = count_page(page)
    assert (counted.commands, counted.skipped_commands) == (3, 2)
    ran = run_page(page, tmp_path / "run")
    assert (ran.commands, ran.skipped_commands) == (3, 2)


def test_update_rewrites_a_block_inside_a_list_item(tmp_path: Path) -> None:
    page = _page(tmp_path, "- item:\n\n  ```console\n  $ echo new\n  old\n  ```\n")
    assert update_page(page, tmp_path / "run") == 1
    assert page.read_text() == "- item:\n\n  ```console\n  $ echo new\n  new\n  ```\n"
