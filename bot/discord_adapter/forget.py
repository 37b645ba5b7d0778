"""The "Delete" button under a /quiz forget-me (or an admin's /quiz forget) prompt.

The prompt's text form (`confirm: True`) works everywhere; on Discord the private prompt
also carries this button. Its custom id `forget:{user_id}` names whose data goes, and a
click runs the confirmed command through the service as the clicker: their own id is
forget-me, anyone else's is the admin-only forget, refused to a non-admin like the
typed command. A `DynamicItem`, so a prompt still works after a restart.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.core import commands as cmd
from bot.core import messages
from bot.core.models import MemberData
from bot.core.service import Reply
from bot.discord_adapter.render import PrivateReply, private_reply
from bot.discord_adapter.replies import drill_bot, invocation, respond

FORGET_TEMPLATE = r"forget:(?P<user_id>[0-9]+)"


def forget_id(user_id: str) -> str:
    return f"forget:{user_id}"


class ForgetButton(discord.ui.DynamicItem[discord.ui.Button], template=FORGET_TEMPLATE):
    def __init__(self, user_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=messages.FORGET_BUTTON,
                style=discord.ButtonStyle.danger,
                custom_id=forget_id(user_id),
            )
        )
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ForgetButton:
        return cls(match["user_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        own = self.user_id == str(interaction.user.id)
        command = cmd.ForgetMe(confirm=True) if own else cmd.Forget(self.user_id, confirm=True)

        async def work() -> PrivateReply:
            service = drill_bot(interaction).service
            return private_reply(await service.execute(command, invocation(interaction)))

        await respond(interaction, work, action="the forget button")


def forget_reply(reply: Reply) -> PrivateReply:
    """The reply, with the Delete button when it is the prompt (it carries MemberData)."""
    private = private_reply(reply)
    if not isinstance(reply.data, MemberData):
        return private
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(reply.data.member.user_id))
    return PrivateReply(content=private.content, view=view)
