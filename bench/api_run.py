#!/usr/bin/env python3
"""`docker run --rm busybox true` through sampan's API (`sampan system service`) beside the
same through dockerd, and each server's idle memory. Run as root from the repository:

    .venv/bin/python bench/api_run.py [-n 20]

Two measures of a run, median of N each:
  cli: the docker CLI's `docker run --rm busybox true` (it attaches to the output: on
       sampan this needs the attach endpoint; without it that row says so);
  api: the same calls without the CLI's start-up cost, from docker-py: create with
       AutoRemove, wait for condition=removed (in place before the start), start.
Idle memory: RSS and PSS of the service after the runs (with the children it forked for
calls, none when idle), beside dockerd's plus its containerd's.

dockerd is started here on its own --data-root/--exec-root/--pidfile and unix socket in
/tmp (never the system's), loaded with the same busybox, and stopped afterwards; its
bridge, iptables chains and mounts are removed and the machine is checked to be as found
(iptables-save, ip link, mounts, no dockerd or containerd left). --no-docker skips it.
Asserts nothing; prints figures and the issue's goals (3x faster, half the memory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SAMPAN, SampanBench, env_note, median_ms, pss_kib

CLI = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker") or "docker"


# ---- measuring ----

def wait_listening(path: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited {proc.returncode} before it listened")
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
                return
            except OSError:
                time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on {path} within {timeout} s")


class Target:
    """One server and the two ways of running a container through it."""

    def __init__(self, name: str, host: str, config: str) -> None:
        import docker
        self.name, self.host = name, host
        self.env = dict(os.environ, DOCKER_HOST=host, DOCKER_CONFIG=config)
        self.client = docker.DockerClient(base_url=host, version="1.41")
        self.hc = self.client.api.create_host_config(auto_remove=True)
        self.times: dict[str, list[float] | str] = {"cli": [], "api": []}

    def cli_once(self) -> None:
        p = subprocess.run([CLI, "run", "--rm", "busybox", "true"], capture_output=True, text=True,
                           env=self.env, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}")

    def api_once(self) -> None:
        """As the CLI's `run --rm`: the wait is in place (its answer's head is in) before
        the start, or an --rm container may be gone before the wait looks for it."""
        api = self.client.api
        cid = api.create_container("busybox", ["true"], host_config=self.hc)["Id"]
        waiting = api._post(api._url("/containers/{0}/wait", cid), params={"condition": "removed"}, stream=True)
        try:
            api._raise_for_status(waiting)
            api.start(cid)
            code = json.loads(waiting.content)["StatusCode"]
        finally:
            waiting.close()
        if code != 0:
            raise RuntimeError(f"exit {code}")

    def timed(self, what: str) -> None:
        """One run, added to the figures; a failure replaces them with its message."""
        if isinstance(self.times[what], str):
            return
        t0 = time.perf_counter()
        try:
            getattr(self, f"{what}_once")()
        except Exception as e:
            self.times[what] = f"failed: {e}"
            return
        self.times[what].append(time.perf_counter() - t0)


def measure(targets: list[Target], n: int) -> None:
    """Two warm-up runs each, then n rounds in which every target runs once in turn: the
    load other processes put on the machine drifts, and this spreads it evenly."""
    for what in ("cli", "api"):
        for t in targets:
            for _ in range(2):
                t.timed(what)
            if not isinstance(t.times[what], str):
                t.times[what] = []
        for _ in range(n):
            for t in targets:
                t.timed(what)


def rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(x) for x in open(f"/proc/{p}/task/{p}/children").read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def memory(pids: list[int]) -> tuple[float, float]:
    """(RSS, PSS) summed over pids, in MiB."""
    return sum(rss_kib(p) for p in pids) / 1024, sum(pss_kib(p) for p in pids) / 1024


# ---- the machine as found ----

def snapshot() -> dict:
    def run(*argv: str) -> str:
        p = subprocess.run(argv, capture_output=True, text=True)
        return p.stdout if p.returncode == 0 else ""
    links = {line.split(":")[1].strip().split("@")[0] for line in run("ip", "-o", "link").splitlines()}
    v4, v6 = run("iptables-save"), run("ip6tables-save")
    tables = {f"{cmd} {line}" for cmd, dump in (("iptables", v4), ("ip6tables", v6))
              for line in dump.splitlines() if line.startswith("*")}
    return {"iptables": _docker_lines(v4), "ip6tables": _docker_lines(v6), "tables": tables,
            "links": links, "mounts": set(open("/proc/self/mountinfo").read().splitlines())}


def _docker_lines(rules: str) -> set[str]:
    """Only what Docker writes (other processes on this machine change the rest meanwhile)."""
    return {line for line in rules.splitlines() if "DOCKER" in line or "docker0" in line}


def _remove_docker_rules(cmd: str) -> None:
    """Docker's jumps and rules out of the built-in chains, then its own chains."""
    table = None
    dump = subprocess.run([f"{cmd}-save"], capture_output=True, text=True).stdout
    chains: list[tuple[str, str]] = []
    rules: list[tuple[str, list[str]]] = []
    for line in dump.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":DOCKER"):
            chains.append((table, line[1:].split()[0]))
        elif line.startswith("-A ") and ("DOCKER" in line or "docker0" in line) and not line.startswith("-A DOCKER"):
            rules.append((table, line.split()[1:]))
    for table, spec in rules:
        subprocess.run([cmd, "-t", table, "-D", *_unquote(spec)], capture_output=True)
    for table, chain in chains:
        subprocess.run([cmd, "-t", table, "-F", chain], capture_output=True)
    for table, chain in chains:
        subprocess.run([cmd, "-t", table, "-X", chain], capture_output=True)


def _unquote(spec: list[str]) -> list[str]:
    import shlex
    return shlex.split(" ".join(spec))


def _remove_cgroups(name: str = "docker") -> None:
    for hier in Path("/sys/fs/cgroup").iterdir():
        d = hier / name
        if d.is_dir():
            for sub in sorted(d.rglob("*"), key=lambda p: -len(p.parts)):
                if sub.is_dir():
                    try:
                        sub.rmdir()
                    except OSError:
                        pass
            try:
                d.rmdir()
            except OSError:
                pass


class Dockerd:
    """A dockerd of our own, in a temporary directory."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sbd-"))
        self.sock = str(self.dir / "d.sock")
        self.host = f"unix://{self.sock}"
        (self.dir / "daemon.json").write_text("{}")
        self.config = self.dir / "cfg"
        self.config.mkdir()
        # --iptables=false: no published ports here, so Docker's rules would only be made once at
        # start (not per run), and with iptables-nft the tables they need cannot be removed again.
        # --ip-forward=false: leave the sysctl and the FORWARD policy as they are.
        argv = ["dockerd", "--config-file", str(self.dir / "daemon.json"), "--data-root", str(self.dir / "data"),
                "--exec-root", str(self.dir / "x"), "--pidfile", str(self.dir / "d.pid"), "-H", self.host,
                "--iptables=false", "--ip6tables=false", "--ip-forward=false"]
        self.log = open(self.dir / "dockerd.log", "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        wait_listening(self.sock, self.proc, "dockerd")

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([CLI, *args], capture_output=True, text=True,
                              env=dict(os.environ, DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.config)))

    def pids(self) -> list[int]:
        return [self.proc.pid] + descendants(self.proc.pid)

    def stop(self) -> None:
        ids = self.docker("ps", "-aq").stdout.split()
        if ids:
            self.docker("rm", "-f", *ids)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        deadline = time.monotonic() + 10
        while _running("containerd", self.dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in _running("containerd", self.dir):
            os.kill(pid, signal.SIGKILL)
        # mounts under our directory, deepest first
        ours = [line.split()[4] for line in open("/proc/self/mountinfo") if line.split()[4].startswith(str(self.dir))]
        for mnt in sorted(ours, key=len, reverse=True):
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        subprocess.run(["ip", "link", "del", "docker0"], capture_output=True)
        _remove_docker_rules("iptables")
        _remove_docker_rules("ip6tables")
        _remove_cgroups()
        shutil.rmtree(self.dir, ignore_errors=True)


def _running(name: str, marker: Path) -> list[int]:
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                argv = open(f"/proc/{d}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if name in argv.split("\0")[0] and str(marker) in argv:
                found.append(int(d))
    return found


def left_behind(before: dict, after: dict) -> list[str]:
    problems = []
    for key in ("iptables", "ip6tables", "tables"):
        extra = after[key] - before[key]
        if extra:
            problems.append(f"{key}: {sorted(extra)[:3]}")
    # only Docker's: sampan's tests running meanwhile make and remove veths of their own
    links = {name for name in after["links"] - before["links"] if name == "docker0" or name.startswith("br-")}
    if links:
        problems.append(f"links: {sorted(links)}")
    extra_mounts = [m for m in after["mounts"] - before["mounts"] if "sbd-" in m or "docker" in m]
    if extra_mounts:
        problems.append(f"mounts: {extra_mounts[:3]}")
    for name in ("dockerd", "containerd"):
        if subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0:
            problems.append(f"a {name} runs")
    return problems


# ---- the bench ----

def start_sampan(b: SampanBench) -> tuple[subprocess.Popen, Target]:
    b.import_busybox()
    sock = str(b.base / "api.sock")
    service = subprocess.Popen(
        [SAMPAN, "--root", str(b.root), "--runroot", str(b.runroot), "system", "service", "--time", "0",
         f"unix://{sock}"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(b.base / "service.log", "wb"), env=dict(os.environ, SAMPAN_NO_ZYGOTE="1"))
    wait_listening(sock, service, "sampan system service")
    config = b.base / "docker-config"
    config.mkdir()
    return service, Target("sampan", f"unix://{sock}", str(config))


def start_dockerd() -> tuple[Dockerd, Target]:
    d = Dockerd()
    bb = Path(tempfile.mkdtemp(prefix="sbd-tar-"))
    try:
        from tests.support.busybox import write_busybox_tar
        t = write_busybox_tar(bb / "busybox.tar")
        r = d.docker("import", "--change", 'CMD ["sh"]', str(t), "busybox:latest")
        if r.returncode != 0:
            raise SystemExit(f"docker import failed: {r.stderr.strip()}")
    finally:
        shutil.rmtree(bb, ignore_errors=True)
    return d, Target("dockerd", d.host, str(d.config))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=20, help="runs per measure (median; default 20)")
    ap.add_argument("--no-docker", action="store_true", help="measure sampan alone")
    ns = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("api_run: run as root")
    with_docker = not ns.no_docker and shutil.which("dockerd") is not None
    if with_docker and subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0:
        print("a dockerd runs already: not starting another (its figures are left out)", file=sys.stderr)
        with_docker = False
    b = SampanBench()
    service = d = None
    before = snapshot()
    targets: list[Target] = []
    mem: dict[str, tuple[float, float]] = {}
    try:
        service, t = start_sampan(b)
        targets.append(t)
        if with_docker:
            d, t = start_dockerd()
            targets.append(t)
        measure(targets, ns.n)
        time.sleep(5)   # idle: the servers' memory once their calls are done
        mem["sampan"] = memory([service.pid] + descendants(service.pid))
        if d is not None:
            mem["dockerd"] = memory(d.pids())
    finally:
        for t in targets:
            t.client.close()
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(30)
        b.close()
        if d is not None:
            d.stop()
            problems = left_behind(before, snapshot())
            print("machine as found after dockerd: " + ("yes" if not problems else "NO: " + "; ".join(problems)))

    print(f"`docker run --rm busybox true`, median of {ns.n}, runs interleaved ({env_note()}; CLI {CLI})")
    for what, label in (("cli", "docker CLI"), ("api", "docker-py create, wait(removed), start")):
        line = f"  {label:<38}"
        for t in targets:
            v = t.times[what]
            line += f"  {t.name}: " + (f"{median_ms(v):6.1f} ms" if isinstance(v, list) and v else str(v))
        if len(targets) == 2 and all(isinstance(t.times[what], list) and t.times[what] for t in targets):
            ratio = median_ms(targets[1].times[what]) / median_ms(targets[0].times[what])
            line += f"   sampan {ratio:.1f}x as fast (goal 3x)"
        print(line)
    print("idle memory of the server after the runs")
    for server, label in (("sampan", "sampan system service"), ("dockerd", "dockerd + containerd")):
        if server in mem:
            rss, pss = mem[server]
            print(f"  {label:<38}  RSS {rss:6.1f} MiB  PSS {pss:6.1f} MiB")
    if len(mem) == 2:
        print(f"  sampan / docker: RSS {mem['sampan'][0] / mem['dockerd'][0]:.2f}, "
              f"PSS {mem['sampan'][1] / mem['dockerd'][1]:.2f} (goal at most 0.5)")


if __name__ == "__main__":
    main()
