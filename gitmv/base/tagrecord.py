"""A registry tag as git reports it (`git.tag_records`), in a module of its own: the modules a
clean `status` and the hooks load need not define it."""

from __future__ import annotations

from gitmv.base.record import Record


class TagRecord(Record):
    """A tag as `for-each-ref` reports it. `commit` is what it points at, peeled once;
    a lightweight tag has no tagger, date or message."""

    _fields = (
        "name",
        "annotated",
        "commit",
        "tagger_name",
        "tagger_email",
        "timestamp",
        "utc_offset",
        "subject",
        "body",
        "signed",
    )

    __slots__ = _fields
    name: str
    annotated: bool
    commit: str | None  # None when the tag does not lead to a commit
    tagger_name: str
    tagger_email: str
    timestamp: int  # seconds since the epoch
    utc_offset: str  # as git wrote it
    subject: str
    body: str
    signed: bool

    def __init__(
        self,
        name: str,
        annotated: bool,
        commit: str | None,
        tagger_name: str = "",
        tagger_email: str = "",
        timestamp: int = 0,
        utc_offset: str = "+0000",
        subject: str = "",
        body: str = "",
        signed: bool = False,
    ) -> None:
        super().__init__(
            name,
            annotated,
            commit,
            tagger_name,
            tagger_email,
            timestamp,
            utc_offset,
            subject,
            body,
            signed,
        )
