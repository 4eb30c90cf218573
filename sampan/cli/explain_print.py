"""`sampan --explain`: print the engine's steps on stderr as they come.

The CLI makes a private file and names it in SAMPAN_EXPLAIN (state/explain.py); every
process of the command appends its lines there. A small printer process, forked before
the command runs (so no thread lives beside the engine's forks), follows the file and
writes each line to stderr with its time since the command began. When the command is
done it drains the file and, if a foreground monitor said it would (@wait), waits a
little for its cleanup lines (@done), then the file is removed.
"""

from __future__ import annotations

import os
import select
import signal
import time

from sampan.state.explain import DONE, ENV, WAIT, clean

_CLEANUP_WAIT = 15.0  # seconds a monitor's cleanup may take before the printer gives up
_POLL = 0.01


class Printer:
    def __init__(self, pid: int, done_w: int, directory: str) -> None:
        self.pid, self.done_w, self.directory = pid, done_w, directory

    def finish(self) -> None:
        """The command is done: let the printer drain, wait for it, remove the file."""
        try:
            os.write(self.done_w, b"x")
            os.close(self.done_w)
        except OSError:
            pass
        try:
            while True:
                try:
                    os.waitpid(self.pid, 0)
                    break
                except InterruptedError:
                    continue
        except ChildProcessError:
            pass
        os.environ.pop(ENV, None)
        _remove(self.directory)


def _remove(directory: str) -> None:
    try:
        os.unlink(os.path.join(directory, "lines"))
        os.rmdir(directory)
    except OSError:
        pass


def start() -> Printer | None:
    import tempfile

    t0 = time.time() * 1000
    directory = tempfile.mkdtemp(prefix="sampan-explain-")  # 0700: the lines name secrets' paths
    path = os.path.join(directory, "lines")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    done_r, done_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(done_w)
            _follow(path, done_r, t0)
        except BaseException:
            code = 1
        finally:
            _remove(directory)  # also when the CLI was killed: done_r then reads end of file
            os._exit(code)
    os.close(done_r)
    os.environ[ENV] = path
    return Printer(pid, done_w, directory)


def _follow(path: str, done_r: int, t0: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C reaches the command; we drain after it
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # a reader of the command's stdout must not wait for us
    os.close(null)
    eol = "\r\n" if os.isatty(2) else "\n"  # a `run -t` holds the terminal raw meanwhile
    waiting: set[int] = set()
    pending = b""
    deadline = None
    with open(path, "rb", buffering=0) as f:
        while True:
            data = f.read()
            if data:
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    _show(line, t0, waiting, eol)
                continue
            if deadline is None:
                if select.select([done_r], [], [], _POLL)[0]:
                    deadline = time.monotonic() + _CLEANUP_WAIT
                continue
            waiting = {pid for pid in waiting if _alive(pid)}
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(_POLL)


def _show(line: bytes, t0: float, waiting: set[int], eol: str) -> None:
    try:
        head, _, text = line.decode("utf-8", "backslashreplace").partition("\t")
        ms, pid, step = head.split(" ", 2)
        at, who = float(ms), int(pid)
    except ValueError:
        return
    if step == WAIT:
        waiting.add(who)
    elif step == DONE:
        waiting.discard(who)
    else:
        # writers escape already; again here, so no byte in the file reaches the terminal raw
        os.write(2, f"{at - t0:8.1f} ms  {clean(step)}: {clean(text)}{eol}".encode())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
