"""The answer inputs an adapter can render; a kind names one, adapters never name a kind.

A leaf module (no core imports), so that messages can word hints by input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Input(StrEnum):
    BUTTONS = "buttons"  # one button per letter; a click answers with it
    SELECT_MANY = "select_many"  # tick several letters, then submit them together
    NUMBER = "number"  # a typed number, in a text form
    TEXT = "text"  # typed words, in a text form


@dataclass(frozen=True)
class AnswerInput:
    input: Input
    options: tuple[str, ...] = ()  # the letters to offer, for BUTTONS and SELECT_MANY
