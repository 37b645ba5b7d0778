"""`/quiz remind on|off`: one private reminder an hour before close, only to members who
asked for it in that channel and have not answered, once whatever ticks or processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.app import open_service
from bot.core import commands, messages
from bot.core.errors import NotFound, NotSetUp, UsageError
from bot.core.service import Invocation, QuizService
from tests.conftest import db_rows, dispatcher_of, member
from tests.fakes import RecordingPublisher

pytestmark = pytest.mark.every_backend

# Wednesday 15 January 2025 in Berlin (UTC+1): the post at 09:00, the close at 17:00.
POST = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
BEFORE_WINDOW = datetime(2025, 1, 15, 14, 59, tzinfo=UTC)  # 15:59, 61 minutes to go
IN_WINDOW = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)  # 16:00, an hour to go
GRACE = datetime(2025, 1, 15, 23, tzinfo=UTC) - datetime(2025, 1, 15, tzinfo=UTC)


def inv(name: str, admin: Invocation) -> Invocation:
    return Invocation(member(name), admin.channel)


async def run(service: QuizService, text: str, who: Invocation) -> str:
    return (await service.execute(commands.parse(text), who)).text


async def setup(service: QuizService, admin: Invocation, clock, close: str = "17:00") -> int:
    await run(service, f"/quiz setup tz:Europe/Berlin topics:testing close:{close}", admin)
    clock.set(POST)
    return (await service.post_daily(admin.channel, forced=True)).id


async def tick(service: QuizService) -> int:
    queued = await service.fire_due(GRACE)
    await dispatcher_of(service).drain()
    return queued


def reminded(publisher: RecordingPublisher) -> list[str]:
    return [user for _, user, _ in publisher.reminders]


async def test_a_member_who_asked_is_reminded_once_an_hour_before_close(
    service, admin, clock, publisher
):
    drill_id = await setup(service, admin, clock)
    alice, bob = inv("alice", admin), inv("bob", admin)
    assert await run(service, "/quiz remind on", alice) == messages.REMINDER_ON
    await run(service, "/quiz remind on", bob)
    await service.submit_answer(bob.member, drill_id, "A")  # answered: no reminder

    clock.set(BEFORE_WINDOW)
    await tick(service)
    assert publisher.reminders == []
    clock.set(IN_WINDOW)
    await tick(service)
    await tick(service)

    assert reminded(publisher) == ["U-alice"]
    post, _, text = publisher.reminders[0]
    assert post.drill.id == drill_id
    assert text == "Reminder: today's question in #C1 closes at 17:00 Europe/Berlin. Answer here:"


async def test_two_processes_and_a_restart_send_one_reminder(config, clock, admin):
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        for svc, pub in zip((one, two), publishers, strict=True):
            svc.register_publisher("test", pub)
        await setup(one, admin, clock)
        await run(one, "/quiz remind on", inv("alice", admin))
        clock.set(IN_WINDOW)
        await asyncio.gather(tick(one), tick(two), tick(one), tick(two))
        await asyncio.gather(*(dispatcher_of(s).stop() for s in (one, two)))
    async with open_service(config, clock) as again:
        again.register_publisher("test", publishers[0])
        await tick(again)
        await dispatcher_of(again).stop()
    assert sum(len(p.reminders) for p in publishers) == 1


async def test_an_answer_after_the_reminder_was_queued_sends_nothing(
    service, admin, clock, publisher
):
    drill_id = await setup(service, admin, clock)
    alice = inv("alice", admin)
    await run(service, "/quiz remind on", alice)
    clock.set(IN_WINDOW)
    assert await service.fire_due(GRACE) == 1
    await service.submit_answer(alice.member, drill_id, "A")
    await dispatcher_of(service).drain()
    assert publisher.reminders == []
    rows = await db_rows(service.repo.db, "SELECT key, state FROM outbox WHERE kind = 'reminder'")
    assert [(r[0].startswith(f"reminder:{drill_id}:"), r[1]) for r in rows] == [(True, "done")]


async def test_remind_off_stops_reminders_and_repeats_say_so(service, admin, clock, publisher):
    await setup(service, admin, clock)
    alice = inv("alice", admin)
    assert await run(service, "/quiz remind off", alice) == messages.REMINDER_ALREADY_OFF
    await run(service, "/quiz remind on", alice)
    assert await run(service, "/quiz remind on", alice) == messages.REMINDER_ALREADY_ON
    assert await run(service, "/quiz remind off", alice) == messages.REMINDER_OFF
    clock.set(IN_WINDOW)
    await tick(service)
    assert publisher.reminders == []


async def test_without_a_close_time_the_reminder_comes_an_hour_before_the_next_post(
    service, admin, clock, publisher
):
    await run(service, "/quiz setup tz:Europe/Berlin topics:testing close:none", admin)
    clock.set(POST)
    await service.post_daily(admin.channel, forced=True)
    await run(service, "/quiz remind on", inv("alice", admin))
    clock.set(datetime(2025, 1, 16, 6, 59, tzinfo=UTC))  # 07:59 on Thursday
    await tick(service)
    assert publisher.reminders == []
    clock.set(datetime(2025, 1, 16, 7, 0, tzinfo=UTC))  # 08:00, the post is at 09:00
    await tick(service)
    assert reminded(publisher) == ["U-alice"]
    assert "closes at 09:00 Europe/Berlin" in publisher.reminders[0][2]


async def test_an_answer_from_a_reminder_counts_only_for_who_asked(service, admin, clock):
    drill_id = await setup(service, admin, clock)
    await run(service, "/quiz remind on", inv("alice", admin))

    result = await service.answer_reminder("test", "U-alice", drill_id, "A")
    assert result.attempt.member.user_id == "U-alice"
    assert result.attempt.member.workspace_id == admin.channel.workspace_id
    with pytest.raises(NotFound):
        await service.answer_reminder("test", "U-mallory", drill_id, "A")
    with pytest.raises(NotFound):
        await service.answer_reminder("discord", "U-alice", drill_id, "A")
    assert [c.count for c in await service.repo.answer_counts(drill_id)] == [1]


@pytest.mark.parametrize("text", ["/quiz remind", "/quiz remind maybe", "/quiz remind on off"])
def test_remind_takes_on_or_off(text):
    with pytest.raises(UsageError, match="remind on"):
        commands.parse(text)


async def test_remind_in_a_channel_that_is_not_set_up_is_refused(service, admin):
    with pytest.raises(NotSetUp):
        await run(service, "/quiz remind on", admin)
