"""Check a layer blob as it streams by: its digest and size, and its diff_id (the sha256 of
the uncompressed tar) within a size budget, so a decompression bomb stops early.

Shared by registry pulls and archive loads (both sit above oci). Compression is found from
the first bytes (gzip, zstd, or plain tar), not trusted from a media type.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from types import ModuleType

from sampan.errors import DigestMismatch

_inflate: ModuleType = zlib  # same API and output as ISA-L's: only slower
_INFLATE_ERRORS: tuple[type[BaseException], ...] = (zlib.error,)
try:  # Intel's ISA-L inflates gzip ~1.8x as fast as zlib here (python-isal, a dependency)
    from isal import isal_zlib
    _inflate, _INFLATE_ERRORS = isal_zlib, (zlib.error, getattr(isal_zlib, "error"))  # its stub calls it an instance
except ImportError:
    pass

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_STEP = 1 << 20   # bound the output of one decompress call


class LayerTooLarge(DigestMismatch):
    """Uncompressed layer exceeded the budget (a decompression bomb, or a huge layer)."""


class _Sink:
    """Receives uncompressed bytes: hashes them, enforces the budget, and hands them on to
    tee (a pull's extractor) when there is one, so the layer is decompressed only once."""

    def __init__(self, budget: int, tee: Callable[[bytes], object] | None = None):
        self.sha = hashlib.sha256()
        self.size = 0
        self.budget = budget
        self.tee = tee

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.budget:
            raise LayerTooLarge(f"layer expands past {self.budget} bytes uncompressed; refused "
                                f"(raise SAMPAN_MAX_LAYER_SIZE if this image is genuine)")
        self.sha.update(data)
        if self.tee is not None and data:
            self.tee(data)
        return len(data)


class _Gunzip:
    """Multi-member gzip, output bounded per step."""

    def __init__(self, sink: _Sink):
        self.sink = sink
        self.d = _inflate.decompressobj(wbits=31)
        self.mid_member = False

    def write(self, data: bytes) -> None:
        while True:
            self.mid_member = True
            try:
                out = self.d.decompress(data, _STEP)
            except _INFLATE_ERRORS as e:
                raise DigestMismatch(f"layer is not a valid gzip stream: {e}") from None
            self.sink.write(out)
            if self.d.eof:
                self.mid_member = False
                data = self.d.unused_data
                self.d = _inflate.decompressobj(wbits=31)
                if not data:
                    return
                if not data.startswith(GZIP_MAGIC):
                    if data.strip(b"\0"):   # tar-style zero padding is tolerated
                        raise DigestMismatch("layer has trailing garbage after its gzip stream")
                    return
                continue
            data = self.d.unconsumed_tail
            if not data and len(out) < _STEP:   # a full step may leave output pending
                return

    def close(self) -> None:
        self.sink.write(self.d.flush())
        if self.mid_member and not self.d.eof:
            raise DigestMismatch("layer is a truncated gzip stream")


class _Unzstd:
    def __init__(self, sink: _Sink):
        import zstandard  # only zstd layers pay for it

        self._writer = zstandard.ZstdDecompressor().stream_writer(sink,  # type: ignore[arg-type]  # writes only
                                                                  write_size=_STEP,
                                                                  closefd=False)
        self._zerr = zstandard.ZstdError

    def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
        except self._zerr as e:
            raise DigestMismatch(f"layer is not a valid zstd stream: {e}") from None

    def close(self) -> None:
        try:
            self._writer.flush()
        except self._zerr as e:
            raise DigestMismatch(f"layer is not a valid zstd stream: {e}") from None


class LayerDigester:
    """Feed a layer's bytes with update(); finish() returns (digest, size, diff_id, compression).

    expected_size: stop as soon as more bytes arrive than declared.
    budget: the most uncompressed bytes accepted.
    tee: called with every uncompressed chunk once it is hashed and within the budget.
    """

    def __init__(self, expected_size: int | None = None, budget: int = 1 << 40,
                 tee: Callable[[bytes], object] | None = None):
        self.sha = hashlib.sha256()
        self.size = 0
        self.expected_size = expected_size
        self.sink = _Sink(budget, tee)
        self.compression: str | None = None
        self._dec: _Gunzip | _Unzstd | _Sink | None = None
        self._head = b""

    def update(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.expected_size is not None and self.size > self.expected_size:
            raise DigestMismatch(f"blob is larger than its declared {self.expected_size} bytes")
        self.sha.update(data)
        if self._dec is None:
            self._head += data
            if len(self._head) < 4:
                return
            data, self._head = self._head, b""
            self._start(data)
        assert self._dec is not None  # _start made it
        self._dec.write(data)

    def _start(self, head: bytes) -> None:
        if head.startswith(GZIP_MAGIC):
            self.compression, self._dec = "gzip", _Gunzip(self.sink)
        elif head.startswith(ZSTD_MAGIC):
            self.compression, self._dec = "zstd", _Unzstd(self.sink)
        else:
            self.compression, self._dec = None, self.sink

    def finish(self) -> tuple[str, int, str, str | None]:
        if self._dec is None:
            head, self._head = self._head, b""
            self._start(head)
            assert self._dec is not None  # _start made it
            self._dec.write(head)
        if isinstance(self._dec, (_Gunzip, _Unzstd)):
            self._dec.close()
        digest = "sha256:" + self.sha.hexdigest()
        return digest, self.size, "sha256:" + self.sink.sha.hexdigest(), self.compression
