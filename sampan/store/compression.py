"""Streaming (de)compression for layer tars: sniff the magic bytes, never trust names.

Readers here are minimal file-like objects (``read(n)``) so tarfile's stream
mode and our hashers can sit on top without loading a layer into memory.
zlib, bz2, lzma and subprocess are imported only when a stream needs them: this
module is on the import path of ``run``.
"""

from __future__ import annotations

from sampan.errors import InvalidArgument

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import BinaryIO, Protocol

    class Readable(Protocol):
        def read(self, n: int = -1) -> bytes: ...
else:
    Readable = object  # structural: anything with read(n)

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def sniff(head: bytes) -> str:
    """'gzip', 'bzip2', 'xz', 'zstd' or 'none' from the first bytes of a stream."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class PrefixedReader:
    """Give back bytes already read (for sniffing) before the rest of the stream."""

    def __init__(self, prefix: bytes, rest: Readable):
        self._prefix = prefix
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n < 0 or n >= len(self._prefix):
                out, self._prefix = self._prefix, b""
                more = self._rest.read(-1 if n < 0 else n - len(out))
                return out + (more or b"")
            out, self._prefix = self._prefix[:n], self._prefix[n:]
            return out
        return self._rest.read(n)


class _DecompressReader:
    """Drive a zlib/bz2/lzma-style decompressor object as a stream.

    Concatenated members (pigz, ``cat a.gz b.gz``) are followed, as gzip(1) does.
    """

    def __init__(self, src: Readable, new_decompressor, what: str,
                 errors: tuple[type[BaseException], ...] | None = None):
        if errors is None:
            import zlib
            errors = (zlib.error,)
        self._src = src
        self._errors = errors + (OSError, EOFError)
        self._new = new_decompressor
        self._d = new_decompressor()
        self._buf = b""
        self._pos = 0  # read offset into _buf: slicing a big buffer per read is quadratic
        self._eof = False
        self._what = what

    def _fill(self, want: int) -> None:
        if self._pos:
            self._buf, self._pos = self._buf[self._pos:], 0
        while not self._eof and len(self._buf) < want:
            d = self._d
            data = getattr(d, "unconsumed_tail", b"") or b""
            if not data:
                data = self._src.read(CHUNK)
            if not data:
                if not d.eof:
                    raise InvalidArgument(f"truncated {self._what} stream")
                self._eof = True
                break
            try:
                out = d.decompress(data, max(want - len(self._buf), CHUNK))
            except self._errors as e:
                raise InvalidArgument(f"corrupt {self._what} stream: {e}") from None
            self._buf += out
            if d.eof:
                rest = d.unused_data
                if not rest:
                    rest = self._src.read(CHUNK)
                if not rest or not rest.strip(b"\0") and self._only_zeros_left(rest):
                    self._eof = True  # gzip(1) also ignores zero padding after the last member
                    break
                self._d = self._new()
                self._prepend(rest)

    def _only_zeros_left(self, seen: bytes) -> bool:
        while chunk := self._src.read(CHUNK):
            if chunk.strip(b"\0"):
                raise InvalidArgument(f"corrupt {self._what} stream: garbage after the end")
        return True

    def _prepend(self, data: bytes) -> None:
        self._src = PrefixedReader(data, self._src)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts: list[bytes] = []
            while True:
                chunk = self.read(CHUNK)
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        if len(self._buf) - self._pos < n:
            self._fill(n)
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        return out


class _Bz2Adapter:
    """bz2/lzma decompressors take max_length as a keyword and have no unconsumed_tail."""

    def __init__(self, d):
        self._d = d
        self._pending = b""

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    @property
    def unconsumed_tail(self) -> bytes:
        return b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        # Feed everything at once; these codecs buffer input internally.
        return self._d.decompress(data)


class _ProcessReader:
    """Decompress through an external program (zstd), fed from a thread."""

    def __init__(self, src: Readable, argv: list[str]):
        import subprocess
        import threading
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr  # all three are PIPEs
        self._stdin, self._stdout, self._stderr = self._proc.stdin, self._proc.stdout, self._proc.stderr
        self._feed_error: BaseException | None = None
        self._thread = threading.Thread(target=self._feed, args=(src,), daemon=True)
        self._thread.start()
        self._argv0 = argv[0]

    def _feed(self, src: Readable) -> None:
        try:
            while chunk := src.read(CHUNK):
                self._stdin.write(chunk)
        except BaseException as e:  # reported by read() at EOF
            self._feed_error = e
        finally:
            try:
                self._stdin.close()
            except OSError:
                pass

    def read(self, n: int = -1) -> bytes:
        data = self._stdout.read(n)
        if n != 0 and not data:
            self._finish()
        return data

    def _finish(self) -> None:
        self._thread.join()
        err = self._stderr.read().decode(errors="replace").strip()
        rc = self._proc.wait()
        if self._feed_error is not None:
            raise self._feed_error
        if rc != 0:
            raise InvalidArgument(f"corrupt zstd stream: {err.splitlines()[-1] if err else rc}")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._thread.join()
        for f in (self._stdout, self._stderr):
            f.close()


def decompressing_reader(src: Readable, kind: str) -> Readable:
    if kind == "none":
        return src
    if kind == "gzip":
        import zlib
        return _DecompressReader(src, lambda: zlib.decompressobj(31), "gzip")
    if kind == "bzip2":
        import bz2
        return _DecompressReader(src, lambda: _Bz2Adapter(bz2.BZ2Decompressor()), "bzip2")
    if kind == "xz":
        import lzma
        return _DecompressReader(src, lambda: _Bz2Adapter(lzma.LZMADecompressor()), "xz",
                                 (lzma.LZMAError,))
    if kind == "zstd":
        import shutil
        exe = shutil.which("zstd")
        if not exe:
            raise InvalidArgument("this tar is zstd-compressed and the `zstd` program is not "
                                  "installed; install zstd or decompress it first")
        return _ProcessReader(src, [exe, "-d", "-c", "-q"])
    raise InvalidArgument(f"unknown compression {kind!r}")


def open_decompressed(src: BinaryIO | Readable) -> tuple[Readable, str]:
    """Sniff src's compression and return (plain stream, kind)."""
    head = src.read(8) or b""
    kind = sniff(head)
    return decompressing_reader(PrefixedReader(head, src), kind), kind


def close_reader(r: Readable) -> None:
    close = getattr(r, "close", None)
    if isinstance(r, _ProcessReader) and close:
        close()

