"""Listing artifacts in the `.gitignore` of their folder, so git never tracks their bytes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gitmv.base.atomic import write_bytes

_SPECIAL = set("*?[]\\!#")


def pattern(name: str) -> str:
    """An anchored pattern matching exactly `name` in its folder."""
    escaped = "".join("\\" + c if c in _SPECIAL else c for c in name)
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def files_for(root: Path, artifacts: Sequence[str]) -> list[str]:
    """The .gitignore files (root-relative) that list these artifacts and exist."""
    folders = {rel.rpartition("/")[0] for rel in artifacts}
    names = [f"{folder}/.gitignore" if folder else ".gitignore" for folder in sorted(folders)]
    return [name for name in names if (root / name).is_file()]


def ensure_ignored(root: Path, artifacts: Sequence[str]) -> list[str]:
    """Add each artifact to its folder's .gitignore; return the .gitignore files changed.

    Callers hold the repository lock: two gitmv processes must not interleave here.
    """
    by_folder: dict[str, list[str]] = {}
    for rel in artifacts:
        folder, _, name = rel.rpartition("/")
        by_folder.setdefault(folder, []).append(pattern(name))
    changed = []
    for folder, patterns in by_folder.items():
        ignore_file = root / folder / ".gitignore" if folder else root / ".gitignore"
        try:
            text = ignore_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        present = {line.rstrip("\r\n") for line in text.splitlines()}
        missing = [p for p in dict.fromkeys(patterns) if p not in present]
        if not missing:
            continue
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join(p + "\n" for p in missing)
        mode = os.stat(ignore_file).st_mode & 0o777 if ignore_file.exists() else 0o644
        write_bytes(ignore_file, text.encode("utf-8"), mode)
        changed.append(ignore_file.relative_to(root).as_posix())
    return changed


def remove_ignored(root: Path, artifacts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Drop each artifact's line from its folder's .gitignore (`gitmv rm`, `gitmv mv`);
    return the files rewritten and the files deleted because nothing was left in them.

    Callers hold the repository lock, as for `ensure_ignored`.
    """
    by_folder: dict[str, set[str]] = {}
    for rel in artifacts:
        folder, _, name = rel.rpartition("/")
        by_folder.setdefault(folder, set()).add(pattern(name))
    rewritten, deleted = [], []
    for folder, patterns in by_folder.items():
        ignore_file = root / folder / ".gitignore" if folder else root / ".gitignore"
        try:
            text = ignore_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if line.rstrip("\r\n") not in patterns]
        if len(kept) == len(lines):
            continue
        rel_file = ignore_file.relative_to(root).as_posix()
        if not "".join(kept).strip():  # only gitmv's lines were there: leave no empty file
            os.unlink(ignore_file)
            deleted.append(rel_file)
            continue
        write_bytes(
            ignore_file, "".join(kept).encode("utf-8"), os.stat(ignore_file).st_mode & 0o777
        )
        rewritten.append(rel_file)
    return rewritten, deleted
