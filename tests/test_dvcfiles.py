"""Reading DVC's files (gitmv.ops.importing.dvcfiles): the shapes DVC 2 and 3 write."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitmv.base.errors import GitmvError
from gitmv.ops.importing import dvcfiles

CONFIG = """[core]
    remote = store
    # a comment
['remote "store"']
    url = ../../store
    endpointurl = http://minio:9000
[cache]
    dir = /mnt/dvc-cache
"""


def test_config_sections_remotes_and_secrets(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text(CONFIG)
    (tmp_path / ".dvc" / "config.local").write_text(
        "['remote \"store\"']\n    access_key_id = AK\n"
    )
    found, default = dvcfiles.remotes(tmp_path)
    assert default == "store"
    assert found == [
        dvcfiles.DvcRemoteConfig(
            "store", "../../store", {"endpointurl": "http://minio:9000"}, {"access_key_id": "AK"}
        )
    ]
    assert dvcfiles.cache_dir(tmp_path) == Path("/mnt/dvc-cache")


def test_a_malformed_config_line_is_named(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[core]\nremote store\n")
    with pytest.raises(GitmvError, match=r"\.dvc/config: line 2: expected `key = value`"):
        dvcfiles.remotes(tmp_path)


def test_dvc2_and_dvc3_outs(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.dvc").write_text(
        "outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  size: 5\n  nfiles: 2\n"
        "  hash: md5\n  path: folder\n- md5: ffffffffffffffffffffffffffffffff\n  path: old.bin\n"
    )
    new, old = dvcfiles.read_dvc_file(tmp_path, "d/a.dvc")
    assert (new.path, new.is_dir, new.legacy, new.md5) == (
        "d/folder",
        True,
        False,
        "0123456789abcdef0123456789abcdef",
    )
    assert (old.path, old.is_dir, old.legacy, old.size) == ("d/old.bin", False, True, None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("outs: []\n", "non-empty `outs`"),
        ("outs:\n- path: x\n", "x: no md5"),
        ("outs:\n- md5: abc\n  path: x\n", "malformed md5"),
        ("outs:\n- md5: " + "0" * 32 + "\n  path: ../../etc/passwd\n", "leads out"),
        ("outs:\n- md5: " + "0" * 32 + "\n  path: .git/config\n", "leads out"),
        ("outs:\n- md5: " + "a" * 32 + "\n  size: -1\n  path: x\n", "malformed size"),
        ("outs: [\n", "not valid YAML"),
    ],
)
def test_malformed_dvc_files_are_named(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "m.dvc").write_text(text)
    with pytest.raises(GitmvError, match=r"m\.dvc") as caught:
        dvcfiles.read_dvc_file(tmp_path, "m.dvc")
    assert problem in caught.value.message


def test_lock_params_become_the_nested_mapping_add_writes(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: x\n    wdir: src\n    outs: [m.bin]\n"
    )
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: x\n"
        "    deps:\n    - path: ../data\n      md5: " + "1" * 32 + ".dir\n"
        "    params:\n      params.yaml:\n        train.lr: 0.1\n        train.opt.name: adam\n"
        "        seed: 7\n"
        "    outs:\n    - path: m.bin\n      hash: md5\n      md5: " + "2" * 32 + "\n"
    )
    (stage,), uncached = dvcfiles.read_pipeline(tmp_path, "dvc.yaml")
    assert stage.params == {"train": {"lr": 0.1, "opt": {"name": "adam"}}, "seed": 7}
    assert [o.path for o in stage.outs] == ["src/m.bin"]  # wdir: paths are relative to it
    assert stage.deps == (dvcfiles.Dep("data", "1" * 32),)
    assert uncached == set()


def test_an_md5_of_digits_only_reads_as_one(tmp_path: Path) -> None:
    """YAML reads `md5: 0012…` (all digits, as DVC writes it, unquoted) as a number."""
    (tmp_path / "n.dvc").write_text("outs:\n- md5: " + "0012" * 8 + "\n  hash: md5\n  path: n\n")
    (out,) = dvcfiles.read_dvc_file(tmp_path, "n.dvc")
    assert out.md5 == "0012" * 8
