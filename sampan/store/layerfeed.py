"""Unpack a layer tar whose bytes another thread pushes in as they arrive (a pull).

A pull decompresses each layer once, in its digest thread (oci/layerdigest.py), which
hashes the plain bytes for the diff_id and hands them here. A thread of our own applies
them with store/unpack.py's extractor (the per-entry checks every unpack makes) into a
staged dir under the pull's scratch dir, while the next bytes are still being received and
inflated: the layer is refused at pull, and the first `run` finds it unpacked. The store
adopts the dir as ``layers/<chain-id>`` (Unpacker.adopt) only once the pull has proven the
layer's digest and diff_id and recorded the image; until then it is scratch, removed with
the pull's scratch dir (or by the next store writer after a crash).
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from sampan.errors import InvalidArgument, UnsafeArchive

QUEUE_CHUNKS = 16   # plain chunks of at most 1 MiB each in flight: memory stays bounded
_EOF = object()
_ABORT = object()


class _Aborted(Exception):
    """The pull gave this layer up; stop extracting quietly."""


class _QueueReader:
    """read(n) over the chunks in a queue: exactly n bytes, fewer only at the end."""

    def __init__(self, q: queue.Queue):
        self._q = q
        self._buf = bytearray()
        self.ended = False       # the producer's end (or abort) was taken from the queue
        self.aborted = False

    def _take(self) -> bool:
        item = self._q.get()
        if item is _EOF or item is _ABORT:
            self.ended = True
            self.aborted = item is _ABORT
            return False
        self._buf += item
        return True

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self._buf) < n) and not self.ended and self._take():
            pass
        if self.aborted:
            raise _Aborted()
        if n < 0 or n >= len(self._buf):
            out = bytes(self._buf)
            self._buf.clear()
        else:
            out = bytes(self._buf[:n])
            del self._buf[:n]
        return out

    def drain(self) -> None:
        """Take what is left without keeping it, so the producer never blocks."""
        self._buf.clear()
        while not self.ended:
            self._take()
            self._buf.clear()


class LayerFeed:
    """write() plain tar bytes; finish() waits for the extraction and raises its error.

    ``staged`` must not exist: it is made (0700) with an empty ``diff/`` inside, the
    layout of ``layers/<chain-id>/`` so that adopting it is one rename.
    """

    def __init__(self, staged: Path, image: bool = False):
        self.dir = Path(staged)
        self.dir.mkdir(0o700)
        (self.dir / "diff").mkdir()   # its mode is the tar's, set by the extractor
        self.image = image            # write an EROFS image (store/erofs_layer.py) instead
        self._q: queue.Queue = queue.Queue(QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self.entries = 0
        self._thread = threading.Thread(target=self._work, name="layer-unpack", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        from sampan.store.unpack import extract_tar
        from sampan.store.unpack_parallel import ParallelExtractor
        reader = _QueueReader(self._q)
        try:
            if self.image:
                from sampan.store.erofs_layer import tar_to_image
                from sampan.store.layers import IMAGE
                self.entries = tar_to_image(reader, self.dir / IMAGE, probe=str(self.dir))
            else:
                self.entries = extract_tar(reader, self.dir / "diff", extractor=ParallelExtractor)
        except _Aborted:
            pass
        except InvalidArgument as e:     # the layer is refused, as UnsafeArchive
            self._error = UnsafeArchive(e.message)
        except BaseException as e:       # a full disk, say: reported to the producer
            self._error = e
        reader.drain()                   # the tar's end padding is part of the diff_id too

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        self._q.put(data)
        return len(data)

    def finish(self) -> None:
        """After the last write: wait until every entry is applied."""
        self._q.put(_EOF)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop the extraction without a result; the caller removes the dir."""
        if self._thread.is_alive():
            self._q.put(_ABORT)
            self._thread.join()


class ProcessLayerFeed:
    """LayerFeed's contract, the extractor in a child process (store/unpack_child.py) fed
    through a pipe: its Python runs beside the pull's threads, not under their GIL."""

    PIPE_BYTES = 1 << 20

    def __init__(self, staged: Path):
        import os
        import subprocess
        import sys
        self.dir = Path(staged)
        self.dir.mkdir(0o700)
        (self.dir / "diff").mkdir()
        here = str(Path(__file__).resolve().parent.parent.parent)   # the sampan we run
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (here, os.environ.get("PYTHONPATH")) if p))
        self._proc = subprocess.Popen(
            [sys.executable, "-s", "-m", "sampan.store.unpack_child",
             str(self.dir / "diff")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, close_fds=True)
        assert self._proc.stdin is not None and self._proc.stdout is not None  # both PIPE
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        try:
            import fcntl
            fcntl.fcntl(self._stdin.fileno(), 1031, self.PIPE_BYTES)   # F_SETPIPE_SZ
        except OSError:
            pass
        self.entries = 0

    def write(self, data: bytes) -> int:
        try:
            self._stdin.write(data)
        except (BrokenPipeError, ValueError):   # the child stopped: it says why
            self._verdict()
            raise UnsafeArchive("the layer unpacker stopped early") from None
        return len(data)

    def _verdict(self) -> None:
        import errno
        try:
            self._stdin.close()
        except OSError:
            pass
        line = self._stdout.read().decode(errors="replace").strip()
        rc = self._proc.wait()
        self._stdout.close()
        kind, _, rest = line.partition(" ")
        if kind == "ok":
            self.entries = int(rest or 0)
            return
        cls, _, rest = rest.partition(" ")
        num, _, msg = rest.partition(" ")
        if cls == "UnsafeArchive":
            raise UnsafeArchive(msg)
        if cls == "PermissionDenied":
            from sampan.errors import PermissionDenied
            raise PermissionDenied(msg)
        if cls == "OSError":
            raise OSError(int(num) if num.isdigit() else errno.EIO, msg)
        raise OSError(errno.EIO, f"the layer unpacker died (exit status {rc})")

    def finish(self) -> None:
        self._verdict()

    def abandon(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for f in (self._stdin, self._stdout):
            try:
                f.close()
            except OSError:
                pass


def make_feed(staged: Path, scratch: Path | None = None):
    """An EROFS image written in a thread where the kernel mounts one, else the extractor
    in a thread, or with SAMPAN_UNPACK=process in a child process."""
    import os
    if os.environ.get("SAMPAN_UNPACK") == "process":
        return ProcessLayerFeed(staged)
    from sampan.store import erofs_mount
    return LayerFeed(staged, image=erofs_mount.supported(scratch))
