"""The import's reading of `.gitattributes`, checked against git itself (`git check-attr`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitmv.ops.importing import lfsattrs
from tests.helpers import git

PATHS = [
    "a.bin",
    "x/a.bin",
    "x/y/a.bin",
    "data/one.csv",
    "data/deep/two.csv",
    "datax/three.csv",
    "sub/m.pt",
    "sub/inner/m.pt",
    "a b.bin",
    "model.bin.gmv",
    "data/.gitignore",
    "[x].bin",
    "weights-7.pt",
    "weights-a.pt",
]
PATTERNS = [
    "*.bin",
    "/a.bin",
    "x/*.bin",
    "x/**/a.bin",
    "**/a.bin",
    "data/**",
    "data/*",
    "data",
    "data/",
    "a[[:space:]]b.bin",
    "\\[x\\].bin",
    "weights-[0-9].pt",
    "weights-[!0-9].pt",
    "m.pt",
    "*",
    "**/*.csv",
    "d?ta/**",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_matches_what_git_matches(tmp_path: Path, pattern: str) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitattributes").write_text(f"{pattern} filter=lfs\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/.gitattributes").write_text("inner/** -filter\n")
    files = lfsattrs.read(tmp_path, [".gitattributes", "sub/.gitattributes"], None)
    ours = {p for p in PATHS if lfsattrs.resolve_filter(files, p, frozenset()) == "lfs"}
    out = git(tmp_path, "check-attr", "filter", "--", *PATHS)
    theirs = {line.split(": ")[0] for line in out.splitlines() if line.endswith(": lfs")}
    theirs = {p.strip('"').replace("\\", "") for p in theirs}
    assert ours == theirs


def test_rewrite_keeps_every_other_byte_and_other_attributes() -> None:
    text = (
        "# models\r\n*.bin filter=lfs diff=lfs merge=lfs -text\r\n\r\n"
        "  *.pt   filter=lfs diff=lfs merge=lfs -text linguist-generated\n*.txt text\n"
    )
    attr_file = lfsattrs.AttrFile(
        ".gitattributes", text, lfsattrs._parse(".gitattributes", text, ""), True
    )
    dropped = frozenset((line.file, line.number) for line in attr_file.lines if line.is_lfs)
    assert lfsattrs.rewrite(attr_file, dropped) == (
        "# models\r\n\r\n  *.pt linguist-generated\n*.txt text\n"
    )
    assert lfsattrs.rewrite(attr_file, frozenset()) == text
