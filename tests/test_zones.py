"""The zone list setup, the scheduler and Discord's autocomplete share."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.core.zones import UnknownZone, canonical_zones, validate_zone


def test_every_canonical_zone_loads_and_none_is_host_specific():
    zones = canonical_zones()
    assert {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"} <= zones
    for name in zones:
        assert ZoneInfo(name).key == name
        assert name not in {"localtime", "Factory", "posixrules"}
        assert not name.startswith(("posix/", "right/"))


@pytest.mark.parametrize("name", ["Europe", "Etc", "America/Argentina", "right/UTC", "Z" * 300])
def test_validate_zone_refuses_what_is_not_a_zone(name):
    with pytest.raises(UnknownZone) as caught:
        validate_zone(name)
    assert caught.value.name == name


def test_validate_zone_returns_the_canonical_spelling():
    assert validate_zone(" asia/KOLKATA ") == "Asia/Kolkata"
