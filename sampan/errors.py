"""Typed errors. Every failure a user can cause is a SampanError subclass.

The CLI prints ``str(err)`` as one line on stderr and exits with
``err.exit_code``; nothing else should ever reach the user as a traceback.
Exit codes follow Docker: 125 when sampan itself fails, 126 when the
container command cannot be run, 127 when it is not found, 1 for build
failures and for an object that does not exist.
"""

from __future__ import annotations


class SampanError(Exception):
    """Base of every error meant for a person. One line, no traceback."""

    exit_code = 125

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgument(SampanError):
    """A flag or argument value the user gave is malformed."""


class NotFound(SampanError):
    """Something named by the user does not exist. Docker's CLI exits 1 for these ("No such
    container: x" from logs, start, tag, ...); `run` and `create` still exit 125 (cli/main.py)."""

    exit_code = 1


class ImageNotFound(NotFound):
    pass


class ContainerNotFound(NotFound):
    pass


class VolumeNotFound(NotFound):
    pass


class NetworkNotFound(NotFound):
    pass


class Conflict(SampanError):
    """The request clashes with existing state (name in use, image in use, port taken)."""


class InvalidState(SampanError):
    """The object exists but cannot do that now (start a running container...)."""


class PermissionDenied(SampanError):
    """Not root, or the kernel refused an operation for lack of privilege."""


class NoSpace(SampanError):
    """A write failed because the filesystem it went to is full (or over its quota)."""


class KernelFeatureMissing(SampanError):
    """A kernel feature sampan needs (overlayfs, a namespace, a cgroup controller) is absent."""


class CommandNotFound(SampanError):
    """The container's command does not exist in its root filesystem."""

    exit_code = 127


class CommandNotExecutable(SampanError):
    """The container's command exists but cannot be executed."""

    exit_code = 126


class DigestMismatch(SampanError):
    """Content did not match the digest or size it was declared with."""


class UnsafeArchive(SampanError):
    """A tar archive tried to write outside its root or is otherwise hostile."""


class StoreCorrupt(SampanError):
    """The on-disk store is inconsistent."""


class RuntimeFailure(SampanError):
    """The OCI runtime (native or runc) failed to create, start or manage a container."""


class NetworkError(SampanError):
    """Setting up or tearing down container networking failed."""


class RegistryError(SampanError):
    """A registry refused, failed, or sent something invalid."""


class BuildError(SampanError):
    """A Dockerfile build failed. Docker exits 1 for these."""

    exit_code = 1
