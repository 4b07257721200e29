"""remote / push / fetch / pull as a user runs them: real repositories, real servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitmv.base.atomic import is_temp_name
from gitmv.store import chunking, layout
from gitmv.store.hashing import Oid, hash_file, new_hasher
from tests.helpers import assert_clean_error, git, gitmv
from tests.servers import Server, closed_port, s3_put

CACHE = Path(".git/gitmv/cache")


def make_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def tracked_project(repo: Path, n: int = 120) -> dict[str, bytes]:
    """A model file and a data folder of `n` files, committed; returns every artifact file."""
    files = {"model.bin": os.urandom(200_000)}
    files.update({f"data/{i % 7}/{i}.txt": f"row {i}\n".encode() * 20 for i in range(n)})
    make_files(repo, files)
    gitmv(repo, "add", "model.bin", "data")
    git(repo, "commit", "-qm", "v1")
    return files


def objects_under(store: Path, suffix: str = "") -> dict[Path, Oid]:
    """Every object under its final name in a folder store (temp names are not objects);
    with `suffix=".chunks"`, every chunk list instead (DESIGN 3.1)."""
    found = {}
    for algorithm in ("xxh128", "sha256"):
        for dirpath, _, names in os.walk(store / algorithm):
            for name in names:
                if is_temp_name(name) or name.endswith(".chunks") != bool(suffix):
                    continue
                path = Path(dirpath, name)
                found[path] = Oid(algorithm, path.parent.name + name.removesuffix(suffix))
    return found


def assert_all_sound(store: Path) -> int:
    """Every object reads back as its own bytes, whole or assembled from its chunk list;
    returns how many objects the store holds."""
    objects = objects_under(store)
    for path, oid in objects.items():
        assert hash_file(path, oid.algorithm)[0] == oid, f"{path} holds bytes of another object"
    lists = objects_under(store, ".chunks")
    for path, oid in lists.items():
        whole = new_hasher(oid.algorithm)
        for c in chunking.decode_list(path.read_bytes(), str(path)):
            whole.update((store / layout.chunk_key(c.oid)).read_bytes())
        assert whole.hexdigest() == oid.hex, f"{path} does not assemble into its object"
    return len(set(objects.values()) | set(lists.values()))


def clone(origin: Path, where: Path) -> Path:
    git(origin.parent, "clone", "-q", str(origin), str(where))
    return where


def assert_same_files(a: Path, b: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        assert (b / rel).read_bytes() == data, rel
        assert (a / rel).read_bytes() == data, rel


def test_push_clone_pull_on_a_folder_remote(repo: Path, tmp_path: Path) -> None:
    files = tracked_project(repo)
    gitmv(repo, "remote", "add", "origin", "../store")  # relative to the repository root
    git(repo, "commit", "-qam", "remote")
    out = gitmv(repo, "push").stdout
    assert "pushed 122 objects" in out  # 120 files, their manifest, the model
    assert assert_all_sound(tmp_path / "store") == 122
    again = gitmv(repo, "push").stdout
    assert "pushed 0 objects" in again and "2 already there" in again

    other = clone(repo, tmp_path / "clone")
    out = gitmv(other, "pull").stdout
    assert "fetched 122 objects" in out
    assert_same_files(repo, other, files)
    status = json.loads(gitmv(other, "status", "--json").stdout)
    assert {row["state"] for row in status} == {"clean"}
    assert "fetched 0 objects" in gitmv(other, "pull").stdout


def test_pull_checks_a_large_file_out_beside_the_small_ones(repo: Path, tmp_path: Path) -> None:
    """Pull checks a large file out as soon as it is fetched, while the small files still
    come down: the same outcome as a checkout after the fetch, edits to it kept."""
    files = {"model.bin": os.urandom(3 * 1024 * 1024), "weights.bin": os.urandom(2_500_000)}
    files.update({f"data/{i}.txt": f"row {i}\n".encode() for i in range(50)})
    make_files(repo, files)
    gitmv(repo, "add", "model.bin", "weights.bin", "data")
    gitmv(repo, "remote", "add", "origin", "../store")
    with open(repo / ".gitmv/config.yaml", "a") as f:  # the model as chunks, weights whole
        f.write("chunking:\n  min_size: 2600000\n  avg_size: 262144\n")
    git(repo, "commit", "-qam", "v1")
    gitmv(repo, "push")
    assert (tmp_path / "store" / layout.list_key(hash_file(repo / "model.bin")[0])).is_file()

    fresh = clone(repo, tmp_path / "fresh")
    out = gitmv(fresh, "pull").stdout
    for rel in ("model.bin", "weights.bin", "data"):
        assert f"restored: {rel}" in out, out
    assert_same_files(repo, fresh, files)
    status = json.loads(gitmv(fresh, "status", "--json").stdout)
    assert {row["state"] for row in status} == {"clean"}

    edited = clone(repo, tmp_path / "edited")
    (edited / "model.bin").write_bytes(b"my own experiment")  # bytes found nowhere else
    proc = gitmv(edited, "pull", code=1)
    assert "model.bin is modified; not overwritten" in proc.stderr
    assert "error: 1 artifact not restored" in proc.stderr
    assert (edited / "model.bin").read_bytes() == b"my own experiment"
    assert (edited / "weights.bin").read_bytes() == files["weights.bin"]
    assert (edited / "data/7.txt").read_bytes() == files["data/7.txt"]


def test_push_clone_pull_on_s3(
    repo: Path, tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    files = tracked_project(repo, 40)
    url = f"s3://{s3_bucket}/models"
    gitmv(repo, "remote", "add", "s3", url, "--option", f"endpoint_url={moto_server.endpoint}")
    git(repo, "commit", "-qam", "remote")
    assert "pushed 42 objects" in gitmv(repo, "push", "--jobs", "16").stdout
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert_same_files(repo, other, files)
    verified = gitmv(other, "verify", "--remote", "s3", "--deep").stdout
    assert "all sound" in verified


def test_push_and_pull_on_gcs(
    repo: Path, tmp_path: Path, gcs_server: Server, gcs_bucket: str
) -> None:
    files = {"model.bin": os.urandom(50_000), "data/a.txt": b"a", "data/b/c.txt": b"c"}
    make_files(repo, files)
    gitmv(repo, "add", "model.bin", "data")
    git(repo, "commit", "-qm", "v1")
    options = [f"endpoint_url={gcs_server.endpoint}", "token=anon", "project=test"]
    args = [a for o in options for a in ("--option", o)]
    gitmv(repo, "remote", "add", "gcs", f"gs://{gcs_bucket}/p", "--local", *args)
    assert "pushed 4 objects" in gitmv(repo, "push").stdout
    os.unlink(repo / "model.bin")
    for path in (repo / CACHE).rglob("*"):
        if path.is_file():
            path.unlink()
    gitmv(repo, "pull")
    assert (repo / "model.bin").read_bytes() == files["model.bin"]


def test_remote_add_list_remove_default(repo: Path) -> None:
    gitmv(repo, "remote", "add", "origin", "/srv/store")
    gitmv(
        repo, "remote", "add", "s3", "s3://user:hunter2@bucket/p", "--local",
        "--option", "endpointurl=http://minio:9000", "--option", "secret=TopSecretValue",
        "--option", "jobs=4",
    )  # fmt: skip
    listing = gitmv(repo, "remote", "list").stdout
    assert "* origin  /srv/store" in listing
    assert "hunter2" not in listing and "TopSecretValue" not in listing
    assert "endpoint_url=http://minio:9000" in listing and "jobs=4" in listing
    rows = json.loads(gitmv(repo, "remote", "list", "--json").stdout)
    assert [(r["name"], r["default"], r["layers"]) for r in rows] == [
        ("origin", True, ["project"]),
        ("s3", False, ["local"]),
    ]
    assert "TopSecretValue" not in json.dumps(rows) and "hunter2" not in json.dumps(rows)
    project = (repo / ".gitmv/config.yaml").read_text()
    assert "origin" in project and "minio" not in project and "TopSecret" not in project

    gitmv(repo, "remote", "default", "s3")  # local-only: the default goes to the local config
    assert "remote: origin" in (repo / ".gitmv/config.yaml").read_text()
    assert rows_default(repo) == "s3"
    gitmv(repo, "remote", "remove", "s3")
    assert rows_default(repo) == "origin"
    proc = gitmv(repo, "remote", "remove", "s3", code=1)
    assert_clean_error(proc)
    proc = gitmv(repo, "remote", "add", "origin", "/elsewhere", code=1)
    assert "already exists" in proc.stderr


def rows_default(repo: Path) -> str | None:
    rows = json.loads(gitmv(repo, "remote", "list", "--json").stdout)
    return next((r["name"] for r in rows if r["default"]), None)


@pytest.mark.parametrize(
    "args",
    [
        ["s3://bucket/p", "--option", "secret=abc123"],
        ["s3://bucket/p", "--option", "key=AKIA123"],
        ["s3://user:pass@bucket/p"],
    ],
)
def test_a_secret_is_refused_in_the_project_config(repo: Path, args: list[str]) -> None:
    before = (repo / ".gitmv/config.yaml").read_text()
    proc = gitmv(repo, "remote", "add", "s3", *args, code=1)
    assert_clean_error(proc)
    assert "--local" in proc.stderr
    assert (repo / ".gitmv/config.yaml").read_text() == before
    gitmv(repo, "remote", "add", "s3", *args, "--local")


def test_an_unreachable_remote_fails_within_seconds(repo: Path) -> None:
    tracked_project(repo, 3)
    endpoint = f"http://127.0.0.1:{closed_port()}"
    gitmv(repo, "remote", "add", "far", "s3://bucket/p", "--option", f"endpoint_url={endpoint}")
    start = time.monotonic()
    proc = gitmv(repo, "push", code=1)
    assert time.monotonic() - start < 8
    assert_clean_error(proc)
    assert "error: cannot reach remote 'far'" in proc.stderr and "hint:" in proc.stderr


def test_a_missing_bucket_is_named(repo: Path, moto_server: Server) -> None:
    tracked_project(repo, 3)
    option = f"endpoint_url={moto_server.endpoint}"
    gitmv(repo, "remote", "add", "s3", "s3://no-such-bucket-here/p", "--option", option)
    proc = gitmv(repo, "push", code=1)
    assert_clean_error(proc)
    assert "bucket 'no-such-bucket-here' does not exist" in proc.stderr
    assert "'s3'" in proc.stderr and "hint:" in proc.stderr


def test_a_corrupt_remote_object_is_refused_on_fetch(
    repo: Path, tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    tracked_project(repo, 10)
    option = f"endpoint_url={moto_server.endpoint}"
    gitmv(repo, "remote", "add", "s3", f"s3://{s3_bucket}/p", "--option", option)
    with open(repo / ".gitmv/config.yaml", "a") as f:  # loose objects (packs: test_packs.py)
        f.write("pack:\n  max_object: 0\n")
    git(repo, "commit", "-qam", "remote")
    gitmv(repo, "push")
    model = hash_file(repo / "model.bin")[0]
    s3_put(moto_server, s3_bucket, f"p/{layout.object_key(model)}", b"not the model")

    other = clone(repo, tmp_path / "clone")
    proc = gitmv(other, "fetch", code=1)
    assert_clean_error(proc)
    assert f"{model} from remote 's3'" in proc.stderr and "corrupt" in proc.stderr
    assert not (other / CACHE / layout.object_key(model)).exists()
    assert os.listdir(other / CACHE / "tmp") == []
    assert (other / CACHE / "xxh128").is_dir()  # the sound objects did arrive


def test_fetch_at_a_revision_and_push_all(repo: Path, tmp_path: Path) -> None:
    (repo / "m.bin").write_bytes(b"version one")
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1")
    (repo / "m.bin").write_bytes(b"version two")
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "v2")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    assert "pushed 1 object " in gitmv(repo, "push").stdout  # the work tree's version only
    assert "pushed 1 object " in gitmv(repo, "push", "--all").stdout  # and v1's
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "remote", "add", "origin", str(tmp_path / "store"), "--local")
    assert "fetched 1 object " in gitmv(other, "fetch", "--rev", "v1").stdout
    gitmv(other, "checkout", "--rev", "v1", "m.bin")
    assert (other / "m.bin").read_bytes() == b"version one"


# Kill when this many files (objects or temp files) are there: the first is the big
# file half-written (largest goes first), the others land among the small ones.
KILL_POINTS = (1, 60, 250, 500, 700)


def _count_files(folder: Path) -> int:
    """Objects published in `folder` (temp files in its tmp/ not counted: a push or pull
    publishes small objects in batches, one syncfs each)."""
    return sum(len(names) for top, _, names in os.walk(folder) if Path(top).name != "tmp")


def _kill_when(args: list[str], cwd: Path, watch: Path, threshold: int) -> None:
    """Run gitmv and SIGKILL it once `watch` holds `threshold` published files."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitmv", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if _count_files(watch) >= threshold:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_push_and_pull_killed_at_any_point_leave_no_partial_object(
    repo: Path, tmp_path: Path
) -> None:
    files = {"big.bin": os.urandom(32 * 1024 * 1024)}
    files.update({f"many/{i}.bin": os.urandom(2048) for i in range(800)})
    make_files(repo, files)
    gitmv(repo, "add", "big.bin", "many")
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    git(repo, "commit", "-qam", "v1")

    counts = []
    for threshold in KILL_POINTS:
        _kill_when(["push", "--jobs", "4"], repo, store, threshold)
        counts.append(assert_all_sound(store))
    assert len({n for n in counts if 0 < n < 802}) >= 2, counts  # kills landed mid-push
    gitmv(repo, "push")
    assert assert_all_sound(store) == 802
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin").stdout

    other = clone(repo, tmp_path / "clone")
    counts = []
    for threshold in KILL_POINTS:
        _kill_when(["pull", "--jobs", "4"], other, other / CACHE, threshold)
        counts.append(assert_all_sound(other / CACHE))
    assert len({n for n in counts if 0 < n < 802}) >= 2, counts
    gitmv(other, "pull")
    assert_same_files(repo, other, files)
    gitmv(other, "gc")  # sweeps the temp files the killed runs left
    assert os.listdir(other / CACHE / "tmp") == []
