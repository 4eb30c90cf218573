"""What the CLI (or API server) asks of the engine: plain data, validated by the engine.

Plain classes, not dataclasses: `run` imports this on every start, and a
dataclass costs about a millisecond to define here.
"""

from __future__ import annotations

import copy


class _Options:
    _DEFAULTS: dict = {}

    def __init__(self, **kw) -> None:
        unknown = set(kw) - set(self._DEFAULTS)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}")
        for key, default in self._DEFAULTS.items():
            setattr(self, key, kw[key] if key in kw else copy.copy(default))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self._DEFAULTS)})"


class ListOptions(_Options):
    """ps, images, volume ls, network ls. ``filters``: "key=value" strings (the CLI's -f) or
    Docker's filter map {"key": ["value", ...]} (the API's); engine/filters.py parses both.
    ``all``: stopped containers too (ps), intermediate images too (images). ``limit``: the
    newest N containers (ps -n), -1 for all. ``size``: each container's writable layer and
    virtual size too (ps -s; it walks every upper dir); each image's shared size (system df -v)."""
    _DEFAULTS = dict(all=False, filters=None, limit=-1, size=False)


class RemoveOptions(_Options):
    """rm, rmi, volume rm. ``volumes``: rm also removes the container's anonymous volumes."""
    _DEFAULTS = dict(force=False, volumes=False)


class PruneOptions(_Options):
    """container/image/volume/network/system prune. ``all``: tagged images too (image prune),
    named volumes too (volume prune); ``volumes``: system prune also prunes volumes."""
    _DEFAULTS = dict(all=False, volumes=False)


class VolumeCreateOptions(_Options):
    _DEFAULTS = dict(name=None, driver="local", labels={})


class NetworkCreateOptions(_Options):
    _DEFAULTS = dict(name="", driver="bridge", subnet=None, gateway=None, internal=False, labels={})


class RunOptions(_Options):
    _DEFAULTS = dict(
        image="", args=[], name=None,
        env=[],                 # KEY=VALUE, already resolved
        workdir=None, user=None,
        entrypoint=None,        # None: image's; "": cleared
        hostname=None,
        volumes=[],             # -v specs
        tmpfs=[],               # --tmpfs specs
        read_only=False, memory=None, cpus=None, pids_limit=None,
        memory_swap=None, memory_reservation=None, cpu_shares=None,   # strings as given
        cpuset_cpus=None, cpuset_mems=None, blkio_weight=None,
        network="bridge", network_aliases=[], dns=[], add_hosts=[], mac_address=None,
        publish=[], publish_all=False, tty=False, interactive=False, auto_remove=False,
        labels={}, security_opt=[], cap_add=[], cap_drop=[], privileged=False,
        devices=[],             # --device HOST[:CONTAINER][:rwm]
        stop_signal=None, stop_timeout=None,
        runtime=None, log_max_size=None, log_max_files=None,
        pull="missing",         # missing | always | never, as `docker run --pull`
        console_size=None,      # (rows, cols) of the terminal, set before the program starts
        restart=None,           # --restart spec ("on-failure:3") or Docker's RestartPolicy dict
        healthcheck=None,       # Docker's HealthConfig dict (Test, Interval... in ns); None: the image's
        # --mount: "type=bind,src=...,dst=..." strings (the CLI) or Docker's Mount objects (the API)
        mounts=[],
        init=False,             # tini as PID 1
        ulimits=[],             # "nofile=1024:2048" strings or {"Name", "Soft", "Hard"} objects
        shm_size=None,          # string as given ("64m") or bytes
        sysctls={},
        pid_mode=None, ipc_mode=None, uts_mode=None,   # host | container:NAME | private | shareable
        group_add=[], dns_search=[], dns_options=[],
        platform=None, ip=None,
        log_driver=None,        # json-file (default) | local | none
    )

    def __init__(self, image: str, **kw) -> None:
        super().__init__(image=image, **kw)


class UpdateOptions(_Options):
    """`update`: new limits, strings as on the command line; None leaves one as it is."""
    _DEFAULTS = dict(memory=None, memory_swap=None, memory_reservation=None, cpus=None, cpu_shares=None,
                     cpuset_cpus=None, cpuset_mems=None, blkio_weight=None, pids_limit=None)


class ExecOptions(_Options):
    _DEFAULTS = dict(container="", argv=[], env=[], user=None, workdir=None, tty=False,
                     interactive=False, detach=False, privileged=False)

    def __init__(self, container: str, argv: list[str], **kw) -> None:
        super().__init__(container=container, argv=argv, **kw)


class ArchiveBuildOptions(_Options):
    """A build whose context comes as a tar (the API's POST /build): ``dockerfile`` is a
    path inside the context."""
    _DEFAULTS = dict(dockerfile="Dockerfile", tags=[], build_args={}, target=None, no_cache=False,
                     pull="missing", labels={}, quiet=False,
                     auths={},  # {registry: (user, password)} for base images (X-Registry-Config)
                     remote=None, cache_from=[])  # remote: a git URL instead of the tar body
