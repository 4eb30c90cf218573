"""What the CLI (or API server) asks of the engine: plain data, validated by the engine."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunOptions:
    image: str
    args: list[str] = field(default_factory=list)
    name: str | None = None
    env: list[str] = field(default_factory=list)        # KEY=VALUE, already resolved
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None                       # None: image's; "": cleared
    hostname: str | None = None
    volumes: list[str] = field(default_factory=list)    # -v specs
    tmpfs: list[str] = field(default_factory=list)      # --tmpfs specs
    read_only: bool = False
    memory: str | None = None
    cpus: str | None = None
    pids_limit: str | None = None
    network: str = "bridge"
    network_aliases: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    mac_address: str | None = None
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    tty: bool = False
    interactive: bool = False
    auto_remove: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    security_opt: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    stop_signal: str | None = None
    stop_timeout: int | None = None
    runtime: str | None = None
    log_max_size: str | None = None
    log_max_files: int | None = None


@dataclass
class ExecOptions:
    container: str
    argv: list[str]
    env: list[str] = field(default_factory=list)
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False
