"""A hash-verified reader: an object's bytes streamed from a store, hashed as they are read.

Reading to the end of a stream whose bytes do not match the oid (or the expected size)
raises IntegrityError. A large object a remote keeps as a chunk list and chunks (DESIGN 3.1)
is streamed as one, each chunk opened only when reached.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from gitmv.base.concat import ConcatenatedReader
from gitmv.base.errors import IntegrityError
from gitmv.remotes.remote import MissingObject, Remote
from gitmv.store import chunking, layout
from gitmv.store.hashing import Oid, new_hasher

BUFFER = 1024 * 1024


def open_remote_object(remote: Remote, oid: Oid, size: int | None) -> VerifyingReader:
    """The object's bytes from `remote`, whole or reassembled from its chunks, verified."""
    source = f"remote {remote.label}"
    try:
        return VerifyingReader(remote.open(oid), oid, size, source)
    except MissingObject:
        chunked = open_chunked(remote, oid, size)  # a large file may be stored as chunks
        if chunked is None:
            raise
        return VerifyingReader(chunked, oid, size, source)


def open_chunked(remote: Remote, oid: Oid, size: int | None) -> BinaryIO | None:
    """The object reassembled from its chunk list and chunks, streamed; None when the remote
    holds no chunk list for it either."""
    try:
        with remote.open_any(layout.list_key(oid)) as f:
            data = f.read()
    except MissingObject:
        return None
    chunks = chunking.decode_list(data, f"chunk list of {oid}", size)
    keys = [layout.chunk_key(c.oid) for c in chunks]
    files = (remote.open_any(key) for key in keys)  # each opened only when reached
    return io.BufferedReader(ConcatenatedReader(files), BUFFER)


class VerifyingReader(io.RawIOBase):
    """Reads an object and hashes what it reads; at the end, the bytes must match the oid.

    Seeking is passed through but ends verification (the hash covers one straight read).
    """

    def __init__(self, raw: BinaryIO, oid: Oid, size: int | None, source: str) -> None:
        super().__init__()
        self._raw = raw
        self._oid = oid
        self._size = size
        self._source = source
        self._hasher = new_hasher(oid.algorithm)
        self._hashed = 0
        self._position = 0
        self._verify = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        n = len(data)
        view[:n] = data
        if self._verify and self._position == self._hashed:
            if n:
                self._hasher.update(data)
                self._hashed += n
            else:
                self._check()
        self._position += n
        return n

    def _check(self) -> None:
        self._verify = False  # check once: a second read at EOF must not raise again
        actual = Oid(self._oid.algorithm, self._hasher.hexdigest())
        if actual != self._oid or (self._size is not None and self._hashed != self._size):
            raise IntegrityError(
                f"object {self._oid} from {self._source} is corrupt "
                f"(read {self._hashed} bytes hashing to {actual})",
                hint="run `gitmv verify` (with --remote for the remote) to find and repair it",
            )

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._raw.seek(offset, whence)
        if self._position != self._hashed:
            self._verify = False
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
