"""A new version of an artifact is described afresh (DESIGN 6): `gitmv add` of new bytes
keeps the identity keys and re-derives `code` and `env`, but never carries the previous
version's params, metrics or inputs (nor its code commit) unless told to."""

from __future__ import annotations

import json
from pathlib import Path

from ruamel.yaml import YAML

from tests.helpers import git, gitmv


def meta_of(repo: Path, artifact: str) -> dict[str, object]:
    doc = YAML(typ="safe", pure=True).load((repo / f"{artifact}.gmv").read_text())
    meta = doc.get("meta")
    return dict(meta) if isinstance(meta, dict) else {}


def first_version(repo: Path) -> str:
    """model.pt v1 made from data.bin with params and metrics, committed; returns HEAD."""
    (repo / "train.py").write_text("print('v1')\n")
    (repo / "data.bin").write_bytes(b"rows" * 100)
    (repo / "params.yaml").write_text("lr: 0.1\nepochs: 3\n")
    (repo / "metrics.json").write_text(json.dumps({"acc": 0.9}))
    gitmv(repo, "add", "data.bin")
    git(repo, "add", "train.py", "params.yaml", "metrics.json")
    git(repo, "commit", "-qm", "code and data")
    (repo / "model.pt").write_bytes(b"weights v1")
    gitmv(
        repo,
        "add",
        "model.pt",
        "--name",
        "churn",
        "--type",
        "model",
        "--params",
        "params.yaml",
        "--metrics",
        "metrics.json",
        "--input",
        "data.bin",
        "--meta",
        "owner=ann",
    )
    git(repo, "commit", "-qm", "model v1")
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_new_version_keeps_identity_and_drops_stale_lineage(repo: Path) -> None:
    v1_head = first_version(repo)
    old = meta_of(repo, "model.pt")
    assert old["params"] == {"lr": 0.1, "epochs": 3} and old["inputs"]
    (repo / "train.py").write_text("print('v2')\n")
    git(repo, "commit", "-qam", "new training code")
    v2_head = git(repo, "rev-parse", "HEAD").strip()

    (repo / "model.pt").write_bytes(b"weights v2, made by other code")
    gitmv(repo, "add", "model.pt")

    meta = meta_of(repo, "model.pt")
    assert meta["name"] == "churn" and meta["type"] == "model" and meta["owner"] == "ann"
    for stale in ("params", "metrics", "inputs"):
        assert stale not in meta, meta
    assert meta["code"] == {"commit": v2_head, "dirty": False}, (meta, v1_head)
    assert isinstance(meta["env"], dict) and meta["env"]["packages"]


def test_keep_meta_carries_params_metrics_inputs_and_still_derives_code(repo: Path) -> None:
    first_version(repo)
    old = meta_of(repo, "model.pt")
    (repo / "train.py").write_text("print('v2, uncommitted')\n")  # tracked and changed
    (repo / "scratch.txt").write_text("untracked: not code HEAD names\n")

    (repo / "model.pt").write_bytes(b"weights v2")
    gitmv(repo, "add", "model.pt", "--keep-meta")

    meta = meta_of(repo, "model.pt")
    for kept in ("name", "type", "owner", "params", "metrics", "inputs"):
        assert meta[kept] == old[kept], kept
    assert meta["code"] == {"commit": git(repo, "rev-parse", "HEAD").strip(), "dirty": True}


def test_new_params_replace_old_ones_and_unchanged_bytes_change_nothing(repo: Path) -> None:
    first_version(repo)
    before = (repo / "model.pt.gmv").read_bytes()
    gitmv(repo, "add", "model.pt")  # same bytes: the same version, untouched
    assert (repo / "model.pt.gmv").read_bytes() == before

    (repo / "p2.yaml").write_text("lr: 0.01\n")
    (repo / "model.pt").write_bytes(b"weights v2")
    gitmv(repo, "add", "model.pt", "--params", "p2.yaml")
    meta = meta_of(repo, "model.pt")
    assert meta["params"] == {"lr": 0.01}
    assert "metrics" not in meta and "inputs" not in meta
    assert meta["name"] == "churn"
    assert list(meta)[:3] == ["name", "type", "params"]


def test_code_is_clean_when_only_untracked_files_and_adds_own_files_changed(
    repo: Path,
) -> None:
    (repo / "train.py").write_text("print(1)\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "code")
    (repo / "untracked.txt").write_text("notes\n")
    (repo / "a.bin").write_bytes(b"a")
    gitmv(repo, "add", "a.bin", "--type", "model")  # stages a.bin.gmv and .gitignore
    (repo / "b.bin").write_bytes(b"b")
    gitmv(repo, "add", "b.bin", "--type", "model")  # a.bin's pointer staged: still clean
    assert meta_of(repo, "b.bin")["code"] == {
        "commit": git(repo, "rev-parse", "HEAD").strip(),
        "dirty": False,
    }


def test_dotted_meta_adds_to_this_version_only(repo: Path) -> None:
    """`--meta params.seed=7` adds to the params of the version it describes: over the old
    ones for the same bytes, over nothing for new bytes (the old params are stale)."""
    first_version(repo)
    gitmv(repo, "add", "model.pt", "--meta", "params.seed=7")  # same bytes: adds
    assert meta_of(repo, "model.pt")["params"] == {"lr": 0.1, "epochs": 3, "seed": 7}
    git(repo, "commit", "-qam", "seed recorded")

    (repo / "model.pt").write_bytes(b"weights v2")
    gitmv(repo, "add", "model.pt", "--meta", "params.seed=8")  # new bytes: afresh
    meta = meta_of(repo, "model.pt")
    assert meta["params"] == {"seed": 8}, meta
    assert "metrics" not in meta and "inputs" not in meta and meta["owner"] == "ann"

    (repo / "model.pt").write_bytes(b"weights v3")
    gitmv(repo, "add", "model.pt", "--keep-meta", "--meta", "params.lr=0.2")  # carried, then set
    assert meta_of(repo, "model.pt")["params"] == {"seed": 8, "lr": 0.2}
