"""`gitmv import dvc` on repositories the real DVC made (dvc add, dvc repro, dvc push).

One DVC repository is built per module (DVC takes seconds a command) and copied for each
test: a file and a 50-file nested folder from `dvc add`, a `dvc.yaml` stage with deps,
params and a metric run by `dvc repro`, pushed to a local DVC remote; an S3 remote with an
endpoint and credentials in `.dvc/config.local` shows how remotes and secrets carry over.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.helpers import assert_clean_error, git, gitmv, snapshot, tool
from tests.servers import Server, s3_put

DVC = tool("dvc")
pytestmark = pytest.mark.skipif(DVC is None, reason="dvc is not installed (pip install 'dvc>=3')")

TRAIN = """mkdir -p out
cat data.txt ds/top.txt > out/model.bin
printf '{"acc": 0.93}\\n' > metrics.json
"""
STAGE = """stages:
  train:
    cmd: sh train.sh
    deps: [data.txt, ds, train.sh]
    params: [train.lr, train.epochs]
    outs: [out/model.bin]
    metrics: [{metrics.json: {cache: false}}]
"""


def dvc(cwd: Path, *args: str) -> None:
    assert DVC is not None
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(cwd.parent / "site")}
    proc = subprocess.run([DVC, *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"dvc {' '.join(args)}: {proc.stdout}{proc.stderr}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("dvc-template")
    repo = base / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    (repo / "data.txt").write_bytes(b"hello dvc\n" * 100)
    for i in range(50):
        f = repo / "ds" / f"part{i % 3}" / f"sub{i % 2}" / f"f{i:02}.bin"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(os.urandom(100 + i))
    (repo / "ds" / "top.txt").write_text("top\n")
    dvc(repo, "add", "-q", "data.txt", "ds")
    (repo / "params.yaml").write_text("train:\n  lr: 0.01\n  epochs: 3\nother: 1\n")
    (repo / "train.sh").write_text(TRAIN)
    (repo / "dvc.yaml").write_text(STAGE)
    dvc(repo, "repro", "-q")
    dvc(repo, "remote", "add", "-d", "store", str(base / "dvc-remote"))
    dvc(repo, "remote", "add", "s3r", "s3://bucket/models")
    dvc(repo, "remote", "modify", "s3r", "endpointurl", "http://127.0.0.1:9")
    dvc(repo, "remote", "modify", "--local", "s3r", "access_key_id", "AKIDEXAMPLE")
    dvc(repo, "remote", "modify", "--local", "s3r", "secret_access_key", "s3cr3t")
    dvc(repo, "push", "-q", "-r", "store")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a DVC project")
    return repo


@pytest.fixture
def dvc_repo(template: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    return repo


def artifacts(repo: Path) -> dict[str, bytes]:
    found = {"data.txt": (repo / "data.txt").read_bytes()}
    found["out/model.bin"] = (repo / "out" / "model.bin").read_bytes()
    for path in sorted((repo / "ds").rglob("*")):
        if path.is_file():
            found[path.relative_to(repo).as_posix()] = path.read_bytes()
    return found


def load(path: Path) -> dict[str, object]:
    return dict(YAML(typ="safe", pure=True).load(path.read_text()))


def import_json(repo: Path, *args: str) -> dict[str, object]:
    return dict(json.loads(gitmv(repo, "import", "dvc", "--json", *args).stdout))


def test_import_converts_outputs_remotes_and_lineage(
    dvc_repo: Path, template: Path, tmp_path: Path
) -> None:
    repo = dvc_repo
    dvc_remote = template.parent / "dvc-remote"
    before = artifacts(repo)
    assert len([p for p in before if p.startswith("ds/")]) == 51
    old_cache, old_remote = snapshot(repo / ".dvc" / "cache"), snapshot(dvc_remote)
    report = import_json(repo)
    converted = {c["path"]: c for c in report["converted"]}  # type: ignore[attr-defined]
    assert set(converted) == {"data.txt", "ds", "out/model.bin"}
    assert converted["ds"]["files"] == 51
    assert all(c["origin"] == "work tree" for c in converted.values())
    assert sorted(report["remotes"]) == ["s3r", "store"]  # type: ignore[call-overload]

    # status clean, every pointer staged, DVC's files and .gitignore lines still there
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert sorted(s["state"] for s in states) == ["clean"] * 3, states
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert {"data.txt.gmv", "ds.gmv", "out/model.bin.gmv", ".gitmv/config.yaml"} <= set(staged)
    assert (repo / "data.txt.dvc").is_file() and (repo / "ds.dvc").is_file()
    assert "/data.txt" in (repo / ".gitignore").read_text().split()
    assert load(repo / "ds.gmv")["files"] == 51

    # lineage: the stage's out carries its inputs (the imported oids), params and metrics
    meta = load(repo / "out" / "model.bin.gmv")["meta"]
    assert isinstance(meta, dict)
    assert meta["params"] == {"train": {"lr": 0.01, "epochs": 3}}
    assert meta["metrics"] == {"acc": 0.93}
    assert meta["inputs"] == [
        {"path": "data.txt", "oid": load(repo / "data.txt.gmv")["oid"]},
        {"path": "ds", "oid": load(repo / "ds.gmv")["oid"]},
    ]
    assert not (repo / "metrics.json.gmv").exists()  # `cache: false`: it stays in git

    # remotes: same URLs, DVC's option names mapped; secrets only in the local config
    project = load(repo / ".gitmv" / "config.yaml")
    assert project["core"] == {"hash": "xxh128", "remote": "store"}
    remotes = project["remote"]
    assert isinstance(remotes, dict)
    assert remotes["s3r"] == {"url": "s3://bucket/models", "endpoint_url": "http://127.0.0.1:9"}
    store = (repo / remotes["store"]["url"]).resolve()  # DVC's folder, relative to the root
    assert store.name == "dvc-remote" and (store / "files" / "md5").is_dir()
    assert "s3cr3t" not in (repo / ".gitmv" / "config.yaml").read_text()
    local = load(repo / ".git" / "gitmv" / "config.yaml")
    assert local["remote"] == {"s3r": {"key": "AKIDEXAMPLE", "secret": "s3cr3t"}}

    # DVC's cache and remote are only read
    assert snapshot(repo / ".dvc" / "cache") == old_cache
    assert snapshot(dvc_remote) == old_remote

    # a second run converts nothing and says so
    again = gitmv(repo, "import", "dvc").stdout
    assert "nothing to convert" in again and "converted" not in again

    # delete the artifacts: checkout restores every byte
    for rel in ("data.txt", "ds", "out/model.bin"):
        path = repo / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    gitmv(repo, "checkout")
    assert artifacts(repo) == before

    # push to a new remote, and a fresh clone pulls every byte
    gitmv(repo, "remote", "add", "backup", str(tmp_path / "gitmv-store"), "--default")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "gitmv import dvc")
    gitmv(repo, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gitmv(clone, "pull")
    assert artifacts(clone) == before


def test_bytes_come_from_the_dvc_remote_when_cache_and_work_tree_lack_them(
    dvc_repo: Path,
) -> None:
    repo = dvc_repo
    before = artifacts(repo)
    shutil.rmtree(repo / ".dvc" / "cache")
    for rel in ("data.txt", "ds", "out/model.bin"):
        path = repo / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    report = import_json(repo)
    origins = {c["path"]: c["origin"] for c in report["converted"]}  # type: ignore[attr-defined]
    assert origins == {"data.txt": "dvc remote", "ds": "dvc remote", "out/model.bin": "dvc remote"}
    gitmv(repo, "checkout")
    assert artifacts(repo) == before
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert [s["state"] for s in states] == ["clean"] * 3


def test_a_corrupted_dvc_cache_file_is_refused_and_named(dvc_repo: Path) -> None:
    repo = dvc_repo
    (repo / "data.txt").unlink()  # so the cache is where the bytes must come from
    md5 = load(repo / "data.txt.dvc")["outs"][0]["md5"]  # type: ignore[index]
    cached = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    os.chmod(cached, stat.S_IWUSR | stat.S_IRUSR)
    cached.write_bytes(b"not what dvc stored\n")
    before = snapshot(repo)
    proc = gitmv(repo, "import", "dvc", code=None)
    assert_clean_error(proc)
    assert f".dvc/cache/files/md5/{md5[:2]}/{md5[2:]}" in proc.stderr
    assert "damaged" in proc.stderr
    assert snapshot(repo) == before
    assert not (repo / "ds.gmv").exists()


def test_a_malformed_dvc_file_writes_nothing(dvc_repo: Path) -> None:
    repo = dvc_repo
    (repo / "ds.dvc").write_text("outs:\n- path: ds\n  md5: not-a-hash\n")
    before = snapshot(repo)
    proc = gitmv(repo, "import", "dvc", code=None)
    assert_clean_error(proc)
    assert "error: ds.dvc: " in proc.stderr
    assert snapshot(repo) == before


def test_dry_run_writes_nothing_and_says_what_it_would_do(dvc_repo: Path) -> None:
    repo = dvc_repo
    before = snapshot(repo)
    out = gitmv(repo, "import", "dvc", "--dry-run").stdout
    assert "would convert ds (51 files" in out
    assert "would add remote store" in out
    assert snapshot(repo) == before


def test_remove_old_drops_dvc_files_and_stage_outs_but_never_the_cache(dvc_repo: Path) -> None:
    repo = dvc_repo
    cache_before = snapshot(repo / ".dvc" / "cache")
    report = import_json(repo, "--remove-old")
    assert report["removed"] == [
        "data.txt.dvc",
        "ds.dvc",
        "out/model.bin (an out of stage train in dvc.lock)",
    ]
    assert not (repo / "data.txt.dvc").exists() and not (repo / "ds.dvc").exists()
    staged = git(repo, "status", "--porcelain")
    assert "D  data.txt.dvc" in staged and "D  ds.dvc" in staged
    assert "M  dvc.yaml" in staged and "M  dvc.lock" in staged
    stage = load(repo / "dvc.yaml")["stages"]["train"]  # type: ignore[index]
    assert "outs" not in stage and stage["metrics"] == [{"metrics.json": {"cache": False}}]
    lock = load(repo / "dvc.lock")["stages"]["train"]  # type: ignore[index]
    assert [o["path"] for o in lock["outs"]] == ["metrics.json"]  # in git: not imported
    assert snapshot(repo / ".dvc" / "cache") == cache_before
    assert (repo / ".dvc" / "config").is_file()  # the pipeline is DVC's still: .dvc/ stays
    assert "/data.txt" in (repo / ".gitignore").read_text().split()  # gitmv's line now
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert [s["state"] for s in states] == ["clean"] * 3
    again = import_json(repo, "--remove-old")
    assert again["converted"] == [] and again["removed"] == []


def test_remove_old_takes_dvc_away_when_nothing_of_it_is_left(dvc_repo: Path) -> None:
    repo = dvc_repo
    git(repo, "rm", "-q", "dvc.yaml", "dvc.lock")  # a project that only used `dvc add`
    cache_before = snapshot(repo / ".dvc" / "cache")
    report = import_json(repo, "--remove-old")
    assert {"data.txt.dvc", "ds.dvc", ".dvc/config", ".dvc/.gitignore"} <= set(report["removed"])  # type: ignore[arg-type]
    assert git(repo, "ls-files", ".dvc", "*.dvc") == ""
    assert sorted(os.listdir(repo / ".dvc")) == ["cache"]  # never DVC's cache
    assert snapshot(repo / ".dvc" / "cache") == cache_before
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert [s["state"] for s in states] == ["clean"] * 2


def test_a_dvc2_repository_reads_from_the_old_cache_layout(dvc_repo: Path) -> None:
    """DVC 2 wrote no `hash: md5` and kept objects at .dvc/cache/xx/yyyy."""
    repo = dvc_repo
    doc = load(repo / "data.txt.dvc")
    out = doc["outs"][0]  # type: ignore[index]
    md5 = out["md5"]
    (repo / "data.txt.dvc").write_text(
        f"outs:\n- md5: {md5}\n  size: {out['size']}\n  path: data.txt\n"
    )
    old = repo / ".dvc" / "cache" / md5[:2] / md5[2:]
    old.parent.mkdir(parents=True)
    shutil.move(repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:], old)
    expected = (repo / "data.txt").read_bytes()
    (repo / "data.txt").unlink()
    report = import_json(repo, "data.txt")
    assert [(c["path"], c["origin"]) for c in report["converted"]] == [("data.txt", "dvc cache")]  # type: ignore[attr-defined]
    gitmv(repo, "checkout", "data.txt")
    assert (repo / "data.txt").read_bytes() == expected


def test_a_dvc_remote_on_s3_is_read_in_dvc_layout(
    dvc_repo: Path, template: Path, moto_server: Server, s3_bucket: str
) -> None:
    """The DVC remote's objects on S3 (copied there as `dvc push` lays them out): read
    through fsspec with DVC's `endpointurl` mapped, credentials from the environment."""
    repo = dvc_repo
    local = template.parent / "dvc-remote"
    for path in sorted(local.rglob("*")):
        if path.is_file():
            key = f"dvc/{path.relative_to(local).as_posix()}"
            s3_put(moto_server, s3_bucket, key, path.read_bytes())
    dvc(repo, "remote", "add", "-f", "-d", "s3store", f"s3://{s3_bucket}/dvc")
    dvc(repo, "remote", "modify", "s3store", "endpointurl", moto_server.endpoint)
    before = artifacts(repo)
    shutil.rmtree(repo / ".dvc" / "cache")
    for rel in ("data.txt", "ds", "out/model.bin"):
        path = repo / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    report = import_json(repo)
    assert {c["origin"] for c in report["converted"]} == {"dvc remote"}  # type: ignore[attr-defined]
    assert len(report["converted"]) == 3  # type: ignore[arg-type]
    gitmv(repo, "checkout")
    assert artifacts(repo) == before
    project = load(repo / ".gitmv" / "config.yaml")
    assert project["core"] == {"hash": "xxh128", "remote": "s3store"}
    remote = project["remote"]["s3store"]  # type: ignore[index]
    assert remote == {"url": f"s3://{s3_bucket}/dvc", "endpoint_url": moto_server.endpoint}


def test_an_output_whose_bytes_are_nowhere_is_skipped_and_said(dvc_repo: Path) -> None:
    repo = dvc_repo
    dvc(repo, "remote", "default", "--unset")
    shutil.rmtree(repo / ".dvc" / "cache")
    (repo / "data.txt").unlink()
    report = import_json(repo)
    assert sorted(c["path"] for c in report["converted"]) == ["ds", "out/model.bin"]  # type: ignore[attr-defined]
    assert report["skipped"] == [
        {"path": "data.txt", "reason": "its bytes are nowhere (work tree, DVC cache)"}
    ]
    assert not (repo / "data.txt.gmv").exists()
    # the stage's input is still recorded: its version's bytes are what DVC named
    meta = load(repo / "out" / "model.bin.gmv")["meta"]
    assert [i["path"] for i in meta["inputs"]] == ["ds"]  # type: ignore[index]
    assert report["notes"] == [
        "stage train: input data.txt is not imported, so it is not recorded as an input"
    ]
    # a folder changed in the work tree, its .dir listing gone with the cache: skipped
    (repo / "ds" / "part1" / "sub1" / "f01.bin").unlink()
    (repo / "ds.gmv").unlink()
    report = import_json(repo, "ds")
    assert report["skipped"] == [
        {
            "path": "ds",
            "reason": "its DVC listing ("
            + load(repo / "ds.dvc")["outs"][0]["md5"]  # type: ignore[index]
            + ") is nowhere (work tree, DVC cache)",
        }
    ]


def test_only_the_named_paths_are_imported(dvc_repo: Path) -> None:
    repo = dvc_repo
    report = import_json(repo, "ds.dvc")
    assert [c["path"] for c in report["converted"]] == ["ds"]  # type: ignore[attr-defined]
    assert not (repo / "data.txt.gmv").exists()
    report = import_json(repo, "out")
    assert [c["path"] for c in report["converted"]] == ["out/model.bin"]  # type: ignore[attr-defined]
    meta = load(repo / "out" / "model.bin.gmv")["meta"]
    assert [i["path"] for i in meta["inputs"]] == ["ds"]  # type: ignore[index]
    proc = gitmv(repo, "import", "dvc", "nowhere", code=None)
    assert_clean_error(proc)
    assert "nowhere: no DVC output there" in proc.stderr


def test_a_dvc_file_whose_path_leaves_the_repository_is_refused(dvc_repo: Path) -> None:
    repo = dvc_repo
    (repo.parent / "outside.bin").write_bytes(b"x")
    md5 = "9dd4e461268c8034f5c8564e155c67a6"  # md5 of b"x"
    (repo / "evil.dvc").write_text(
        f"outs:\n- md5: {md5}\n  size: 1\n  hash: md5\n  path: ../outside.bin\n"
    )
    before = snapshot(repo)
    proc = gitmv(repo, "import", "dvc", code=None)
    assert_clean_error(proc)
    assert "error: evil.dvc: the path '../outside.bin' leads out of the repository" in proc.stderr
    assert snapshot(repo) == before


def test_links_into_dvcs_cache_become_gitmv_copies(dvc_repo: Path) -> None:
    """DVC's `cache.type symlink`: the work tree holds links into .dvc/cache."""
    repo = dvc_repo
    before = artifacts(repo)
    dvc(repo, "config", "cache.type", "symlink")
    dvc(repo, "checkout", "-q", "--relink")
    assert (repo / "data.txt").is_symlink() and (repo / "ds" / "top.txt").is_symlink()
    old_cache = snapshot(repo / ".dvc" / "cache")
    report = import_json(repo)
    assert {c["origin"] for c in report["converted"]} == {"work tree"}  # type: ignore[attr-defined]
    assert not (repo / "data.txt").is_symlink() and not (repo / "ds" / "top.txt").is_symlink()
    assert artifacts(repo) == before
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert [s["state"] for s in states] == ["clean"] * 3
    assert snapshot(repo / ".dvc" / "cache") == old_cache


def test_a_folder_with_a_file_lost_everywhere_is_skipped_naming_it(dvc_repo: Path) -> None:
    repo = dvc_repo
    dvc(repo, "remote", "default", "--unset")
    lost = repo / "ds" / "part1" / "sub1" / "f01.bin"
    md5 = hashlib.md5(lost.read_bytes()).hexdigest()
    (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    lost.unlink()
    report = import_json(repo)
    assert report["skipped"] == [
        {
            "path": "ds",
            "reason": "1 of its 51 files (first: part1/sub1/f01.bin) are nowhere "
            "(work tree, DVC cache)",
        }
    ]
    assert sorted(c["path"] for c in report["converted"]) == ["data.txt", "out/model.bin"]  # type: ignore[attr-defined]


def test_a_dvc_file_in_a_subfolder_imported_from_there(dvc_repo: Path) -> None:
    repo = dvc_repo
    sub = repo / "models" / "v2"
    sub.mkdir(parents=True)
    (sub / "m.bin").write_bytes(b"weights" * 1000)
    dvc(repo, "add", "-q", "models/v2/m.bin")
    assert "path: m.bin" in (sub / "m.bin.dvc").read_text()  # relative to the .dvc file
    report = json.loads(gitmv(sub, "import", "dvc", "--json", ".").stdout)
    assert [c["path"] for c in report["converted"]] == ["models/v2/m.bin"]
    assert (sub / "m.bin.gmv").is_file() and not (repo / "data.txt.gmv").exists()
    assert "/m.bin" in (sub / ".gitignore").read_text().split()
    states = json.loads(gitmv(repo, "status", "--json").stdout)
    assert [(s["path"], s["state"]) for s in states] == [("models/v2/m.bin", "clean")]
