"""The one exception tree of Shipyard.

Every error a user can cause is a :class:`ShipyardError` subclass. Each class carries the
HTTP status the server answers with, so the server and the REST client map errors 1:1 and a
caller catches the same exception embedded or remote. Messages are headlines: what went wrong,
then what to do about it.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "ConfigError",
    "Conflict",
    "FilterSyntaxError",
    "IntegrityError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "PipelineFailed",
    "SchemaError",
    "ServiceUnavailable",
    "ShipyardError",
    "TooLarge",
    "Unauthenticated",
    "error_from_code",
]


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose.

    ``field`` names the argument or input field at fault, when there is one, so a server can
    answer with a body that points at it.
    """

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the server sends for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class InvalidArgument(ShipyardError):
    """A value the caller passed is malformed or not allowed."""

    code = "invalid_argument"
    http_status = 422


class FilterSyntaxError(InvalidArgument):
    """A search filter could not be parsed; the message names the position and what was
    expected there."""

    code = "filter_syntax"

    def __init__(self, message: str, *, position: int, expected: list[str] | None = None) -> None:
        super().__init__(message, field="filter", position=position, expected=expected or [])
        self.position = position
        self.expected = expected or []


class SchemaError(InvalidArgument):
    """Input data does not match the schema (signature) it must follow."""

    code = "schema_error"


class NotFound(ShipyardError):
    """The thing asked for does not exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(ShipyardError):
    """Something with that name or id exists already."""

    code = "already_exists"
    http_status = 409


class Conflict(ShipyardError):
    """The request conflicts with the current state (e.g. writing to a finished run)."""

    code = "conflict"
    http_status = 409


class IntegrityError(ShipyardError):
    """Stored content does not match its recorded hash: it was corrupted or tampered with."""

    code = "integrity"
    http_status = 500


class Unauthenticated(ShipyardError):
    """No valid credentials were given."""

    code = "unauthenticated"
    http_status = 401


class PermissionDenied(ShipyardError):
    """The caller is known but may not do this."""

    code = "permission_denied"
    http_status = 403


class TooLarge(ShipyardError):
    """A request body or upload exceeds the configured limit."""

    code = "too_large"
    http_status = 413


class ConfigError(ShipyardError):
    """The configuration (env vars, project file) is invalid or names something unusable."""

    code = "config"
    http_status = 500


class ServiceUnavailable(ShipyardError):
    """A backend (database, object store, server) could not be reached."""

    code = "unavailable"
    http_status = 503


class PipelineFailed(ShipyardError):
    """A pipeline run ended FAILED: a step failed after its retries (or timed out).

    ``run_id`` names the run; ``shipyard pipelines show <run_id>`` shows which steps failed
    and ``shipyard pipelines resume <run_id>`` re-runs what did not succeed.
    """

    code = "pipeline_failed"
    http_status = 500


_BY_CODE: dict[str, type[ShipyardError]] = {
    cls.code: cls
    for cls in (
        ShipyardError,
        InvalidArgument,
        FilterSyntaxError,
        SchemaError,
        NotFound,
        AlreadyExists,
        Conflict,
        IntegrityError,
        Unauthenticated,
        PermissionDenied,
        TooLarge,
        ConfigError,
        ServiceUnavailable,
        PipelineFailed,
    )
}


def error_from_code(
    code: str, message: str, field: str | None = None, **details: Any
) -> ShipyardError:
    """Rebuild the exception a server reported (used by the REST client)."""
    cls = _BY_CODE.get(code, ShipyardError)
    if cls is FilterSyntaxError:
        return FilterSyntaxError(
            message, position=int(details.get("position", 0)), expected=details.get("expected")
        )
    return cls(message, field=field, **details)
