"""The quick reader answers exactly what ruamel answers, or not at all."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitmv.base import quickyaml, yamlio
from gitmv.base.errors import GitmvError
from gitmv.store import pointer


def plain(node: Any) -> Any:
    """ruamel's answer without its subclasses (CommentedMap, ScalarInt, ...)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, float):
        return float(node)
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
        "a:\n  - - x\n",
        "a:\n  -\n    b: 1\n",
        "a:\n  - x\n  b: 1\n",
        "- a: 1\n",
        "a: yes\n",
        "a: 1e3\n",
        "a: 0.10\n",
        "a: 0b1\n",
        "a: 0x1f\n",
        "a: 2024-01-01\n",
        "a: .5\n",
        "a: b: c\n",
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


def test_a_pointer_with_meta_is_read_quickly_and_rewritten_alike() -> None:
    text = (
        "gitmv: 1\noid: xxh128:1e49b4ff778e481808c8a3cc898c7a61\nsize: 1024\nkind: file\n"
        "meta:\n  name: churn\n  type: model\n  params:\n    lr: 0.001\n    epochs: 20\n"
        "    seed: -7\n  metrics:\n    accuracy: 0.91\n  inputs:\n"
        "    - path: data\n      oid: xxh128:24d992888dddfb898a029bfb82c3d8c4\n"
        "    - path: ../shared/labels.csv\n      oid: xxh128:5aed394176e4c7ccafc95a0b36604651\n"
        "  code:\n    commit: 8562586e8dd36da070f5f7956b0324f80d929c41\n    dirty: false\n"
        "  env:\n    python: 3.11.7\n    packages: xxh128:e84981c4d054b396579b21239023644f\n"
        "  description: a churn model for the EU shops\n"
    )
    quick = quickyaml.load(text)
    assert quick is not None and quick == ruamel(text)
    assert quick["meta"]["inputs"][1]["path"] == "../shared/labels.csv"
    read = pointer.parse(text.encode(), "m.gmv")
    assert isinstance(read.doc, dict) and read.doc["meta"] == quick["meta"]  # add reads it
    assert pointer.render(read) == text  # a rewrite changes no byte


def test_a_config_with_relative_remote_urls_is_read_quickly() -> None:
    text = (
        "core:\n  remote: shared\nremote:\n  shared:\n    url: ../gitmv-store\n"
        "  here:\n    url: ./store\n  home:\n    url: ~/gitmv\n"
    )
    got = quickyaml.load(text)
    assert got is not None and got == ruamel(text)
    assert got["remote"]["shared"]["url"] == "../gitmv-store"


keys = st.sampled_from(["core", "hash", "url", "a", "b_c", "x.y", "on", "yes", "Null", "n"])
scalars = st.one_of(
    st.integers(min_value=0, max_value=10**20),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            *("xxh128", "s3://b/p", "/mnt/x", "yes", "No", "1e3", "0x1F", "a:b", "~", "~/x"),
            *("../r", "./r", "3.11.7", "3.11", "0b1", "0o7", "8562586e8", "4a1a6e07", "0.10"),
            *("-0", "1_0", "2024-01-01", ".5", ".inf", "-1.5", "1e", "1.2.x", "0e5", "a b"),
            *("a  b", "a - b", "a b:", "a :b"),
        ]
    ),
    st.text(alphabet="ab:/#-. '\"0@~e1", max_size=8),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.dictionaries(keys, children, min_size=1, max_size=4),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=12,
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
        st.one_of(keys, keys.map(lambda k: "- " + k), keys.map(lambda k: "-  " + k)),
        st.sampled_from([": ", ":", ":  ", " : ", ""]),
        st.one_of(st.just(""), st.text(alphabet="ab:/#-. '\"0@1~e", max_size=6)),
        st.sampled_from(["", " # c", "#c", "  "]),
    ),
    max_size=8,
)


@settings(max_examples=1500, deadline=None)
@given(lines)
def test_on_any_text_it_agrees_with_ruamel_or_stays_out(text_lines: list[str]) -> None:
    text = "inputs:\n" + "\n".join(text_lines) + "\n"
    got = quickyaml.load(text)
    if got is not None:
        assert got == ruamel(text), text


# What gitmv writes in pointers' meta blocks and configs: the quick reader must read all of it
# (a refusal costs ruamel's import, ~13 ms of every command and hook), and agree with ruamel.
nice_scalars = st.one_of(
    st.integers(min_value=-(10**17), max_value=10**17),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).filter(
        lambda x: "e" not in repr(x)
    ),
    st.sampled_from(["xxh128:5aed394176e4c7ccafc95a0b36604651", "s3://b/p", "../r", "./r"]),
    st.sampled_from(["~/gitmv", "3.11.7", "8562586e8dd36da070f5", "churn model v2", "a-b_c"]),
)
nice_keys = st.sampled_from(["core", "hash", "url", "a", "b_c", "x.y", "params", "inputs"])
nice_trees = st.recursive(
    nice_scalars,
    lambda children: st.one_of(
        st.dictionaries(nice_keys, children, min_size=1, max_size=4),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(nice_keys, nice_trees, min_size=1, max_size=4))
def test_what_gitmv_writes_it_reads_and_agrees_with_ruamel(doc: dict[str, Any]) -> None:
    text = yamlio.dumps(doc)
    if re.search(r"^ *- *(-|$)", text, re.M):
        return  # a list in a list, an empty entry: gitmv writes neither
    got = quickyaml.load(text)
    assert got is not None, text
    assert got == ruamel(text), text


block_lines = st.lists(
    st.builds(
        lambda indent, dash, body: f"{' ' * indent}{dash}{body}",
        st.sampled_from([0, 2, 2, 4, 4, 6, 3]),
        st.sampled_from(["", "- ", "- ", "-  ", "-"]),
        st.one_of(
            nice_keys.map(lambda k: k + ":"),
            st.builds(
                lambda k, v: f"{k}: {v}", nice_keys, st.sampled_from(["x", "1", "0.5", "../r"])
            ),
            st.sampled_from(["x", "3.11.7", "a b", "~", "yes", "[1]", "'q'"]),
        ),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=2000, deadline=None)
@given(block_lines)
def test_on_nested_blocks_and_sequences_it_agrees_with_ruamel_or_stays_out(
    text_lines: list[str],
) -> None:
    text = "inputs:\n" + "\n".join(text_lines) + "\n"
    got = quickyaml.load(text)
    if got is not None:
        assert got == ruamel(text), text
