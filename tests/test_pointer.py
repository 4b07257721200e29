from pathlib import Path

import pytest

from gitmv.base.errors import PointerError
from gitmv.store import pointer
from gitmv.store.hashing import Oid

OID = "xxh128:df8d09e93f874900a99b8775cc15b6c7"


def test_render_writes_keys_in_the_documented_order() -> None:
    p = pointer.Pointer(Oid.parse(OID), 11, "file", exec=True)
    assert pointer.render(p) == f"gitmv: 1\noid: {OID}\nsize: 11\nkind: file\nexec: true\n"
    d = pointer.Pointer(Oid.parse(OID), 5, "dir", files=2)
    assert pointer.render(d) == f"gitmv: 1\noid: {OID}\nsize: 5\nkind: dir\nfiles: 2\n"


def test_rewrite_keeps_comments_extra_keys_and_meta() -> None:
    text = (
        "# the production churn model\n"
        f"gitmv: 1\noid: {OID}\nsize: 11\nkind: file\n"
        "meta:\n  name: churn  # registry name\n  params:\n    lr: 0.001\n"
        "owner: ml-team\n"
    )
    p = pointer.parse(text.encode(), "m.gmv")
    assert p.meta["params"]["lr"] == 0.001
    new = p.replace(oid=Oid.parse("xxh128:" + "a" * 32), size=12, exec=True)
    out = pointer.render(new)
    assert "# the production churn model" in out
    assert "name: churn  # registry name" in out
    assert "owner: ml-team" in out
    assert out.index("exec: true") < out.index("meta:")
    assert pointer.parse(out.encode(), "m.gmv").oid.hex == "a" * 32


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"gitmv: 2\noid: {OID}\nsize: 1\nkind: file\n", "unknown pointer format version"),
        (f"gitmv: 1\noid: md5:{'0' * 32}\nsize: 1\nkind: file\n", "unknown hash algorithm"),
        (f"gitmv: 1\noid: {OID}\nkind: file\n", "missing key 'size'"),
        (f"gitmv: 1\noid: {OID}\nsize: -1\nkind: file\n", "malformed size"),
        (f"gitmv: 1\noid: {OID}\nsize: 1\nkind: link\n", "unknown kind"),
        (f"gitmv: 1\noid: {OID}\nsize: 1\nkind: dir\n", "file count"),
        (f"gitmv: 1\noid: {OID}\nsize: 1\nkind: file\ngitmv: 1\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a YAML mapping"),
        ("a: &x [1]\nb: *x\n", "anchors and aliases"),
        ("gitmv: 1\noid: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_pointers_are_refused_with_the_problem_named(text: str, problem: str) -> None:
    with pytest.raises(PointerError) as info:
        pointer.parse(text.encode(), "bad.gmv")
    assert problem in info.value.message
    assert info.value.message.startswith("bad.gmv")


def test_binary_and_oversized_pointers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PointerError, match="NUL"):
        pointer.parse(b"gitmv: 1\0", "x.gmv")
    with pytest.raises(PointerError, match="UTF-8"):
        pointer.parse(b"gitmv: \xff\xfe", "x.gmv")
    big = tmp_path / "big.gmv"
    big.write_bytes(b"#" * (pointer.MAX_SIZE + 1))
    with pytest.raises(PointerError, match="1 MiB"):
        pointer.read(big)


def test_a_billion_laughs_is_refused_without_expanding() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    with pytest.raises(PointerError, match="anchors"):
        pointer.parse("\n".join(lines).encode(), "bomb.gmv")
