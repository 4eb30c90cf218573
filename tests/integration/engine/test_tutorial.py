"""docs/tutorial.md stays true: every command in it runs, in order, and prints what the page
shows (`<placeholder>` matches any text on a line, a `...` line any number of lines, and
spaces any run of spaces)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.cli import SAMPAN
from tests.support.net import free_port

TUTORIAL = Path(__file__).resolve().parents[3] / "docs" / "tutorial.md"


def parse(text: str):
    """Steps in order: ("file", name, content) and ("run", command, expected lines)."""
    steps, lines, i = [], text.splitlines(), 0
    pending_file = None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"<!-- file: (\S+) -->", line)
        if m:
            pending_file = m.group(1)
        elif line.startswith("```"):
            kind = line[3:].strip()
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            body = lines[i + 1:j]
            if pending_file:
                steps.append(("file", pending_file, "\n".join(body) + "\n"))
                pending_file = None
            elif kind == "console":
                for line2 in body:
                    if line2.startswith("$ "):
                        steps.append(("run", line2[2:], []))
                    else:
                        steps[-1][2].append(line2)
            i = j
        i += 1
    return steps


PLACEHOLDERS = {"<id>": r"[0-9a-f]{12,64}", "<digest>": r"[0-9a-f]{64}", "<seconds>": r"[0-9]+\.[0-9]+",
                "<size>": r"[0-9.]+[kMG]?B", "<pid>": r"[0-9]+", "<time>": r"[0-9:]+", "<when>": r".+?"}


def line_pattern(expected: str) -> re.Pattern:
    """Placeholders match what they name; a run of spaces matches any run (table columns
    widen with their content)."""
    parts = re.split(r"(<[a-z ]+>)", expected.rstrip())
    rx = "".join(PLACEHOLDERS[p] if p.startswith("<") else r"\s+".join(map(re.escape, re.split(r"\s+", p)))
                 for p in parts)
    return re.compile(rx + r"\s*")


def matches(expected: list[str], got: list[str]) -> bool:
    if not expected:
        return not got
    if expected[0] == "...":
        return any(matches(expected[1:], got[k:]) for k in range(len(got) + 1))
    return bool(got) and bool(line_pattern(expected[0]).fullmatch(got[0].rstrip())) and \
        matches(expected[1:], got[1:])


def test_every_command_of_the_tutorial_prints_what_it_shows(sampan, busybox_tar, tmp_path):
    work, bin_ = tmp_path / "work", tmp_path / "bin"
    work.mkdir()
    bin_.mkdir()
    shutil.copy(busybox_tar, work / "busybox.tar")
    wrapper = bin_ / "sampan"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(SAMPAN) +
                       f" --root {sampan.root} --runroot {sampan.runroot} \"$@\"\n")
    wrapper.chmod(0o755)
    # the sampan fixture imported busybox already: the tutorial imports it itself
    sampan.ok("rmi", "busybox")
    port = str(free_port())
    env = dict(os.environ, PATH=f"{bin_}:{os.environ['PATH']}", SAMPAN_NO_ZYGOTE="1")
    steps = parse(TUTORIAL.read_text())
    assert sum(1 for s in steps if s[0] == "run") >= 25
    for kind, what, content in steps:
        if kind == "file":
            (work / what).write_text(content)
            continue
        command = what.replace("8080", port)
        expected = [line.replace("8080", port) for line in content]
        p = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        got = (p.stdout + p.stderr).splitlines()
        assert matches(expected, got), f"$ {command}\nexpected:\n" + "\n".join(expected) + \
            "\ngot:\n" + "\n".join(got)
