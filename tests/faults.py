"""Fault injection for the crash, network and race tests: seeded kills, and the invariant
checkers that run after each fault.

The checkers hash with xxhash / hashlib directly and read sqlite, YAML and S3 listings
themselves, so a bug in gitmv's own hashing or listing cannot hide a bug it should catch.
Each re-hashed file is remembered by its stat key (inode, size, mtime, ctime): an object is
immutable, so a file that still stats the same was sound when it was last hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import xxhash

TEMP_MARK = ".gmvtmp-"
HEX_LENGTH = {"xxh128": 32, "sha256": 64}
DEFAULT_SEED = 20260401
KILL_BUDGET = 60.0  # seconds a single uninterrupted run may take before the test gives up


def fault_seed() -> int:
    """The seed of every fault schedule: `GITMV_FAULT_SEED`, or a fixed default."""
    return int(os.environ.get("GITMV_FAULT_SEED", DEFAULT_SEED))


def rng_for(name: str) -> random.Random:
    """One independent, reproducible random stream per command under test."""
    return random.Random(f"{fault_seed()}:{name}")


def digest(data: bytes, algorithm: str = "xxh128") -> str:
    if algorithm == "xxh128":
        return f"xxh128:{xxhash.xxh3_128_hexdigest(data)}"
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def file_digest(path: Path | str, algorithm: str = "xxh128") -> str:
    h: Any = xxhash.xxh3_128() if algorithm == "xxh128" else hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while block := f.read(4 * 1024 * 1024):
            h.update(block)
    return f"{algorithm}:{h.hexdigest()}"


def oid_path(oid: str) -> str:
    """`xxh128:4f1c…` -> `xxh128/4f/1c…`, the layout of the cache and of every remote."""
    algorithm, _, hexpart = oid.partition(":")
    return f"{algorithm}/{hexpart[:2]}/{hexpart[2:]}"


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# -- object stores ---------------------------------------------------------------------------


class StoreAudit:
    """Every object (and chunk) under its final name in a folder store (the cache or a folder
    remote) re-hashes to its name, and every chunk list is whole and true. Temporary names
    may exist; nothing else may sit among the objects."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # (inode, size, mtime) of files found sound: a hard link to one is sound too
        self._sound: set[tuple[int, int, int]] = set()
        self.hashed = 0

    def _scan(self, base: Path, lists: bool) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for algorithm, length in HEX_LENGTH.items():
            top = base / algorithm
            if not top.is_dir():
                continue
            for prefix in os.scandir(top):
                if not prefix.is_dir():
                    raise AssertionError(f"stray file among the objects: {prefix.path}")
                for entry in os.scandir(prefix.path):
                    if TEMP_MARK in entry.name or entry.name.endswith(LIST) != lists:
                        continue
                    hexpart = prefix.name + entry.name.removesuffix(LIST)
                    if len(prefix.name) != 2 or len(hexpart) != length:
                        raise AssertionError(f"a file that names no object: {entry.path}")
                    found[f"{algorithm}:{hexpart}"] = Path(entry.path)
        return found

    def objects(self) -> dict[str, Path]:
        """oid -> path of every whole object and chunk under its final name."""
        found = self._scan(self.root, lists=False)
        found.update(self._scan(self.root / "chunks", lists=False))
        return found

    def chunk_lists(self) -> dict[str, Path]:
        """oid -> chunk list: a remote's (`<oid path>.chunks`) and the cache's index."""
        found = self._scan(self.root, lists=True)
        found.update(self._scan(self.root / "chunk-lists", lists=True))
        return found

    def check(self) -> int:
        """Re-hash what changed since the last check; return how many objects there are."""
        objects = self.objects()
        todo = [(oid, path) for oid, path in objects.items() if self._changed(path)]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda t: _rehash(t[0], t[1]), todo))
        for (oid, path), actual in zip(todo, results, strict=True):
            if actual is None:
                continue  # gc removed it meanwhile
            if actual != oid:
                raise AssertionError(f"{path} is under the name {oid} but its bytes are {actual}")
            self._remember(path)
        for oid, path in self.chunk_lists().items():
            if self._changed(path):
                self._check_list(oid, path)
                self._remember(path)
        self.hashed += len(todo)
        return len(objects)

    def _changed(self, path: Path) -> bool:
        try:
            return _stat_key(os.stat(path))[:3] not in self._sound
        except FileNotFoundError:
            return False

    def _remember(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._sound.add(_stat_key(os.stat(path))[:3])

    def _check_list(self, oid: str, path: Path) -> None:
        try:
            chunks = parse_chunk_list(path.read_bytes(), str(path))
        except FileNotFoundError:
            return
        in_index = path.is_relative_to(self.root / "chunk-lists")
        whole = self.root / oid_path(oid)
        if in_index:  # the cache's index: true of its object, if the object is still there
            with contextlib.suppress(FileNotFoundError):
                check_pieces(whole.read_bytes(), chunks, str(path))
            return
        data = b""
        for chunk_oid, _size in chunks:
            try:
                data += (self.root / "chunks" / oid_path(chunk_oid)).read_bytes()
            except FileNotFoundError:
                raise AssertionError(f"{path} lists chunk {chunk_oid}, which is missing") from None
        check_pieces(data, chunks, str(path))
        actual = digest(data, oid.partition(":")[0])
        assert actual == oid, f"{path}: its chunks make {actual}, not {oid}"

    def oids(self) -> set[str]:
        """Every object the store holds, whole or as a chunk list (chunks themselves aside)."""
        found = set(self._scan(self.root, lists=False))
        return found | set(self._scan(self.root, lists=True))


LIST = ".chunks"


def _rehash(oid: str, path: Path) -> str | None:
    try:
        return file_digest(path, oid.partition(":")[0])
    except FileNotFoundError:
        return None


def parse_chunk_list(data: bytes, name: str) -> list[tuple[str, int]]:
    """A chunk list's (chunk oid, size) rows; any torn or malformed line fails."""
    assert data.endswith(b"\n"), f"{name}: torn chunk list"
    rows = []
    for line in data.decode("utf-8").splitlines():
        row = json.loads(line)
        assert isinstance(row["oid"], str) and isinstance(row["size"], int), name
        rows.append((row["oid"], row["size"]))
    return rows


def check_pieces(data: bytes, chunks: list[tuple[str, int]], name: str) -> None:
    """`data`, cut at the listed sizes, hashes to the listed chunk oids."""
    assert sum(size for _, size in chunks) == len(data), f"{name}: sizes do not add up"
    offset = 0
    for oid, size in chunks:
        piece = data[offset : offset + size]
        assert digest(piece, oid.partition(":")[0]) == oid, f"{name}: chunk {oid} is wrong"
        offset += size


def make_bucket(server: Any) -> str:
    """A fresh bucket on a loopback S3 server (moto); returns its name."""
    import uuid

    import boto3

    name = f"gitmv-faults-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return name


class S3Audit:
    """The same invariant for a bucket prefix: list it, re-hash each object not seen before
    (an object is remembered by key and ETag, so a replaced one is hashed again)."""

    def __init__(self, endpoint: str, bucket: str, prefix: str) -> None:
        import boto3

        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/"
        self._sound: dict[str, str] = {}
        self.hashed = 0
        # packed members (DESIGN 3.1.1): member key -> (pack key, offset, size)
        self.packed: dict[str, tuple[str, int, int]] = {}

    def listing(self) -> dict[str, str]:
        """key (below the prefix) -> ETag."""
        found = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                found[item["Key"][len(self.prefix) :]] = item["ETag"]
        return found

    def check(self) -> int:
        listing = self.listing()
        todo, lists = [], []
        self._check_packs(listing)
        for key, etag in listing.items():
            parts = key.split("/")
            if TEMP_MARK in parts[-1]:
                raise AssertionError(f"an object store needs no temp names, yet found {key}")
            if parts[0] in ("packs", "keep") or key == "gitmv.json":
                continue  # packs: checked above; keep notes and the format file name none
            algorithm = parts[1] if parts[0] == "chunks" else parts[0]
            hexpart = "".join(parts[-2:]).removesuffix(LIST)
            if algorithm not in HEX_LENGTH or len(hexpart) != HEX_LENGTH[algorithm]:
                raise AssertionError(f"a key that names no object: {key}")
            if self._sound.get(key) == etag:
                continue
            item = (key, f"{algorithm}:{hexpart}", etag)
            (lists if key.endswith(LIST) else todo).append(item)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(self._get_digest, todo))
        for (key, oid, etag), actual in zip(todo, results, strict=True):
            if actual is None:
                continue
            if actual != oid:
                raise AssertionError(f"s3 key {key} is named {oid} but its bytes are {actual}")
            self._sound[key] = etag
        for key, oid, etag in lists:
            self._check_list(key, oid, listing)
            self._sound[key] = etag
        self.hashed += len(todo)
        return len(listing)

    def _get(self, key: str) -> bytes | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(body.read())

    def _check_packs(self, listing: dict[str, str]) -> None:
        """Every index has its pack (written first), and every member hashes to its key."""
        self.packed = {k: v for k, v in self.packed.items() if v[0] in listing}
        for key, etag in listing.items():
            if not (key.startswith("packs/") and key.endswith(".idx")):
                continue
            pack = key.removesuffix(".idx") + ".pack"
            assert pack in listing, f"s3 index {key} names a pack that is not there"
            if self._sound.get(key) == etag:
                continue
            index, body = self._get(key), self._get(pack)
            if index is None or body is None:
                continue  # deleted since the listing (a gc)
            lines = index.decode().splitlines()
            assert lines[0] == "gitmv-pack-index 1", f"{key} is no pack index"
            for line in lines[1:]:
                member, offset, size = line.split(" ")[:3]
                data = body[int(offset) : int(offset) + int(size)]
                assert len(data) == int(size), f"{key}: {member} runs past its pack"
                parts = member.split("/")
                if not member.endswith(LIST):
                    oid = f"{parts[-3]}:{parts[-2]}{parts[-1]}"
                    assert digest(data, parts[-3]) == oid, f"{key}: member {member} is wrong"
                self.packed[member] = (pack, int(offset), int(size))
            self._sound[key] = etag

    def _read(self, key: str) -> bytes | None:
        """A loose object, or a packed member."""
        if key in self.packed:
            pack, offset, size = self.packed[key]
            body = self._get(pack)
            return None if body is None else body[offset : offset + size]
        return self._get(key)

    def _check_list(self, key: str, oid: str, listing: dict[str, str]) -> None:
        data = self._get(key)
        if data is None:
            return
        chunks = parse_chunk_list(data, key)
        whole = b""
        for chunk_oid, _ in chunks:
            chunk_key = "chunks/" + oid_path(chunk_oid)
            there = chunk_key in listing or chunk_key in self.packed
            assert there, f"s3 chunk list {key} lists a missing chunk {chunk_oid}"
            whole += self._read(chunk_key) or b""
        check_pieces(whole, chunks, key)
        assert digest(whole, oid.partition(":")[0]) == oid, f"{key}: its chunks are not {oid}"

    def _get_digest(self, item: tuple[str, str, str]) -> str | None:
        key, oid, _ = item
        data = self._get(key)
        return None if data is None else digest(data, oid.partition(":")[0])

    def oids(self) -> set[str]:
        out = set()
        listing = self.listing()
        self._check_packs(listing)
        for key in [*listing, *self.packed]:
            parts = key.split("/")
            if len(parts) == 3 and parts[0] in HEX_LENGTH:
                out.add(f"{parts[0]}:{parts[1]}{parts[2].removesuffix(LIST)}")
        return out

    def wipe(self) -> None:
        keys = list(self.listing())
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self.prefix + k} for k in keys[i : i + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
        self._sound.clear()
        self.packed.clear()


# -- the work tree ---------------------------------------------------------------------------


@dataclass
class Version:
    """What one version of an artifact is: a file's oid, or a folder's files by path."""

    oid: str | None = None
    files: dict[str, str] = field(default_factory=dict)


class WorkTreeAudit:
    """Each artifact is absent, or a whole file of a known version, or a folder whose every
    file (temp names aside) is the whole file of that path in some known version."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, tuple[tuple[int, int, int, int], str]] = {}

    def _digest(self, path: Path) -> str:
        key = _stat_key(os.stat(path))
        hit = self._seen.get(str(path))
        if hit is not None and hit[0] == key:
            return hit[1]
        value = file_digest(path)
        self._seen[str(path)] = (key, value)
        return value

    def check_file(self, rel: str, versions: Iterable[Version]) -> str | None:
        path = self.root / rel
        if not os.path.lexists(path):
            return None
        allowed = {v.oid for v in versions}
        actual = self._digest(path)
        assert actual in allowed, f"{rel} holds bytes of no version ({actual}): half-written?"
        return actual

    def check_folder(self, rel: str, versions: Iterable[Version]) -> int:
        top = self.root / rel
        if not os.path.lexists(top):
            return 0
        allowed: dict[str, set[str]] = {}
        for v in versions:
            for path, oid in v.files.items():
                allowed.setdefault(path, set()).add(oid)
        todo = []
        for dirpath, _dirs, names in os.walk(top):
            for name in names:
                if TEMP_MARK in name:
                    continue
                full = Path(dirpath, name)
                inner = full.relative_to(top).as_posix()
                assert inner in allowed, f"{rel}/{inner} belongs to no version"
                todo.append((inner, full))
        with ThreadPoolExecutor(4) as pool:
            digests = list(pool.map(lambda t: self._digest(t[1]), todo))
        for (inner, _), actual in zip(todo, digests, strict=True):
            assert actual in allowed[inner], f"{rel}/{inner} is half-written or foreign"
        return len(todo)


def folder_version(folder: Path) -> Version:
    """The version a folder holds now (temp names aside)."""
    files = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if TEMP_MARK not in name:
                full = Path(dirpath, name)
                files[full.relative_to(folder).as_posix()] = file_digest(full)
    return Version(files=files)


# -- shared files ----------------------------------------------------------------------------


def check_gitignore(path: Path, expected: Iterable[str] = ()) -> list[str]:
    """No torn last line, no line twice, and each expected pattern present once."""
    if not path.exists():
        assert not list(expected), f"{path} is missing"
        return []
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), f"{path} ends in a torn line: {text[-40:]!r}"
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    dupes = sorted({line for line in lines if lines.count(line) > 1})
    assert not dupes, f"{path} lists {dupes} more than once"
    for pattern in expected:
        assert pattern in lines, f"{path} lacks {pattern}"
    return lines


class StatCacheAudit:
    """The stat cache opens, passes sqlite's integrity check, and never vouches for a wrong
    oid: every row whose stat key still matches its file names that file's real hash."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._ok: dict[tuple[str, int, int, int], str] = {}

    def check(self) -> int:
        if not self.db.exists():
            return 0
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
            assert verdict == "ok", f"stat cache {self.db} is damaged: {verdict}"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            rows = (
                conn.execute("SELECT path, inode, size, mtime_ns, oid FROM stat").fetchall()
                if "stat" in tables
                else []
            )
        finally:
            conn.close()
        vouched = 0
        for path, inode, size, mtime_ns, oid in rows:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            if (st.st_ino, st.st_size, st.st_mtime_ns) != (inode, size, mtime_ns):
                continue  # stale row: never used, since the key no longer matches
            memo = (path, inode, size, mtime_ns)
            if self._ok.get(memo) != oid:
                actual = file_digest(path, oid.partition(":")[0])
                assert actual == oid, f"stat cache vouches {oid} for {path}, which is {actual}"
                self._ok[memo] = oid
            vouched += 1
        return vouched


def check_pointer(path: Path, store: StoreAudit | None = None) -> str | None:
    """A pointer file is absent or whole: it parses and (with a store) its object is there."""
    if not path.exists():
        return None
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and doc.get("gitmv") == 1, f"{path} is torn: {doc!r}"
    oid = doc["oid"]
    assert isinstance(oid, str) and ":" in oid, f"{path} has no oid"
    if store is not None:
        assert (store.root / oid_path(oid)).exists(), f"{path} names {oid}, not in the cache"
    return oid


def git_index_ok(repo: Path) -> None:
    """git can still read the index (a killed `git add` leaves at most its lock)."""
    proc = subprocess.run(
        ["git", "ls-files", "--stage"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def clear_git_lock(repo: Path, args: list[str], env: dict[str, str] | None = None) -> bool:
    """An index.lock left by a git child killed with gitmv: git never removes a lock it did
    not write, and neither does gitmv. Check that running the command again says so (one
    `error:` line naming the file), then do what its hint says. Returns whether there was one."""
    lock = repo / ".git" / "index.lock"
    if not lock.exists():
        return False
    proc = subprocess.run(
        gitmv_argv(*args),
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode == 0:  # the command had nothing to stage
        lock.unlink()
        return True
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1, proc.stderr
    assert str(lock) in errors[0] and "hint:" in proc.stderr, proc.stderr
    lock.unlink()
    return True


# -- processes -------------------------------------------------------------------------------


def gitmv_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "gitmv", *args]


def spawn(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a gitmv command in its own session, so that killing it kills its git children."""
    return subprocess.Popen(
        gitmv_argv(*args),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()


def kill_after(
    args: list[str], cwd: Path, delay: float, env: dict[str, str] | None = None
) -> float | None:
    """Run a gitmv command and SIGKILL its whole process group after `delay` seconds.
    Returns None if it was still running (a fault was injected), else how long it took."""
    start = time.monotonic()
    proc = spawn(args, cwd, env)
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return None
    took = time.monotonic() - start
    _, err = proc.communicate()  # reaped: its group id may be reused, so no killpg now
    assert proc.returncode == 0, f"gitmv {' '.join(args)} failed after a kill: {err!r}"
    return took


def run_ok(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run a gitmv command to completion; assert exit 0; return how long it took."""
    start = time.monotonic()
    proc = subprocess.run(
        gitmv_argv(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=KILL_BUDGET,
    )
    assert proc.returncode == 0, f"gitmv {' '.join(args)}: {proc.stderr}"
    return time.monotonic() - start


# -- figures ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one fault campaign did, for docs/reliability.md."""

    command: str
    seed: int
    trials: int = 0  # kills attempted
    faults: int = 0  # kills that hit a running process
    midway: int = 0  # faults that left the store changed: the kill landed mid-work
    git_locks: int = 0  # index.lock files left by a killed git child
    reruns: int = 0  # uninterrupted runs that completed after kills
    checks: int = 0  # invariant checks passed
    failures: int = 0
    seconds: float = 0.0
    reference_seconds: float = 0.0  # one uninterrupted run: kill times are drawn within it


class Campaign:
    """Seeded kill times within the measured duration of an uninterrupted run."""

    def __init__(self, command: str, reference: float) -> None:
        self.figures = Figures(command, fault_seed(), reference_seconds=round(reference, 3))
        self.rng = rng_for(command)
        self.reference = reference
        self._start = time.monotonic()

    def delay(self, floor: float = 0.2) -> float:
        """The next kill time, uniform between `floor` (less for a command that is quicker
        than twice that) and the shortest run seen so far."""
        return self.rng.uniform(min(floor, self.reference / 2), self.reference)

    def completed(self, took: float) -> None:
        """A run ended before its kill time: later kill times are drawn within its length."""
        self.reference = min(self.reference, took)

    def finish(self) -> Figures:
        self.figures.seconds = round(time.monotonic() - self._start, 2)
        record(self.figures)
        return self.figures


_REPORT_LOCK = threading.Lock()


def record(figures: Figures) -> None:
    """Print the figures, and merge them into `GITMV_FAULT_REPORT` (a JSON file) when set."""
    print(f"fault campaign: {json.dumps(asdict(figures))}")
    target = os.environ.get("GITMV_FAULT_REPORT")
    if target:
        with _REPORT_LOCK:
            _merge_report(Path(target), figures)


def _merge_report(path: Path, figures: Figures) -> None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    data[figures.command] = asdict(figures)
    data["_total"] = {
        key: sum(v[key] for k, v in data.items() if not k.startswith("_"))
        for key in ("trials", "faults", "midway", "reruns", "checks", "failures")
    }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
