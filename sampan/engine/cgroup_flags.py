"""The run/create (and update) flags that tune a container's cgroup and OOM handling, checked
at create with Docker's wording: --cpu-period/--cpu-quota, --cpu-rt-period/--cpu-rt-runtime,
--blkio-weight-device, --device-{read,write}-{bps,iops}, --memory-swappiness,
--oom-kill-disable, --oom-score-adj, --kernel-memory (accepted and ignored, as Docker 28),
--cgroup-parent, --cgroupns, --device-cgroup-rule.

Each returns what the container's config records (keys in CGROUP_KEYS); specgen turns
them into linux.resources, process.oomScoreAdj, cgroupsPath and the cgroup namespace.
"""

from __future__ import annotations

import os
import re
import stat
import sys

from sampan.errors import InvalidArgument
from sampan.specgen import units

# config keys handed to the spec's limits when set
CGROUP_KEYS = ("cpu_period", "cpu_cfs_quota", "cpu_rt_period", "cpu_rt_runtime", "blkio_weight_device",
               "blkio_read_bps", "blkio_write_bps", "blkio_read_iops", "blkio_write_iops",
               "memory_swappiness", "oom_kill_disable", "oom_score_adj", "device_cgroup_rules")

# run flag -> config key, for the four throttles (Docker's HostConfig names in THROTTLE_FIELDS)
THROTTLES = {"device_read_bps": "blkio_read_bps", "device_write_bps": "blkio_write_bps",
             "device_read_iops": "blkio_read_iops", "device_write_iops": "blkio_write_iops"}
THROTTLE_FIELDS = {"blkio_read_bps": "BlkioDeviceReadBps", "blkio_write_bps": "BlkioDeviceWriteBps",
                   "blkio_read_iops": "BlkioDeviceReadIOps", "blkio_write_iops": "BlkioDeviceWriteIOps"}

_PARENT_PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]*", re.ASCII)
_RULE_RE = re.compile(r"[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}", re.ASCII)
_IOPS_HELP = "The correct format is <device-path>:<number>. Number must be a positive integer"
_BPS_HELP = ("The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. "
             "Unit is optional and can be kb, mb, or gb")


def _number(value, flag: str, minimum: int, maximum: int = units.INT64_MAX) -> int | None:
    """A flag's whole number (a string from the CLI, an int from the API); None if not given."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidArgument(f"invalid value {value!r} for {flag}: expected a whole number")
    if isinstance(value, int):
        value = str(value)
    return units.parse_int(value, flag, minimum, maximum)


def cpu_cfs(opts, nano_cpus_given: bool) -> dict:
    """--cpu-period, --cpu-quota: the CFS bandwidth as Docker checks it (0: not set; a
    negative quota: unlimited)."""
    out: dict = {}
    period = _number(opts.cpu_period, "--cpu-period", 0, units.INT64_MAX)
    quota = _number(opts.cpu_quota, "--cpu-quota", -1 << 63)
    if nano_cpus_given and period:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano_cpus_given and quota and quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if period and not 1000 <= period <= 1_000_000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if quota and 0 < quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if period:
        out["cpu_period"] = period
    if quota:
        out["cpu_cfs_quota"] = quota
    return out


def cpu_rt(opts, root: str = "/sys/fs/cgroup") -> dict:
    """--cpu-rt-period, --cpu-rt-runtime (µs): only where the kernel has RT group scheduling
    (v1 cpu.rt_runtime_us; cgroup v2 has none)."""
    period = _number(opts.cpu_rt_period, "--cpu-rt-period", 0)
    runtime = _number(opts.cpu_rt_runtime, "--cpu-rt-runtime", -1)
    if not period and not runtime:
        return {}
    if not os.path.exists(os.path.join(root, "cpu", "cpu.rt_runtime_us")):
        what = "period" if period else "runtime"
        raise InvalidArgument(f"Your kernel does not support cgroup cpu real-time {what} (no cgroup v1 "
                              "cpu.rt_runtime_us: cgroup v2, or no RT group scheduling)")
    if period and runtime and runtime > period:
        raise InvalidArgument("cpu-rt-runtime cannot be higher than cpu-rt-period")
    out: dict = {}
    if period:
        out["cpu_rt_period"] = period
    if runtime:
        out["cpu_rt_runtime"] = runtime
    return out


def block_device(path: str, flag: str) -> tuple[int, int]:
    """The host block device's (major, minor); anything else is refused."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise InvalidArgument(f"stat {path}: {(e.strerror or str(e)).lower()}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise InvalidArgument(f"invalid value {units.shown(path)} for {flag}: {path} is not a block device")
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def _split_device(item, flag: str, api_value: str) -> tuple[str, int | str, str]:
    """DEVICE:VALUE (the CLI) or {"Path", Rate|Weight} (the API) -> (path, value, text)."""
    if isinstance(item, dict):
        path = item.get("Path")
        value = item.get(api_value)
        if not isinstance(path, str) or isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"each {flag} entry needs a Path (string) and a {api_value} (integer)")
        text = f"{path}:{value}"
        if not path:
            raise InvalidArgument(f"bad format: {text}")
        return path, value, text
    if not isinstance(item, str):
        raise InvalidArgument(f"invalid {flag} {item!r}: expected DEVICE:VALUE")
    path, sep, value = item.partition(":")
    if not sep or not path:
        raise InvalidArgument(f"bad format: {item}")
    return path, value, item


def throttle(items: list, flag: str, iops: bool) -> list[dict]:
    """--device-{read,write}-{bps,iops}: [{"Path", "Rate", "Major", "Minor"}]."""
    out = []
    for item in items:
        path, value, text = _split_device(item, flag, "Rate")
        if not path.startswith("/dev/"):
            raise InvalidArgument(f"bad format for device path: {text}")
        help_ = _IOPS_HELP if iops else _BPS_HELP
        if isinstance(value, int):
            rate = value
        elif iops:
            rate = int(value) if value.isascii() and value.isdigit() else -1
        else:
            try:
                rate = units.parse_bytes(value, flag)
            except InvalidArgument:
                rate = -1
        if rate < 0 or rate > 2**64 - 1:
            raise InvalidArgument(f"invalid rate for device: {text}. {help_}")
        major, minor = block_device(path, flag)
        out.append({"Path": path, "Rate": rate, "Major": major, "Minor": minor})
    return out


def weight_devices(items: list) -> list[dict]:
    """--blkio-weight-device DEVICE:WEIGHT (10-1000, or 0): [{"Path", "Weight", "Major", "Minor"}]."""
    out = []
    for item in items:
        path, value, text = _split_device(item, "--blkio-weight-device", "Weight")
        if not path.startswith("/dev/"):
            raise InvalidArgument(f"bad format for device path: {text}")
        if isinstance(value, int):
            weight = value
        else:
            weight = int(value) if value.isascii() and value.isdigit() and len(value) < 6 else -1
        if weight < 0 or weight > 65535 or (weight and not 10 <= weight <= 1000):
            raise InvalidArgument(f"invalid weight for device: {text}")
        major, minor = block_device(path, "--blkio-weight-device")
        out.append({"Path": path, "Weight": weight, "Major": major, "Minor": minor})
    return out


def device_cgroup_rules(items: list) -> list[str]:
    """--device-cgroup-rule 'c 1:3 rwm': Docker's strict format, one rule each."""
    for rule in items:
        if not isinstance(rule, str) or not _RULE_RE.fullmatch(rule):
            raise InvalidArgument(f"invalid device cgroup format '{rule}'")
    return list(items)


def cgroup_parent(value: str | None) -> str | None:
    """--cgroup-parent: a cgroupfs path under which the container's cgroup is made, relative
    to the hierarchy roots (a leading / is the same root: never outside it). No `..`, no
    empty or dot components, no systemd slice (sampan drives cgroupfs)."""
    if not value:
        return None
    if not isinstance(value, str) or "\0" in value or len(value) > 1024:
        raise InvalidArgument("invalid --cgroup-parent: expected a cgroup path such as mygroup/sub")
    if ":" in value or value.endswith(".slice"):
        raise InvalidArgument(f"invalid --cgroup-parent {units.shown(value)}: systemd slices are not "
                              "supported (sampan manages cgroupfs paths)")
    parts = value.strip("/").split("/")
    if not all(_PARENT_PART_RE.fullmatch(p) for p in parts):
        raise InvalidArgument(f"invalid --cgroup-parent {units.shown(value)}: a relative cgroup path "
                              "of names ([A-Za-z0-9][A-Za-z0-9_.@+-]*, no '..'), such as mygroup/sub")
    if len(parts) > 1 and parts[0] == "sampan" and re.fullmatch(r"[0-9a-f]{64}", parts[1]):
        raise InvalidArgument(f"invalid --cgroup-parent {units.shown(value)}: that is another "
                              "container's own cgroup")
    return "/".join(parts)


def cgroupns(value: str | None) -> str | None:
    """--cgroupns host|private. None when not given: sampan's containers then get a private
    namespace on v1 as on v2 (Docker's v1 default is host)."""
    if value in (None, ""):
        return None
    if value not in ("host", "private"):
        raise InvalidArgument("--cgroupns: invalid CGROUP mode")
    return value


def check(opts, nano_cpus_given: bool) -> dict:
    """Every flag of this module from RunOptions: the container config's entries; a setting
    discarded is told through opts.warn, in the words of Docker's daemon, on v1 and v2 alike."""
    from sampan.runtime.cgroups import is_v2
    v2 = is_v2()
    out: dict = {**cpu_cfs(opts, nano_cpus_given), **cpu_rt(opts)}
    for flag_key, key in THROTTLES.items():
        items = getattr(opts, flag_key)
        if items:
            out[key] = throttle(items, "--" + flag_key.replace("_", "-"), flag_key.endswith("iops"))
    if opts.blkio_weight_device:
        devices = weight_devices(opts.blkio_weight_device)
        if not _weight_device_file(v2):
            opts.warn("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                 "Weight-device discarded.")
        else:
            out["blkio_weight_device"] = devices
    swappiness = _number(opts.memory_swappiness, "--memory-swappiness", -1 << 63)
    if swappiness is not None and swappiness != -1:  # -1: the host's default, as Docker
        if not 0 <= swappiness <= 100:
            raise InvalidArgument(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
        if v2:
            opts.warn("Your kernel does not support memory swappiness capabilities or the cgroup is not "
                 "mounted. Memory swappiness discarded.")
        else:
            out["memory_swappiness"] = swappiness
    if opts.oom_kill_disable:
        if v2:
            opts.warn("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        else:
            if not opts.memory:
                opts.warn("OOM killer is disabled for the container, but no memory limit is set, this can "
                     "result in the system running out of resources.")
            out["oom_kill_disable"] = True
    score = _number(opts.oom_score_adj, "--oom-score-adj", -(1 << 63))
    if score is not None:
        if not -1000 <= score <= 1000:
            raise InvalidArgument(f"Invalid value {score}, range for oom score adj is [-1000, 1000]")
        if score:
            out["oom_score_adj"] = score
    kernel_memory(opts.kernel_memory)
    if opts.device_cgroup_rules:
        out["device_cgroup_rules"] = device_cgroup_rules(opts.device_cgroup_rules)
    out["cgroup_parent"] = cgroup_parent(opts.cgroup_parent)
    out["cgroupns"] = cgroupns(opts.cgroupns)
    return out


def kernel_memory(value) -> None:
    """--kernel-memory: deprecated and ignored, as by Docker 28 (the value is still checked)."""
    if value in (None, "", 0):
        return
    if isinstance(value, str):
        units.parse_bytes(value, "--kernel-memory")
    sys.stderr.write("Flag --kernel-memory has been deprecated, and no longer supported by the kernel\n")


def _weight_device_file(v2: bool, root: str = "/sys/fs/cgroup") -> bool:
    if v2:
        return os.path.exists(os.path.join(root, "io.cost.qos")) or any(
            "bfq" in _read(os.path.join("/sys/block", d, "queue/scheduler")) for d in _listdir("/sys/block"))
    names = ("blkio.weight_device", "blkio.bfq.weight_device")
    return any(os.path.exists(os.path.join(root, "blkio", n)) for n in names)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
