"""HTTP statuses for the engine's typed errors, as Docker's clients expect them."""

from __future__ import annotations

from sampan.errors import (Conflict, InvalidArgument, InvalidState, NotFound, PermissionDenied, SampanError,
                           UnsafeArchive)


class ApiError(Exception):
    """A request's failure, with the status and the message the client is sent
    ({"message": ...})."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class NotModified(ApiError):
    """304: already started, already stopped (Docker's answer, with no body)."""

    def __init__(self) -> None:
        super().__init__(304, "")


def status_of_error(e: BaseException) -> tuple[int, str]:
    """(status, message) for an exception raised by an engine call."""
    if isinstance(e, ApiError):
        return e.status, e.message
    if isinstance(e, NotFound):
        return 404, str(e)
    if isinstance(e, (Conflict, InvalidState)):
        return 409, str(e)
    if isinstance(e, (InvalidArgument, UnsafeArchive)):  # the client's archive: its fault
        return 400, str(e)
    if isinstance(e, PermissionDenied):
        return 403, str(e)
    if isinstance(e, SampanError):
        return 500, str(e)
    return 500, f"internal error: {type(e).__name__}: {e}"
