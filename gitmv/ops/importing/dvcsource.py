"""Where a DVC output's bytes are: the work tree, else DVC's cache, else DVC's default remote.

Each candidate is hashed with DVC's md5 before it is trusted (and with gitmv's hash in the
same pass): a work-tree file that differs is passed over (the user changed it since `dvc
add`), but a DVC cache object or a remote download that does not match its md5 is damage,
refused with an error that names it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from gitmv.base.errors import GitmvError, IntegrityError
from gitmv.remotes.dvc import DvcRemote
from gitmv.store.hashing import Oid, new_hasher
from gitmv.store.manifest import check_relpath
from gitmv.workspace import scan

_BLOCK = 1 << 20
_DOS2UNIX_LIMIT = 64 << 20  # DVC 2's text-file md5 is checked for files up to this size

WORK_TREE, DVC_CACHE, DVC_REMOTE = "work tree", "dvc cache", "dvc remote"
_RANK = {WORK_TREE: 0, DVC_CACHE: 1, DVC_REMOTE: 2}


@dataclass(frozen=True)
class Found:
    """Bytes that hash to DVC's md5, and what gitmv will call them."""

    path: str  # a local file holding them
    origin: str  # WORK_TREE, DVC_CACHE or DVC_REMOTE
    oid: Oid
    size: int
    exec: bool = False


def worst(origins: list[str]) -> str:
    """A folder's origin: the farthest any of its files came from."""
    return max(origins, key=lambda o: _RANK[o]) if origins else WORK_TREE


def _hash(path: str, algorithm: str, legacy: bool) -> tuple[set[str], Oid, int]:
    """The md5s DVC may have recorded for this file, its gitmv oid, and its size."""
    md5 = hashlib.md5(usedforsecurity=False)
    ours = new_hasher(algorithm)
    size = 0
    keep = legacy and os.path.getsize(path) <= _DOS2UNIX_LIMIT
    kept: list[bytes] = []
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            md5.update(block)
            ours.update(block)
            size += len(block)
            if keep:
                kept.append(block)
    md5s = {md5.hexdigest()}
    if keep:  # DVC 2 hashed a text file with its CRLF line ends read as LF
        data = b"".join(kept)
        if b"\r\n" in data and b"\0" not in data[:8192]:
            md5s.add(hashlib.md5(data.replace(b"\r\n", b"\n"), usedforsecurity=False).hexdigest())
    return md5s, Oid(algorithm, ours.hexdigest()), size


class Sources:
    """Looks up DVC objects by md5 for one import; downloads go to `tmp`."""

    def __init__(
        self, root: Path, cache: Path, remote: DvcRemote | None, tmp: Path, algorithm: str
    ) -> None:
        self.root = root
        self.cache = cache
        self.remote = remote
        self.tmp = tmp
        self.algorithm = algorithm

    def _cached(self, md5: str, suffix: str = "") -> list[Path]:
        rest = f"{md5[:2]}/{md5[2:]}{suffix}"
        return [self.cache / "files" / "md5" / rest, self.cache / rest]  # DVC 3, then DVC 2

    def _remote_copy(self, md5: str, suffix: str = "") -> Path | None:
        if self.remote is None:
            return None
        dest = self.tmp / f"{md5}{suffix}"
        if dest.exists():
            return dest
        part = self.tmp / f"{md5}{suffix}.part"
        if not self.remote.fetch(md5 + suffix, part):
            return None
        os.replace(part, dest)
        return dest

    def file(self, work: str | None, md5: str, legacy: bool) -> Found | None:
        """The bytes DVC names `md5`; `work` is where the work tree keeps them."""
        if work is not None:
            path = str(self.root / work)
            with contextlib.suppress(OSError):
                st = os.stat(path)
                if stat.S_ISREG(st.st_mode):
                    md5s, oid, size = _hash(path, self.algorithm, legacy)
                    if md5 in md5s:
                        return Found(path, WORK_TREE, oid, size, scan.is_exec(st))
        for candidate in self._cached(md5):
            if candidate.is_file():
                md5s, oid, size = _hash(str(candidate), self.algorithm, legacy)
                if md5 not in md5s:
                    raise IntegrityError(
                        f"DVC cache file {self._show(candidate)} does not hash to its md5 "
                        f"{md5}: it is damaged, so it is not imported",
                        hint="delete that file: the import then reads the object from DVC's "
                        "remote (as `dvc pull` would), or restore it with `dvc add` of the "
                        "right bytes",
                    )
                return Found(str(candidate), DVC_CACHE, oid, size)
        got = self._remote_copy(md5)
        if got is None:
            return None
        md5s, oid, size = _hash(str(got), self.algorithm, legacy)
        if md5 not in md5s:
            got.unlink()
            assert self.remote is not None
            raise IntegrityError(
                f"object {md5} from the DVC remote {self.remote.label} does not hash to its "
                "md5: it is damaged there, so it is not imported",
                hint="push a good copy from a clone that has it (`dvc push`), then run again",
            )
        return Found(str(got), DVC_REMOTE, oid, size)

    def listing(self, md5: str, label: str) -> list[tuple[str, str]] | None:
        """A folder's `.dir` listing as (relpath, md5) pairs, checked against `md5`."""
        data: bytes | None = None
        where = ""
        for candidate in self._cached(md5, ".dir"):
            if candidate.is_file():
                data, where = candidate.read_bytes(), f"DVC cache file {self._show(candidate)}"
                break
        if data is None:
            got = self._remote_copy(md5, ".dir")
            if got is None:
                return self._rebuilt_listing(label, md5)
            assert self.remote is not None
            data, where = got.read_bytes(), f"DVC remote {self.remote.label} object {md5}.dir"
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
            raise IntegrityError(
                f"{where} (the listing of {label}) does not hash to its md5 {md5}: it is "
                "damaged, so it is not imported",
                hint="delete it so the import reads DVC's remote, or re-run `dvc add`",
            )
        try:
            rows = json.loads(data)
            pairs = [(str(row["relpath"]), str(row["md5"])) for row in rows]
        except (ValueError, TypeError, KeyError) as exc:
            raise GitmvError(f"{where}: not a DVC folder listing ({exc})") from None
        for relpath, _ in pairs:
            check_relpath(relpath, f"{label} (DVC listing {md5}.dir)")
        return pairs

    def _rebuilt_listing(self, label: str, md5: str) -> list[tuple[str, str]] | None:
        """Without DVC's `.dir` object, the folder in the work tree is trusted only if
        the listing DVC would write for it has that md5 (DVC's JSON, in either order)."""
        top = self.root / label
        if not top.is_dir() or top.is_symlink():
            return None
        rows: list[dict[str, str]] = []
        for folder, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in names:
                path = os.path.join(folder, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                digest = hashlib.md5(usedforsecurity=False)
                with open(path, "rb") as f:
                    while block := f.read(_BLOCK):
                        digest.update(block)
                rows.append(
                    {
                        "md5": digest.hexdigest(),
                        "relpath": os.path.relpath(path, top).replace(os.sep, "/"),
                    }
                )
        for key in (lambda r: r["relpath"].split("/"), lambda r: r["relpath"]):
            text = json.dumps(sorted(rows, key=key), sort_keys=True).encode("utf-8")
            if hashlib.md5(text, usedforsecurity=False).hexdigest() == md5:
                return [(r["relpath"], r["md5"]) for r in rows]
        return None

    def _show(self, path: Path) -> str:
        with contextlib.suppress(ValueError):
            return path.relative_to(self.root).as_posix()
        return str(path)
