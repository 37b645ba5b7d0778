"""/quiz export, forget-me and forget on Discord: real discord.py against the fake.

The export is an ephemeral reply with the JSON document attached (multipart, as Discord
receives files); forget-me asks first and deletes on `confirm: True`; forget is an
admin's, refused privately to everyone else.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.core import messages
from bot.storage.sqlite import path_from_url
from tests.discord_fakes import (
    GUILD_ID,
    button_ids,
    click,
    ephemeral_message,
    person,
    resolved_member,
    running_bot,
    slash,
)

ADMIN = person("ada", admin=True)
EPHEMERAL = 64


@pytest.fixture
async def bot(service, config, discord_fake):
    async with running_bot(service, config) as bot:
        yield bot


def private(reply: dict[str, Any]) -> str:
    assert reply["type"] == 4 and reply["data"]["flags"] == EPHEMERAL, reply
    return reply["data"].get("content", "")


def sql(config, query: str, *args: object) -> list[tuple]:
    with closing(sqlite3.connect(Path(path_from_url(config.database_url)))) as conn:
        return conn.execute(query, args).fetchall()


async def answered_drill(fake, *who) -> None:
    await fake.interact(slash("setup", ADMIN, tz="Europe/Berlin", topics="testing"))
    await fake.interact(slash("post-now", ADMIN))
    for one in who:
        assert private(await fake.interact(slash("answer", one, text="A")))


async def test_export_is_an_ephemeral_reply_with_the_json_attached(discord_fake, bot):
    rae, sol = person("rae"), person("sol")
    await answered_drill(discord_fake, rae, sol)

    reply = await discord_fake.interact(slash("export", rae))

    text = private(reply)
    assert text.startswith("Everything Daily Drill stores about you in this workspace: 1 answer")
    assert text.endswith(messages.EXPORT_ATTACHED)
    ((filename, data),) = reply["_files"].items()
    assert filename.startswith(f"daily-drill-discord-{GUILD_ID}-{rae.user_id}-")
    assert reply["data"]["attachments"][0]["filename"] == filename
    doc = json.loads(data)
    assert doc["member"]["user_id"] == rae.user_id and doc["member"]["platform"] == "discord"
    assert [a["answer"] for a in doc["attempts"]] == ["A"]
    assert sol.user_id not in data.decode()


async def test_forget_me_asks_first_then_deletes_everything(discord_fake, bot, config):
    rae, sol = person("rae"), person("sol")
    await answered_drill(discord_fake, rae, sol)
    count = "SELECT count(*) FROM members m JOIN attempts a ON a.member_id = m.id WHERE user_id = ?"

    asked = private(await discord_fake.interact(slash("forget-me", rae)))
    assert "To go ahead: `/quiz forget-me confirm`" in asked
    assert sql(config, count, rae.user_id) == [(1,)]

    done = private(await discord_fake.interact(slash("forget-me", rae, confirm=True)))
    assert done.startswith("Done: everything stored about you in this workspace is deleted")
    assert sql(config, "SELECT user_id FROM members") == [(sol.user_id,)]
    again = private(await discord_fake.interact(slash("forget-me", rae, confirm=True)))
    assert again == messages.NOTHING_TO_FORGET


async def test_forget_is_refused_to_a_member_and_an_admin_forgets_one_who_left(
    discord_fake, bot, config
):
    rae, sol = person("rae"), person("sol")
    await answered_drill(discord_fake, rae, sol)
    target = {"member": sol, "resolved": resolved_member(sol)}

    refused = await discord_fake.interact(slash("forget", rae, confirm=True, **target))
    assert private(refused) == messages.ADMINS_ONLY
    assert len(sql(config, "SELECT * FROM members")) == 2

    # Sol has left the server: Discord resolves the pasted id to a user, not a member.
    target["resolved"] = {"users": target["resolved"]["users"]}
    asked = private(await discord_fake.interact(slash("forget", ADMIN, **target)))
    assert f"`/quiz forget {sol.user_id} confirm`" in asked
    done = private(await discord_fake.interact(slash("forget", ADMIN, confirm=True, **target)))
    assert done.startswith(f"Deleted everything stored about sol (`{sol.user_id}`)")
    assert sql(config, "SELECT user_id FROM members") == [(rae.user_id,)]


async def test_the_prompts_delete_button_confirms_for_its_member_only(discord_fake, bot, config):
    rae, sol = person("rae"), person("sol")
    await answered_drill(discord_fake, rae, sol)
    prompt = await discord_fake.interact(slash("forget-me", rae))
    message = ephemeral_message(prompt)
    assert button_ids(message) == [f"forget:{rae.user_id}"]

    # Sol clicking rae's button (a forged click: the prompt is rae's alone) is the
    # admin-only forget of someone else, and is refused.
    refused = await discord_fake.interact(click(f"forget:{rae.user_id}", message, sol))
    assert private(refused) == messages.ADMINS_ONLY
    assert len(sql(config, "SELECT * FROM members")) == 2

    done = private(await discord_fake.interact(click(f"forget:{rae.user_id}", message, rae)))
    assert done.startswith("Done: everything stored about you in this workspace is deleted")
    assert sql(config, "SELECT user_id FROM members") == [(sol.user_id,)]

    admin_prompt = await discord_fake.interact(
        slash("forget", ADMIN, member=sol, resolved=resolved_member(sol))
    )
    admin_message = ephemeral_message(admin_prompt)
    assert button_ids(admin_message) == [f"forget:{sol.user_id}"]
    gone = private(
        await discord_fake.interact(click(f"forget:{sol.user_id}", admin_message, ADMIN))
    )
    assert gone.startswith(f"Deleted everything stored about sol (`{sol.user_id}`)")
    assert sql(config, "SELECT user_id FROM members") == []
