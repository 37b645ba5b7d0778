"""Practice over Discord: raw interactions into discord.py, replies from the fake Discord."""

from __future__ import annotations

import pytest

from bot.core.models import MemberRef
from tests.discord_fakes import (
    GUILD_ID,
    click,
    ephemeral_message,
    modal_submit,
    person,
    running_bot,
    slash,
)
from tests.test_discord import post_now, setup_channel, text_of
from tests.test_practice import right_answer

PIA = person("pia")
PIA_REF = MemberRef("discord", GUILD_ID, PIA.user_id)


@pytest.fixture
async def fake(discord_fake):
    return discord_fake


@pytest.fixture
async def bot(service, config, fake):
    async with running_bot(service, config) as bot:
        yield bot


async def test_a_practice_session_over_discord_with_the_command_and_the_form(
    fake,
    bot,
    service,
):
    await setup_channel(fake)
    await post_now(fake)
    refused = text_of(await fake.interact(slash("goal", PIA, questions=3)))
    assert refused.startswith("`3` is not a goal.")
    assert text_of(await fake.interact(slash("goal", PIA, questions=6))).endswith("6 questions.")

    started = text_of(await fake.interact(slash("practice", PIA, topic="typed", count=2)))
    assert "Practice 1/2 · typed" in started
    session = await service.open_practice(PIA_REF)
    first, second = session.items
    reply = text_of(
        await fake.interact(slash("answer", PIA, text=right_answer(service, first.question_id)))
    )
    assert reply.startswith("Correct!") and "Practice 2/2" in reply

    # `/quiz answer` without text opens the practice form for the current question.
    form = await fake.interact(slash("answer", PIA))
    assert form["type"] == 9
    assert form["data"]["custom_id"] == f"practice:{session.id}:2:modal"
    stale = await fake.interact(modal_submit(f"practice:{session.id}:1:modal", "anything", PIA))
    assert "already answered that practice question" in text_of(stale)
    done = await fake.interact(
        modal_submit(form["data"]["custom_id"], right_answer(service, second.question_id), PIA)
    )
    assert "Practice done: 2 of 2 right." in text_of(done)
    assert "Today: 2 of your goal of 6." in text_of(done)

    resumed = text_of(await fake.interact(slash("practice", PIA, action="stop")))
    assert resumed == "You have no practice session open."


async def test_discord_practice_options_are_checked_by_the_grammar(fake, bot, service):
    reply = text_of(await fake.interact(slash("practice", PIA, count=99)))
    assert reply.startswith("`99` is not a number of questions")
    assert await service.open_practice(PIA_REF) is None
    completions = await fake.interact(slash("practice", PIA, focused="topic", topic="typ"))
    assert [c["value"] for c in completions["data"]["choices"]] == ["typed"]


def components(reply: dict) -> list[dict]:
    return [item for row in reply["data"].get("components", []) for item in row["components"]]


async def test_practice_questions_come_with_buttons_a_menu_or_a_form_that_answer_them(
    fake, bot, service
):
    await setup_channel(fake)
    started = await fake.interact(slash("practice", PIA, topic="testing", count=2))
    session = await service.open_practice(PIA_REF)
    first, second = session.items
    buttons = components(started)
    assert [b["custom_id"] for b in buttons] == [
        f"practice:{session.id}:1:answer:{letter}"
        for letter in service.question(first.question_id).letters
    ]
    right = f"practice:{session.id}:1:answer:{right_answer(service, first.question_id)}"

    reply = await fake.interact(click(right, ephemeral_message(started), PIA))
    assert text_of(reply).startswith("Correct!") and "Practice 2/2" in text_of(reply)
    assert {b["custom_id"].split(":")[2] for b in components(reply)} == {"2"}
    again = await fake.interact(click(right, ephemeral_message(started), PIA))
    assert "already answered that practice question" in text_of(again)

    last = f"practice:{session.id}:2:answer:{right_answer(service, second.question_id)}"
    done = await fake.interact(click(last, ephemeral_message(reply), PIA))
    assert "Practice done: 2 of 2 right." in text_of(done)
    assert components(done) == []


async def test_a_typed_practice_question_has_an_answer_button_that_opens_its_form(
    fake, bot, service
):
    await setup_channel(fake)
    started = await fake.interact(slash("practice", PIA, topic="typed", count=1))
    session = await service.open_practice(PIA_REF)
    [button] = components(started)
    assert button["custom_id"] == f"practice:{session.id}:1:form"

    form = await fake.interact(click(button["custom_id"], ephemeral_message(started), PIA))

    assert form["type"] == 9
    assert form["data"]["custom_id"] == f"practice:{session.id}:1:modal"
