"""`info`, `version`, `system check|df|info|prune`."""

from __future__ import annotations

import os
import platform
import sys

from sampan.cli.args import Parser
from sampan.cli.output import human_size, table

VERBS = ("check", "df", "info", "prune", "service", "zygote")


def _info(g, argv) -> int:
    p = Parser("info")
    p.add_argument("-f", "--format", help="Format output using a Go template ('json', '{{.ServerVersion}}')")
    ns = p.parse_args(argv)
    info = g.engine().system.info()
    if ns.format:
        from sampan.cli.formatters import info_struct
        _execute(ns.format, info_struct(info), "")
        return 0
    for k, v in info.items():
        print(f" {k}: {v}")
    return 0


def _execute(fmt: str, data, name: str) -> None:
    """info's and version's --format: Go's template over one struct (Docker: bad syntax exits
    64; an unknown field exits 1 with Go's message)."""
    from sampan.cli.gotemplate import TemplateExecError
    from sampan.cli.gotemplate.docker import parse
    from sampan.errors import SampanError
    tmpl = parse("{{json .}}" if fmt == "json" else fmt, code=64, name=name, raw=True)
    try:
        sys.stdout.write(tmpl.execute(data) + "\n")
    except TemplateExecError as e:
        raise SampanError(str(e), exit_code=1) from None


def _version(argv) -> int:
    from sampan import __version__
    p = Parser("version")
    p.add_argument("-f", "--format", help="Format output using a Go template ('json', '{{.Server.Version}}')")
    ns = p.parse_args(argv)
    if ns.format:
        from sampan.cli.formatters import version_struct
        _execute(ns.format, version_struct(__version__), "version")
        return 0
    print(f"Client/Server: sampan\n Version:       {__version__}\n Python:        {platform.python_version()}\n"
          f" OS/Arch:       linux/{platform.machine()}")
    return 0


def _df(g, argv) -> int:
    p = Parser("system df")
    p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.Type}} {{.Size}}')")
    p.add_argument("-v", "--verbose", action="store_true", help="Show detailed information on space usage")
    ns = p.parse_args(argv)
    if ns.verbose and not ns.format:
        return _df_verbose(g.engine())
    du = g.engine().system.disk_usage()
    kinds = (("Images", du.images, "Images"), ("Containers", du.containers, "Containers"),
             ("Volumes", du.volumes, "Local Volumes"))
    if ns.format:
        from sampan.cli.formatters import DiskUsageContext
        from sampan.cli.output import write_formatted
        write_formatted(ns.format, [DiskUsageContext(label, d) for _, d, label in kinds], DiskUsageContext)
        return 0
    rows = []
    for _, d, label in kinds:
        pct = f" ({100 * d.reclaimable // d.size}%)" if d.size else ""
        rows.append([label, str(d.total), str(d.active), human_size(d.size),
                     human_size(d.reclaimable) + pct])
    table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows)
    return 0


def _df_verbose(engine) -> int:
    """Docker's `system df -v`: a table per kind, then the build cache line (not measured yet:
    RUN cache mounts under buildcache/ are left out, 0B and no rows)."""
    from sampan.engine.options import ListOptions
    from sampan.oci.times import ago
    images = engine.images.list(ListOptions(all=True, size=True))
    rows = []
    for i in images:
        repo, tag = "<none>", "<none>"
        if i.repo_tags:
            repo, _, tag = i.repo_tags[0].rpartition(":")
        rows.append([repo, tag, i.short_id, ago(i.created), human_size(i.size, 3), human_size(i.shared_size),
                     human_size(i.size - i.shared_size), str(i.containers)])
    print("Images space usage:\n")
    table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"], rows)
    rows = []
    for c in engine.containers.list(ListOptions(all=True, size=True)):
        cmd = c.command if len(c.command) <= 20 else c.command[:19] + "…"
        local = sum(1 for m in c.mounts if m.get("Driver") == "local")
        rows.append([c.id[:12], c.image, f'"{cmd}"', str(local), human_size(c.size_rw or 0, 3),
                     ago(c.created), c.status, c.name])
    print("\nContainers space usage:\n")
    table(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"], rows)
    usage = engine.volumes.usage()
    print("\nLocal Volumes space usage:\n")
    table(["VOLUME NAME", "LINKS", "SIZE"],
          [[name, str(links), human_size(size)] for name, (size, links) in sorted(usage.items())])
    print("\nBuild cache usage: 0B\n")
    table(["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"], [])
    return 0


def _prune(g, argv) -> int:
    from sampan.cli.commands import prune
    p = Parser("system prune")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused images not just dangling ones")
    prune.add_filter(p, "label=<key>=<value>")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    p.add_argument("--volumes", action="store_true", help="Prune anonymous volumes")
    ns = p.parse_args(argv)
    from sampan.cli import prompt
    from sampan.engine.options import PruneOptions
    if ns.volumes and any(f.partition("=")[0] == "until" for f in ns.filter):
        from sampan.errors import InvalidArgument
        raise InvalidArgument('ERROR: The "until" filter is not supported with "--volumes"')
    engine = g.engine()
    if not ns.force and not prompt.confirm(prompt.system_warning(ns.all, ns.volumes, prune.filter_lines(ns.filter))):
        return 0
    report = engine.system.prune(PruneOptions(all=ns.all, volumes=ns.volumes, filters=ns.filter))
    prune.section("Deleted Containers:", report.containers.deleted)
    prune.section("Deleted Networks:", report.networks.deleted if report.networks else [])
    prune.section("Deleted Volumes:", report.volumes.deleted if report.volumes else [])
    prune.images_section(report.images)
    prune.section("Deleted build cache objects:", report.build_cache.deleted if report.build_cache else [])
    prune.total(report.space_reclaimed)
    return 0


def _check(g, argv) -> int:
    p = Parser("system check", description="Check that the state under --root is consistent "
               "(blobs match their digests, records match their files). Changes nothing. "
               "Exit status 1 when a problem was found; notes are harmless leftovers.")
    p.parse_args(argv)
    report = g.engine().system.check()
    print(f"cgroups: {report.cgroups}")
    problems = report.problems
    notes = len(report.findings) - problems
    for f in report.findings:
        print(f"{'problem:' if f.kind == 'problem' else 'note:   '} {f.message}")
    root = report.root
    tail = f" ({notes} note{'s' * (notes != 1)})" if notes else ""
    if problems:
        print(f"{problems} problem{'s' * (problems != 1)} found in {root}{tail}")
        return 1
    print(f"no problems found in {root}{tail}")
    return 0


def _zygote(g, argv) -> int:
    """The warm process that makes commands start fast (see sampan/cli/zygote.py)."""
    import os

    from sampan.cli.zygote_client import socket_path, stop
    p = Parser("system zygote")
    p.add_argument("action", choices=["status", "stop"])
    ns = p.parse_args(argv)
    runroot = os.path.abspath(g.runroot or os.environ.get("SAMPAN_RUNROOT") or "/run/sampan")
    if ns.action == "stop":
        print("stopped" if stop(runroot) else "no zygote was running")
    else:
        print("running" if os.path.exists(socket_path(runroot)) else "not running")
    return 0


def _service(g, argv) -> int:
    p = Parser("system service", description="Serve the Docker Engine API, so that the docker CLI, "
               "docker-compose, docker-py and testcontainers drive sampan: "
               "export DOCKER_HOST=unix:///run/sampan/sampan.sock")
    p.add_argument("-t", "--time", type=float, default=5.0,
                   help="Seconds without a client before the service exits (0: never; default 5)")
    p.add_argument("--tlscacert", help="CA certificate: TCP clients must present a certificate it signed")
    p.add_argument("--tlscert", help="The service's TLS certificate (for tcp:// addresses)")
    p.add_argument("--tlskey", help="The service's TLS key (for tcp:// addresses)")
    p.add_argument("address", nargs="*", help="unix:///PATH to listen on (default unix://RUNROOT/sampan.sock), "
                   "and tcp://HOST:PORT, served only with TLS and client certificates")
    ns = p.parse_args(argv)
    from sampan.errors import InvalidArgument
    if ns.time < 0:
        raise InvalidArgument("--time must be 0 (never exit) or a number of seconds")
    tcp = [a for a in ns.address if a.startswith("tcp://")]
    unix = [a for a in ns.address if not a.startswith("tcp://")]
    if len(unix) > 1:
        raise InvalidArgument("one unix socket at most (and any number of tcp:// addresses)")
    if tcp and not (ns.tlscacert and ns.tlscert and ns.tlskey):
        raise InvalidArgument("a TCP listener needs --tlscacert, --tlscert and --tlskey: clients must present "
                              "a certificate signed by that CA (sampan serves no plain TCP)")
    g.engine()  # the same root check as every command: one clear line when not root
    _restore_in_child(g)
    from sampan.server.service import serve
    return serve(unix[0] if unix else None, ns.time, g.root, g.runroot, g.runtime, tcp,
                 (ns.tlscacert, ns.tlscert, ns.tlskey))


def _restore(g, argv) -> int:
    Parser("system restore", description="Start the containers whose restart policy says so after "
           "a boot (always; unless-stopped unless stopped by the user; on-failure after a failure). "
           "Once per boot: contrib/sampan-restore.service runs it, and `system service` does as it starts"
           ).parse_args(argv)
    for rec in g.engine().system.restore():
        print(rec.name)
    return 0


def _restore_in_child(g) -> None:
    """`system restore` before serving, in a child: the service never holds the database
    open itself (its children are forked from it)."""
    pid = os.fork()
    if pid == 0:
        try:
            g.engine().system.restore()
        except BaseException as e:  # the service starts all the same
            sys.stderr.write(f"sampan: restoring containers failed: {e}\n")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def main(command: str, argv: list[str], g) -> int:
    if command == "info":
        return _info(g, argv)
    if command == "version":
        return _version(argv)
    verb = argv[0] if argv else ""
    if verb == "df":
        return _df(g, argv[1:])
    if verb == "info":
        return _info(g, argv[1:])
    if verb == "prune":
        return _prune(g, argv[1:])
    if verb == "check":
        return _check(g, argv[1:])
    if verb == "zygote":
        return _zygote(g, argv[1:])
    if verb == "service":
        return _service(g, argv[1:])
    if verb == "restore":
        return _restore(g, argv[1:])
    sys.stdout.write("Usage:  sampan system COMMAND\n\nCommands:\n"
                     "  check   Check the state for damage (read-only)\n  df      Show disk usage\n"
                     "  info    Display system-wide information\n  prune   Remove unused data\n"
                     "  restore Start the containers a restart policy brings back at boot\n"
                     "  service Serve the Docker Engine API (for docker, docker-compose, docker-py)\n")
    return 0 if verb in ("-h", "--help") else 125
