"""Build the C idle monitor (cmonitor.c) at first use, once per host, and open it safely.

Compiled here rather than at install: the package has no build step of its own that runs
for both `pip install` and editable installs (setuptools only copies files), and a binary
made on the host that runs it needs no wheel per platform.

Where: a host cache, /var/cache/sampan/libexec/<hash of source, compiler and flags>/
(SAMPAN_LIBEXEC_CACHE names another directory; empty: none), shared by every state root,
so a host compiles it once. When that cache cannot be made (a read-only /var) or fails a
check, the state root's own <root>/libexec/<hash>/ serves instead, as before the cache.

The binary is exec'd as root, so it is trusted only as opened: every directory from / to
it is walked with O_NOFOLLOW (no symlink anywhere), each one and the file must be owned by
root (or the user running sampan) and writable by nobody else (a sticky ancestor such as
/tmp is allowed), and the bytes read from the open file must match the sha256 written
beside it, so a truncated or swapped file is never run. The caller execs that same open
file (fexecve), not the path. Writes are atomic: compiled in a private temp dir, copied in
under a temp name, fsync'd, renamed. Without a compiler (or when compiling fails) the
caller falls back to the lean Python monitor, and `sampan doctor` says so.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cmonitor.c")
NAME = "sampan-monitor"
SUM = NAME + ".sha256"  # the binary's own sha256, written before the binary is renamed in
FLAGS = ["-O2", "-Wall", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-fstack-clash-protection",
         "-fPIE", "-pie", "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack"]
FAILED = "failed"  # left in the directory when compiling failed: later monitors do not retry
DEFAULT_CACHE = "/var/cache/sampan/libexec"
_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(Exception):
    """A directory or file of the monitor's that must not be trusted; the message says why."""


def compiler() -> str | None:
    """SAMPAN_CC (a path; tests point it at nothing to test the fallback), else gcc or cc."""
    cc = os.environ.get("SAMPAN_CC")
    if cc is not None:
        return cc if os.access(cc, os.X_OK) else None
    return shutil.which("gcc") or shutil.which("cc")


def cache_dir() -> str | None:
    """The host cache's directory; None when SAMPAN_LIBEXEC_CACHE is set empty."""
    d = os.environ.get("SAMPAN_LIBEXEC_CACHE", DEFAULT_CACHE)
    return os.path.abspath(d) if d else None


def digest(cc: str) -> str:
    """Names the build: the source, the compiler (resolved) and the flags."""
    with open(SOURCE, "rb") as f:
        src = f.read()
    return hashlib.sha256(src + b"\0" + os.path.realpath(cc).encode() + b"\0" +
                          "\0".join(FLAGS).encode()).hexdigest()[:16]


def _check(st: os.stat_result, what: str, sticky_ok: bool = False) -> None:
    if st.st_uid not in (0, os.geteuid()):
        raise Refused(f"{what} is owned by uid {st.st_uid}")
    if st.st_mode & 0o022 and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        raise Refused(f"{what} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})")


def _open_dir(start: str, parts: list[str], make: bool, mode: int) -> int:
    """An O_PATH fd of start/parts..., each part opened with O_NOFOLLOW and checked (an
    ancestor may be sticky, as /tmp). `start` is trusted as configured ("/" is checked too).
    Missing parts are made (`mode`) if `make`."""
    fd = os.open(start, _DIR & ~os.O_NOFOLLOW)
    try:
        if start == "/":
            _check(os.fstat(fd), "/")
        here = start.rstrip("/")
        for i, part in enumerate(parts):
            here += "/" + part
            try:
                nfd = os.open(part, _DIR, dir_fd=fd)
            except FileNotFoundError:
                if not make:
                    raise
                try:
                    os.mkdir(part, mode, dir_fd=fd)
                except FileExistsError:
                    pass
                nfd = os.open(part, _DIR, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Refused(f"{here} is not a directory (a symlink?)") from None
                raise
            os.close(fd)
            fd = nfd
            _check(os.fstat(fd), here, sticky_ok=i < len(parts) - 1)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _read_checked(dir_fd: int, name: str, where: str) -> tuple[int, bytes]:
    """(fd, content) of a regular file in dir_fd, opened without following a symlink, checked."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Refused(f"{where}/{name} is a symlink") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{where}/{name} is not a regular file")
        _check(st, f"{where}/{name}")
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return fd, b"".join(chunks)
    except BaseException:
        os.close(fd)
        raise


def _open_verified(dir_fd: int, where: str) -> int:
    """The binary's fd (O_CLOEXEC, for fexecve), once its bytes match the sha256 beside it."""
    fd, data = _read_checked(dir_fd, NAME, where)
    try:
        sfd, want = _read_checked(dir_fd, SUM, where)
        os.close(sfd)
        if hashlib.sha256(data).hexdigest().encode() != want.strip():
            raise Refused(f"{where}/{NAME} does not match its sha256 (truncated or changed)")
        return fd
    except BaseException:
        os.close(fd)
        raise


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def _put(dir_fd: int, name: str, data: bytes, mode: int) -> None:
    """Write `name` in dir_fd atomically: a new temp file, fsync'd, renamed over."""
    tmp = f".{name}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp, dir_fd=dir_fd)  # left by a crashed process of the same pid
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        os.unlink(tmp, dir_fd=dir_fd)
        raise


def _compile(cc: str, dir_fd: int, mode: int) -> str | None:
    """Compile in a private temp dir, then copy in: SUM first, the binary last (the binary's
    presence means both are whole). Returns None, or the compiler's complaint."""
    import tempfile  # (once per host: not on every monitor's path)
    with tempfile.TemporaryDirectory(prefix="sampan-cc-") as scratch:
        out = os.path.join(scratch, NAME)
        done = subprocess.run([cc, *FLAGS, "-o", out, SOURCE], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)
        if done.returncode != 0:
            return done.stderr[-4000:].decode(errors="replace") or f"{cc} exited {done.returncode}"
        with open(out, "rb") as f:
            data = f.read()
    _put(dir_fd, SUM, hashlib.sha256(data).hexdigest().encode() + b"\n", 0o644 if mode & 0o055 else 0o600)
    _put(dir_fd, NAME, data, mode)
    return None


def _ensure(cc: str, name: str, base: str, host: bool) -> int | None:
    """The verified binary's fd under `base`/`name`/, compiled there if missing. None: the
    compile failed (Python then). Raises Refused or OSError when `base` cannot serve."""
    where = os.path.join(base, name)
    if host:  # every directory from / is checked
        dir_fd = _open_dir("/", [p for p in where.split("/") if p], make=True, mode=0o755)
    else:  # the state root is trusted as configured; libexec/ and below are checked
        dir_fd = _open_dir(os.path.dirname(base), [os.path.basename(base), name], make=True, mode=0o700)
    try:
        if _exists(dir_fd, NAME):
            return _open_verified(dir_fd, where)
        if _exists(dir_fd, FAILED):
            return None
        lock = os.open("lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            # One compiler at a time: the monitors of a burst of starts wait for the first
            # one's (once per host, ~0.3 s; their containers' output waits in the pipes).
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _exists(dir_fd, NAME):
                if _exists(dir_fd, FAILED):  # the one waited for failed
                    return None
                complaint = _compile(cc, dir_fd, 0o755 if host else 0o700)
                if complaint is not None:
                    _put(dir_fd, FAILED, complaint.encode(), 0o644 if host else 0o600)
                    return None
            return _open_verified(dir_fd, where)
        finally:
            os.close(lock)  # releases the flock
    finally:
        os.close(dir_fd)


def open_binary(root: str) -> tuple[str, int] | None:
    """(path, fd) of the C monitor to fexecve: the host cache's, else the state root's own;
    None to use the Python monitor. The fd is O_CLOEXEC; the caller closes or execs it."""
    cc = compiler()
    if cc is None:
        return None
    try:
        name = digest(cc)
    except OSError:
        return None  # an install without the C source
    bases = [(d, True) for d in [cache_dir()] if d] + [(os.path.join(root, "libexec"), False)]
    for base, host in bases:
        try:
            fd = _ensure(cc, name, base, host)
        except (Refused, OSError, subprocess.SubprocessError):
            continue  # a cache that cannot be made or trusted: the next place (doctor says why)
        return (os.path.join(base, name, NAME), fd) if fd is not None else None
    return None


def binary(root: str) -> str | None:
    """The path open_binary() would exec (for tests and reports); None: the Python monitor."""
    got = open_binary(root)
    if got is None:
        return None
    os.close(got[1])
    return got[0]


def host_cache_state(cc: str) -> tuple[str, str | None]:
    """For doctor, changing nothing: (where the monitor comes from, why the host cache is
    refused, or None)."""
    base = cache_dir()
    own = "each state root's own copy (<root>/libexec/)"
    if base is None:
        return (own + ", SAMPAN_LIBEXEC_CACHE being empty", None)
    where = os.path.join(base, digest(cc))
    try:
        dir_fd = _open_dir("/", [p for p in where.split("/") if p], make=False, mode=0)
    except FileNotFoundError:
        return (f"the host cache {base}, compiled there at first use", None)
    except (Refused, OSError) as e:
        return (own, f"the host cache is refused: {e}")
    try:
        if not _exists(dir_fd, NAME):
            if _exists(dir_fd, FAILED):
                return ("the Python monitor", f"compiling failed: {os.path.join(where, FAILED)} says why")
            return (f"the host cache {base}, compiled there at first use", None)
        os.close(_open_verified(dir_fd, where))
        return (f"the host cache: {os.path.join(where, NAME)}", None)
    except (Refused, OSError) as e:
        return (own, f"the host cache's binary is refused: {e}")
    finally:
        os.close(dir_fd)
