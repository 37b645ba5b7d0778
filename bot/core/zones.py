"""The time zones a channel may use: the canonical IANA names the tzdata package ships.

The host's zone directory also holds directories (`Europe`), host-specific files
(`localtime`, `posixrules`, `Factory`) and alternative trees (`right/`, `posix/`); a name
accepted from there may not exist on the next host, so only tzdata's own list counts.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from rapidfuzz import fuzz, process

NOT_PORTABLE = frozenset({"Factory", "localtime", "posixrules"})
NOT_PORTABLE_TREES = ("posix/", "right/")
MAX_ZONE_LENGTH = 64  # the longest IANA name is about 32 characters
SUGGESTION_CUTOFF = 70


class UnknownZone(ValueError):
    """`name` is not a canonical zone; `suggestion` is the closest one, if any is close."""

    def __init__(self, name: str, suggestion: str | None) -> None:
        super().__init__(f"unknown time zone {name[:MAX_ZONE_LENGTH]!r}")
        self.name = name
        self.suggestion = suggestion


@cache
def canonical_zones() -> frozenset[str]:
    """Every zone name tzdata ships, minus the ones that are not real places."""
    listing = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(
        name
        for name in listing.split()
        if name not in NOT_PORTABLE and not name.startswith(NOT_PORTABLE_TREES)
    )


def _fold(name: str) -> str:
    return name.casefold().replace("_", " ")


@cache
def _by_folded_name() -> dict[str, str]:
    return {_fold(name): name for name in canonical_zones()}


def closest_zone(name: str) -> str | None:
    """The canonical zone most like `name`, for a "did you mean" hint: the first zone of
    a region (`Europe` suggests a zone in Europe), else the nearest spelling."""
    folded = _fold(name[:MAX_ZONE_LENGTH]).rstrip("/")
    in_region = sorted(
        zone for key, zone in _by_folded_name().items() if key.startswith(folded + "/")
    )
    if folded and in_region:
        return in_region[0]
    match = process.extractOne(
        folded, _by_folded_name(), scorer=fuzz.WRatio, score_cutoff=SUGGESTION_CUTOFF
    )
    return match[0] if match else None


def validate_zone(name: str) -> str:
    """The canonical spelling of `name` (case does not matter); UnknownZone otherwise."""
    cleaned = name.strip()
    if len(cleaned) <= MAX_ZONE_LENGTH:
        found = _by_folded_name().get(_fold(cleaned))
        if found is not None:
            return found
    raise UnknownZone(cleaned, closest_zone(cleaned))
