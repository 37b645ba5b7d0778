"""The connection failures every publisher shares: both platforms' clients run on aiohttp."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp

from bot.core.errors import TransientFailure


@contextmanager
def transport_failures(action: str, platform: str) -> Iterator[None]:
    """A refused connection never reached the platform; a reset or timeout after the
    request left may have been accepted, so the caller looks before it posts again."""
    try:
        yield
    except aiohttp.ClientConnectorError as exc:
        raise TransientFailure(f"{action}: cannot reach {platform} ({exc})") from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        reason = f"{action}: {type(exc).__name__} {exc}".rstrip()
        raise TransientFailure(reason, maybe_delivered=True) from exc
