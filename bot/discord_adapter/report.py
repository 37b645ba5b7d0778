"""The "Report" button on a revealed drill post and the reason menu it opens.

The button's custom id `drill:{drill_id}:report` and the menu's
`drill:{drill_id}:report-reason` carry the drill, and both are `DynamicItem`s registered
in `setup_hook`, so the Report button of a post revealed before a restart still works.
A click runs `/quiz report` for that drill through the service as the clicker: without
a reason it answers privately with the reasons and this menu; a pick files the report
(once per member and question, the database's unique key decides).
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.core import commands as cmd
from bot.core import messages
from bot.core.models import ReportPrompt
from bot.core.service import Reply
from bot.discord_adapter.render import PrivateReply, private_reply
from bot.discord_adapter.replies import drill_bot, invocation, respond

REPORT_TEMPLATE = r"drill:(?P<drill_id>[0-9]+):report$"
REASON_TEMPLATE = r"drill:(?P<drill_id>[0-9]+):report-reason$"


def report_id(drill_id: int) -> str:
    return f"drill:{drill_id}:report"


def reason_id(drill_id: int) -> str:
    return f"drill:{drill_id}:report-reason"


async def run_report(interaction: discord.Interaction, command: cmd.Report) -> None:
    async def work() -> PrivateReply:
        service = drill_bot(interaction).service
        return report_reply(await service.execute(command, invocation(interaction)))

    await respond(interaction, work, action=f"report on drill {command.drill_id}")


class ReportButton(discord.ui.DynamicItem[discord.ui.Button], template=REPORT_TEMPLATE):
    def __init__(self, drill_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=messages.REPORT_BUTTON,
                style=discord.ButtonStyle.secondary,
                custom_id=report_id(drill_id),
            )
        )
        self.drill_id = drill_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReportButton:
        return cls(int(match["drill_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await run_report(interaction, cmd.Report(drill_id=self.drill_id))


class ReportReasonSelect(discord.ui.DynamicItem[discord.ui.Select], template=REASON_TEMPLATE):
    def __init__(self, drill_id: int) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=reason_id(drill_id),
                placeholder=messages.REPORT_PLACEHOLDER,
                options=[
                    discord.SelectOption(label=label, value=reason.value)
                    for reason, label in messages.REPORT_REASON_LABELS.items()
                ],
            )
        )
        self.drill_id = drill_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReportReasonSelect:
        return cls(int(match["drill_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        reason = self.item.values[0] if self.item.values else ""
        await run_report(interaction, cmd.parse_report(reason, "", self.drill_id))


def report_reply(reply: Reply) -> PrivateReply:
    """The reply, with the reason menu when it is the prompt (it carries ReportPrompt)."""
    private = private_reply(reply)
    if not isinstance(reply.data, ReportPrompt):
        return private
    view = discord.ui.View(timeout=None)
    view.add_item(ReportReasonSelect(reply.data.drill_id))
    return PrivateReply(content=private.content, view=view)
