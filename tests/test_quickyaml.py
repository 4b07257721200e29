"""The quick reader answers exactly what ruamel answers, or not at all."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitmv.base import quickyaml, yamlio
from gitmv.base.errors import GitmvError


def plain(node: Any) -> Any:
    """ruamel's answer without its subclasses (CommentedMap, ScalarInt, ...)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, str):
        return str(node)
    return node


def ruamel(text: str) -> Any:
    try:
        return plain(yamlio.loads(text, "t"))
    except GitmvError:
        return GitmvError


def test_the_config_gitmv_writes_is_read_quickly() -> None:
    text = (
        "# gitmv project config: committed with the repository.\n"
        "core:\n"
        "  hash: xxh128   # the default\n"
        "  remote: origin\n"
        "  jobs: 4\n"
        "remote:\n"
        "  origin:\n"
        "    url: s3://bucket/models\n"
        "    endpoint_url: http://127.0.0.1:9000\n"
        "  backup:\n"
        "    url: /mnt/backup/gitmv\n"
        "checkout:\n"
        "  autopull: false\n"
        "cache:\n"
        "  dir:\n"
    )
    got = quickyaml.load(text)
    assert got == ruamel(text)
    assert got is not None and got["core"]["jobs"] == 4 and got["cache"] == {"dir": None}


def test_a_pointer_is_read_quickly() -> None:
    text = "gitmv: 1\noid: xxh128:1e49b4ff778e481808c8a3cc898c7a61\nsize: 1024\nkind: file\n"
    assert quickyaml.load(text) == ruamel(text)


def test_what_it_does_not_read_it_leaves_to_ruamel() -> None:
    for text in (
        "a: 'quoted'\n",
        "a: [1, 2]\n",
        "a:\n  - x\n",
        "a: yes\n",
        "a: 1.5\n",
        "a: 0123\n",
        "a: 1\na: 2\n",
        "a: &x b\n",
        "a:\tb\n",
        "true: 1\n",
        "a: b\n  c\n",
        "---\na: 1\n",
        "a: b:\n",
        "",
        "# only a comment\n",
    ):
        assert quickyaml.load(text) is None, text


keys = st.sampled_from(["core", "hash", "url", "a", "b_c", "x.y", "on", "yes", "Null", "n"])
scalars = st.one_of(
    st.integers(min_value=0, max_value=10**20),
    st.booleans(),
    st.none(),
    st.sampled_from(["xxh128", "s3://b/p", "/mnt/x", "yes", "No", "1e3", "0x1F", "a:b", "~"]),
    st.text(alphabet="ab:/#-. '\"0@", max_size=8),
)
trees = st.recursive(
    scalars, lambda children: st.dictionaries(keys, children, min_size=1, max_size=4), max_leaves=12
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, trees, min_size=1, max_size=4))
def test_on_what_ruamel_writes_it_agrees_with_ruamel(doc: dict[str, Any]) -> None:
    text = yamlio.dumps(doc)
    got = quickyaml.load(text)
    if got is not None:
        assert got == ruamel(text), text


lines = st.lists(
    st.builds(
        lambda indent, key, sep, value, comment: f"{' ' * indent}{key}{sep}{value}{comment}",
        st.sampled_from([0, 0, 2, 4, 1]),
        keys,
        st.sampled_from([": ", ":", ":  ", " : "]),
        st.one_of(st.just(""), st.text(alphabet="ab:/#-. '\"0@1~", max_size=6)),
        st.sampled_from(["", " # c", "#c", "  "]),
    ),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(lines)
def test_on_any_text_it_agrees_with_ruamel_or_stays_out(text_lines: list[str]) -> None:
    text = "\n".join(text_lines) + "\n"
    got = quickyaml.load(text)
    if got is not None:
        assert got == ruamel(text), text
