"""Signature checks that refuse a malformed timestamp as Slack's own checks refuse a forged one.

Bolt's verifier runs `int()` on X-Slack-Request-Timestamp: "abc", "1e9" or an empty value
raise inside the middleware, and the request ends in Bolt's error path instead of a 401.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

TIMESTAMP_HEADER = "x-slack-request-timestamp"


class StrictRequestVerification(AsyncRequestVerification):
    """Bolt's request verification, with a timestamp that is not plain digits refused."""

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        timestamp = req.headers.get(TIMESTAMP_HEADER, ["0"])[0]
        if not self._can_skip(req.mode, req.body) and not is_plain_number(timestamp):
            self._debug_log_error(req.headers.get("x-slack-signature", [""])[0], timestamp, "")
            return self._build_error_response()
        return await super().async_process(req=req, resp=resp, next=next)


def is_plain_number(text: str) -> bool:
    """ASCII digits only: what Slack sends, and what `int()` reads without surprises."""
    return text.isascii() and text.isdigit()
