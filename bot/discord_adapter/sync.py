"""Sync the command tree only when it changed, so restarts don't hit Discord's limits.

The SHA-256 of the exact payload `tree.sync()` would send (with the application id and
the target guild) is kept in `discord-commands.sha256` in the data directory (DATA_DIR,
default `data`), whatever database DATABASE_URL names. A file rather than a table: it is
deployment state of this one process, not drill data, and a lost file or a second process
only costs one extra, harmless sync. Delete the file to force a sync, e.g. after removing
commands in the Developer Portal.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import discord
from discord import app_commands

log = logging.getLogger(__name__)

HASH_FILE = "discord-commands.sha256"


def hash_file_for(data_dir: Path) -> Path:
    """Where the hash lives: in the data directory, independent of the database URL."""
    return data_dir / HASH_FILE


def tree_hash(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> str:
    payload = {
        "application": tree.client.application_id,
        "guild": guild.id if guild else None,
        "commands": [command.to_dict(tree) for command in tree.get_commands(guild=guild)],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def stored_hash(hash_file: Path) -> str | None:
    return hash_file.read_text().strip() if hash_file.is_file() else None


def store_hash(hash_file: Path, digest: str) -> None:
    hash_file.parent.mkdir(parents=True, exist_ok=True)
    hash_file.write_text(digest + "\n")


async def sync_commands(
    tree: app_commands.CommandTree,
    *,
    guild: discord.abc.Snowflake | None,
    hash_file: Path | None,
) -> bool:
    """Sync globally, or to `guild` only (instant, for development); True if it synced."""
    if guild is not None:
        tree.copy_global_to(guild=guild)
    digest = tree_hash(tree, guild)
    scope = f"guild {guild.id}" if guild else "the global tree"
    if hash_file is not None and stored_hash(hash_file) == digest:
        log.info("application commands unchanged; not syncing %s", scope)
        return False
    try:
        synced = await tree.sync(guild=guild)
    except discord.HTTPException:
        log.exception(
            "could not sync commands to %s; re-invite the bot with the applications.commands "
            "scope (python -m bot discord-invite)",
            scope,
        )
        return False
    if hash_file is not None:
        store_hash(hash_file, digest)
    log.info("synced %d application commands to %s", len(synced), scope)
    return True
