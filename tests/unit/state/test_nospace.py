"""A full disk, from whichever layer it is met, becomes one NoSpace line naming a path."""

import errno
import sqlite3

import pytest

from sampan.errors import NoSpace
from sampan.state.nospace import no_space, require_free


def test_enospc_names_its_file_or_the_first_dir():
    e = no_space(OSError(errno.ENOSPC, "No space left on device", "/root/x/config.json"), ["/root"])
    assert isinstance(e, NoSpace) and e.message == "no space left on device: /root/x/config.json"
    assert e.exit_code == 125
    # os.write names no file: the command's first dir stands in (none is nearly full here)
    assert no_space(OSError(errno.ENOSPC, "x"), ["/var/lib/somewhere"]).message == \
        "no space left on device: /var/lib/somewhere"
    assert no_space(OSError(errno.EDQUOT, "x", "/q/f")).message == "disk quota exceeded: /q/f"


def test_other_errors_are_not_a_full_disk():
    assert no_space(OSError(errno.EACCES, "x", "/f")) is None
    assert no_space(ValueError("no space left on device")) is None
    err = sqlite3.OperationalError("database is locked")
    err.sqlite_errorcode = 5  # SQLITE_BUSY
    assert no_space(err, db="/root/sampan.db") is None


def test_sqlite_full_names_the_database(tmp_path):
    err = sqlite3.OperationalError("database or disk is full")
    err.sqlite_errorcode = 13
    assert no_space(err, db="/root/sampan.db").message == "no space left on device: /root/sampan.db"
    # an I/O error is put down to space only when the database's filesystem is nearly full
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = 10 | (19 << 8)  # SQLITE_IOERR_SHMSIZE
    assert no_space(io, db=str(tmp_path / "sampan.db")) is None


def test_require_free(tmp_path):
    require_free(tmp_path, 1)
    with pytest.raises(NoSpace, match=rf"^no space left on device: {tmp_path} \(\d+ KiB free; "):
        require_free(tmp_path, 1 << 62)
