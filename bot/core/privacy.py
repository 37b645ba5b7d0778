"""Members' rights: the JSON document of /quiz export, built from MemberData (pure).

The document is data, not wording: its keys are a stable format (`FORMAT`), the same on
every platform, so a member can read it or feed it to another tool. Adapters only ship
its bytes (a file on the console, an attachment on Discord, an upload on Slack).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

from bot.core.models import MemberData, MemberExport

FORMAT = "daily-drill-export/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _value(value: object) -> object:
    """Stored values as JSON: instants and dates as ISO text, bytes as hex."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def export_document(data: MemberData, exported_at: datetime) -> dict[str, object]:
    """Everything stored about the member, as one JSON-ready mapping."""
    member = data.member
    return {
        "format": FORMAT,
        "exported_at": exported_at.astimezone(UTC).isoformat(),
        "member": {
            "platform": member.platform,
            "workspace_id": member.workspace_id,
            "user_id": member.user_id,
            "display_name": member.display_name,
            "first_seen": _value(data.first_seen),
        },
        "stats": {
            "answered": sum(t.answered for t in data.topics),
            "correct": sum(t.correct for t in data.topics),
            "score_totals": [
                {
                    "period": t.period.value,
                    "period_key": t.period_key,
                    "points": t.points,
                    "answered": t.answered,
                    "correct": t.correct,
                }
                for t in data.totals
            ],
            "topics": [
                {"topic": t.topic, "answered": t.answered, "correct": t.correct}
                for t in data.topics
            ],
            "streaks": [
                {
                    "channel_id": s.channel_id,
                    "current": s.current,
                    "best": s.best,
                    "last_date": s.last_date.isoformat(),
                    "freezes": s.freezes,
                }
                for s in data.streaks
            ],
        },
        "attempts": [
            {
                "question_id": a.question_id,
                "topic": a.topic,
                "kind": "daily" if a.channel_id is not None else "practice",
                "channel_id": a.channel_id,
                "drill_date": _value(a.drill_date),
                "answer": a.answer,
                "normalized": a.normalized,
                "answered_at": a.answered_at.isoformat(),
                "latency_ms": a.latency_ms,
                "pending_reveal": a.pending,
                "verdict": a.verdict.value if a.verdict else None,
                "score": a.score,
                "points": a.points,
            }
            for a in data.attempts
        ],
        "groups": [
            {"name": g.name, "joined_at": g.joined_at.isoformat(), "created_by_you": g.created_it}
            for g in data.groups
        ],
        "setup_channels": list(data.setup_channels),
        "slack_installs": [_value(at) for at in data.slack_installs],
        "other": {
            extra.table: [{key: _value(value) for key, value in row} for row in extra.rows]
            for extra in data.extra
        },
    }


def export_filename(data: MemberData, exported_at: datetime) -> str:
    member = data.member
    stamp = exported_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = ("daily-drill", member.platform, member.workspace_id, member.user_id, stamp)
    return "-".join(_UNSAFE.sub("_", part) for part in parts) + ".json"


def member_export(data: MemberData, exported_at: datetime) -> MemberExport:
    document = json.dumps(export_document(data, exported_at), indent=2, ensure_ascii=False)
    return MemberExport(export_filename(data, exported_at), document + "\n", data)
