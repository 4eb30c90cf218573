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
        network="bridge", network_aliases=[], dns=[], add_hosts=[], mac_address=None,
        publish=[], publish_all=False, tty=False, interactive=False, auto_remove=False,
        labels={}, security_opt=[], cap_add=[], cap_drop=[], privileged=False,
        devices=[],             # --device HOST[:CONTAINER][:rwm]
        stop_signal=None, stop_timeout=None,
        runtime=None, log_max_size=None, log_max_files=None,
        pull="missing",         # missing | always | never, as `docker run --pull`
    )

    def __init__(self, image: str, **kw) -> None:
        super().__init__(image=image, **kw)


class ExecOptions(_Options):
    _DEFAULTS = dict(container="", argv=[], env=[], user=None, workdir=None, tty=False,
                     interactive=False, detach=False, privileged=False)

    def __init__(self, container: str, argv: list[str], **kw) -> None:
        super().__init__(container=container, argv=argv, **kw)
