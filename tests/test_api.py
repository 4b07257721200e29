"""gitmv.api over ops/get on real git: the public names stay, `get` and `open` read through
the one remote opener (so `core.jobs` counts), and a bad reference changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitmv import api
from gitmv.base.errors import GitmvError
from gitmv.registry.artifacts import Version
from tests.helpers import git, gitmv


def local_config(repo: Path, text: str) -> None:
    (repo / ".git/gitmv/config.yaml").write_text(text)


@pytest.fixture
def clone(repo: Path, tmp_path: Path) -> Path:
    """A clone with the registry tags and an empty cache; `churn@v1.0.0` is on the remote."""
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    (repo / "model.pkl").write_bytes(b"weights v1")
    gitmv(repo, "add", "model.pkl", "--name", "churn", "--type", "model", "--meta", "params.lr=0.1")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "model")
    gitmv(repo, "push")
    gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0")
    target = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(target))
    gitmv(target, "init", "--no-hooks")
    return target


def test_the_public_names_stay(clone: Path) -> None:
    assert set(api.__all__) >= {"Version", "get", "open", "read_meta", "resolve"}  # kept
    v = api.resolve("churn", repo=clone)
    assert isinstance(v, api.Version) and api.Version is Version
    assert (v.ref, v.path, v.kind, v.size) == ("churn@v1.0.0", "model.pkl", "file", 10)
    assert api.read_meta("churn@latest", repo=clone)["params"] == {"lr": 0.1}


def test_get_and_open_read_core_jobs_like_every_command(clone: Path) -> None:
    local_config(clone, "core:\n  jobs: many\n")
    with pytest.raises(GitmvError, match=r"core\.jobs"):
        api.get("churn@v1.0.0", "served.pkl", repo=clone)
    with pytest.raises(GitmvError, match=r"core\.jobs"):
        api.open("churn@v1.0.0", repo=clone)
    assert not (clone / "served.pkl").exists()
    local_config(clone, "core:\n  jobs: 2\n")
    with api.open("churn@v1.0.0", repo=clone) as f:  # streamed: the cache stays empty
        assert f.read() == b"weights v1"
    version = api.get("churn@v1.0.0", clone / "served.pkl", repo=clone)
    assert version.ref == "churn@v1.0.0"
    assert (clone / "served.pkl").read_bytes() == b"weights v1"


def test_get_refuses_to_overwrite_and_a_bad_reference_writes_nothing(clone: Path) -> None:
    (clone / "served.pkl").write_bytes(b"mine")
    with pytest.raises(GitmvError, match="already exists") as caught:
        api.get("churn", clone / "served.pkl", repo=clone)
    assert caught.value.hint and "--force" in caught.value.hint
    assert (clone / "served.pkl").read_bytes() == b"mine"
    with pytest.raises(GitmvError, match=r"no version v9\.0\.0"):
        api.get("churn@v9.0.0", clone / "other.pkl", repo=clone)
    assert not (clone / "other.pkl").exists()
    api.get("churn", clone / "served.pkl", repo=clone, force=True)
    assert (clone / "served.pkl").read_bytes() == b"weights v1"
