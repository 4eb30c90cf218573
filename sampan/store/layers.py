"""Layers: make layer blobs from tars or upper dirs, and unpack blobs once per chain id.

Unpacked layers live in ``layers/<chain-id hex>/diff``; the file
``layers/<hex>/complete`` is written last, so a directory without it is the
leftover of a crash and is redone. A per-layer lock keeps two processes from
unpacking the same layer at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from sampan.errors import DigestMismatch, InvalidArgument, NotFound, StoreCorrupt, UnsafeArchive
from sampan.oci.digest import digest_hex
from sampan.oci.image import OCI_LAYER_GZIP
from sampan.state.atomic import atomic_write_bytes, fsync_dir
from sampan.state.lock import file_lock
from sampan.state.paths import Paths
from sampan.store.blobs import BlobStore
from sampan.store.types import LayerRef

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.store.compression import Readable
    from typing import BinaryIO

# tarfile and the extract/diff modules are imported inside the functions that use
# them: ImageStore is on the `run` path, where layers are normally unpacked already.

CHUNK = 1 << 20
COMPLETE = "complete"
IMAGE = "layer.erofs"   # the layer as an EROFS image, mounted on diff/ (store/erofs_mount.py)
GZIP_LEVEL = 1  # 3x faster than 6 on binaries for ~6% more bytes: commits and builds wait on it


class HashingReader:
    """Hash and count everything read through it (diff_id of a decompressed layer)."""

    def __init__(self, src: Readable):
        self._src = src
        import hashlib  # not at module top: `run` imports this module and hashes nothing
        self._h = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        self._h.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._h.hexdigest()


class LayerSink:
    """A writable that gzips a layer tar into a temp blob, hashing both sides."""

    def __init__(self, blobs: BlobStore, level: int = GZIP_LEVEL):
        self._blobs = blobs
        fd, self._tmp = blobs._temp()
        self._f = os.fdopen(fd, "wb")
        import hashlib
        import zlib
        self._diff = hashlib.sha256()
        self._comp = hashlib.sha256()
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)  # gzip wrapper, mtime 0
        self.usize = 0
        self.csize = 0

    def write(self, data: bytes) -> int:
        self._diff.update(data)
        self.usize += len(data)
        self._emit(self._z.compress(data))
        return len(data)

    def _emit(self, out: bytes) -> None:
        if out:
            self._comp.update(out)
            self.csize += len(out)
            self._f.write(out)

    def commit(self) -> LayerRef:
        try:
            self._emit(self._z.flush())
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            digest = "sha256:" + self._comp.hexdigest()
            if self._blobs.has(digest):
                os.unlink(self._tmp)
            else:
                self._blobs.commit_temp(self._tmp, digest)
        except BaseException as e:
            self.abort(e)
            raise
        return LayerRef("sha256:" + self._diff.hexdigest(), digest, self.csize, OCI_LAYER_GZIP,
                        self.usize)

    def abort(self, exc: BaseException | None = None) -> None:
        try:
            if not self._f.closed:
                self._f.close()
        except OSError:
            pass  # its buffered bytes could not be written (a full disk): the file goes anyway
        finally:
            Path(self._tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = self._tmp  # a write names no file: say where


class _Tee:
    """Pass every byte read from src into sink as well."""

    def __init__(self, src: Readable, sink: LayerSink):
        self._src, self._sink = src, sink

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        if data:
            self._sink.write(data)
        return data


def check_entries(stream: Readable, scratch: Path) -> None:
    """Refuse (UnsafeArchive) a plain layer tar whose entries the extractor would refuse,
    so a bad layer is refused as it enters the store, not at its first `run`. Reads the
    stream to the tar's end. scratch: a dir on the store's filesystem for the xattr probe."""
    import shutil
    import tarfile
    from sampan.store.tarpath import ShapeChecker
    from sampan.store.tempfiles import temp_name
    probe = scratch / temp_name("probe")
    probe.mkdir(0o700, parents=True)
    try:
        shape = ShapeChecker(str(probe))
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]  # a reader is all r| needs
                for ti in tar:
                    shape.check(ti)
            shape.finish()
        except tarfile.TarError as e:
            raise InvalidArgument(f"not a valid tar archive: {e}") from None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def check_layer_blob(fileobj: BinaryIO, scratch: Path) -> None:
    """check_entries on a layer as stored or shipped (gzip, zstd or plain)."""
    from sampan.store.compression import close_reader, open_decompressed
    plain, _kind = open_decompressed(fileobj)
    try:
        check_entries(plain, scratch)
    finally:
        close_reader(plain)


def layer_from_tar(blobs: BlobStore, fileobj: Readable) -> LayerRef:
    """Store an uncompressed tar stream as a gzip layer blob, checking its entries."""
    sink = LayerSink(blobs)
    try:
        tee = _Tee(fileobj, sink)
        check_entries(tee, blobs.paths.tmp)
        while tee.read(CHUNK):  # trailing padding belongs to the diff_id too
            pass
    except BaseException as e:
        sink.abort(e)
        raise
    return sink.commit()


def layer_from_dir(blobs: BlobStore, upper: Path) -> LayerRef | None:
    from sampan.store.upperdiff import upper_has_changes, write_upper_tar
    if not upper_has_changes(upper):
        return None
    sink = LayerSink(blobs)
    try:
        write_upper_tar(upper, sink)
    except BaseException as e:
        sink.abort(e)
        raise
    return sink.commit()


def _syncfs(fd: int) -> None:
    import ctypes  # only on the (rare) unpack path
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syncfs(fd)


class LayerUnpacker:
    def __init__(self, paths: Paths, blobs: BlobStore):
        self.paths = paths
        self.blobs = blobs

    def layer_dir(self, chain_id: str) -> Path:
        return self.paths.layers / digest_hex(chain_id)

    def diff_dir(self, chain_id: str) -> Path:
        return self.layer_dir(chain_id) / "diff"

    def is_complete(self, chain_id: str) -> bool:
        return os.path.exists(self.layer_dir(chain_id) / COMPLETE)

    def _lock(self, chain_id: str):
        return file_lock(self.paths.locks / f"layer-{digest_hex(chain_id)}.lock")

    def _claim(self, chain_id: str) -> Path | None:
        """Under the layer's lock: None when the layer is complete, else its dir's path,
        cleared of what a crash left half done."""
        if self.is_complete(chain_id):
            return None
        d = self.layer_dir(chain_id)
        if d.exists():
            import shutil
            self._unmount(d)
            shutil.rmtree(d)
        return d

    def ready_dir(self, chain_id: str) -> Path:
        """The complete layer's diff dir, its image mounted there first if it is one (after
        a reboot, or when another mount namespace made the mount). A stat when it is not."""
        d = self.layer_dir(chain_id)
        diff = d / "diff"
        if not os.path.exists(d / IMAGE):
            return diff
        from sampan.store import erofs_mount
        if not erofs_mount.is_mounted(diff):
            with self._lock(chain_id):
                if not erofs_mount.is_mounted(diff):
                    erofs_mount.mount(d / IMAGE, diff)
        return diff

    @staticmethod
    def _unmount(d: Path) -> None:
        if os.path.exists(d / IMAGE):
            from sampan.store import erofs_mount
            erofs_mount.unmount(d / "diff")

    def ensure(self, layer: LayerRef, chain_id: str, as_dir: bool = False) -> int | None:
        """Unpack layer into its chain-id dir unless done: an EROFS image where the kernel
        mounts one (unless as_dir), else a directory tree. Returns the tar size if unpacked now."""
        import shutil
        with self._lock(chain_id):
            d = self._claim(chain_id)
            if d is None:
                return None
            d.mkdir(0o700)
            (d / "diff").mkdir()  # its mode is the tar's, set by the extractor (or the mount's)
            try:
                from sampan.store import erofs_mount
                image = None if as_dir or not erofs_mount.supported(self.paths.tmp) else d / IMAGE
                size = self._extract(layer, d / "diff", image)
                self.sync(d)  # the files' data must be on disk before the marker is
                atomic_write_bytes(d / COMPLETE, f"{layer.diff_id}\n".encode())
            except BaseException:
                shutil.rmtree(d, ignore_errors=True)
                raise
            return size

    def adopt(self, layer: LayerRef, chain_id: str, diff: Path) -> bool:
        """Take `diff` (moved, same filesystem), a directory that holds exactly what `layer`
        unpacks to in overlay form (a build step's upper dir, which the layer was just
        made from), as the layer's unpacked dir: no extraction of the tar just written.
        False (and `diff` left alone) when the layer is unpacked already."""
        import shutil
        with self._lock(chain_id):
            d = self._claim(chain_id)
            if d is None:
                return False
            d.mkdir(0o700)
            try:
                os.rename(diff, d / "diff")
                self.sync(d)  # the files' data must be on disk before the marker is
                # the marker's own fsyncs buy nothing: lost in a crash, the layer is only
                # unpacked again from its blob (is_complete asks whether the file exists)
                atomic_write_bytes(d / COMPLETE, f"{layer.diff_id}\n".encode(), durable=False)
            except BaseException:
                if (d / "diff").exists() and not diff.exists():
                    os.rename(d / "diff", diff)  # the caller still owns it
                shutil.rmtree(d, ignore_errors=True)
                raise
            return True

    def _extract(self, layer: LayerRef, dest: Path, image: Path | None = None) -> int:
        from sampan.store.unpack import extract_tar
        try:
            f: BinaryIO = self.blobs.open(layer.digest)
        except NotFound:
            raise StoreCorrupt(f"layer blob {layer.digest} is missing from the store; remove "
                               "the image and pull or import it again") from None
        with f:
            from sampan.store.compression import close_reader, open_decompressed

            plain, _kind = open_decompressed(f)
            try:
                hr = HashingReader(plain)
                try:
                    if image is not None:
                        from sampan.store.erofs_layer import tar_to_image
                        tar_to_image(hr, image, probe=str(image.parent))
                    else:
                        extract_tar(hr, dest)
                    hr.drain()
                except InvalidArgument as e:
                    raise UnsafeArchive(f"layer {layer.digest}: {e}") from None
            finally:
                close_reader(plain)
        if hr.digest != layer.diff_id:
            raise DigestMismatch(f"layer {layer.digest} unpacks to {hr.digest}, not its "
                                 f"diff_id {layer.diff_id}")
        return hr.size

    def adopt_staged(self, staged: Path, chain_id: str, diff_id: str) -> bool:
        """Make a dir unpacked elsewhere on this filesystem (a pull's store/layerfeed.py:
        ``staged/diff``, its data already synced) the layer of chain_id: marker in, then
        one rename. False (staged left to its owner) when the layer is there already."""
        with self._lock(chain_id):
            d = self._claim(chain_id)
            if d is None:
                return False
            atomic_write_bytes(Path(staged) / COMPLETE, f"{diff_id}\n".encode())
            os.rename(staged, d)
            fsync_dir(self.paths.layers)
            return True

    @staticmethod
    def sync(path: Path) -> None:
        """Flush the filesystem holding path: unpacked files reach the disk before a
        marker says they are complete (one syncfs for all of a pull's layers)."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _syncfs(fd)
        finally:
            os.close(fd)

    def remove(self, chain_id: str) -> bool:
        """Delete an unpacked layer: marker first, so a crash leaves a dir that is redone."""
        import shutil
        d = self.layer_dir(chain_id)
        with self._lock(chain_id):
            if not d.exists():
                return False
            self._unmount(d)   # containers using it keep it: overlay holds its own reference
            (d / COMPLETE).unlink(missing_ok=True)
            fsync_dir(d)
            shutil.rmtree(d, ignore_errors=True)
            return True

    def all_chain_ids(self) -> list[str]:
        try:
            return ["sha256:" + n for n in os.listdir(self.paths.layers) if len(n) == 64]
        except FileNotFoundError:
            return []
