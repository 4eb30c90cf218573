"""state/explain.py and the printer: lines only when asked, hostile values escaped."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from sampan.state import explain


def test_nothing_is_written_or_created_when_unset(tmp_path, monkeypatch):
    monkeypatch.delenv(explain.ENV, raising=False)
    explain.explain("step", "text")
    assert not explain.on() and os.listdir(tmp_path) == []


def test_a_writer_never_creates_the_file(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    monkeypatch.setenv(explain.ENV, str(gone))
    explain.explain("step", "text")  # the CLI removed it: nothing, and no error
    assert not gone.exists()


def test_a_symlink_in_place_of_the_file_is_not_followed(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.write_text("")
    os.symlink(target, tmp_path / "lines")
    monkeypatch.setenv(explain.ENV, str(tmp_path / "lines"))
    explain.explain("step", "text")
    assert target.read_text() == ""


def test_control_characters_cannot_forge_a_line(tmp_path, monkeypatch):
    path = tmp_path / "lines"
    path.write_text("")
    monkeypatch.setenv(explain.ENV, str(path))
    explain.explain("layer\n1 2 forged", "a\x1b[2J\nb\tc\x7f")
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    head, text = lines[0].split("\t")
    assert head.endswith(" layer\\x0a1 2 forged") and text == "a\\x1b[2J\\x0ab\\x09c\\x7f"


def test_safe_turns_a_failure_into_words():
    @explain.safe
    def describe(x):
        return x["missing"]

    assert describe({}) == "(cannot describe: KeyError)"


def test_the_printer_shows_each_line_with_its_time_and_waits_for_a_monitor(tmp_path):
    """A child that says @wait, then writes after the command is done: its line is shown."""
    code = f"""
import os, sys, time
sys.path.insert(0, {os.getcwd()!r})
from sampan.cli.explain_print import start
from sampan.state import explain
p = start()
explain.explain("first", "one")
r, w = os.pipe()
if os.fork() == 0:
    explain.explain(explain.WAIT)
    os.write(w, b"x")
    time.sleep(0.3)
    explain.explain("late", "cleanup")
    explain.explain(explain.DONE)
    os._exit(0)
os.read(r, 1)  # as a monitor says @wait before its CLI is done
p.finish()
print(os.environ.get(explain.ENV), os.path.exists(p.directory))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.stdout == "None False\n"  # the variable unset and the file removed afterwards
    lines = r.stderr.splitlines()
    assert [line.split("ms  ", 1)[1] for line in lines] == ["first: one", "late: cleanup"]
    assert all(float(line.split()[0]) >= 0 for line in lines)


def test_the_printer_escapes_raw_bytes_that_reach_the_file(tmp_path):
    code = f"""
import os, sys, time
sys.path.insert(0, {os.getcwd()!r})
from sampan.cli.explain_print import start
from sampan.state import explain
p = start()
with open(os.environ[explain.ENV], "ab") as f:
    f.write(b"%.1f 1 st\\x1bep\\tte\\x07xt\\r\\xff\\n" % (time.time() * 1000))
p.finish()
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert r.stderr.split(b"ms  ", 1)[1] == b"st\\x1bep: te\\x07xt\\x0d\\xff\n"


def test_a_killed_cli_leaves_no_file_behind(tmp_path):
    code = f"""
import os, sys
sys.path.insert(0, {os.getcwd()!r})
from sampan.cli.explain_print import start
p = start()
print(p.directory, p.pid, flush=True)
os.kill(os.getpid(), 9)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    directory, pid = r.stdout.split()
    deadline = time.monotonic() + 20
    while os.path.exists(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(directory)
