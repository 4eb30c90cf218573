"""json-file logs: Docker's record format, line splitting, size-limited rotation, tail."""

import json

from sampan.engine.logs import LogWriter, read_records


def test_records_are_docker_json_file_lines(tmp_path):
    path = tmp_path / "c-json.log"
    w = LogWriter(path)
    w.write("stdout", "héllo \"q\" \\ \x01\tpart".encode())
    w.write("stdout", b"ial\nsecond\n")
    w.write("stderr", b"no newline at the end")
    w.close()
    lines = path.read_text().splitlines()
    recs = [json.loads(l) for l in lines]
    assert [r["log"] for r in recs] == ['héllo "q" \\ \x01\tpartial\n', "second\n", "no newline at the end"]
    assert [r["stream"] for r in recs] == ["stdout", "stdout", "stderr"]
    assert all(r["time"].endswith("Z") and len(r["time"]) == 30 for r in recs)


def test_rotation_bounds_the_disk_and_keeps_the_newest(tmp_path):
    path = tmp_path / "c-json.log"
    w = LogWriter(path, max_size=2000, max_files=3)
    for i in range(500):
        w.write("stdout", f"line {i:04d}\n".encode())
    w.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    recs = read_records(path)
    assert recs[-1]["log"] == "line 0499\n"
    numbers = [int(r["log"].split()[1]) for r in recs]
    assert numbers == sorted(numbers) and numbers == list(range(numbers[0], 500))
    assert [r["log"] for r in read_records(path, tail=2)] == ["line 0498\n", "line 0499\n"]


def test_very_long_line_is_split(tmp_path):
    path = tmp_path / "c-json.log"
    w = LogWriter(path)
    w.write("stdout", b"x" * 40000)
    w.close()
    recs = read_records(path)
    assert "".join(r["log"] for r in recs) == "x" * 40000
    assert max(len(r["log"]) for r in recs) <= 16384


def test_huge_max_files_rotates_in_constant_time(tmp_path):
    path = tmp_path / "c-json.log"
    w = LogWriter(path, max_size=200, max_files=2**62)   # --log-opt max-file=4611686018427387904
    for i in range(20):
        w.write("stdout", f"line {i:04d} ".encode() * 8 + b"\n")
    w.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 20 and "c-json.log.19" in names   # nothing dropped, nothing looped over
    assert "line 0019" in path.read_text() and "line 0000" in (tmp_path / "c-json.log.19").read_text()


def test_log_files_are_private(tmp_path):
    import os
    old = os.umask(0)
    try:
        w = LogWriter(tmp_path / "c-json.log", max_size=100, max_files=3)
        for _ in range(5):
            w.write("stdout", b"x" * 80 + b"\n")
        w.close()
    finally:
        os.umask(old)
    for p in tmp_path.iterdir():
        assert p.stat().st_mode & 0o777 == 0o600, p


def test_a_full_disk_drops_output_whole_records_and_says_so(tmp_path):
    import errno

    class NearlyFull:
        """The log file on a disk with room for 5 more bytes, then none, until freed."""

        def __init__(self, f):
            self.f, self.room = f, 5

        def write(self, data):
            if self.room is None:
                return self.f.write(data)
            if not self.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            n, self.room = self.f.write(bytes(data[:self.room])), 0
            return n

        def __getattr__(self, name):
            return getattr(self.f, name)

    path = tmp_path / "c-json.log"
    w = LogWriter(path)
    w.write("stdout", b"before\n")
    w._f = disk = NearlyFull(w._f)
    w.write("stdout", b"lost 1\nlost 2\n")  # the container writes on: no exception reaches it
    disk.room = None  # space again
    w.write("stdout", b"after\n")
    w.close()
    recs = [json.loads(line) for line in path.read_text().splitlines()]  # every line whole
    assert [r["log"] for r in recs] == [
        "before\n", f"sampan: 14 bytes of output were not logged: the disk was full ({path})\n", "after\n"]
    assert recs[1]["stream"] == "stderr"
