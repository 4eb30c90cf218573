"""Docker's seccomp profile format -> the OCI `linux.seccomp` of one container.

Docker's format is OCI's plus conditions: `archMap` (the host's architecture and
the sub-architectures its processes may also use), and rules with `includes` /
`excludes` on the container's capabilities (its bounding set), the host's
architecture and its kernel version (`minKernel`). resolve() keeps the rules
whose conditions hold, as moby's setupSeccomp does, so the runtime (native or
runc) sees a plain OCI profile.
"""

from __future__ import annotations

import os

from sampan.errors import InvalidArgument

# os.uname().machine -> the architecture names Docker's includes/excludes use (Go's libseccomp's)
NATIVE_ARCH = {
    "x86_64": "amd64", "amd64": "amd64", "i386": "x86", "i686": "x86", "aarch64": "arm64",
    "arm64": "arm64", "armv7l": "arm", "armv6l": "arm", "armv8l": "arm", "ppc64le": "ppc64le",
    "ppc64": "ppc64", "ppc": "ppc", "s390x": "s390x", "s390": "s390", "riscv64": "riscv64",
    "mips64": "mips64", "mips": "mipsle", "loongarch64": "loong64",
}
# Docker's arch name -> the SCMP_ARCH_ constant that archMap entries are keyed by
SCMP_ARCH = {
    "x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "x32": "SCMP_ARCH_X32", "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64", "loong64": "SCMP_ARCH_LOONGARCH64", "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32", "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mips3l64n32": "SCMP_ARCH_MIPSEL64N32", "mipsle": "SCMP_ARCH_MIPSEL", "ppc": "SCMP_ARCH_PPC",
    "ppc64": "SCMP_ARCH_PPC64", "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64",
    "s390": "SCMP_ARCH_S390", "s390x": "SCMP_ARCH_S390X",
}
ACTIONS = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
OPERATORS = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
             "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
# the fields of OCI linux.seccomp that a Docker profile carries over unchanged
_COPIED = ("defaultAction", "defaultErrnoRet", "flags", "listenerPath", "listenerMetadata")


def _fail(what: str) -> InvalidArgument:
    return InvalidArgument(f"invalid seccomp profile: {what}")


def load(text: str) -> dict:
    """Parse and check a profile in Docker's JSON format; one line saying what is wrong if not."""
    import json
    try:
        profile = json.loads(text)
    except ValueError as e:
        raise _fail(f"not valid JSON ({e})") from None
    check(profile)
    return profile


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _str_list(v, where: str) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _fail(f"{where} must be a list of strings")
    return v


def parse_kernel(version: str) -> tuple[int, int]:
    """Docker's "<kernel>.<major>" (minKernel): "4.8" -> (4, 8)."""
    parts = version.split(".") if isinstance(version, str) else []
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or parts == ["0", "0"]:
        raise _fail(f'minKernel {version!r} must look like "4.8"')
    return int(parts[0]), int(parts[1])


def _check_filter(f, where: str) -> None:
    if f is None:
        return
    if not isinstance(f, dict):
        raise _fail(f"{where} must be an object with caps, arches or minKernel")
    _str_list(f.get("caps"), f"{where}.caps")
    _str_list(f.get("arches"), f"{where}.arches")
    if f.get("minKernel") not in (None, ""):
        parse_kernel(f["minKernel"])


def _check_rule(i: int, rule) -> None:
    where = f"syscalls[{i}]"
    if not isinstance(rule, dict):
        raise _fail(f"{where} must be an object")
    if rule.get("name") and rule.get("names"):
        raise _fail(f"{where} has both 'name' and 'names': use 'names'")
    if rule.get("name") is not None and not isinstance(rule["name"], str):
        raise _fail(f"{where}.name must be a string")
    _str_list(rule.get("names"), f"{where}.names")
    if rule.get("action") not in ACTIONS:
        raise _fail(f"{where} has unknown action {rule.get('action')!r}")
    if rule.get("errnoRet") is not None and not _is_int(rule["errnoRet"]):
        raise _fail(f"{where}.errnoRet must be a number")
    args = rule.get("args") or []
    if not isinstance(args, list):
        raise _fail(f"{where}.args must be a list")
    for a in args:
        if not isinstance(a, dict) or not _is_int(a.get("index")) or not 0 <= a["index"] <= 5:
            raise _fail(f"{where}.args: each needs an index from 0 to 5")
        if a.get("op") not in OPERATORS:
            raise _fail(f"{where}.args has unknown operator {a.get('op')!r}")
        for key in ("value", "valueTwo"):
            if a.get(key) is not None and (not _is_int(a[key]) or not 0 <= a[key] < 2**64):
                raise _fail(f"{where}.args.{key} must be a number from 0 to 2^64-1")
    _check_filter(rule.get("includes"), f"{where}.includes")
    _check_filter(rule.get("excludes"), f"{where}.excludes")


def check(profile) -> None:
    if not isinstance(profile, dict):
        raise _fail("the top level must be a JSON object")
    action = profile.get("defaultAction")
    if action not in ACTIONS and not (action in (None, "") and not profile.get("syscalls")):
        raise _fail(f"unknown defaultAction {action!r}")
    if profile.get("defaultErrnoRet") is not None and not _is_int(profile["defaultErrnoRet"]):
        raise _fail("defaultErrnoRet must be a number")
    if profile.get("architectures") and profile.get("archMap"):
        raise _fail("both 'architectures' and 'archMap' are given: use one")
    _str_list(profile.get("architectures"), "architectures")
    arch_map = profile.get("archMap") or []
    if not isinstance(arch_map, list) or not all(isinstance(m, dict) for m in arch_map):
        raise _fail("archMap must be a list of {architecture, subArchitectures}")
    for m in arch_map:
        if not isinstance(m.get("architecture"), str):
            raise _fail("each archMap entry needs an architecture")
        _str_list(m.get("subArchitectures"), "archMap subArchitectures")
    rules = profile.get("syscalls") or []
    if not isinstance(rules, list):
        raise _fail("syscalls must be a list")
    for i, rule in enumerate(rules):
        _check_rule(i, rule)


def host_kernel() -> tuple[int, int]:
    release = os.uname().release
    digits = release.split("-")[0].split(".")
    try:
        return int(digits[0]), int(digits[1])
    except (IndexError, ValueError):
        return (0, 0)


def _holds(f: dict, caps: set[str], arch: str, kernel: tuple[int, int], include: bool) -> bool:
    """includes: every condition must hold; excludes: any condition that holds excludes."""
    checks = []
    if f.get("arches"):
        checks.append(arch in f["arches"])
    if f.get("caps"):
        checks.append(all(c in caps for c in f["caps"]) if include else any(c in caps for c in f["caps"]))
    if f.get("minKernel"):
        checks.append(kernel >= parse_kernel(f["minKernel"]))
    return all(checks) if include else any(checks)


def resolve(profile: dict, caps, machine: str | None = None,
            kernel: tuple[int, int] | None = None) -> dict | None:
    """The OCI linux.seccomp for a container whose bounding set is `caps`, on this host (or
    on `machine` with `kernel`). None when the profile sets nothing (Docker: no seccomp)."""
    if not profile.get("defaultAction") and not profile.get("syscalls"):
        return None
    arch = NATIVE_ARCH.get(machine or os.uname().machine, machine or "")
    kernel = kernel or host_kernel()
    caps = set(caps)
    out = {k: profile[k] for k in _COPIED if profile.get(k) is not None}
    arches = list(profile.get("architectures") or [])
    own = SCMP_ARCH.get(arch)
    for m in profile.get("archMap") or []:
        if m["architecture"] == own:
            arches = [own, *(m.get("subArchitectures") or [])]
            break
    if arches:
        out["architectures"] = arches
    rules = []
    for rule in profile.get("syscalls") or []:
        if rule.get("excludes") and _holds(rule["excludes"], caps, arch, kernel, include=False):
            continue
        if rule.get("includes") and not _holds(rule["includes"], caps, arch, kernel, include=True):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        if not names:
            continue
        oci = {"names": names, "action": rule["action"]}
        for key in ("errnoRet", "args"):
            if rule.get(key) is not None:
                oci[key] = rule[key]
        rules.append(oci)
    out["syscalls"] = rules
    return out
