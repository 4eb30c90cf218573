"""The run/create flags Docker has that need no machinery here, or that sampan cannot honour:
--annotation (passed to the OCI runtime), --use-api-socket (a bind of the API socket),
and --userns, --isolation, --gpus, --volume-driver, --storage-opt, accepted only at the
value that means what sampan does anyway; any other value is one line saying why (as
Docker's daemon says it where it has the same limit)."""

from __future__ import annotations

import os

from sampan.errors import InvalidArgument

API_SOCKET_TARGET = "/var/run/docker.sock"   # where Docker's CLI binds its engine's socket
GPU_ERROR = 'could not select device driver "" with capabilities: [[gpu]]: sampan has no GPU support'


def check(ctx, opts) -> dict:
    """The container config's entries for these flags; "mounts": --mount objects to add."""
    userns = opts.userns_mode or ""
    if userns not in ("", "host"):
        # Docker's CLI accepts only these two; "host" is what every sampan container gets
        raise InvalidArgument("--userns: invalid USER mode: only host (no user namespace "
                              "remapping: sampan has none)")
    isolation = opts.isolation or ""
    if isolation not in ("", "default"):
        raise InvalidArgument(f"invalid isolation ({isolation}): linux only supports 'default'")
    if opts.gpus:
        raise InvalidArgument(GPU_ERROR)
    driver = opts.volume_driver or ""
    if driver not in ("", "local"):
        raise InvalidArgument(f'error looking up volume plugin {driver}: plugin "{driver}" not found '
                              f"(sampan has only the local volume driver)")
    _check_storage_opts(ctx, opts.storage_opt)
    return {
        "annotations": parse_annotations(opts.annotations),
        "userns_mode": userns, "isolation": isolation,
        "volume_driver": driver,
        "mounts": [api_socket_mount(ctx)] if opts.use_api_socket else [],
        "attach": _attach(opts.attach),
    }


def _attach(streams) -> list[str]:
    """Config.AttachStdin/Stdout/Stderr: what the client said it attaches (run -a, or none
    for run -d); Docker's default, stdout and stderr, when it did not say."""
    if streams is None:
        return ["stdout", "stderr"]
    if not isinstance(streams, list) or not all(s in ("stdin", "stdout", "stderr") for s in streams):
        raise InvalidArgument("valid streams are STDIN, STDOUT and STDERR")
    return sorted(set(streams))


def parse_annotations(items) -> dict[str, str]:
    """HostConfig.Annotations: passed through to the runtime's config.json, as Docker does."""
    if not isinstance(items, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in items.items()):
        raise InvalidArgument("annotations must map strings to strings")
    for key in items:
        if not key:
            raise InvalidArgument("invalid Annotations: the empty string is not permitted as an annotation key")
        if key.startswith("io.sampan."):
            raise InvalidArgument(f"invalid annotation {key!r}: the io.sampan. prefix is sampan's own")
    return dict(items)


def _check_storage_opts(ctx, items) -> None:
    """--storage-opt: overlay takes size= only over xfs with project quotas (Docker's overlay2
    rule); sampan sets no layer quotas at all, so none is honoured."""
    if not items:
        return
    keys = list(items) if isinstance(items, dict) else [i.partition("=")[0] if "=" in i else "" for i in items]
    if not all(keys):
        raise InvalidArgument("invalid storage option")
    if not _on_xfs(str(ctx.paths.root)):
        raise InvalidArgument("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
    raise InvalidArgument("--storage-opt is not supported: sampan sets no quota on a container's layer")


def _on_xfs(path: str) -> bool:
    """Whether path's filesystem is xfs: the mount holding it, from /proc/self/mountinfo."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    best, fstype = "", ""
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        point = fields[4].replace("\\040", " ")
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, fstype = point, right.split()[0]
    return fstype == "xfs"


def api_socket_mount(ctx) -> dict:
    """--use-api-socket: the API service's socket (RUNROOT/sampan.sock) bound where Docker's
    CLI puts its engine's, so a docker client in the container drives this engine."""
    import stat
    sock = os.path.join(str(ctx.paths.runroot), "sampan.sock")
    try:
        is_socket = stat.S_ISSOCK(os.stat(sock).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        raise InvalidArgument(f"--use-api-socket: no API socket at {sock}: start `sampan system service` "
                              f"(it listens there) first")
    return {"Type": "bind", "Source": sock, "Target": API_SOCKET_TARGET}


def config_fields(c) -> dict:
    """Inspect's Config.Attach* fields."""
    attach = c.get("attach") or []
    return {"AttachStdin": "stdin" in attach, "AttachStdout": "stdout" in attach,
            "AttachStderr": "stderr" in attach}


def host_config(c) -> dict:
    """Inspect's HostConfig fields for these flags, as Docker shapes them."""
    return {
        "Annotations": dict(c["annotations"]) if c.get("annotations") else None,
        "UsernsMode": c.get("userns_mode") or "",
        "Isolation": c.get("isolation") or "",
        "VolumeDriver": c.get("volume_driver") or "",
    }
