"""Snapshot host state that a test could leak: mounts, net namespaces, links,
iptables rules, cgroups and processes whose names mention a marker."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


# a layer kept as an EROFS image is mounted on its diff dir for as long as the layer is in
# the store (store/erofs_mount.py): the store's, not a container's or a test's leak
_LAYER_IMAGE = re.compile(r"/layers/[0-9a-f]{64}/diff$")


def mounts_under(prefix: str, but_layers: bool = False) -> list[str]:
    """Mount points under prefix; but_layers: without the store's layer images."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp.startswith(prefix) and not (but_layers and _LAYER_IMAGE.search(mp)):
                out.append(mp)
    return out


def release_layer_images(prefix: str) -> None:
    """Unmount the layer images of the stores under prefix (a test's roots): the store
    keeps them mounted while the layer exists, and the test is about to delete its root."""
    for mp in sorted((m for m in mounts_under(prefix) if _LAYER_IMAGE.search(m)), reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def cgroups_named(marker: str) -> list[str]:
    found = []
    for base in Path("/sys/fs/cgroup").iterdir():
        for dirpath, dirnames, _ in os.walk(base):
            for d in dirnames:
                if marker in d:
                    found.append(os.path.join(dirpath, d))
            if dirpath.count("/") > 8:
                dirnames[:] = []
    return found


def processes_with(marker: str) -> list[str]:
    found = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd.strip()}")
    return found


def snapshot(root_marker: str) -> dict[str, list[str]]:
    return {
        "mounts": mounts_under(root_marker),
        "netns": sorted(_run("ip", "netns", "list").split("\n")),
        "links": sorted(l.split(":")[1].split("@")[0].strip() for l in _run("ip", "-o", "link").splitlines()
                        if l.count(":") >= 2),
        "iptables": sorted(l for l in _run("iptables-save").splitlines() if not l.startswith(("#", ":"))),
        "processes": processes_with(root_marker),
    }


def start_time(pid: int) -> int:
    """pid's start time (clock ticks since boot); 0 when it is gone or a zombie."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return 0
    fields = data[data.rfind(b")") + 2:].split()
    return 0 if fields[0] == b"Z" else int(fields[19])


def cgroup_processes(cid: str) -> set[tuple[int, int]]:
    """(pid, start time) of every process in container cid's cgroup (sampan's /sampan/<cid>),
    to check later that exactly these processes are gone (a pid alone may be reused)."""
    found = set()
    for procs in Path("/sys/fs/cgroup").glob(f"*/sampan/{cid}/cgroup.procs"):
        for line in procs.read_text().split():
            start = start_time(int(line))
            if start:
                found.add((int(line), start))
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():  # v2: one hierarchy
        procs = Path(f"/sys/fs/cgroup/sampan/{cid}/cgroup.procs")
        if procs.exists():
            found |= {(int(p), start_time(int(p))) for p in procs.read_text().split() if start_time(int(p))}
    return found


def still_alive(processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of cgroup_processes()'s answer that still run (zombies count as gone)."""
    return {(pid, start) for pid, start in processes if start_time(pid) == start}
