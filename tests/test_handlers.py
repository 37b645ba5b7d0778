"""The handler table: one handler per command of the grammar, permissions beside them."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from bot.core import commands, handlers
from bot.core.errors import NotAllowed, NotFound
from bot.core.models import MemberRef
from bot.core.service import Invocation, member_key
from tests.conftest import member

GRAMMAR = set(typing.get_args(commands.Command))
ADMIN_ONLY = sorted(
    (kind for kind, route in handlers.HANDLERS.items() if route.admin), key=lambda k: k.__name__
)


def example(kind: type) -> commands.Command:
    """An instance of a command type, its required fields filled with a plain word."""
    required = {
        field.name: "word"
        for field in dataclasses.fields(kind)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    }
    return kind(**required)


def test_every_command_in_the_grammar_has_exactly_one_handler():
    assert {commands.Help, commands.Answer, commands.Skip} <= GRAMMAR
    assert set(handlers.HANDLERS) == GRAMMAR


def test_a_second_handler_for_a_command_is_refused():
    with pytest.raises(ValueError, match="Help already has a handler"):
        handlers.handles(commands.Help)(handlers.show_help)
    assert handlers.HANDLERS[commands.Help].handler is handlers.show_help


def test_the_channel_settings_and_drill_controls_stay_admin_only():
    names = {kind.__name__ for kind in ADMIN_ONLY}
    assert {"Setup", "PostNow", "CloseNow", "Pause", "Resume", "Skip"} <= names
    assert all(handlers.requires_admin(example(kind)) for kind in ADMIN_ONLY)
    assert not handlers.requires_admin(commands.Answer("A"))


@pytest.mark.parametrize("kind", ADMIN_ONLY, ids=lambda kind: kind.__name__)
async def test_admin_only_commands_refuse_members_and_change_nothing(service, channel, kind):
    someone = Invocation(member("pat"), channel, is_admin=False)
    with pytest.raises(NotAllowed) as caught:
        await service.execute(example(kind), someone)
    assert caught.value.message == "Only channel admins can do that."
    assert await service.repo.get_settings(channel) is None
    assert await service.repo.latest_drill(channel) is None


@pytest.mark.parametrize(
    "kind", sorted(GRAMMAR - set(ADMIN_ONLY), key=lambda k: k.__name__), ids=lambda k: k.__name__
)
def test_member_commands_need_no_admin(kind):
    assert not handlers.requires_admin(example(kind))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("<@U123>", "U123"),
        ("<@!123>", "123"),
        ("<@U123|bob>", "U123"),
        (" @bob ", "bob"),
        ("bob", "bob"),
        ("<@U1 2>", "<@U1 2>"),
    ],
)
def test_member_key_reads_slack_and_discord_mentions(text, key):
    assert member_key(text) == key


async def test_stats_finds_a_member_by_mention_id_or_name_and_storage_takes_plain_keys(
    service, channel
):
    bob = MemberRef("test", "W1", "U123", "bob")
    await service.execute(commands.GroupCreate("readers"), Invocation(bob, channel))
    asker = Invocation(member("pat"), channel)
    for text in ("<@U123|bob>", "<@U123>", "@bob", "BOB", "U123"):
        reply = await service.execute(commands.parse(f"/quiz stats {text}"), asker)
        assert reply.data.member.user_id == "U123", text
    assert await service.repo.find_member(channel, "<@U123>") is None
    with pytest.raises(NotFound) as caught:
        await service.execute(commands.Stats("<@U999>"), asker)
    assert caught.value.message == "I don't know <@U999> here yet."
