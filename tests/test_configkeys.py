"""The config key table: it agrees with the readers, covers every key the code reads, and
docs/config.md lists every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitmv.base.config import DEFAULTS, Config
from gitmv.base.errors import GitmvError
from gitmv.ops import configkeys
from gitmv.repo.history import DEFAULT_GRACE, parse_grace
from gitmv.store import chunking, packs
from gitmv.store.cache import LINK_TYPES

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_agree_with_the_readers() -> None:
    keys = configkeys.KEYS
    for section, values in DEFAULTS.items():
        for name, default in values.items() if isinstance(values, dict) else ():
            if f"{section}.{name}" in keys:
                assert keys[f"{section}.{name}"].default == default, f"{section}.{name}"
    assert keys["chunking.min_size"].default == chunking.DEFAULT_MIN_SIZE
    assert keys["chunking.avg_size"].default == chunking.DEFAULT_AVG_SIZE
    assert parse_grace(keys["gc.remote_grace"].default) == DEFAULT_GRACE
    assert set(keys["cache.link"].default) <= set(LINK_TYPES)


def test_every_key_the_code_reads_is_in_the_table() -> None:
    read = re.compile(r"""\.(?:get|flag|size)\(\s*f?["']([a-z_]+\.[a-z_{}]+)["']""")
    found = set()
    for path in (ROOT / "gitmv").rglob("*.py"):
        for key in read.findall(path.read_text(encoding="utf-8")):
            if "{" in key:  # f"chunking.{name}": the section's keys
                found.update(k for k in configkeys.KEYS if k.startswith(key.split(".")[0] + "."))
            else:
                found.add(key)
    assert "core.fsync" in found and "checkout.autopull" in found  # the scan sees the reads
    assert found - set(configkeys.KEYS) == set()


def test_docs_list_every_key() -> None:
    text = (ROOT / "docs/config.md").read_text(encoding="utf-8")
    missing = [key for key in configkeys.KEYS if f"`{key}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("chunking.min_size", "16MiB", 16 * 1024 * 1024),
        ("chunking.min_size", "123", 123),
        ("core.fsync", "off", False),
        ("hooks.auto", "YES", True),
        ("cache.link", "hardlink, copy", ["hardlink", "copy"]),
        ("core.lock_timeout", "2.5", 2.5),
        ("gc.remote_grace", "2.weeks", "2.weeks"),
        ("gc.remote_grace", "3600", 3600),
        ("remote.origin.jobs", "4", 4),
        ("remote.origin.anon", "true", True),
    ],
)
def test_values_are_written_with_their_type(key: str, raw: str, value: object) -> None:
    assert configkeys.parse_value(key, raw) == value


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("core.jobs", "0"),
        ("core.jobs", "many"),
        ("chunking.min_size", "8MB"),  # decimal units are not taken: say MiB
        ("core.lock_timeout", "-1"),
        ("remote.origin", "x"),
        ("remote.origin.retries", "-2"),
        ("core.nothing", "x"),
    ],
)
def test_bad_values_are_refused(key: str, raw: str) -> None:
    with pytest.raises(GitmvError):
        configkeys.parse_value(key, raw)


def test_secret_rule() -> None:
    assert configkeys.secret_in("remote.s3.secret_access_key", "x")
    assert configkeys.secret_in("remote.s3.url", "s3://a:b@bucket/x")
    assert not configkeys.secret_in("remote.s3.url", "s3://bucket/x")
    assert not configkeys.secret_in("remote.s3.endpoint_url", "http://127.0.0.1:9000")
    assert not configkeys.secret_in("core.hash", "sha256")


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("0", 0),
        ("123", 123),
        ("16MiB", 16 * 1024**2),  # as a user writes it by hand; `gitmv config` writes the number
        ("512 KiB", 512 * 1024),
        ("1gib", 1024**3),
        ("8MB", None),  # decimal units are not taken
        ("8M", None),
        ("-1", None),
        ("true", None),
        ("1.5", None),
        ("[1]", None),
    ],
)
def test_readers_and_doctor_agree_on_byte_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str, size: int | None
) -> None:
    """A size in the config file is taken by the chunking and pack readers exactly when
    `gitmv config`/`doctor` take it (doctor passed `16MiB` that every push then refused)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    (tmp_path / ".gitmv").mkdir()
    (tmp_path / ".gitmv/config.yaml").write_text(
        f"chunking:\n  min_size: {raw}\npack:\n  size: {raw}\n  max_object: {raw}\n"
    )
    config = Config(tmp_path, tmp_path / ".git")
    for key in ("chunking.min_size", "pack.size", "pack.max_object"):
        found = config.get(key)
        assert (configkeys.check_present(key, found) is None) == (size is not None), key
    if size is None:
        for read in (chunking.settings_from, packs.settings_from):
            with pytest.raises(GitmvError, match=r"must be a number of bytes.*not") as caught:
                read(config)
            assert "gitmv config" in (caught.value.hint or "")
        return
    assert chunking.settings_from(config).min_size == size
    assert packs.settings_from(config) == packs.PackSettings(size, size)
