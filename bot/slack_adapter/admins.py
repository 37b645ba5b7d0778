"""Who may run admin commands: workspace admins and owners (users.info), or listed ids.

users.info is rate limited (Tier 4) and an admin's role rarely changes, so answers are
cached per (workspace, user) for a few minutes. A failed lookup is not cached and counts
as "not an admin": refusing is the safe side, and the member can simply try again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0
MAX_CACHED = 10_000


@dataclass(frozen=True)
class SlackUser:
    name: str
    is_admin: bool


class SlackUsers:
    def __init__(
        self,
        admin_ids: Iterable[str] = (),
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admin_ids = frozenset(admin_ids)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, SlackUser]] = {}

    async def is_admin(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        if user_id in self.admin_ids:
            return True
        user = await self.lookup(client, team_id, user_id)
        return user is not None and user.is_admin

    async def display_name(self, client: AsyncWebClient, team_id: str, user_id: str) -> str:
        user = await self.lookup(client, team_id, user_id)
        return user.name if user else ""

    async def lookup(self, client: AsyncWebClient, team_id: str, user_id: str) -> SlackUser | None:
        key = (team_id, user_id)
        now = self.clock()
        cached = self._cache.get(key)
        if cached and cached[0] > now:
            return cached[1]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning(
                "users.info for %s in %s failed: %s", user_id, team_id, exc.response.get("error")
            )
            return None
        data = response["user"]
        profile = data.get("profile") or {}
        user = SlackUser(
            name=profile.get("display_name") or profile.get("real_name") or data.get("name", ""),
            is_admin=any(data.get(flag) for flag in ("is_admin", "is_owner", "is_primary_owner")),
        )
        if len(self._cache) >= MAX_CACHED:  # a crude bound: start over
            self._cache.clear()
        self._cache[key] = (now + self.ttl, user)
        return user
