"""Packaging: pyproject's metadata and extras, and what `pip install gitmv` without extras
gives: folder remotes that work, and for an S3 or GCS remote one `error:` naming the remote
and the protocol, with `hint: pip install 'gitmv[s3]'` (or gcs).

The install without extras is a real virtualenv that lacks s3fs, gcsfs and fsspec: made with
`python -m venv --without-pip`, then given exactly the distributions that gitmv's core
requirements pull in (walked through their metadata, as pip would resolve them), linked from
this interpreter's site-packages, and gitmv itself from this checkout. No network, about a
second.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from tests.helpers import assert_clean_error, git, gitmv

tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
requirements = pytest.importorskip("packaging.requirements")

PROJECT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
HEAVY = {"s3fs", "gcsfs", "fsspec", "aiobotocore", "botocore", "boto3", "google-auth"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirements.Requirement(requirement).name).lower()


def test_every_dependency_has_a_supported_range_with_a_lower_bound() -> None:
    every = list(PYPROJECT["dependencies"])
    for extra, reqs in PYPROJECT["optional-dependencies"].items():
        every += [r for r in reqs if not r.startswith("gitmv[")]
        assert reqs, f"extra {extra} is empty"
    for text in every:
        req = requirements.Requirement(text)
        floors = [s for s in req.specifier if s.operator in (">=", "==", "~=")]
        assert floors, f"{text!r} has no lower bound"
    # Typer 0.29 is supported (the issue asks for it): its ceiling lets 0.29.x in.
    typer = next(r for r in PYPROJECT["dependencies"] if _name(r) == "typer")
    assert requirements.Requirement(typer).specifier.contains("0.29.2")


def test_the_extras_split_the_storage_stacks_from_the_core() -> None:
    core = {_name(r) for r in PYPROJECT["dependencies"]}
    assert core == {"typer", "rich", "xxhash", "ruamel-yaml", "pyfastcdc"}
    assert not core & HEAVY
    extras = PYPROJECT["optional-dependencies"]
    assert {_name(r) for r in extras["s3"]} == {"s3fs"}
    assert {_name(r) for r in extras["gcs"]} == {"gcsfs"}
    assert set(extras["all"]) == {"gitmv[s3,gcs]"}
    assert "gitmv[all]" in extras["test"]  # the suite runs S3 and GCS servers


def test_license_is_an_spdx_expression_and_the_version_has_one_source() -> None:
    assert PYPROJECT["license"] == "Apache-2.0"
    assert PYPROJECT["license-files"] == ["LICENSE"]
    assert "version" not in PYPROJECT and PYPROJECT["dynamic"] == ["version"]
    build = tomllib.loads((PROJECT / "pyproject.toml").read_text())["build-system"]
    assert any(re.fullmatch(r"setuptools>=(7[7-9]|[89]\d)(\.\d+)*", r) for r in build["requires"])
    from gitmv import __version__

    printed = gitmv(PROJECT, "--version").stdout.split()
    assert printed == ["gitmv", __version__]
    # the installed metadata says the same (setuptools read it from gitmv/__init__.py)
    assert metadata.version("gitmv") == __version__


def _closure(names: list[str]) -> set[str]:
    """The distributions `names` pull in, with their requirements' markers evaluated here
    (no extras), as pip would install them."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            req = requirements.Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_name(text))
    return seen


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtualenv holding gitmv and its core requirements only (see the module doc)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    here = Path(sysconfig.get_paths()["purelib"])
    wanted = _closure([_name(r) for r in PYPROJECT["dependencies"]])
    assert not wanted & HEAVY, wanted & HEAVY
    for dist in metadata.distributions():
        if _name(dist.metadata["Name"]) not in wanted:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            link = site / top
            if (here / top).exists() and not link.exists():
                link.symlink_to(here / top)
    (site / "gitmv-checkout.pth").write_text(f"{PROJECT}\n")
    yield python


def _bare(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(python), "-m", "gitmv", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_the_bare_install_lacks_the_storage_stacks(bare_python: Path, tmp_path: Path) -> None:
    code = "import importlib.util as u; print([m for m in ('s3fs','gcsfs','fsspec') if u.find_spec(m)])"
    proc = subprocess.run([bare_python, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_pip_install_gitmv_alone_versions_to_a_folder_remote(
    bare_python: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for args in (["init", "--no-hooks"], ["remote", "add", "store", "../store"]):
        assert _bare(bare_python, repo, *args).returncode == 0
    (repo / "model.bin").write_bytes(b"weights" * 1000)
    assert _bare(bare_python, repo, "add", "model.bin").returncode == 0
    git(repo, "commit", "-qm", "v1")
    proc = _bare(bare_python, repo, "push")
    assert proc.returncode == 0, proc.stderr
    git(tmp_path, "clone", "-q", str(repo), "b")
    proc = _bare(bare_python, tmp_path / "b", "pull")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b" / "model.bin").read_bytes() == b"weights" * 1000


@pytest.mark.parametrize(
    ("url", "needs", "hint"),
    [
        ("s3://bucket/models", "the s3:// protocol needs s3fs", "pip install 'gitmv[s3]'"),
        ("gs://bucket/models", "the gs:// protocol needs gcsfs", "pip install 'gitmv[gcs]'"),
        ("sftp://host/models", "the sftp:// protocol needs fsspec", "pip install fsspec"),
    ],
)
def test_remote_add_without_the_protocols_package_says_which_extra(
    bare_python: Path, repo: Path, url: str, needs: str, hint: str
) -> None:
    before = (repo / ".gitmv" / "config.yaml").read_bytes()
    proc = _bare(bare_python, repo, "remote", "add", "store", url)
    assert_clean_error(proc)
    assert f"error: remote 'store' ({url}): {needs}, which is not installed" in proc.stderr
    assert f"hint: {hint}" in proc.stderr
    assert (repo / ".gitmv" / "config.yaml").read_bytes() == before


def test_using_an_s3_remote_without_s3fs_says_which_extra(bare_python: Path, repo: Path) -> None:
    """A teammate (with gitmv[s3]) committed an S3 remote; this install lacks s3fs."""
    gitmv(repo, "remote", "add", "team", "s3://bucket/models")  # this venv has s3fs
    (repo / "model.bin").write_bytes(b"w" * 100)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")
    for args in (["push"], ["verify", "--remote", "team"]):
        proc = _bare(bare_python, repo, *args)
        assert_clean_error(proc)
        said = "remote 'team' (s3://bucket/models): the s3:// protocol needs s3fs"
        assert said in proc.stderr, (args, proc.stderr)
        assert "hint: pip install 'gitmv[s3]'" in proc.stderr


def test_an_sftp_remote_without_paramiko_names_fsspecs_package(repo: Path) -> None:
    """With fsspec present (this venv), the hint is the package fsspec names for the protocol."""
    pytest.importorskip("fsspec")
    if metadata.packages_distributions().get("paramiko"):
        pytest.skip("paramiko is installed here")
    proc = gitmv(repo, "remote", "add", "box", "sftp://host/models", code=None)
    assert_clean_error(proc)
    assert "error: remote 'box' (sftp://host/models): the sftp:// protocol needs" in proc.stderr
    assert "paramiko" in proc.stderr.split("hint:", 1)[1]


def test_the_lowest_direct_run_in_ci_installs_the_declared_floors() -> None:
    """.ci/run's second venv takes the test tools' bounds from the `test` extra, word for
    word: a floor raised in pyproject.toml and not there would leave it untested."""
    script = (PROJECT / ".ci" / "run").read_text()
    assert "--resolution lowest-direct" in script and "-e '.[all]'" in script
    lines = script[script.index("--resolution lowest-direct") :].splitlines()
    # the command: its first line and the continuation lines after each trailing backslash
    end = next(i for i, line in enumerate(lines) if not line.endswith("\\"))
    command = "\n".join(lines[: end + 1])
    tools = re.findall(r"'([A-Za-z][^']*)'", command)
    assert tools, command
    declared = set(PYPROJECT["optional-dependencies"]["test"])
    for tool in tools:
        assert tool in declared, f"{tool} is not the test extra's bound"
