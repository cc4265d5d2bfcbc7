"""Request bodies over 1 MiB are refused with 413 before they are read whole."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.errors import Invalid, TooLarge, error_response

MAX_BODY = 1024 * 1024


class BodyLimit(HttpMiddleware):
    """A declared length over the limit is refused at once, before authentication; a chunked
    body is counted as it arrives and cut off at the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        super().__init__(app)
        self.limit = limit

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(Invalid("Content-Length is not a number"))(
                    scope, receive, send
                )
                return
            if int(declared) > self.limit:
                await error_response(self._too_large())(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # An HTTPException: FastAPI passes it through its body parsing untouched.
                raise HTTPException(413, self._too_large().detail)
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> TooLarge:
        return TooLarge(f"the request body is larger than {self.limit} bytes")
