"""The `.gitattributes` line that lets the `.gitignore` lines gitmv writes merge by union."""

from __future__ import annotations

import os
from pathlib import Path

from gitmv.base.atomic import write_bytes

FILE = ".gitattributes"
# A pattern with no slash matches a .gitignore in every folder; union keeps both sides'
# lines where two branches each added an artifact to one folder.
UNION_LINE = ".gitignore merge=union"


def ensure_union_merge(root: Path) -> bool:
    """Add the line to the top `.gitattributes`, keeping the user's lines; whether it changed."""
    path = root / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == ".gitignore" and "merge=union" in fields[1:]:
            return False
    if text and not text.endswith("\n"):
        text += "\n"
    mode = os.stat(path).st_mode & 0o777 if path.exists() else 0o644
    write_bytes(path, (text + UNION_LINE + "\n").encode("utf-8"), mode)
    return True
