"""The machine's architecture in the OCI/Go spelling images use (amd64, arm64, ...)."""

from __future__ import annotations

# uname -m (and Go's own names, so that a platform a user wrote passes through) -> GOARCH
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
          "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def goarch(machine: str | None = None) -> str:
    """GOARCH of `machine` (uname -m spelling; default: this machine's)."""
    if machine is None:
        import os
        machine = os.uname().machine  # what platform.machine() says, without its ~11 ms import
    return GOARCH.get(machine, machine)
