"""`python -m bot discord-invite`: the URL that adds the bot to a server.

The application id comes from DISCORD_APPLICATION_ID, or else from DISCORD_TOKEN: a bot
token's first dot-separated segment is the bot user's id in base64, and a bot user
shares its application's id. The URL asks for the `bot` and `applications.commands`
scopes and only the permissions the bot uses.
"""

from __future__ import annotations

import base64
import binascii
import sys

import discord

from bot.config import Config
from bot.core import messages

SCOPES = ("bot", "applications.commands")
# What posting, editing its own posts and reading them back needs; replies to
# interactions and DMs need no server permission.
PERMISSION_NAMES = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}
BOT_PERMISSIONS = discord.Permissions(**dict.fromkeys(PERMISSION_NAMES, True))
MAX_SNOWFLAKE = 2**64 - 1


def is_snowflake(text: str) -> bool:
    """A Discord id: ASCII digits (str.isdigit also takes "١٢٣" and "²") for 1 to 2**64-1."""
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_SNOWFLAKE


def missing_permissions(granted: discord.Permissions) -> list[str]:
    """The names of the bot's permissions that `granted` lacks, as Discord shows them."""
    return [label for name, label in PERMISSION_NAMES.items() if not getattr(granted, name)]


def application_id_from_token(token: str) -> str | None:
    """The id encoded in a bot token's first segment, or None if it holds none."""
    first = token.strip().split(".")[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if is_snowflake(decoded) else None


def invite_url(application_id: str | int) -> str:
    return discord.utils.oauth_url(application_id, permissions=BOT_PERMISSIONS, scopes=SCOPES)


def print_invite(config: Config) -> int:
    """Print the invite URL; exit status 2 when no valid application id can be found."""
    if config.discord_application_id and not is_snowflake(config.discord_application_id):
        print(messages.bad_application_id(config.discord_application_id), file=sys.stderr)
        return 2
    application_id = config.discord_application_id or application_id_from_token(
        config.discord_token
    )
    if not application_id:
        print(messages.NO_APPLICATION_ID, file=sys.stderr)
        return 2
    print(invite_url(application_id))
    return 0
