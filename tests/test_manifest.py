import pytest

from gitmv.base.errors import PointerError
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.manifest import ManifestEntry, decode, encode

A = "xxh128:df8d09e93f874900a99b8775cc15b6c7"


def test_manifest_format_is_pinned_by_its_hash() -> None:
    entries = [
        ManifestEntry("b/c.bin", hash_bytes(b"c"), 1),
        ManifestEntry("a.txt", hash_bytes(b"hello world"), 11, True),
    ]
    data = encode(entries)
    assert data == (
        b'{"path": "a.txt", "oid": "xxh128:df8d09e93f874900a99b8775cc15b6c7", "size": 11, "exec": true}\n'
        b'{"path": "b/c.bin", "oid": "xxh128:12d8bdd17f74de858c40219a46b9f81b", "size": 1}\n'
    )
    assert str(hash_bytes(data)) == "xxh128:8a4bc5896b2c90cc3da745f8b9e78b91"
    assert decode(data, "m") == sorted(entries, key=lambda e: e.path)


def test_unicode_paths_round_trip() -> None:
    entries = [ManifestEntry('données/"q" \u00e9\t.txt', Oid.parse(A), 3)]
    assert decode(encode(entries), "m") == entries


@pytest.mark.parametrize(
    "path",
    ["../escape", "a/../../b", "/etc/passwd", "C:/windows", "a//b", "./a", "a\\b", "", "a/\u0000"],
)
def test_paths_that_leave_the_folder_are_refused(path: str) -> None:
    line = f'{{"path": {__import__("json").dumps(path)}, "oid": "{A}", "size": 1}}\n'
    with pytest.raises(PointerError):
        decode(line.encode(), "m")


@pytest.mark.parametrize(
    "data",
    [
        b"not json\n",
        b'{"path": "a"}\n',
        f'{{"path": "a", "oid": "{A}", "size": -1}}\n'.encode(),
        f'{{"path": "a", "oid": "{A}", "size": 1}}\n{{"path": "a", "oid": "{A}", "size": 1}}\n'.encode(),
        f'{{"path": "a", "oid": "{A}", "size": 1}}\n{{"path": "a/b", "oid": "{A}", "size": 1}}\n'.encode(),
        b"\xff\xfe",
    ],
)
def test_malformed_manifests_are_refused(data: bytes) -> None:
    with pytest.raises(PointerError):
        decode(data, "m")


def test_expand_adds_the_files_of_readable_manifests_and_names_the_rest_unresolved() -> None:
    from gitmv.store.manifest import expand

    a, b = hash_bytes(b"a"), hash_bytes(b"b")
    folder = encode([ManifestEntry("x/a.bin", a, 1), ManifestEntry("b.bin", b, 1)])
    good, lost, broken, text = (hash_bytes(d) for d in (folder, b"lost", b"broken", b"text"))
    store = {good: folder, broken: b"not json\n", text: folder}
    tops = {
        good: ("dir", "data"),
        lost: ("dir", "gone"),  # its manifest is nowhere: its files are unknown
        broken: ("dir", "bad"),
        text: ("unknown", "oops"),  # an oid read from a broken pointer's text: maybe a manifest
        b: ("file", "b.bin"),  # a file is never read as a manifest
    }
    asked: list[Oid] = []

    def read(oid: Oid) -> bytes | None:
        asked.append(oid)
        return store.get(oid)

    found = expand(tops, read)
    assert found.oids == {good, lost, broken, text, a, b}
    assert found.where[a] == "data/x/a.bin" and found.where[b] == "b.bin"
    assert sorted(found.unresolved) == sorted([lost, broken])
    assert b not in asked
