"""Gap-free numbers (tickets, request references) from counter rows locked until the commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from extensions import db


def next_number(model: type[Any], **key: Any) -> int:
    """Increment the counter row `model(**key)` (created at 0 when missing) and return it.

    The row stays locked until the transaction ends, so concurrent callers queue on it.
    """
    identity = tuple(key.values())
    counter = db.session.get(model, identity, with_for_update=True)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(model(**key, last=0))
        except IntegrityError:
            pass  # another transaction created it first: lock theirs
        counter = db.session.get(model, identity, with_for_update=True, populate_existing=True)
    assert counter is not None  # noqa: S101 - inserted above
    counter.last += 1
    db.session.flush()
    return counter.last
