"""Reports and disputes on Discord, end to end through the fake Discord: the Report
button on a reveal (persistent: a DynamicItem), its reason menu, the typed commands,
and an accepted wrong-key report regrading the drill with one DM per changed member."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core import messages
from bot.discord_adapter.report import ReportButton, ReportReasonSelect
from tests.conftest import dispatcher_of
from tests.discord_fakes import (
    FakeDiscord,
    button_ids,
    click,
    install,
    person,
    pick,
    running_bot,
    selects,
    slash,
)
from tests.test_discord import (
    ADMIN,
    EDITS,
    open_question,
    post_now,
    setup_channel,
    text_of,
    totals,
)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch):
    fake = FakeDiscord()
    await fake.start()
    install(fake, monkeypatch)
    yield fake
    await fake.close()


async def test_the_report_button_on_a_reveal_files_one_report_and_resolve_regrades(
    fake, service, config, clock, tmp_path
):
    kim, lee = person("kim"), person("lee")
    async with running_bot(service, config) as bot:
        await setup_channel(fake, close="17:00")
        message = await post_now(fake)
        drill_id, question = await open_question(service)
        right = question.correct_letter
        other = next(letter for letter in question.letters if letter != right)
        assert text_of(await fake.interact(click(f"drill:{drill_id}:answer:{right}", message, kim)))
        await fake.interact(click(f"drill:{drill_id}:answer:{other}", message, lee))
        await fake.interact(slash("close-now", ADMIN))
        (edit,) = await fake.wait_for("PATCH", EDITS)
        revealed = edit.response
        assert button_ids(revealed)[-1] == f"drill:{drill_id}:report"
        # The Report button and its menu are rebuilt from the custom id after a restart.
        assert {ReportButton, ReportReasonSelect} <= set(
            bot._connection._view_store._dynamic_items.values()
        )

        prompt = await fake.interact(click(f"drill:{drill_id}:report", revealed, lee))
        assert text_of(prompt) == messages.report_reasons_text(question.id)
        (menu,) = selects(prompt["data"])
        assert menu["custom_id"] == f"drill:{drill_id}:report-reason"
        assert [o["value"] for o in menu["options"]] == [
            "wrong-key",
            "ambiguous",
            "typo",
            "too-easy",
            "too-hard",
            "other",
        ]
        # The private prompt as Discord holds it: a message with the menu.
        private = revealed | {"flags": 64, "components": prompt["data"]["components"]}
        filed = await fake.interact(pick(menu["custom_id"], ["wrong-key"], private, lee))
        assert text_of(filed).startswith(f"Thanks: report #1 on `{question.id}` (wrong-key)")
        again = await fake.interact(pick(menu["custom_id"], ["typo"], private, lee))
        assert "already" in text_of(again)
        typed = await fake.interact(slash("report", kim, reason="too-easy", text="trivial"))
        assert text_of(typed).startswith(f"Thanks: report #2 on `{question.id}` (too-easy)")

        refused = await fake.interact(slash("reports", lee))
        assert text_of(refused) == messages.ADMINS_ONLY
        listing = text_of(await fake.interact(slash("reports", ADMIN)))
        assert f"`{question.id}`: wrong-key ×1, too-easy ×1" in listing

        clock.set(datetime(2025, 1, 15, 17, tzinfo=UTC))
        resolve = slash("resolve-report", ADMIN, report=1, decision="accept", key=other)
        assert f"Regraded with key {other}: 2 attempt(s) changed" in text_of(
            await fake.interact(resolve)
        )
        await dispatcher_of(service).drain()
        opened = fake.find("POST", "/users/@me/channels")
        recipients = {str(call.body["recipient_id"]): call.response["id"] for call in opened}
        assert sorted(recipients) == sorted([kim.user_id, lee.user_id])
        (told,) = fake.channel_messages(recipients[lee.user_id])
        assert "your answer is now Correct" in told["content"]
        assert len(fake.channel_messages(recipients[kim.user_id])) == 1
    assert totals(tmp_path / "drill.db", lee.user_id)[:2] == (1, 1)
    assert totals(tmp_path / "drill.db", kim.user_id) == (1, 0, 0)
