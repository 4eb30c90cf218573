"""Open paths inside a tree that someone else controls, without ever leaving it.

A container's layer, an image and a build context are hostile: any component of
a path may be a symlink to the host's files, and a running container can swap a
directory for a symlink between two system calls (CVE-2018-15664). Resolving a
path to a string and then opening that string is therefore never safe. Every
function here works on a directory file descriptor and returns one:

- ``open_in_root`` resolves like the container would, with the tree as ``/``:
  absolute symlinks and ``..`` stay inside (openat2 RESOLVE_IN_ROOT);
- ``open_beneath`` follows no symlink at all and stays below the directory
  (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): for paths already resolved.

Both use openat2 (Linux 5.6) and fall back to a walk one component at a time
with O_NOFOLLOW on older kernels, holding an fd for each directory so that
``..`` is answered from our own stack, never by the kernel. The callers then
work relative to the fds (``dir_fd=``, ``follow_symlinks=False``, ``os.fstat``).
"""

from __future__ import annotations

import errno
import os
import stat

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

_SYS_OPENAT2 = 437  # the same number on every architecture (added after the syscall table unification)
_MAX_LINKS = 40  # the kernel's own limit on symlinks in one lookup
_RETRIES = 16  # openat2 says EAGAIN when a rename raced with a RESOLVE_IN_ROOT lookup

_openat2 = None  # the ctypes function once looked up; False when the kernel lacks it


class _How:
    """struct open_how, built lazily: ctypes costs an import nobody on `run` needs."""

    cls = None

    @classmethod
    def make(cls, flags: int, mode: int, resolve: int):
        if cls.cls is None:
            import ctypes

            class OpenHow(ctypes.Structure):
                _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                            ("resolve", ctypes.c_uint64)]
            cls.cls = OpenHow
        return cls.cls(flags, mode, resolve)


def _kernel_openat2():
    global _openat2
    if _openat2 is None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syscall
        fn.restype = ctypes.c_long
        _openat2 = fn
        try:
            fd = _call_openat2(fn, -100, "/", os.O_PATH | os.O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS)
            os.close(fd)
        except OSError as err:
            if err.errno in (errno.ENOSYS, errno.EINVAL, errno.E2BIG, errno.EPERM):
                _openat2 = False  # no openat2 (old kernel, or a seccomp filter refusing it)
    return _openat2


def _call_openat2(fn, dirfd: int, path: str, flags: int, mode: int, resolve: int) -> int:
    import ctypes

    # the kernel refuses a mode unless the open may create (O_TMPFILE includes O_DIRECTORY's bit)
    creates = flags & os.O_CREAT or flags & os.O_TMPFILE == os.O_TMPFILE
    how = _How.make(flags, mode if creates else 0, resolve)
    for _ in range(_RETRIES):
        fd = fn(_SYS_OPENAT2, dirfd, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):
            raise OSError(err, os.strerror(err), path)
    raise OSError(errno.EAGAIN, "the tree kept changing while it was resolved", path)


def use_fallback(on: bool) -> None:
    """Tests: force the component walk (as on a kernel without openat2), or go back."""
    global _openat2
    _openat2 = False if on else None


def open_in_root(rootfd: int, path: str, flags: int = os.O_PATH, mode: int = 0o644,
                 follow: bool = True) -> int:
    """Open `path` as a process chrooted at `rootfd` would see it.

    `follow=False` leaves a final symlink unfollowed (with O_PATH the link itself
    is opened; otherwise ELOOP). O_CLOEXEC is always added.
    """
    flags |= os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    fn = _kernel_openat2()
    if fn:
        return _call_openat2(fn, rootfd, _relative(path), flags, mode,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    return _walk(rootfd, path, flags, mode, in_root=True, follow_last=follow)


def open_beneath(dirfd: int, path: str, flags: int = os.O_PATH, mode: int = 0o644) -> int:
    """Open `path` below `dirfd` following no symlink anywhere (ELOOP if one is met,
    EXDEV if `..` would climb above dirfd). A final symlink opened with O_PATH gives
    the link itself. O_CLOEXEC and O_NOFOLLOW are always added."""
    flags |= os.O_CLOEXEC | os.O_NOFOLLOW
    fn = _kernel_openat2()
    if fn:
        return _call_openat2(fn, dirfd, _relative(path), flags, mode,
                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    return _walk(dirfd, path, flags, mode, in_root=False, follow_last=False)


def _relative(path: str) -> str:
    return path.lstrip("/") or "."


def _walk(rootfd: int, path: str, flags: int, mode: int, in_root: bool, follow_last: bool) -> int:
    """openat2's two modes by hand: one O_NOFOLLOW step per component, an fd held for
    each directory passed, so `..` pops our own stack and a swapped name is never
    followed (a symlink met where a directory was is read, not traversed)."""
    todo = [p for p in path.split("/") if p not in ("", ".")]
    stack = [os.dup(rootfd)]  # stack[-1] is where we are; stack[0] the root
    links = 0
    try:
        while todo:
            part = todo.pop(0)
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                elif not in_root:
                    raise OSError(errno.EXDEV, "path climbs above its directory", path)
                continue
            last = not todo
            try:
                fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            except FileNotFoundError:
                if last and flags & os.O_CREAT:
                    return os.open(part, flags | os.O_NOFOLLOW, mode, dir_fd=stack[-1])
                raise
            st = os.fstat(fd)
            if stat.S_ISLNK(st.st_mode) and not (last and not follow_last):
                target = os.readlink("", dir_fd=fd)
                os.close(fd)
                links += 1
                if not in_root or links > _MAX_LINKS:
                    raise OSError(errno.ELOOP, "symbolic link in the path", path)
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                todo[:0] = [p for p in target.split("/") if p not in ("", ".")]
                continue
            if last:
                if flags & os.O_PATH and not flags & os.O_DIRECTORY:
                    return fd
                os.close(fd)
                # a name swapped for a symlink since the fstat fails here with ELOOP
                return os.open(part, flags | os.O_NOFOLLOW, mode, dir_fd=stack[-1])
            if not stat.S_ISDIR(st.st_mode):
                os.close(fd)
                raise OSError(errno.ENOTDIR, "not a directory", path)
            stack.append(fd)
        # the path named a directory we stand on (the root itself, or after `..`)
        return os.open(".", (flags & ~(os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW)) | os.O_CLOEXEC,
                       dir_fd=stack[-1])
    finally:
        for fd in stack:
            os.close(fd)


def open_root(path: str | os.PathLike) -> int:
    """An O_PATH fd of a tree's top directory (the caller's own path, trusted)."""
    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def split_parent(path: str) -> tuple[str, str]:
    """("a/b", "c") for "/a/b/c"; the last component alone is what *at calls name."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        return "", ""
    return "/".join(parts[:-1]), parts[-1]


def proc_path(fd: int) -> str:
    """A path string for an fd (for calls that take only names: os.listxattr, shutil).
    It names the very inode the fd holds, whatever happens to the tree's names."""
    return f"/proc/self/fd/{fd}"
