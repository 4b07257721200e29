"""The filter grammar of `gitmv registry find` (gitmv.registry.query), the label tag names
(gitmv.registry.grammar), and the fast pointer reader find uses (gitmv.registry.metaread),
which must read every document it accepts exactly as ruamel does."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitmv.base import yamlio
from gitmv.registry import metaread
from gitmv.registry.grammar import TagName, parse_tag_name
from gitmv.registry.meta import plain
from gitmv.registry.query import Candidate, FindQuery, QueryError, parse_term, sort_key


def candidate(**meta: Any) -> Candidate:
    return Candidate(
        name="churn",
        version="v1.2.3",
        stages=("production",),
        stages_ever=("production", "staging"),
        author="Alice Smith <alice@example.com>",
        date=datetime(2024, 3, 10, 12, tzinfo=timezone.utc),
        labels=("fraud", "q1"),
        inputs=("data/march.csv", "xxh128:" + "a" * 32),
        path="models/churn.pkl",
        oid="xxh128:" + "b" * 32,
        commit="c" * 40,
        size=1234,
        meta=meta,
    )


C = candidate(
    type="model",
    metrics={"accuracy": 0.93, "f1": "0.8"},
    params={"lr": 0.001, "layers": 3, "optimizer": {"name": "adam"}},
    flag=True,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.accuracy>=0.9", True),
        ("metrics.accuracy>0.93", False),
        ("metrics.accuracy=0.930", True),
        ("metrics.accuracy!=0.93", False),
        ("metrics.f1>0.7", True),  # a number written as text still compares as one
        ("params.lr<0.01", True),
        ("params.layers<=3", True),
        ("params.optimizer.name=adam", True),
        ("params.optimizer.name~AD", True),
        ("params.optimizer=adam", False),  # a mapping equals nothing
        ("params.missing=1", False),
        ("params.missing!=1", True),
        ("params.missing>0", False),
        ("type=model", True),
        ("type!=model", False),
        ("type<n", True),  # text against text: in text order
        ("type>1", False),  # a number against text: no order
        ("meta.type=model", True),
        ("flag=true", True),
        ("flag=false", False),
        ("flag!=false", True),
        ("name=churn", True),
        ("name~hur", True),
        ("version>=1.2", True),
        ("version>=1.2,<1.3", True),
        ("version>=1.2,<1.2.3", False),
        ("version=v1.2.3", True),
        ("version=1.2.3", True),
        ("version!=1.2.3", False),
        ("version<2", True),
        ("version~1.2", True),
        ("stage=production", True),
        ("stage=staging", False),
        ("stage.ever=staging", True),
        ("label=fraud", True),
        ("label!=fraud", False),
        ("label!=other", True),
        ("label~Q", True),
        ("input=data/march.csv", True),
        ("input~april", False),
        ("author=alice", True),
        ("author=smith", False),
        ("author=Alice Smith", True),
        ("author=ALICE@example.com", True),
        ("author!=bob@example.com", True),
        ("author~smith", True),
        ("date>=2024-03-01", True),
        ("date<2024-03-10", False),
        ("date<=2024-03-10T12:00:00+00:00", True),
        ("date>2024-03-10T13:00:00+02:00", True),  # 11:00 UTC
        ("date=2024-03-10", True),  # a day alone is the whole day
        ("date!=2024-03-10", False),
        ("date<=2024-03-10", True),
        ("date>2024-03-10", False),
        ("date>=2024-03-10", True),
        ("date>2024-03-09", True),
        ("date=2024-03-10T12:00:00+00:00", True),
        ("date=2024-03-10T12:00:01+00:00", False),
        ("size>1000", True),
        ("size<1e3", False),
        ("path~churn", True),
    ],
)
def test_a_term_matches_as_documented(text: str, expected: bool) -> None:
    assert parse_term(text).matches(C) is expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("accuracy", "no KEY OP VALUE"),
        ("=0.9", "no KEY OP VALUE"),
        ("metrics.accuracy>=", "no value"),
        ("metrics..accuracy=1", "is not a key"),
        ("metrics.=1", "is not a key"),
        ("9lives=1", "no KEY OP VALUE"),
        ("label<fraud", "not ordered"),
        ("stage>=production", "not ordered"),
        ("version>=abc", "'abc' is not a version"),
        ("version>=1.2,2", "'2' needs an operator"),
        ("version=1.2.3.4", "is not a version"),
        ("date>=yesterday", "bad date 'yesterday'"),
        ("date~2024", "a date compares"),
        ("metrics.accuracy=>0.9", "no operator is '=>'"),
        ("a==1", "no operator is '=='"),
    ],
)
def test_a_bad_filter_raises_a_query_error_naming_it(text: str, says: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_term(text)
    assert says in caught.value.message
    assert repr(text) in caught.value.message  # the message names the filter
    assert caught.value.hint


def test_sort_keys_put_numbers_first_and_missing_last() -> None:
    values = [candidate(metrics={"a": x}) for x in (0.5, 2, None)] + [candidate()]
    keys = sorted(range(4), key=lambda i: sort_key(values[i], "metrics.a"))
    assert keys == [0, 1, 2, 3] or keys == [0, 1, 3, 2]
    assert sort_key(candidate(), "version") < sort_key(
        Candidate(**{**candidate().__dict__, "version": "v1.10.0"}), "version"
    )


def test_label_tags_round_trip_and_are_not_registrations() -> None:
    for action in ("label", "unlabel"):
        tag = TagName("churn", action, "v1.2.0", None, 7, "fraud")  # type: ignore[arg-type]
        text = str(tag)
        assert text == (
            "churn@v1.2.0@label=fraud#7" if action == "label" else "churn@v1.2.0@label=fraud!#7"
        )
        assert parse_tag_name(text) == tag
    assert parse_tag_name("dir=churn@v1.2.0@label=q1-review#2") == TagName(
        "dir:churn", "label", "v1.2.0", None, 2, "q1-review"
    )
    for foreign in ("churn@v1.2.0@label=#1", "churn@v1.2.0@label=a.b#1", "churn@label=x#1"):
        assert parse_tag_name(foreign) is None
    assert parse_tag_name("churn@v1.2.0") is not None


# -- the fast reader agrees with ruamel ------------------------------------------------------

_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
_scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.none(),
    st.text(alphabet="abcXYZ019 ./:-_@#'\"yesnoTruefalse", max_size=12),
    st.sampled_from(
        [
            *("3.11.7", "xxh128:" + "ab" * 16, "yes", "No", "null", "1e5", "0x1F", "017", ""),
            *(
                "0b1",
                "0b101",
                "0bb2fd",
                "12e45",
                "1234abcd",
                "0123",
                "0e1",
                "9f" * 20,
                "12" * 20,
                "1e-5",
                "-0.0",
            ),
        ]
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_keys, inner, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, min_size=1, max_size=5))
def test_metaread_reads_what_ruamel_reads_or_declines(meta: dict[str, Any]) -> None:
    doc = {"gitmv": 1, "oid": "xxh128:" + "ab" * 16, "size": 3, "kind": "file", "meta": meta}
    text = yamlio.dumps(doc)
    fast = metaread.load(text)
    if fast is not None:
        assert fast == plain(yamlio.loads(text, "x")), text


def test_metaread_reads_a_pointer_gitmv_writes_and_declines_the_unusual() -> None:
    text = (
        "gitmv: 1\noid: xxh128:00112233445566778899aabbccddeeff\nsize: 2\nkind: file\nmeta:\n"
        "  name: churn\n  params:\n    lr: 0.001\n  metrics:\n    accuracy: 0.93\n"
        "  labels:\n    - fraud\n  inputs:\n    - path: d.csv\n      oid: xxh128:aa\n"
        "  code:\n    commit:\n    dirty: true\n  env:\n    python: 3.11.7\n"
    )
    assert metaread.load(text) == plain(yamlio.loads(text, "x"))
    for odd in (
        "a: 1 # note\n",
        "a: &x 1\nb: *x\n",
        "a: [1, 2]\n",
        "a: 2024-01-01\n",
        "a: |\n  x\n",
    ):
        assert metaread.load(odd) is None, odd


def test_a_find_query_says_its_options_as_terms() -> None:
    query = FindQuery(
        filters=("label=fraud",), stage="prod", since="2024-02-01", until="2024-03-01"
    )
    assert [t.text for t in query.terms()] == [
        "label=fraud",
        "stage=prod",
        "--since 2024-02-01",
        "--until 2024-03-01",
    ]
    assert query == FindQuery(
        filters=("label=fraud",), stage="prod", since="2024-02-01", until="2024-03-01"
    )
    assert len({query, FindQuery(filters=("label=fraud",))}) == 2  # frozen: a key
    for bad, said in (
        (FindQuery(sort="a b"), "bad --sort key"),
        (FindQuery(limit=-1), "--limit -1"),
        (FindQuery(until="soon"), "bad date"),
    ):
        with pytest.raises(QueryError, match=said):
            bad.terms()
