"""What the importers ask git about other tools' files: the index with its modes, the
attributes Git LFS sets (`filter=lfs`) and the files that set them, Git LFS itself and its
store, DVC's files. Every call goes through gitmv.base.git's `run`/`out`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitmv.base.git import out, run


def index_entries(root: Path) -> list[tuple[str, str, int, str]]:
    """(mode, blob sha, stage, path) of every index entry (`ls-files -s`)."""
    found = []
    for record in out(["ls-files", "-s", "-z"], root).split("\0"):
        meta, sep, path = record.partition("\t")
        if not sep:
            continue
        mode, sha, stage = meta.split(" ")
        found.append((mode, sha, int(stage), path))
    return found


def attribute_values(root: Path, attribute: str, paths: Sequence[str]) -> dict[str, str]:
    """The value of one attribute for each path ("unspecified", "set", "unset" or a value)."""
    if not paths:
        return {}
    listing = "".join(p + "\0" for p in paths).encode("utf-8", errors="surrogateescape")
    raw = run(["check-attr", "-z", "--stdin", attribute], root, input=listing).stdout
    fields = raw.decode("utf-8", errors="surrogateescape").split("\0")
    return {fields[i]: fields[i + 2] for i in range(0, len(fields) - 2, 3)}


def attribute_files(root: Path) -> list[str]:
    """The `.gitattributes` files of the work tree (tracked, or untracked and not ignored)."""
    args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    raw = out([*args, "--", ":(glob)**/.gitattributes"], root)
    return sorted({p for p in raw.split("\0") if p})


def lfs_available(root: Path) -> bool:
    """Whether Git LFS is installed (`git lfs version`, which writes nothing; `git lfs env`
    creates `.git/lfs/`)."""
    return run(["lfs", "version"], root, check=False).returncode == 0


def config_file_get(root: Path, file: str, key: str) -> str | None:
    """A key of a git-config-format file in the work tree (`.lfsconfig`)."""
    proc = run(["config", "--file", file, "--get", key], root, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def lfs_fetch(root: Path, includes: Sequence[str]) -> str | None:
    """`git lfs fetch` of HEAD's objects under the `includes` patterns (gitignore-style);
    None on success, else the reason git lfs gave."""
    proc = run(["lfs", "fetch", "--include", ",".join(includes)], root, check=False)
    if proc.returncode == 0:
        return None
    lines = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else f"git lfs fetch exited {proc.returncode}"


def dvc_files(root: Path) -> list[str]:
    """The `.dvc` and `dvc.yaml` files of the work tree, committed or not (ignored ones
    aside): what `gitmv import dvc` reads. DVC's own folder `.dvc/` holds none of them."""
    patterns = ["*.dvc", "dvc.yaml", "*/dvc.yaml"]
    listed = out(
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *patterns], root
    )
    found = {p for p in listed.split("\0") if p and not p.startswith(".dvc/")}
    return sorted(p for p in found if (root / p).is_file())
