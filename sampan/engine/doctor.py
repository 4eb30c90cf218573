"""`sampan doctor`: what this host gives sampan, one finding per feature, with the fix.

Read-only: it looks at /proc, /sys, the CNI plugin directory and PATH, and runs
nothing that changes the host. Each finding says whether sampan can run
containers without it (`needed`) or only loses a feature (a warning).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

OK, WARN, MISSING = "ok", "warn", "missing"
_NAMESPACES = ("mnt", "pid", "net", "uts", "ipc", "user", "cgroup")
_NEEDED_NAMESPACES = ("mnt", "pid", "net", "uts", "ipc")
# what conflist.py puts in a network's plugin list (published ports are sampan's own rules,
# network/hostrules.py; portmap only removes what sampan before 2026-12 left behind)
_CNI_PLUGINS = ("bridge", "host-local", "firewall")
_NEEDED_CONTROLLERS = ("memory", "pids", "cpu")


@dataclass
class Finding:
    name: str        # what was checked: "overlayfs", "cgroups", ...
    status: str      # ok | warn | missing
    detail: str      # what was found, with the real values
    fix: str = ""    # how to get it, when it is not ok
    needed: bool = False  # without it sampan cannot run a container here


@dataclass
class Host:
    """Where to look: the real host by default; tests point it at a made-up tree."""
    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    cni_path: str = "/usr/lib/cni"
    modules: Path = Path("/lib/modules")
    path: str = field(default_factory=lambda: os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
    euid: int = field(default_factory=os.geteuid)
    aardvark: str | None = field(default_factory=lambda: _aardvark())

    def read(self, rel: str, under: Path | None = None) -> str | None:
        try:
            return ((under or self.proc) / rel).read_text()
        except OSError:
            return None

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.path)


def _aardvark() -> str | None:
    from sampan.network.resolver import binary
    return binary()


def diagnose(host: Host | None = None) -> list[Finding]:
    host = host or Host()
    out = [_root(host), _kernel(host), _cgroups(host), _overlay(host), _namespaces(host),
           _user_namespaces(host), _seccomp(host), _iptables(host), _forwarding(host), _cni(host),
           _dns(host), _docker_forward_drop(host), _runtimes(host), _idle_monitor(host)]
    wsl = _wsl(host)
    if wsl:
        out.append(wsl)
    return out


def can_run(findings: list[Finding]) -> bool:
    return not any(f.needed and f.status == MISSING for f in findings)


def _root(host: Host) -> Finding:
    if host.euid == 0:
        return Finding("root", OK, "running as root")
    return Finding("root", MISSING, f"running as uid {host.euid}",
                   "run sampan as root (sudo): it makes namespaces, mounts and cgroups", needed=True)


def _kernel(host: Host) -> Finding:
    release = (host.read("sys/kernel/osrelease") or "").strip() or "unknown"
    try:
        major, minor = (int(x) for x in release.split(".")[:2])
    except ValueError:
        return Finding("kernel", WARN, f"version {release} not understood")
    if (major, minor) < (5, 3):
        return Finding("kernel", MISSING, f"Linux {release}: sampan needs 5.3 or newer (pidfd)",
                       "upgrade the kernel (Debian 12 ships 6.1)", needed=True)
    if (major, minor) < (5, 6):
        return Finding("kernel", WARN, f"Linux {release}: no openat2, file operations use a slower "
                                       "fallback", "a 5.6 or newer kernel")
    return Finding("kernel", OK, f"Linux {release}")


def _cgroups(host: Host) -> Finding:
    root = host.sys / "fs/cgroup"
    if (root / "cgroup.controllers").exists():
        have = (host.read("cgroup.controllers", root) or "").split()
        # a child cgroup gets only what the root delegates in its subtree_control
        delegated = (host.read("cgroup.subtree_control", root) or "").split()
        lacking = [c for c in _NEEDED_CONTROLLERS if c not in have]
        if lacking:
            return Finding("cgroups", WARN, f"v2 (unified); controllers {' '.join(have) or 'none'}",
                           f"the kernel lacks {', '.join(lacking)}: limits on them (--memory, "
                           "--pids-limit, --cpus) fail")
        undelegated = [c for c in _NEEDED_CONTROLLERS if c not in delegated]
        note = f"; not yet enabled in subtree_control: {' '.join(undelegated)} (sampan enables them)" \
            if undelegated else ""
        return Finding("cgroups", OK, f"v2 (unified); controllers {' '.join(have)}{note}")
    try:
        mounted = sorted(n for n in os.listdir(root) if (root / n / "cgroup.procs").exists()
                         and n not in ("unified", "systemd") and "," not in n)
    except OSError:
        mounted = []
    if not mounted:
        return Finding("cgroups", MISSING, f"no cgroup hierarchy mounted at {root}",
                       "mount cgroup2 at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)", needed=True)
    kind = "hybrid" if (root / "unified" / "cgroup.controllers").exists() else "legacy"
    lacking = [c for c in _NEEDED_CONTROLLERS if c not in mounted]
    if lacking:
        return Finding("cgroups", WARN, f"v1 ({kind}); controllers {' '.join(mounted)}",
                       f"mount the {', '.join(lacking)} controller(s): their limits fail without")
    return Finding("cgroups", OK, f"v1 ({kind}); controllers {' '.join(mounted)}")


def _overlay(host: Host) -> Finding:
    if "\toverlay\n" in (host.read("filesystems") or ""):
        return Finding("overlayfs", OK, "overlay is in /proc/filesystems")
    release = (host.read("sys/kernel/osrelease") or "").strip()
    mod = host.modules / release / "kernel/fs/overlayfs"
    if release and mod.is_dir():
        return Finding("overlayfs", OK, "overlay module present (loaded at the first mount)")
    return Finding("overlayfs", MISSING, "the kernel has no overlay filesystem",
                   "load it (modprobe overlay) or use a kernel built with CONFIG_OVERLAY_FS", needed=True)


def _namespaces(host: Host) -> Finding:
    ns_dir = host.proc / "self/ns"
    have = [n for n in _NAMESPACES if (ns_dir / n).exists()]
    lacking = [n for n in _NEEDED_NAMESPACES if n not in have]
    if lacking:
        return Finding("namespaces", MISSING, f"the kernel lacks {', '.join(lacking)} namespaces",
                       "a kernel built with CONFIG_NAMESPACES and the missing ones", needed=True)
    return Finding("namespaces", OK, " ".join(have))


def _user_namespaces(host: Host) -> Finding:
    limit = (host.read("sys/user/max_user_namespaces") or "").strip()
    if limit == "0":
        return Finding("user namespaces", WARN, "disabled (user.max_user_namespaces = 0)",
                       "sysctl user.max_user_namespaces=15000; sampan's containers do not need them")
    if not (host.proc / "self/ns/user").exists():
        return Finding("user namespaces", WARN, "not in this kernel", "CONFIG_USER_NS")
    return Finding("user namespaces", OK, f"available (max {limit or 'unknown'}); the default seccomp "
                                          "profile keeps containers from making them")


def _seccomp(host: Host) -> Finding:
    status = host.read("self/status") or ""
    if "Seccomp:" not in status:
        return Finding("seccomp", WARN, "this kernel has no seccomp",
                       "CONFIG_SECCOMP_FILTER: without it containers get no syscall filter")
    actions = (host.read("sys/kernel/seccomp/actions_avail") or "").split()
    return Finding("seccomp", OK, "filters available" + (f" ({' '.join(actions)})" if actions else ""))


def _iptables(host: Host) -> Finding:
    exe = host.which("iptables")
    if not exe:
        return Finding("iptables", WARN, "no iptables command",
                       "apt-get install iptables: bridge networks and -p need it (--network none "
                       "and host still work)")
    target = os.path.realpath(exe)
    flavour = "nf_tables" if "nft" in os.path.basename(target) else \
        "legacy" if "legacy" in os.path.basename(target) else "unknown flavour"
    return Finding("iptables", OK, f"{exe} ({flavour})")


def _forwarding(host: Host) -> Finding:
    v = (host.read("sys/net/ipv4/ip_forward") or "").strip()
    if v == "1":
        return Finding("ip forwarding", OK, "net.ipv4.ip_forward = 1")
    return Finding("ip forwarding", WARN, f"net.ipv4.ip_forward = {v or 'unknown'}",
                   "sampan's bridge turns it on when it makes a network; other software may turn it off")


def _cni(host: Host) -> Finding:
    d = Path(host.cni_path)
    lacking = [p for p in _CNI_PLUGINS if not os.access(d / p, os.X_OK)]
    if lacking:
        return Finding("CNI plugins", WARN, f"{d} lacks {', '.join(lacking)}",
                       "apt-get install containernetworking-plugins: bridge networks need them")
    return Finding("CNI plugins", OK, f"{', '.join(_CNI_PLUGINS)} in {d}")


def _dns(host: Host) -> Finding:
    if host.aardvark:
        return Finding("DNS on user networks", OK, f"aardvark-dns ({host.aardvark}) answers containers' names")
    return Finding("DNS on user networks", WARN, "no aardvark-dns: peers' names resolve through /etc/hosts only",
                   "apt-get install aardvark-dns: `nslookup NAME` and resolvers that skip /etc/hosts need it")


def _docker_forward_drop(host: Host) -> Finding:
    """A Docker daemon sets FORWARD's policy to DROP: traffic of other bridges (sampan's)
    is dropped unless rules let it through. Read-only: the iptables rules in /proc are not
    readable, so ask iptables (-S lists, changes nothing)."""
    exe = host.which("iptables")
    if not exe:
        return Finding("FORWARD policy", WARN, "unknown (no iptables)")
    import subprocess
    try:
        done = subprocess.run([exe, "-w", "5", "-S", "FORWARD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        return Finding("FORWARD policy", WARN, "could not list the FORWARD chain (iptables needs root)")
    out = done.stdout
    if "-P FORWARD DROP" in out.splitlines():
        who = " (set by a Docker daemon: its DOCKER-USER chain is there)" if "DOCKER-USER" in out else ""
        return Finding("FORWARD policy", WARN, f"DROP{who}",
                       "containers on sampan's bridge reach the outside only through the rules CNI's "
                       "firewall plugin adds; if they cannot, allow sampan's bridges in DOCKER-USER")
    return Finding("FORWARD policy", OK, "ACCEPT")


def _runtimes(host: Host) -> Finding:
    found = [n for n in ("runc", "crun") if host.which(n)]
    return Finding("OCI runtimes", OK, "native (built in)" + (f"; {', '.join(found)} for --runtime"
                                                              if found else "; no runc or crun (optional)"))


def _idle_monitor(host: Host) -> Finding:
    """A detached container idles under the C monitor (engine/cmonitor.c), compiled at first
    use into the host cache (engine/cmonitor_build.py); without a compiler, under the lean
    Python one (~3 MiB more per container). Says where the binary comes from, and why the
    host cache is not used when it is refused."""
    cc = os.environ.get("SAMPAN_CC")
    if cc is not None:
        found = cc if os.access(cc, os.X_OK) else None
    else:
        found = host.which("gcc") or host.which("cc")
    if not found:
        return Finding("idle monitor", WARN, "no C compiler: idle containers use the Python monitor (~3 MiB each)",
                       "apt-get install gcc libc6-dev")
    from sampan.engine import cmonitor_build
    try:
        source, refused = cmonitor_build.host_cache_state(found)
    except OSError:
        return Finding("idle monitor", WARN, "the C monitor's source is missing: idle containers use the "
                       "Python monitor (~3 MiB each)", "reinstall sampan")
    if refused:
        return Finding("idle monitor", WARN, f"C from {source} ({refused})",
                       f"remove {cmonitor_build.cache_dir()}: sampan makes it again, root-owned")
    return Finding("idle monitor", OK, f"C from {source} (compiler {found}; ~0.3 MiB per idle container)")


def _wsl(host: Host) -> Finding | None:
    version = (host.read("version") or "").lower()
    if "microsoft" not in version:
        return None
    return Finding("WSL 2", WARN, "running under WSL 2",
                   "WSL's kernel works, but systemd may be off (no cgroup delegation) and ports "
                   "published on 127.0.0.1 are seen from Windows only through WSL's forwarding")
