"""The kind names a pack may use; each has one module in this package (see registry)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    CHOICE = "choice"
    SHORT = "short"
    NUMERIC = "numeric"
    OPEN = "open"
    MULTI = "multi"
