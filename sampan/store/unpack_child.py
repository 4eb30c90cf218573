"""`python -m sampan.store.unpack_child DEST`: extract the plain layer tar on stdin into
DEST with store/unpack.py, in a process of its own (store/layerfeed.py's process mode).

The extractor is Python between system calls; in its own process it does not wait for the
pulling process's GIL (its download, digest and other layers' threads). The verdict is
one line on stdout: ``ok N`` or ``error CLASS ERRNO MESSAGE`` (CLASS: UnsafeArchive,
PermissionDenied or OSError), read by the parent when stdin is done.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    from sampan.errors import PermissionDenied, SampanError
    from sampan.store.unpack import extract_tar
    from sampan.store.unpack_parallel import ParallelExtractor
    src = sys.stdin.buffer
    try:
        n = extract_tar(src, Path(sys.argv[1]), extractor=ParallelExtractor)
        while src.read(1 << 20):   # the tar's end padding: the parent hashes it, we drain it
            pass
    except PermissionDenied as e:
        verdict = f"error PermissionDenied 0 {e.message}"
    except SampanError as e:       # UnsafeArchive, InvalidArgument: the layer is refused
        verdict = f"error UnsafeArchive 0 {e.message}"
    except OSError as e:
        verdict = f"error OSError {e.errno or 0} {e.strerror or e}: {e.filename or ''}"
    else:
        verdict = f"ok {n}"
    sys.stdout.write(verdict.replace("\n", " ") + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
