"""`python -m bot discord-invite`: the install URL and where the application id comes from."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.__main__ import main
from bot.discord_adapter.invite import (
    application_id_from_token,
    invite_url,
    missing_permissions,
)

APP_ID = "123456789012345678"
TOKEN = base64.b64encode(APP_ID.encode()).decode().rstrip("=") + ".GabcDE.secret-part"


def test_invite_url_asks_for_both_scopes_and_only_the_permissions_used():
    url = urlsplit(invite_url(APP_ID))
    query = parse_qs(url.query)
    assert url.netloc == "discord.com" and url.path == "/oauth2/authorize"
    assert query["client_id"] == [APP_ID]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    expected = discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True, read_message_history=True
    )
    assert granted == expected
    assert missing_permissions(granted) == []


def test_missing_permissions_are_named_as_discord_shows_them():
    assert missing_permissions(discord.Permissions(view_channel=True)) == [
        "Send Messages",
        "Embed Links",
        "Read Message History",
    ]


def test_the_application_id_is_read_from_the_tokens_first_segment():
    assert application_id_from_token(TOKEN) == APP_ID
    assert application_id_from_token("not a token") is None
    assert application_id_from_token(base64.b64encode(b"hello").decode() + ".x.y") is None


@pytest.mark.parametrize(
    ("env", "client_id"),
    [
        ({"DISCORD_TOKEN": TOKEN}, APP_ID),
        ({"DISCORD_APPLICATION_ID": "42", "DISCORD_TOKEN": TOKEN}, "42"),
    ],
)
def test_discord_invite_prints_the_url(monkeypatch, capsys, env, client_id):
    for name in ("DISCORD_TOKEN", "DISCORD_APPLICATION_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["discord-invite"]) == 0
    printed = capsys.readouterr().out.strip()
    assert parse_qs(urlsplit(printed).query)["client_id"] == [client_id]


def test_discord_invite_without_an_id_explains_what_to_set(monkeypatch, capsys):
    for name in ("DISCORD_TOKEN", "DISCORD_APPLICATION_ID"):
        monkeypatch.delenv(name, raising=False)
    assert main(["discord-invite"]) == 2
    assert "DISCORD_APPLICATION_ID" in capsys.readouterr().err


@pytest.mark.parametrize("bad_id", ["0", "000", "١٢٣٤٥", "12³", "-5", "12a", str(2**64)])
def test_discord_invite_refuses_an_application_id_that_is_not_a_snowflake(
    monkeypatch, capsys, bad_id
):
    monkeypatch.setenv("DISCORD_APPLICATION_ID", bad_id)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert main(["discord-invite"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"DISCORD_APPLICATION_ID={bad_id!r} is not a Discord application id")


@pytest.mark.parametrize("decoded", ["0", "١٢٣٤٥"])
def test_a_token_whose_first_segment_is_not_a_snowflake_has_no_id(decoded):
    token = base64.b64encode(decoded.encode()).decode() + ".GabcDE.secret-part"
    assert application_id_from_token(token) is None
