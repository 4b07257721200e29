"""`gitmv import dvc|lfs`: bring a DVC or Git LFS repository over, without rewriting history.

The report below is shared by both tools; `dvc.py` and `lfs.py` each hold one importer.
An importer plans everything first (reading and checking every input), and writes nothing
when any input is malformed; then it converts. A second run converts nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Converted:
    """One artifact that now has a `.gmv` pointer."""

    path: str  # the artifact, relative to the repository root, `/`-separated
    origin: str  # where its bytes came from: "work tree", "dvc cache", "dvc remote", ...
    size: int  # bytes (a folder: the sum of its files)
    files: int = 1  # 1 for a file; the file count of a folder artifact


@dataclass(frozen=True)
class Skipped:
    """An input the importer left alone, and why (already imported, bytes nowhere, ...)."""

    path: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    tool: str  # "dvc" or "lfs"
    converted: tuple[Converted, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    remotes: tuple[str, ...] = ()  # gitmv remotes created (by name)
    removed: tuple[str, ...] = ()  # old files removed (--remove-old)
    notes: tuple[str, ...] = field(default=())  # one line each: what did not carry over
    dry_run: bool = False
