"""Cursor pagination for the list endpoints. A list answers the plain JSON array it always
did, one page of it; when more rows follow, the next page's cursor is in the `X-Next-Cursor`
header and its URL in `Link: <...>; rel="next"` (as GitHub's API does). Pages are read by
keyset — rows after the (time, id) of the previous page's last row — so a page costs the
page and not the rows before it, and rows added meanwhile are neither skipped nor repeated."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from api.errors import Invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Key = tuple[datetime, int | str]
Row = TypeVar("Row")
Selected = TypeVar("Selected")


@dataclass(frozen=True)
class Pager:
    """One list request's page: `limit` rows after the cursor, and where to put the next one."""

    limit: int
    after: Key | None  # the sort key of the previous page's last row
    request: Request
    response: Response

    def keyset(
        self,
        query: Select[Selected],
        at: InstrumentedAttribute[datetime],
        id: InstrumentedAttribute[Any],
        newest_first: bool = False,
    ) -> Select[Selected]:
        """`query` in (at, id) order from after the cursor, one row more than the page: that
        row tells whether another page follows."""
        if self.after is not None:
            after_at, after_id = self.after
            if newest_first:
                query = query.where(or_(at < after_at, and_(at == after_at, id < after_id)))
            else:
                query = query.where(or_(at > after_at, and_(at == after_at, id > after_id)))
        order = (at.desc(), id.desc()) if newest_first else (at, id)
        return query.order_by(*order).limit(self.limit + 1)

    def page(self, rows: Sequence[Row], key: Callable[[Row], Key]) -> list[Row]:
        """The page's rows; the headers that lead to the next page when there is one."""
        if len(rows) <= self.limit:
            return list(rows)
        shown = list(rows[: self.limit])
        cursor = _encode(key(shown[-1]))
        self.response.headers["X-Next-Cursor"] = cursor
        next_url = self.request.url.include_query_params(cursor=cursor, limit=self.limit)
        self.response.headers["Link"] = f'<{next_url}>; rel="next"'
        return shown


async def pager(
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page, at most {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(description="the previous page's X-Next-Cursor header")
    ] = None,
) -> Pager:
    after = None if cursor is None else _decode(cursor)
    return Pager(limit=limit, after=after, request=request, response=response)


PagerDep = Annotated[Pager, Depends(pager)]


def _encode(key: Key) -> str:
    at, id = key
    raw = json.dumps([at.isoformat(), id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, id = json.loads(raw)
        if not isinstance(id, int | str) or isinstance(id, bool):
            raise ValueError("bad id")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment, id
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise Invalid(f"cursor {cursor!r} is not one this API gave") from error
