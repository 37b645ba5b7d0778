"""Reports and disputes: `/quiz report` once per member and question, `/quiz reports`
for admins, and an accepted wrong-key report regrading its drill in one transaction
(points, boards, ranks and stats equal a recomputation from the attempts afterwards)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.app import open_service
from bot.core import commands, messages
from bot.core.errors import AlreadyExists, NotAllowed, NotFound, UsageError
from bot.core.models import ChannelRef, Period
from bot.core.service import Invocation, QuizService
from tests.conftest import dispatcher_of, member, open_drill_on
from tests.fakes import RecordingPublisher
from tests.test_members_rights import assert_aggregates_match_the_attempts, db_path, dump, sql

pytestmark = pytest.mark.every_backend

ALICE, BOB, CAROL = member("alice"), member("bob"), member("carol")
QUESTION = "testing-choice-correlation"  # a choice question, key A, easy


async def run(service: QuizService, text: str, who: Invocation) -> str:
    return (await service.execute(commands.parse(text), who)).text


def as_member(who, admin: Invocation) -> Invocation:
    return Invocation(who, admin.channel)


async def played(service: QuizService, admin: Invocation, clock) -> int:
    """An earlier drill everyone got right, then a closed drill on QUESTION: alice
    answered A (right), bob B at once, carol B ten minutes later (a smaller speed bonus)."""
    await run(service, "/quiz setup tz:Europe/Berlin topics:testing days:daily", admin)
    clock.set(datetime(2025, 1, 14, 8, tzinfo=UTC))
    earlier = await open_drill_on(service, admin.channel, "testing-choice-l1")
    for who in (ALICE, BOB, CAROL):
        await service.submit_answer(who, earlier, "B")
    await service.close_drill(earlier, wait=False)
    await dispatcher_of(service).drain()  # its reveal and board go before the next post
    clock.set(datetime(2025, 1, 15, 8, tzinfo=UTC))
    drill_id = await open_drill_on(service, admin.channel, QUESTION)
    await service.submit_answer(ALICE, drill_id, "A")
    await service.submit_answer(BOB, drill_id, "B")
    clock.set(datetime(2025, 1, 15, 8, 10, tzinfo=UTC))
    await service.submit_answer(CAROL, drill_id, "B")
    await service.close_drill(drill_id, wait=False)
    await dispatcher_of(service).drain()
    return drill_id


async def test_a_member_reports_the_latest_question_once(service, admin, clock, config):
    drill_id = await played(service, admin, clock)
    bob = as_member(BOB, admin)
    first = await run(service, "/quiz report wrong-key B is right, see the definition", bob)
    assert first == (
        f"Thanks: report #1 on `{QUESTION}` (wrong-key) is in. An admin will look at it."
    )
    db = db_path(config)
    before = dump(db)
    second = await run(service, "/quiz report typo", bob)
    assert second == (
        f"You have reported `{QUESTION}` already (wrong-key, report #1); "
        "that report stands and nothing changed."
    )
    assert dump(db) == before
    rows = sql(db, "SELECT question_id, drill_id, reason, text, state FROM question_reports")
    assert rows == [(QUESTION, drill_id, "wrong-key", "B is right, see the definition", "open")]


async def test_two_processes_reporting_at_once_keep_one_report(config, clock, admin):
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        for svc in (one, two):
            svc.register_publisher("test", RecordingPublisher())
        await played(one, admin, clock)
        filed = await asyncio.gather(
            *(
                svc.execute(commands.parse("/quiz report ambiguous"), as_member(BOB, admin))
                for svc in (one, two, one, two)
            )
        )
        for svc in (one, two):
            await dispatcher_of(svc).stop()
    assert sorted(reply.data.created for reply in filed) == [False, False, False, True]
    assert {reply.data.report_id for reply in filed} == {1}
    assert sql(db_path(config), "SELECT count(*) FROM question_reports") == [(1,)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/quiz report wrong", messages.not_a_report_reason("wrong")),
        ("/quiz report because it is wrong", messages.not_a_report_reason("because")),
        ("/quiz report other " + "x" * 501, messages.report_text_too_long()),
        ("/quiz reports resolve one accept", messages.not_a_report_id("one")),
        ("/quiz reports resolve 1 maybe", messages.not_a_decision("maybe")),
        ("/quiz reports resolve 1 reject key:B", messages.KEY_ONLY_FOR_WRONG_KEY),
        ("/quiz reports close 1", messages.REPORTS_USAGE),
    ],
)
def test_bad_report_input_is_refused_with_one_line(text, problem):
    with pytest.raises(UsageError) as refused:
        commands.parse(text)
    assert str(refused.value) == problem
    assert "\n" not in problem


async def test_report_without_a_reason_lists_the_reasons_and_stores_nothing(
    service, admin, clock, config
):
    await played(service, admin, clock)
    text = await run(service, "/quiz report", as_member(BOB, admin))
    assert text.startswith(f"Report `{QUESTION}`: `/quiz report <reason> [text]`")
    assert "`wrong-key: the answer key is wrong`" in text
    assert sql(db_path(config), "SELECT count(*) FROM question_reports") == [(0,)]


async def test_nothing_to_report_before_the_first_drill(service, admin):
    await run(service, "/quiz setup topics:testing", admin)
    with pytest.raises(NotFound, match="no question to report"):
        await run(service, "/quiz report typo", as_member(BOB, admin))


async def test_reports_are_for_admins_only(service, admin, clock, config):
    await played(service, admin, clock)
    await run(service, "/quiz report typo", as_member(BOB, admin))
    before = dump(db_path(config))
    for text in ("/quiz reports", "/quiz reports resolve 1 accept"):
        with pytest.raises(NotAllowed) as refused:
            await run(service, text, as_member(BOB, admin))
        assert str(refused.value) == messages.ADMINS_ONLY
    assert dump(db_path(config)) == before


async def test_reports_lists_counts_per_question_and_reason(service, admin, clock):
    await played(service, admin, clock)
    await run(service, "/quiz report wrong-key B fits", as_member(BOB, admin))
    await run(service, "/quiz report wrong-key", as_member(CAROL, admin))
    await run(service, "/quiz report too-easy", as_member(ALICE, admin))
    assert await run(service, "/quiz reports", admin) == (
        "Open reports: 3 on 1 question(s)\n"
        f"`{QUESTION}`: wrong-key ×2, too-easy ×1\n"
        "  #1 wrong-key (2025-01-15) by bob: B fits\n"
        "  #2 wrong-key (2025-01-15) by carol\n"
        "  #3 too-easy (2025-01-15) by alice\n"
        "Resolve one with `/quiz reports resolve ID accept|reject [key:B] [note]`."
    )


async def test_reject_changes_nothing_but_the_report(service, admin, clock, config, publisher):
    await played(service, admin, clock)
    await run(service, "/quiz report wrong-key", as_member(BOB, admin))
    db = db_path(config)
    before = dump(db)
    text = await run(service, "/quiz reports resolve 1 reject the key is right", admin)
    assert text == f"Rejected report #1 on `{QUESTION}`; nothing else changed."
    after = dump(db)
    changed = {table for table in before if before[table] != after[table]}
    assert changed == {"question_reports"}
    assert sql(db, "SELECT state, resolution_note FROM question_reports") == [
        ("rejected", "the key is right")
    ]
    with pytest.raises(AlreadyExists, match="was rejected already"):
        await run(service, "/quiz reports resolve 1 accept key:B", admin)
    assert dump(db) == after
    assert await run(service, "/quiz reports", admin) == messages.NO_OPEN_REPORTS


async def test_accepting_with_a_new_key_regrades_and_tells_each_member_once(
    service, admin, clock, config, publisher
):
    drill_id = await played(service, admin, clock)
    await run(service, "/quiz report wrong-key", as_member(BOB, admin))
    await run(service, "/quiz report wrong-key", as_member(CAROL, admin))
    db = db_path(config)
    with pytest.raises(UsageError) as refused:
        await run(service, "/quiz reports resolve 1 accept", admin)
    assert str(refused.value) == messages.key_needed("ABCD")
    with pytest.raises(UsageError):
        await run(service, "/quiz reports resolve 1 accept key:E", admin)

    text = await run(service, "/quiz reports resolve 1 accept key:b", admin)
    assert text == (
        f"Accepted report #1 on `{QUESTION}`. Regraded with key B: 3 attempt(s) changed "
        "and their members are told privately."
    )
    assert sql(
        db,
        """SELECT m.user_id, a.verdict, a.points FROM attempts a
           JOIN members m ON m.id = a.member_id WHERE a.drill_id = ? ORDER BY m.user_id""",
        drill_id,
    ) == [("U-alice", "wrong", 0), ("U-bob", "good", 15), ("U-carol", "good", 13)]
    assert_aggregates_match_the_attempts(db)
    board = await service.leaderboard(ALICE, admin.channel, Period.ALL, None)
    assert [(e.user_id, e.points) for e in board.entries] == [
        ("U-bob", 40),
        ("U-carol", 38),
        ("U-alice", 25),
    ]
    stats = await service.member_stats(ALICE, admin.channel)
    assert (stats.points, stats.correct, stats.answered, stats.rank) == (25, 1, 2, 3)
    assert stats.current_streak == 2  # answered days, whatever the verdict

    # The second wrong-key report, accepted with the same key, changes no attempt again.
    await run(service, "/quiz reports resolve 2 accept key:B", admin)
    await dispatcher_of(service).drain()
    assert sorted((user, text) for _, user, text in publisher.private) == [
        (
            "U-alice",
            f"After a report, the 2025-01-15 question `{QUESTION}` was regraded with a "
            "corrected key: your answer is now Wrong. Your points for it: 15 → 0.",
        ),
        (
            "U-bob",
            f"After a report, the 2025-01-15 question `{QUESTION}` was regraded with a "
            "corrected key: your answer is now Correct. Your points for it: 0 → 15.",
        ),
        (
            "U-carol",
            f"After a report, the 2025-01-15 question `{QUESTION}` was regraded with a "
            "corrected key: your answer is now Correct. Your points for it: 0 → 13.",
        ),
    ]
    assert_aggregates_match_the_attempts(db)


async def test_accepting_on_a_typed_question_voids_the_drill(service, admin, clock, config):
    await run(service, "/quiz setup tz:Europe/Berlin topics:typed days:daily", admin)
    clock.set(datetime(2025, 1, 15, 8, tzinfo=UTC))
    drill_id = await open_drill_on(service, admin.channel, "testing-short-lasso")
    await service.submit_answer(ALICE, drill_id, "lasso")
    await service.submit_answer(BOB, drill_id, "ridge")
    await run(service, "/quiz report wrong-key ridge is fine too", as_member(BOB, admin))
    with pytest.raises(UsageError) as refused:
        await run(service, "/quiz reports resolve 1 accept", admin)
    assert str(refused.value) == messages.CLOSE_BEFORE_REGRADE
    await service.close_drill(drill_id, wait=False)
    with pytest.raises(UsageError) as refused:
        await run(service, "/quiz reports resolve 1 accept key:A", admin)
    assert str(refused.value) == messages.KEY_NOT_LETTERED

    text = await run(service, "/quiz reports resolve 1 accept", admin)
    assert "The drill is void: every answer counts as right; 1 attempt(s) changed" in text
    db = db_path(config)
    assert sql(db, "SELECT verdict, points FROM attempts ORDER BY id") == [
        ("good", 25),
        ("good", 25),
    ]
    assert_aggregates_match_the_attempts(db)


async def test_accepting_another_reason_records_the_decision_only(service, admin, clock, config):
    await played(service, admin, clock)
    await run(service, "/quiz report typo", as_member(BOB, admin))
    db = db_path(config)
    before = dump(db)
    with pytest.raises(UsageError) as refused:
        await run(service, "/quiz reports resolve 1 accept key:B", admin)
    assert str(refused.value) == messages.KEY_ONLY_FOR_WRONG_KEY
    assert dump(db) == before
    text = await run(service, "/quiz reports resolve 1 accept fixed in the bank", admin)
    assert text == f"Accepted report #1 on `{QUESTION}`."
    after = dump(db)
    assert {t for t in before if before[t] != after[t]} == {"question_reports"}


async def test_a_report_in_another_channel_is_not_found(service, admin, clock):
    await played(service, admin, clock)
    await run(service, "/quiz report typo", as_member(BOB, admin))
    elsewhere = Invocation(admin.member, ChannelRef("test", "W1", "C2"), is_admin=True)
    with pytest.raises(NotFound) as refused:
        await run(service, "/quiz reports resolve 1 reject", elsewhere)
    assert str(refused.value) == messages.REPORT_NOT_FOUND


async def test_two_admins_resolving_at_once_regrade_once(config, clock, admin):
    publishers = [RecordingPublisher(), RecordingPublisher()]
    async with open_service(config, clock) as one, open_service(config, clock) as two:
        for svc, pub in zip((one, two), publishers, strict=True):
            svc.register_publisher("test", pub)
        await played(one, admin, clock)
        await run(one, "/quiz report wrong-key", as_member(BOB, admin))
        resolve = commands.parse("/quiz reports resolve 1 accept key:B")
        outcomes = await asyncio.gather(
            *(svc.execute(resolve, admin) for svc in (one, two, one, two)),
            return_exceptions=True,
        )
        for svc in (one, two):
            await dispatcher_of(svc).drain()
            await dispatcher_of(svc).stop()
    refused = [o for o in outcomes if isinstance(o, AlreadyExists)]
    assert len(refused) == 3 and all("was accepted already" in str(o) for o in refused)
    told = sorted(user for pub in publishers for _, user, _ in pub.private)
    assert told == ["U-alice", "U-bob", "U-carol"]
    assert_aggregates_match_the_attempts(db_path(config))
