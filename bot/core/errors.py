"""Domain errors. Each carries the short, friendly text a member is shown privately.

The text comes from bot.core.messages; the typed errors below build it from their fields,
so storage can raise them without writing wording.
"""

from __future__ import annotations

from bot.core import messages


class QuizError(Exception):
    """Base of every error a member may see; `message` is safe to show as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(QuizError):
    """The command text could not be parsed; the message includes the usage."""


class NotAllowed(QuizError):
    """The member lacks the rights for an admin command."""


class NotFound(QuizError):
    """A channel, drill, group or member the command refers to does not exist."""


class NoOpenDrill(QuizError):
    """An answer arrived while no drill is open in the channel."""


class DrillClosed(QuizError):
    """An answer arrived for a drill that has closed."""

    def __init__(self, message: str = messages.DRILL_CLOSED) -> None:
        super().__init__(message)


class AlreadyAnswered(QuizError):
    """A second answer to the same drill; the first one stands."""


class AlreadyExists(QuizError):
    """A create that collides with an existing row (a group name, today's drill)."""


class NotSetUp(NotFound):
    """The channel has no settings yet, so it has no drills either."""

    def __init__(self) -> None:
        super().__init__(messages.NOT_SET_UP)


class UnknownGroup(NotFound):
    """No study group of that name (case-insensitively) in the workspace."""

    def __init__(self, name: str) -> None:
        super().__init__(messages.no_such_group(name))
        self.name = name


class NotInGroup(NotFound):
    """The member asked to leave a group they are not in."""

    def __init__(self, name: str) -> None:
        super().__init__(messages.not_in_group(name))
        self.name = name


class GroupExists(AlreadyExists):
    """A study group of that name (case-insensitively) exists in the workspace."""

    def __init__(self, name: str) -> None:
        super().__init__(messages.group_exists(name))
        self.name = name


class InvalidAnswer(QuizError):
    """The answer cannot be graded as given (a letter that is not offered, empty text)."""


class BankError(Exception):
    """A question file is malformed; names the file, the question id and the field."""

    def __init__(self, path: str, question_id: str | None, field: str | None, problem: str):
        self.path = path
        self.question_id = question_id
        self.field = field
        self.problem = problem
        where = ": ".join(part for part in (path, question_id, field) if part)
        super().__init__(f"{where}: {problem}")


class BankErrors(Exception):
    """Every problem found in one load, so a check reports them all at once."""

    def __init__(self, errors: list[BankError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


class ChannelUnavailable(Exception):
    """A platform refuses a channel for good (the bot was removed, lacks a permission):
    publishers raise it so that callers stop retrying and tell an admin instead."""


class TransientFailure(Exception):
    """A platform call failed in a way a later attempt may fix (a 5xx, a timeout, a lost
    connection, a 429). Publishers raise it so that delivery code never needs to know a
    platform's exception types.

    `retry_after` is the platform's own wait in seconds (429 Retry-After), which a retry
    must not undercut; `global_limit` says the wait holds for every request of the
    platform, not just this route. `maybe_delivered` is True when the request may have
    reached the platform before it failed (a 5xx, a timeout or a reset after sending):
    the post may be out, so look for it before posting again."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        global_limit: bool = False,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.global_limit = global_limit
        self.maybe_delivered = maybe_delivered
