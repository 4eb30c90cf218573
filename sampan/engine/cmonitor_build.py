"""Build the C idle monitor (cmonitor.c) at first use, into the state root.

Compiled here rather than at install: the package has no build step of its own that runs
for both `pip install` and editable installs (setuptools only copies files), and a binary
made on the host that runs it needs no wheel per platform. The binary goes to
<root>/libexec/<hash of the source and flags>/sampan-monitor (root-owned, like the rest of
the state root), written under a temporary name and renamed, so concurrent monitors never
run a half-written file; a changed source gets a new directory. Without a compiler (or when
compiling fails) the caller falls back to the lean Python monitor, and `sampan doctor` says so.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cmonitor.c")
NAME = "sampan-monitor"
FLAGS = ["-O2", "-Wall", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-fstack-clash-protection",
         "-fPIE", "-pie", "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack"]
FAILED = "failed"  # left in the directory when compiling failed: later monitors do not retry


def compiler() -> str | None:
    """SAMPAN_CC (a path; tests point it at nothing to test the fallback), else gcc or cc."""
    cc = os.environ.get("SAMPAN_CC")
    if cc is not None:
        return cc if os.access(cc, os.X_OK) else None
    return shutil.which("gcc") or shutil.which("cc")


def _digest() -> str:
    with open(SOURCE, "rb") as f:
        src = f.read()
    return hashlib.sha256(src + "\0".join(FLAGS).encode()).hexdigest()[:16]


def binary(root: str) -> str | None:
    """The C monitor's path under the state root, compiled if needed; None to use Python."""
    try:
        directory = os.path.join(root, "libexec", _digest())
    except OSError:
        return None  # an install without the C source
    exe = os.path.join(directory, NAME)
    if os.access(exe, os.X_OK):
        return exe
    if os.path.exists(os.path.join(directory, FAILED)):
        return None
    cc = compiler()
    if cc is None:
        return None
    try:
        for d in (os.path.dirname(directory), directory):  # private, as the rest of the root
            try:
                os.mkdir(d, 0o700)
            except FileExistsError:
                pass
        lock = os.open(os.path.join(directory, "lock"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    tmp = f"{exe}.{os.getpid()}.tmp"
    try:
        # One compiler at a time: the monitors of a burst of starts wait for the first one's
        # (once per root, ~1 s; their containers' output waits in the pipes meanwhile).
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.access(exe, os.X_OK):
            return exe
        if os.path.exists(os.path.join(directory, FAILED)):  # the one waited for failed
            return None
        done = subprocess.run([cc, *FLAGS, "-o", tmp, SOURCE], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)
        if done.returncode != 0:
            with open(os.path.join(directory, FAILED), "wb") as f:
                f.write(done.stderr[-4000:])
            return None
        os.chmod(tmp, 0o700)
        os.rename(tmp, exe)
        return exe
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        os.close(lock)  # releases the flock
        try:
            os.unlink(tmp)
        except OSError:
            pass
