"""The fault-injection tools themselves: each invariant checker catches the damage it is
there to catch (a checker that cannot fail proves nothing), and the proxy's faults are real."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faultproxy import Fault, FaultProxy
from tests.faults import (
    S3Audit,
    StatCacheAudit,
    StoreAudit,
    Version,
    WorkTreeAudit,
    check_gitignore,
    digest,
    oid_path,
)
from tests.servers import Server, s3_put

DATA = os.urandom(100_000)


def put(store: Path, data: bytes, name: str | None = None) -> Path:
    """An object laid out as gitmv lays it out (or under another `name`)."""
    path = store / (name or oid_path(digest(data)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_store_audit_catches_a_half_written_object_under_its_final_name(tmp_path: Path) -> None:
    put(tmp_path, DATA)
    put(tmp_path, b"other")
    audit = StoreAudit(tmp_path)
    assert audit.check() == 2
    half = put(tmp_path, DATA[:40_000], oid_path(digest(DATA)) + ".gmvtmp-12-ab")
    assert audit.check() == 2  # a temp name may hold anything
    half.rename(tmp_path / oid_path(digest(DATA)))  # ...but never under the final name
    with pytest.raises(AssertionError, match="its bytes are"):
        audit.check()


def test_store_audit_catches_a_bad_chunk_list(tmp_path: Path) -> None:
    a, b = DATA[:60_000], DATA[60_000:]
    put(tmp_path / "chunks", a)
    put(tmp_path / "chunks", b)
    rows = f'{{"oid": "{digest(a)}", "size": 60000}}\n{{"oid": "{digest(b)}", "size": 40000}}\n'
    listed = put(tmp_path, rows.encode(), oid_path(digest(DATA)) + ".chunks")
    audit = StoreAudit(tmp_path)
    audit.check()
    assert digest(DATA) in audit.oids()
    listed.write_bytes(rows.encode()[:-10])  # torn
    with pytest.raises(AssertionError, match="torn"):
        audit.check()
    listed.write_bytes(rows.encode())
    os.unlink(tmp_path / "chunks" / oid_path(digest(b)))  # a chunk gone
    os.utime(listed, ns=(1, 1))
    with pytest.raises(AssertionError, match="missing"):
        audit.check()


def test_work_tree_audit_catches_a_truncated_artifact(tmp_path: Path) -> None:
    v1 = Version(oid=digest(DATA), files={"a.bin": digest(b"a"), "b/c.bin": digest(b"c")})
    audit = WorkTreeAudit(tmp_path)
    assert audit.check_file("model.bin", [v1]) is None  # absent is fine
    (tmp_path / "model.bin").write_bytes(DATA)
    assert audit.check_file("model.bin", [v1]) == v1.oid
    (tmp_path / "model.bin").write_bytes(DATA[:1000])
    with pytest.raises(AssertionError, match="half-written"):
        audit.check_file("model.bin", [v1])
    put(tmp_path / "data", b"a", "a.bin")
    put(tmp_path / "data", b"half", "b/c.bin.gmvtmp-1-ff")
    assert audit.check_folder("data", [v1]) == 1
    put(tmp_path / "data", b"ha", "b/c.bin")
    with pytest.raises(AssertionError, match="half-written"):
        audit.check_folder("data", [v1])
    put(tmp_path / "data", b"c", "b/c.bin")
    put(tmp_path / "data", b"?", "stray.bin")
    with pytest.raises(AssertionError, match="no version"):
        audit.check_folder("data", [v1])


def test_gitignore_check_catches_torn_and_repeated_lines(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_text("/a\n/b\n")
    assert check_gitignore(path, ["/a"]) == ["/a", "/b"]
    path.write_text("/a\n/b")
    with pytest.raises(AssertionError, match="torn"):
        check_gitignore(path)
    path.write_text("/a\n/b\n/a\n")
    with pytest.raises(AssertionError, match="more than once"):
        check_gitignore(path)
    path.write_text("/a\n")
    with pytest.raises(AssertionError, match="lacks"):
        check_gitignore(path, ["/c"])


def test_stat_cache_audit_catches_a_wrong_oid_and_a_damaged_file(tmp_path: Path) -> None:
    artifact = tmp_path / "m.bin"
    artifact.write_bytes(DATA)
    st = os.stat(artifact)
    db = tmp_path / "state.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE stat (path TEXT PRIMARY KEY, inode, size, mtime_ns, oid)")
        row = (str(artifact), st.st_ino, st.st_size, st.st_mtime_ns, digest(DATA))
        conn.execute("INSERT INTO stat VALUES (?, ?, ?, ?, ?)", row)
        conn.commit()
    assert StatCacheAudit(db).check() == 1
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE stat SET oid = ?", (digest(b"something else"),))
        conn.commit()
    with pytest.raises(AssertionError, match="vouches"):
        StatCacheAudit(db).check()
    with open(db, "r+b") as f:  # scribble over the b-tree pages
        f.seek(100)
        f.write(os.urandom(4000))
    with pytest.raises((AssertionError, sqlite3.DatabaseError)):
        StatCacheAudit(db).check()


def test_s3_audit_catches_an_object_with_other_bytes(moto_server: Server, s3_bucket: str) -> None:
    key = oid_path(digest(DATA))
    s3_put(moto_server, s3_bucket, f"p/{key}", DATA)
    audit = S3Audit(moto_server.endpoint, s3_bucket, "p")
    assert audit.check() == 1
    s3_put(moto_server, s3_bucket, f"p/{key}", DATA[:5000])  # a new ETag: checked again
    with pytest.raises(AssertionError, match="its bytes are"):
        audit.check()


# -- the proxy -------------------------------------------------------------------------------


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback server that echoes what it reads."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # a fault may cut it at any point
            while data := conn.recv(65536):
                conn.sendall(data)

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def exchange(port: int, payload: bytes, timeout: float = 3) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while data := sock.recv(65536):
            got += data
        return got


def one(fault: Fault) -> Iterator[Fault]:
    yield fault
    while True:
        yield Fault("pass")


def test_the_proxy_passes_drops_resets_stalls_and_swallows(echo_port: int) -> None:
    payload = os.urandom(200_000)
    with FaultProxy(echo_port, one(Fault("pass"))) as proxy:
        assert exchange(proxy.port, payload) == payload
    with FaultProxy(echo_port, one(Fault("drop", 1000))) as proxy:
        try:
            got = exchange(proxy.port, payload)
        except OSError as exc:  # the drop can land before our own half-close: no echo at all
            assert exc.errno in (errno.ENOTCONN, errno.EPIPE, errno.ECONNRESET), exc
            got = b""
        assert len(got) < len(payload)
        assert proxy.injected["drop"] == 1
    reset = FaultProxy(echo_port, one(Fault("reset", 1000)))
    with reset, pytest.raises(OSError) as raised:
        exchange(reset.port, payload)
    assert raised.value.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN), raised.value
    with FaultProxy(echo_port, one(Fault("stall", 1000, stall=0.5))) as proxy:
        start = time.monotonic()
        assert exchange(proxy.port, payload) == payload
        assert time.monotonic() - start >= 0.5
    hole = FaultProxy(echo_port, one(Fault("blackhole")))
    with hole, pytest.raises(TimeoutError):
        exchange(hole.port, payload, timeout=0.5)
