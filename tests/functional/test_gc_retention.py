"""gc never deletes the last copy of a version git can still reach (DESIGN 3.2), and
`push --all` / `push --rev` send every commit's objects, not only the tips'."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from gitmv.store import layout
from gitmv.store.hashing import Oid, hash_bytes
from tests.helpers import assert_clean_error, cached_oids, git, gitmv
from tests.servers import Server

CACHE = Path(".git/gitmv/cache")
DAY = 86400


def on_folder(store: Path) -> set[Oid]:
    found = set()
    for dirpath, _, names in os.walk(store / "xxh128"):
        for name in names:
            found.add(Oid("xxh128", Path(dirpath).name + name.removesuffix(".chunks")))
    return found


def versions(repo: Path, n: int, name: str = "model.pt", push: bool = False) -> list[bytes]:
    """Commit `n` new versions of `name` (pushing each with `gitmv push` when asked)."""
    made = []
    for i in range(n):
        data = random.Random(f"{repo}{name}{i}").randbytes(3000 + i)
        (repo / name).write_bytes(data)
        gitmv(repo, "add", name)
        git(repo, "commit", "-qm", f"{name} v{i + 1}")
        if push:
            gitmv(repo, "push")
        made.append(data)
    return made


def set_grace(repo: Path, value: str) -> None:
    """gc.remote_grace in this clone's local config (`.git/gitmv/config.yaml`)."""
    path = repo / ".git/gitmv/config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else ""
    path.write_text(text + f"gc:\n  remote_grace: {value}\n")


def checkout_rev(repo: Path, rev: str) -> None:
    git(repo, "checkout", "-q", rev)
    gitmv(repo, "checkout")


# -- 1. local gc ------------------------------------------------------------------------------


def test_local_gc_keeps_unpushed_versions_of_older_commits(repo: Path, tmp_path: Path) -> None:
    v1, v2, v3 = versions(repo, 3)
    everything = {hash_bytes(v) for v in (v1, v2, v3)}

    out = gitmv(repo, "gc").stdout  # no remote at all
    assert cached_oids(repo) == everything
    assert "kept 2 objects" in out and "only older commits name" in out
    assert "no default remote" in out

    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    out = gitmv(repo, "gc").stdout  # a remote, but it lacks them
    assert cached_oids(repo) == everything
    assert "kept 2 objects" in out and "not on the default remote" in out

    checkout_rev(repo, "HEAD~2")
    assert (repo / "model.pt").read_bytes() == v1
    git(repo, "checkout", "-q", "main")
    gitmv(repo, "checkout")

    gitmv(repo, "push", "--all")  # now the remote has every version
    out = gitmv(repo, "gc", "--dry-run").stdout
    commits = git(repo, "rev-list", "--abbrev-commit", "HEAD").split()
    assert f"  model.pt @ {commits[1]}, 2.9 KiB\n" in out, out  # path @ commit, size
    assert f"  model.pt @ {commits[2]}, 2.9 KiB\n" in out, out
    assert "xxh128:" not in out  # never bare hashes
    assert "would remove 2 objects (5.9 KiB)" in out
    assert cached_oids(repo) == everything

    gitmv(repo, "gc")
    assert cached_oids(repo) == {hash_bytes(v3)}
    git(repo, "checkout", "-q", "HEAD~2")
    gitmv(repo, "pull")  # the bytes are still somewhere: on the remote
    assert (repo / "model.pt").read_bytes() == v1


def test_local_gc_keeps_older_versions_when_the_remote_does_not_answer(
    repo: Path, tmp_path: Path
) -> None:
    versions(repo, 2)
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "unmounted" / "store"))
    before = cached_oids(repo)
    out = gitmv(repo, "gc").stdout
    assert cached_oids(repo) == before
    assert "kept 1 objects" in out and "did not answer" in out


def test_local_gc_removes_objects_no_commit_names_at_once(repo: Path) -> None:
    versions(repo, 1)
    (repo / "model.pt").write_bytes(b"added, never committed")
    gitmv(repo, "add", "model.pt")
    git(repo, "checkout", "-q", "HEAD", "--", "model.pt.gmv")  # the pointer put back
    out = gitmv(repo, "gc", "--dry-run").stdout
    assert "  model.pt (named by no commit), 22 B\n" in out, out  # the stat cache's name
    gitmv(repo, "gc")
    assert hash_bytes(b"added, never committed") not in cached_oids(repo)


def test_local_gc_respects_the_reflog_of_a_deleted_branch(repo: Path, tmp_path: Path) -> None:
    versions(repo, 1)
    git(repo, "checkout", "-q", "-b", "experiment")
    (exp,) = versions(repo, 1, "exp.bin")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "experiment")  # HEAD's reflog still has its commit
    gitmv(repo, "gc")
    assert hash_bytes(exp) in cached_oids(repo)
    git(repo, "reflog", "expire", "--expire=now", "--all")
    gitmv(repo, "gc")  # now nothing in git names it
    assert hash_bytes(exp) not in cached_oids(repo)


# -- 2. remote gc -----------------------------------------------------------------------------


def test_remote_gc_keeps_the_objects_of_every_commit(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    v1, v2, v3 = versions(repo, 3, push=True)
    set_grace(repo, "0")
    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout
    assert "nothing to delete" in out
    assert on_folder(store) == {hash_bytes(v) for v in (v1, v2, v3)}

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "HEAD~2")
    gitmv(clone, "pull")
    assert (clone / "model.pt").read_bytes() == v1


def test_remote_gc_spares_another_clones_fresh_upload(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "remote")
    (v1,) = versions(repo, 1, push=True)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    (fresh,) = versions(other, 1, "new.bin", push=True)  # uploaded; its git push not yet done

    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout  # default grace: 14 days
    assert hash_bytes(fresh) in on_folder(store)
    assert "(and 1 objects no commit names, younger than 14 days: gc.remote_grace)" in out, out

    path = store / layout.object_key(hash_bytes(fresh))  # the same upload, fifteen days on
    old = time.time() - 15 * DAY
    os.utime(path, (old, old))
    out = gitmv(repo, "gc", "--remote", "origin", "--dry-run").stdout
    assert "would delete 1 objects (2.9 KiB) that no commit names, older than 14 days" in out
    assert "(named by no commit), 2.9 KiB" in out
    assert hash_bytes(fresh) in on_folder(store)
    gitmv(repo, "gc", "--remote", "origin", "--yes")
    assert on_folder(store) == {hash_bytes(v1)}


def test_remote_gc_without_a_terminal_needs_yes(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    versions(repo, 1, push=True)
    before = sorted(store.rglob("*"))
    proc = gitmv(repo, "gc", "--remote", "origin", code=1)
    assert_clean_error(proc)
    assert "hint: pass --yes" in proc.stderr
    assert sorted(store.rglob("*")) == before


def test_remote_gc_grace_accepts_git_like_durations_and_refuses_nonsense(
    repo: Path, tmp_path: Path
) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    versions(repo, 1, push=True)
    set_grace(repo, '"2.weeks"')
    assert "nothing to delete" in gitmv(repo, "gc", "-r", "origin", "--yes").stdout
    (repo / ".git/gitmv/config.yaml").write_text("gc:\n  remote_grace: soon\n")
    proc = gitmv(repo, "gc", "-r", "origin", "--yes", code=1)
    assert_clean_error(proc)
    assert "gc.remote_grace" in proc.stderr and "hint:" in proc.stderr


def test_remote_gc_on_s3_measures_grace_by_last_modified(
    repo: Path, tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    import boto3

    url = f"s3://{s3_bucket}/store"
    gitmv(repo, "remote", "add", "origin", url, "-o", f"endpoint_url={moto_server.endpoint}")
    with open(repo / ".gitmv/config.yaml", "a") as f:  # loose, to list (packs: test_packs.py)
        f.write("pack:\n  max_object: 0\n")
    (kept,) = versions(repo, 1, push=True)
    git(repo, "checkout", "-q", "-b", "dropped")
    (dropped,) = versions(repo, 1, "d.bin", push=True)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "dropped")
    git(repo, "reflog", "expire", "--expire=now", "--all")  # nothing names d.bin's version now

    # Wide enough that a loaded machine pushes `young` and runs gc within it.
    set_grace(repo, "8")  # seconds
    other = other_clone(repo, tmp_path)
    time.sleep(8.5)
    (young,) = versions(other, 1, "young.bin", push=True)

    client = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    listing = client.list_objects_v2(Bucket=s3_bucket, Prefix="store/")
    keys = {o["Key"].rsplit("/", 2)[-2] + o["Key"].rsplit("/", 1)[-1] for o in listing["Contents"]}
    assert {hash_bytes(v).hex for v in (kept, dropped, young)} <= keys

    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout
    assert "deleted 1 objects" in out, out
    listing = client.list_objects_v2(Bucket=s3_bucket, Prefix="store/")
    keys = {o["Key"].rsplit("/", 2)[-2] + o["Key"].rsplit("/", 1)[-1] for o in listing["Contents"]}
    assert hash_bytes(dropped).hex not in keys
    assert hash_bytes(kept).hex in keys and hash_bytes(young).hex in keys  # young: in grace


def other_clone(repo: Path, tmp_path: Path) -> Path:
    """A second clone with the same remote (the project config travels in git)."""
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "remote", check=False)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    return other


# -- 3. push --all / --rev --------------------------------------------------------------------


def test_push_all_sends_the_objects_of_every_commit(repo: Path, tmp_path: Path) -> None:
    v1, v2, v3 = versions(repo, 3)  # v1 and v2: in no tip's tree, only in history
    git(repo, "checkout", "-q", "-b", "side")
    (side,) = versions(repo, 1, "side.bin")
    git(repo, "checkout", "-q", "main")
    git(repo, "tag", "release", "HEAD~1")
    git(repo, "checkout", "-q", "-b", "doomed")
    (doomed,) = versions(repo, 1, "doomed.bin")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "doomed")  # in no local branch or tag any more

    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    out = gitmv(repo, "push", "--all").stdout
    assert "pushed 4 objects" in out, out
    assert on_folder(store) == {hash_bytes(v) for v in (v1, v2, v3, side)}
    assert hash_bytes(doomed) not in on_folder(store)


def test_push_rev_sends_the_objects_of_the_given_commits(repo: Path, tmp_path: Path) -> None:
    v1, v2, v3 = versions(repo, 3)
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    gitmv(repo, "push", "--rev", "HEAD~1")
    assert on_folder(store) == {hash_bytes(v2)}
    gitmv(repo, "push", "--rev", "HEAD~2", "--rev", "HEAD")
    assert on_folder(store) == {hash_bytes(v) for v in (v1, v2, v3)}
    assert_clean_error(gitmv(repo, "push", "--rev", "no-such-rev", code=1))


def test_push_all_with_paths_is_a_usage_error(repo: Path, tmp_path: Path) -> None:
    versions(repo, 1)
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    proc = gitmv(repo, "push", "--all", "model.pt", code=2)
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr
    assert not (tmp_path / "store").exists()


def test_local_gc_counts_a_chunk_list_on_the_remote_as_a_copy(repo: Path, tmp_path: Path) -> None:

    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    with open(repo / ".gitmv/config.yaml", "a") as f:
        f.write("chunking:\n  min_size: 1048576\n  avg_size: 65536\n")
    git(repo, "commit", "-qam", "chunked")
    old = random.Random(7).randbytes(2 * 1024 * 1024)
    (repo / "m.bin").write_bytes(old)
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "v1")
    gitmv(repo, "push")
    (repo / "m.bin").write_bytes(random.Random(8).randbytes(2 * 1024 * 1024))
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "v2")
    assert (store / layout.list_key(hash_bytes(old))).is_file()
    assert not (store / layout.object_key(hash_bytes(old))).exists()  # only as chunks

    out = gitmv(repo, "gc").stdout
    assert "removed 1 objects" in out, out
    assert hash_bytes(old) not in cached_oids(repo)
    gitmv(repo, "fetch", "--rev", "HEAD~1")
    assert hash_bytes(old) in cached_oids(repo)


def test_remote_gc_reads_modification_times_on_gcs(
    repo: Path, tmp_path: Path, gcs_server: Server, gcs_bucket: str
) -> None:
    url = f"gs://{gcs_bucket}/store"
    options = ["-o", f"endpoint_url={gcs_server.endpoint}", "-o", "token=anon"]
    gitmv(repo, "remote", "add", "origin", url, "--local", *options)
    versions(repo, 1, push=True)
    git(repo, "checkout", "-q", "-b", "dropped")
    versions(repo, 1, "d.bin", push=True)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "dropped")
    git(repo, "reflog", "expire", "--expire=now", "--all")

    out = gitmv(repo, "gc", "--remote", "origin", "--dry-run").stdout
    assert "younger than 14 days" in out and "would delete" not in out, out
    set_grace(repo, "0")  # a time GCS did not give would keep the object even now
    out = gitmv(repo, "gc", "--remote", "origin", "--dry-run").stdout
    assert "would delete 1 objects" in out, out


def test_dry_run_names_the_files_of_folders(repo: Path, tmp_path: Path) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "remote")
    (repo / "data").mkdir()
    (repo / "data/a.txt").write_bytes(b"a")
    (repo / "data/b.txt").write_bytes(b"b")
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qm", "v1")
    first = git(repo, "rev-parse", "--short=7", "HEAD").strip()
    (repo / "data/b.txt").write_bytes(b"b2")
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qm", "v2")
    gitmv(repo, "push", "--all")
    git(repo, "checkout", "-q", "-b", "tmp")
    (repo / "data/c.txt").write_bytes(b"abandoned")
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qm", "v3")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "tmp")
    git(repo, "reflog", "expire", "--expire=now", "--all")

    out = gitmv(repo, "gc", "--dry-run").stdout
    assert f"  data/b.txt @ {first}, 1 B\n" in out, out  # a file of an older folder version
    assert f"  data @ {first}, " in out, out  # and that version's manifest
    assert "  data/c.txt (named by no commit), 9 B\n" in out, out
    assert "  a folder's manifest (named by no commit), " in out, out
    assert "xxh128:" not in out


def test_history_reader_skips_a_folder_named_like_a_pointer(repo: Path, tmp_path: Path) -> None:
    (v1,) = versions(repo, 1)
    (repo / "odd.gmv").mkdir()
    (repo / "odd.gmv" / "notes.txt").write_text("a folder, not a pointer\n")
    git(repo, "add", "odd.gmv")
    git(repo, "commit", "-qm", "a folder named like a pointer")
    (repo / "model.pt").write_bytes(b"version two")
    gitmv(repo, "add", "model.pt")
    git(repo, "commit", "-qm", "v2")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    assert "pushed 2 objects" in gitmv(repo, "push", "--all").stdout
    gitmv(repo, "gc")
    assert hash_bytes(v1) not in cached_oids(repo)  # on the remote: gone from the cache


def _gc_on_a_terminal(repo: Path, answer: bytes) -> str:
    """`gitmv gc --remote origin` with a terminal on stdin and stderr, answering `answer`."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitmv", "gc", "--remote", "origin"],
        cwd=repo,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    os.write(leader, answer + b"\n")
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    return out.decode()


def test_remote_gc_on_a_terminal_asks_before_deleting(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    versions(repo, 1, push=True)
    git(repo, "checkout", "-q", "-b", "dropped")
    (dropped,) = versions(repo, 1, "d.bin", push=True)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "dropped")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    set_grace(repo, "0")

    out = _gc_on_a_terminal(repo, b"n")
    assert "will delete 1 objects" in out and "nothing deleted" in out, out
    assert hash_bytes(dropped) in on_folder(store)
    out = _gc_on_a_terminal(repo, b"y")
    assert "deleted 1 objects" in out, out
    assert hash_bytes(dropped) not in on_folder(store)


def test_remote_gc_of_an_unknown_remote_changes_nothing(repo: Path) -> None:
    versions(repo, 1)
    (repo / "model.pt").write_bytes(b"added, never committed")
    gitmv(repo, "add", "model.pt")
    git(repo, "checkout", "-q", "HEAD", "--", "model.pt.gmv")
    before = cached_oids(repo)
    proc = gitmv(repo, "gc", "--remote", "nosuch", "--yes", code=1)
    assert_clean_error(proc)
    assert cached_oids(repo) == before  # not even the local part ran
