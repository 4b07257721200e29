"""A DVC remote, read-only, in DVC's own layout: what `gitmv import dvc` falls back on.

DVC 3 keeps an object at `<url>/files/md5/<md5[:2]>/<md5[2:]>` (a folder's listing with a
`.dir` suffix), DVC 2 at `<url>/<md5[:2]>/<md5[2:]>`. This module only reads: gitmv never
writes to, nor deletes from, a DVC remote. Nothing here checks a hash: the caller checks
DVC's md5 of every download before it trusts a byte.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitmv.base.config import redact_url
from gitmv.base.errors import RemoteError


class DvcRemote:
    """Objects of one DVC remote, by md5, copied to a local file."""

    def __init__(self, name: str, url: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.label = f"{name!r} ({redact_url(url)})"
        self._options = dict(options)
        self._fs: Any = None

    def _keys(self, md5: str) -> list[str]:
        rest = f"{md5[:2]}/{md5[2:]}"
        return [f"{self.url}/files/md5/{rest}", f"{self.url}/{rest}"]  # DVC 3, then DVC 2

    def fetch(self, md5: str, dest: Path) -> bool:
        """Copy the object named `md5` (with `.dir` for a listing) to `dest`; False when the
        remote lacks it. An unreachable remote raises RemoteError naming it."""
        fs = self._filesystem()
        for key in self._keys(md5):
            try:
                if not fs.exists(key):
                    continue
                fs.get_file(key, str(dest))
                return True
            except FileNotFoundError:
                continue
            except Exception as exc:  # the storage library's own errors: named, not raw
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dest)
                raise RemoteError(
                    f"DVC remote {self.label}: cannot read {md5}: {type(exc).__name__}: {exc}",
                    hint="check the remote's URL and credentials in .dvc/config",
                ) from None
        return False

    def _filesystem(self) -> Any:
        if self._fs is None:
            # here, not at import: the remote stack pulls in fsspec and the storage libraries
            from gitmv.remotes.filesystems import filesystem

            protocol = self.url.split("://", 1)[0].lower() if "://" in self.url else "file"
            self._fs = filesystem(protocol, dict(self._options), 4)
        return self._fs
