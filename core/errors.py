"""Errors the core raises. Each carries one sentence a coordinator can act on."""

from __future__ import annotations


class SchedulerError(Exception):
    """Base of every error the core raises on purpose; str() is the user-facing sentence."""


class DatabaseError(SchedulerError):
    """The database file cannot be used (missing, damaged, not ours, disk full)."""


class NewerSchemaError(DatabaseError):
    """The file was written by a newer version of the program."""


class ValidationError(SchedulerError):
    """Bad input to a service; nothing was changed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(ValidationError):
    """A referenced row does not exist (or was archived)."""


class ConflictError(ValidationError):
    """The change collides with existing data (e.g. a slot already holds an activity)."""


class Cancelled(SchedulerError):
    """A long computation was asked to stop."""
