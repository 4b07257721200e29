"""The model registry as a user drives it: add with metadata, register, promote, compare,
roll back, serve from a fresh clone, and read the same registry with the real GTO."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitmv import api
from gitmv.base.errors import GitmvError, IntegrityError
from gitmv.store import layout
from tests.helpers import assert_clean_error, git, gitmv, snapshot, tool

GTO = tool("gto")
needs_gto = pytest.mark.skipif(GTO is None, reason="needs gto (pip install gto)")

V1, V2 = b"model weights, version one", b"model weights, version two -- better"


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "--list").split()


def jsonout(repo: Path, *args: str) -> object:
    return json.loads(gitmv(repo, *args, "--json").stdout)


def gto(repo: Path, *args: str) -> str:
    assert GTO is not None
    proc = subprocess.run([GTO, *args], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def train(repo: Path, weights: bytes, lr: float, accuracy: float, *extra: str) -> None:
    """What a training script does: write the model, its params and metrics, and add it."""
    write(repo / "model.pkl", weights)
    write(repo / "params.yaml", f"lr: {lr}\nepochs: 20\noptimizer: {{name: adam, beta1: 0.9}}\n")
    write(repo / "metrics.json", json.dumps({"accuracy": accuracy, "loss": round(1 - accuracy, 3)}))
    gitmv(
        repo,
        "add",
        "model.pkl",
        "--name",
        "churn",
        "--type",
        "model",
        "--params",
        "params.yaml",
        "--metrics",
        "metrics.json",
        "--input",
        "data",
        *extra,
    )
    git(repo, "add", "params.yaml", "metrics.json")
    git(repo, "commit", "-qm", f"train lr={lr}")


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Path:
    """A repository with a folder remote as default and a tracked, pushed training set."""
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    write(repo / "data/train.csv", "id,churned\n1,0\n2,1\n")
    gitmv(repo, "add", "data")
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "data")
    gitmv(repo, "push")
    return repo


# -- the judged story ------------------------------------------------------------------------


@needs_gto
def test_register_promote_compare_roll_back_and_serve_from_a_fresh_clone(
    project: Path, tmp_path: Path
) -> None:
    repo = project
    train(repo, V1, 0.001, 0.912)
    # Never promoted without its bytes: the model is not on the remote yet.
    refused = gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0", code=1)
    assert_clean_error(refused)
    assert "model.pkl" in refused.stderr and "gitmv push" in refused.stderr
    assert tags(repo) == []
    gitmv(repo, "push")
    gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0")

    train(repo, V2, 0.002, 0.93)
    gitmv(repo, "push")
    out = jsonout(repo, "registry", "register", "churn", "--bump", "major")
    assert out["version"] == "v2.0.0" and out["backed_up"] is True  # type: ignore[index]

    gitmv(repo, "registry", "assign", "churn", "--stage", "production", "--version", "v1.0.0")
    gitmv(repo, "registry", "assign", "churn", "--stage", "production")  # the latest: v2
    listed = jsonout(repo, "registry", "list")
    assert listed == [
        {
            "name": "churn",
            "latest": "v2.0.0",
            "stages": {"production": "v2.0.0"},
            "versions": ["v2.0.0", "v1.0.0"],
            "deprecated": False,
        }
    ]

    diff = jsonout(repo, "registry", "diff", "churn@v1.0.0", "churn@production")
    metrics = {row["key"]: row for row in diff["metrics"]}  # type: ignore[index]
    assert metrics["accuracy"]["old"] == 0.912 and metrics["accuracy"]["new"] == 0.93
    assert metrics["accuracy"]["delta"] == pytest.approx(0.018)
    assert metrics["loss"]["delta"] == pytest.approx(-0.018)
    assert [r["key"] for r in diff["params"]] == ["lr"]  # type: ignore[index]
    text = gitmv(repo, "registry", "diff", "churn@v1.0.0", "churn@v2.0.0").stdout
    assert "accuracy: 0.912 -> 0.93 (+0.018)" in text

    gitmv(repo, "registry", "rollback", "churn", "--stage", "production")
    assert jsonout(repo, "registry", "show", "churn@production")["version"] == "v1.0.0"  # type: ignore[index]

    history = jsonout(repo, "registry", "history", "churn")
    assert [(e["event"], e["version"], e["stage"]) for e in history] == [  # type: ignore[union-attr]
        ("register", "v1.0.0", None),
        ("register", "v2.0.0", None),
        ("assign", "v1.0.0", "production"),
        ("assign", "v2.0.0", "production"),
        ("unassign", "v2.0.0", "production"),
        ("assign", "v1.0.0", "production"),
    ]
    assert all(e["author"] == "Test User" for e in history)  # type: ignore[union-attr]
    assert all(e["author_email"] == "test@example.com" for e in history)  # type: ignore[union-attr]
    dates = [e["date"] for e in history]  # type: ignore[union-attr]
    assert dates == sorted(dates)
    assert "Test User <test@example.com>" in gitmv(repo, "registry", "history", "churn").stdout

    # The real GTO reads the same registry.
    assert json.loads(gto(repo, "show", "--json"))["churn"] == {
        "version": "v2.0.0",
        "stage": {"production": "v1.0.0"},
        "registered": True,
        "active": True,
    }
    assert json.loads(gto(repo, "show", "churn#production", "--json"))[0]["version"] == "v1.0.0"

    # Serving: a fresh clone that never checked the version out, its cache empty.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert not (clone / ".git/gitmv/cache/xxh128").exists()
    with api.open("churn@production", repo=clone) as f:
        assert f.read() == V1
    assert api.resolve("churn@production", repo=clone).meta["metrics"] == {
        "accuracy": 0.912,
        "loss": 0.088,
    }
    gitmv(clone, "registry", "get", "churn@production", "-o", "served.pkl")
    assert (clone / "served.pkl").read_bytes() == V1
    piped = subprocess.run(
        [sys.executable, "-m", "gitmv", "registry", "get", "churn@v2.0.0", "-o", "-"],
        cwd=clone,
        capture_output=True,
    )
    assert piped.stdout == V2


# -- what show reports -----------------------------------------------------------------------


def test_show_prints_bytes_lineage_code_env_and_events(project: Path) -> None:
    repo = project
    train(repo, V1, 0.001, 0.912, "--meta", "owner=ann", "--meta", "params.seed=7")
    gitmv(repo, "push")
    gitmv(repo, "registry", "register", "data", "--version", "v1.0.0")  # the input's own version
    gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0")
    shown = jsonout(repo, "registry", "show", "churn@latest", "--packages")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert isinstance(shown, dict)
    assert (shown["path"], shown["kind"], shown["size"], shown["commit"]) == (
        "model.pkl",
        "file",
        len(V1),
        head,
    )
    meta = shown["meta"]
    assert list(meta) == ["name", "type", "params", "metrics", "inputs", "code", "env", "owner"]
    assert meta["params"] == {
        "lr": 0.001,
        "epochs": 20,
        "optimizer": {"name": "adam", "beta1": 0.9},
        "seed": 7,
    }
    assert meta["code"] == {"commit": git(repo, "rev-parse", "HEAD~1").strip(), "dirty": False}
    assert meta["env"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert any(line.startswith("xxhash==") for line in shown["packages"])
    data_oid = meta["inputs"][0]["oid"]
    assert shown["inputs"] == [{"path": "data", "oid": data_oid, "versions": ["data@v1.0.0"]}]
    assert [e["event"] for e in shown["events"]] == ["register"]
    text = gitmv(repo, "registry", "show", "churn").stdout
    for expected in ("optimizer.name: adam", "accuracy: 0.912", "data@v1.0.0", "owner: ann", head):
        assert expected in text


# -- the bytes must be on the remote ---------------------------------------------------------


def test_force_promotes_without_the_bytes_and_the_tag_says_so(project: Path) -> None:
    repo = project
    train(repo, V1, 0.001, 0.9)
    proc = gitmv(repo, "registry", "register", "churn", "--force")
    assert "warning: --force" in proc.stderr and "model.pkl" in proc.stderr
    message = git(repo, "tag", "-l", "--format=%(contents)", "churn@v0.0.1")
    assert "--force" in message and "model.pkl" in message
    refused = gitmv(repo, "registry", "assign", "churn", "--stage", "prod", code=1)
    assert_clean_error(refused)
    assert "gitmv push" in refused.stderr and tags(repo) == ["churn@v0.0.1"]
    gitmv(repo, "push")
    gitmv(repo, "registry", "assign", "churn", "--stage", "prod")
    again = gitmv(repo, "registry", "assign", "churn", "--stage", "prod")
    assert "already in prod" in again.stdout and len(tags(repo)) == 2


def test_without_a_remote_a_version_is_registered_but_said_not_backed_up(repo: Path) -> None:
    write(repo / "m.bin", b"weights")
    gitmv(repo, "add", "m.bin", "--name", "m")
    git(repo, "commit", "-qm", "m")
    proc = gitmv(repo, "registry", "register", "m")
    assert "not backed up" in proc.stderr
    assert tags(repo) == ["m@v0.0.1"]


def test_a_registered_version_survives_gc_when_only_its_tag_reaches_it(repo: Path) -> None:
    if "gc" not in gitmv(repo, "--help").stdout:
        pytest.skip("gitmv gc is not built yet")
    write(repo / "m.bin", V1)
    gitmv(repo, "add", "m.bin", "--name", "m")
    git(repo, "commit", "-qm", "v1")
    gitmv(repo, "registry", "register", "m", "--version", "v1.0.0")
    v1_oid = jsonout(repo, "registry", "show", "m@v1.0.0")["oid"]  # type: ignore[index]
    write(repo / "m.bin", V2)
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-q", "--amend", "-m", "v2 replaces v1")  # v1's commit: only the tag
    write(repo / "m.bin", b"never committed, never registered")
    gitmv(repo, "add", "m.bin")
    stray = json.loads(gitmv(repo, "ls", "--json").stdout)[0]["oid"]
    write(repo / "m.bin", V2)
    gitmv(repo, "add", "m.bin")
    gitmv(repo, "gc")
    cache = repo / ".git/gitmv/cache"
    algorithm, hexpart = v1_oid.split(":")
    assert (cache / algorithm / hexpart[:2] / hexpart[2:]).exists()
    algorithm, hexpart = stray.split(":")
    assert not (cache / algorithm / hexpart[:2] / hexpart[2:]).exists()
    with api.open("m@v1.0.0", repo=repo) as f:
        assert f.read() == V1


# -- bad input -------------------------------------------------------------------------------


def test_bad_input_is_one_error_line_and_creates_no_tag(repo: Path) -> None:
    write(repo / "m.bin", V1)
    gitmv(repo, "add", "m.bin", "--name", "m")
    git(repo, "commit", "-qm", "v1")
    write(repo / "other.bin", b"x")
    gitmv(repo, "add", "other.bin")
    git(repo, "commit", "-qm", "other")
    gitmv(repo, "registry", "register", "m", "--version", "v1.0.0")
    before = tags(repo)
    cases = [
        (("register", "nope"), "no artifact named 'nope'"),
        (("register", "m", "HEAD~2"), "unknown revision"),
        (("register", "m", "--version", "1.0"), "malformed version"),
        (("register", "m", "--version", "v1.0.0"), "already registered"),
        (("register", "m", "--version", "v0.9.0"), "backwards"),
        (("register", "m", "--version", "v2.0.0", "--bump", "minor"), "either --version or --bump"),
        (("register", "other.bin"), "cannot be a registry name"),
        (("assign", "nope", "--stage", "prod"), "no registered model named 'nope'"),
        (("assign", "m", "--stage", "prod", "--version", "v7.0.0"), "m has no version v7.0.0"),
        (("assign", "m", "--stage", "latest"), "cannot be a stage name"),
        (("unassign", "m", "--stage", "prod"), "no version of m is in stage 'prod'"),
        (("rollback", "m", "--stage", "prod"), "nothing to roll back"),
        (("show", "m@prod"), "no version of m is in stage 'prod'"),
        (("show", "m@v1.2"), "malformed version"),
        (("show", "nope@latest"), "no registered model named 'nope'"),
        (("diff", "m@v1.0.0", "m@v3.0.0"), "m has no version v3.0.0"),
        (("get", "m@v9.9.9"), "m has no version v9.9.9"),
        (("history", "nope"), "no registered model named 'nope'"),
    ]
    for args, problem in cases:
        proc = gitmv(repo, "registry", *args, code=1)
        assert_clean_error(proc)
        assert problem in proc.stderr, (args, proc.stderr)
    assert tags(repo) == before
    # A tag whose commit lacks the pointer (someone tagged by hand).
    git(repo, "tag", "-a", "-m", "by hand", "ghost@v1.0.0", "HEAD")
    proc = gitmv(repo, "registry", "show", "ghost@v1.0.0", code=1)
    assert_clean_error(proc)
    assert "no artifact named 'ghost' at commit" in proc.stderr


def test_rollback_needs_an_earlier_holder_and_unassign_empties_the_stage(repo: Path) -> None:
    for n, data in enumerate((V1, V2), 1):
        write(repo / "m.bin", data)
        gitmv(repo, "add", "m.bin", "--name", "m")
        git(repo, "commit", "-qm", f"v{n}")
        gitmv(repo, "registry", "register", "m", "--version", f"v{n}.0.0")
    gitmv(repo, "registry", "assign", "m", "--stage", "prod", "--version", "v1.0.0")
    proc = gitmv(repo, "registry", "rollback", "m", "--stage", "prod", code=1)
    assert_clean_error(proc)
    assert "no earlier version" in proc.stderr
    gitmv(repo, "registry", "assign", "m", "--stage", "prod")
    gitmv(repo, "registry", "unassign", "m", "--stage", "prod")
    assert jsonout(repo, "registry", "list")[0]["stages"] == {}  # type: ignore[index]
    assert sorted(t for t in tags(repo) if "!" in t) == ["m#prod!#3", "m#prod!#4"]


# -- gitmv add fills the meta block ----------------------------------------------------------


def test_plain_add_writes_no_meta_and_meta_options_are_checked_before_writing(repo: Path) -> None:
    write(repo / "a.bin", b"a")
    write(repo / "b.bin", b"b")
    gitmv(repo, "add", "a.bin")
    assert "meta" not in (repo / "a.bin.gmv").read_text()
    write(repo / "list.yaml", "- 1\n- 2\n")
    before = snapshot(repo)
    for args, problem in [
        (("a.bin", "b.bin", "--name", "x"), "--name names one artifact"),
        (("b.bin", "--name", "my model"), "cannot be a registry name"),
        (("b.bin", "--input", "nothing"), "not a tracked artifact"),
        (("b.bin", "--input", "b.bin"), "not a tracked artifact"),
        (("a.bin", "--input", "a.bin"), "its own input"),
        (("b.bin", "--params", "list.yaml"), "expected a mapping"),
        (("b.bin", "--metrics", "missing.json"), "no such file"),
        (("b.bin", "--meta", "code.commit=x"), "records 'code' itself"),
        (("b.bin", "--meta", "oops"), "expected KEY=VALUE"),
    ]:
        proc = gitmv(repo, "add", *args, code=1)
        assert_clean_error(proc)
        assert problem in proc.stderr, (args, proc.stderr)
    assert snapshot(repo) == before
    write(repo / "a.bin", b"a, changed")
    proc = gitmv(repo, "add", "b.bin", "--input", "a.bin", code=1)
    assert "modified since it was added" in proc.stderr


def test_meta_values_keep_their_types_and_code_dirty_ignores_pointers(repo: Path) -> None:
    write(repo / "train.py", "print('v1')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "code")
    write(repo / "m.bin", b"w")
    args = ["--meta", "epochs=20", "--meta", "lr=0.5", "--meta", "ok=true", "--meta", "tag=007x"]
    gitmv(repo, "add", "m.bin", "--type", "model", *args)
    text = (repo / "m.bin.gmv").read_text()
    assert "epochs: 20\n" in text and "lr: 0.5\n" in text and "ok: true\n" in text
    assert "tag: 007x\n" in text and "dirty: false\n" in text
    git(repo, "commit", "-qm", "m")
    write(repo / "train.py", "print('v2')\n")
    write(repo / "m.bin", b"w2")
    gitmv(repo, "add", "m.bin", "--meta", "epochs=30", "--meta", "params.seed=7")
    gitmv(repo, "add", "m.bin", "--meta", "params.lr=0.1")  # adds to params, keeps seed
    text = (repo / "m.bin.gmv").read_text()
    assert "dirty: true\n" in text and "epochs: 30\n" in text and "type: model\n" in text
    assert "params:\n    seed: 7\n    lr: 0.1\n" in text


# -- the Python API --------------------------------------------------------------------------


def test_api_resolves_opens_folder_files_and_catches_corrupt_remote_bytes(
    project: Path, tmp_path: Path
) -> None:
    repo = project
    write(repo / "model/weights.bin", V1)
    write(repo / "model/config.json", "{}")
    gitmv(repo, "add", "model", "--name", "folder-model", "--meta", "metrics.f1=0.7")
    git(repo, "commit", "-qm", "folder model")
    gitmv(repo, "push")
    gitmv(repo, "registry", "register", "folder-model", "--version", "v1.0.0")
    v = api.resolve("folder-model", repo=repo)
    assert (v.name, v.version, v.stage, v.kind, v.path) == (
        "folder-model",
        "v1.0.0",
        None,
        "dir",
        "model",
    )
    assert v.ref == "folder-model@v1.0.0" and api.read_meta("folder-model", repo=repo)[
        "metrics"
    ] == {"f1": 0.7}
    with pytest.raises(GitmvError, match="is a folder of 2 files"):
        api.open("folder-model", repo=repo)
    with api.open("folder-model", repo=repo, path="weights.bin") as f:
        assert f.read() == V1
    with api.open("folder-model", "r", repo=repo, path="config.json") as t:
        assert t.read() == "{}"

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    algorithm, hexpart = v.oid.split(":")
    manifest = (repo / ".git/gitmv/cache" / algorithm / hexpart[:2] / hexpart[2:]).read_text()
    entry = next(e for e in map(json.loads, manifest.splitlines()) if e["path"] == "weights.bin")
    algorithm, hexpart = entry["oid"].split(":")
    stored = tmp_path / "store" / algorithm / hexpart[:2] / hexpart[2:]
    stored.chmod(0o644)
    stored.write_bytes(V2[: len(V1)])  # same size, other bytes
    with (
        api.open("folder-model", repo=clone, path="weights.bin") as f,
        pytest.raises(IntegrityError),
    ):
        f.read()
    proc = gitmv(clone, "registry", "get", "folder-model", "-o", "out", code=1)
    assert_clean_error(proc)
    assert not (clone / "out").exists()


# -- a registry GTO wrote --------------------------------------------------------------------


@needs_gto
def test_a_registry_gto_wrote_reads_the_same_in_gitmv(repo: Path) -> None:
    write(repo / "m.bin", V1)
    gitmv(repo, "add", "m.bin", "--name", "churn")
    git(repo, "commit", "-qm", "v1")
    gto(repo, "register", "churn")
    write(repo / "m.bin", V2)
    gitmv(repo, "add", "m.bin")
    git(repo, "commit", "-qm", "v2")
    gto(repo, "register", "churn", "--bump-minor")
    gto(repo, "register", "tags-only", "HEAD~1")  # a name no pointer carries
    gto(repo, "assign", "churn", "churn@v0.0.1", "--stage", "prod")
    time.sleep(1.1)  # GTO orders stage events by their date, to the second
    gto(repo, "assign", "churn", "churn@v0.1.0", "--stage", "prod")
    gto(repo, "assign", "churn", "churn@v0.1.0", "--stage", "staging")
    time.sleep(1.1)
    gto(repo, "deprecate", "churn", "v0.1.0", "prod")  # prod falls back to v0.0.1
    theirs = json.loads(gto(repo, "show", "--json"))
    ours = {row["name"]: row for row in jsonout(repo, "registry", "list")}  # type: ignore[union-attr]
    assert set(ours) == set(theirs) == {"churn", "tags-only"}
    for name, row in theirs.items():
        stages = {stage: v for stage, v in row["stage"].items() if v is not None}
        assert (ours[name]["latest"], ours[name]["stages"]) == (row["version"], stages)
    assert ours["churn"]["stages"] == {"prod": "v0.0.1", "staging": "v0.1.0"}
    shown = jsonout(repo, "registry", "show", "churn@prod")
    assert shown["version"] == "v0.0.1" and shown["size"] == len(V1)  # type: ignore[index]
    # gitmv continues GTO's per-name counter.
    gitmv(repo, "registry", "rollback", "churn", "--stage", "staging", code=1)
    gitmv(repo, "registry", "assign", "churn", "--stage", "prod", "--version", "v0.1.0")
    assert "churn#prod#5" in tags(repo)
    assert json.loads(gto(repo, "show", "--json"))["churn"]["stage"]["prod"] == "v0.1.0"


def test_api_open_streams_a_version_stored_as_chunks(project: Path, tmp_path: Path) -> None:
    """A remote may hold a large file as a chunk list plus chunks (DESIGN 3.1)."""
    from gitmv.store import chunking
    from gitmv.store.hashing import hash_bytes

    repo = project
    data = bytes(range(256)) * 40
    write(repo / "big.bin", data)
    gitmv(repo, "add", "big.bin", "--name", "big")
    git(repo, "commit", "-qm", "big")
    oid = hash_bytes(data)
    store = tmp_path / "store"
    parts = [data[:3000], data[3000:7000], data[7000:]]
    chunks = []
    offset = 0
    for part in parts:
        c = hash_bytes(part)
        write(store / layout.chunk_key(c), part)
        chunks.append(chunking.Chunk(c, offset, len(part)))
        offset += len(part)
    write(store / layout.list_key(oid), chunking.encode_list(chunks))
    gitmv(repo, "registry", "register", "big", "--version", "v1.0.0")  # the chunk list counts
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    with api.open("big@v1.0.0", repo=clone) as f:
        assert f.read() == data


def test_the_frozen_package_list_is_pushed_and_kept_by_gc(project: Path, tmp_path: Path) -> None:
    repo = project
    write(repo / "m.bin", V1)
    gitmv(repo, "add", "m.bin", "--type", "model")
    git(repo, "commit", "-qm", "m")
    packages = (repo / "m.bin.gmv").read_text().split("packages: ", 1)[1].split()[0]
    algorithm, hexpart = packages.split(":")
    rel = Path(algorithm) / hexpart[:2] / hexpart[2:]
    assert (repo / ".git/gitmv/cache" / rel).exists()
    gitmv(repo, "gc")
    gitmv(repo, "push")
    assert (repo / ".git/gitmv/cache" / rel).exists()
    assert (tmp_path / "store" / rel).exists()
