"""`network create|ls|inspect|rm|prune|connect|disconnect` and `port`."""

from __future__ import annotations

from sampan.cli.args import Parser, key_values
from sampan.cli.output import inspect_each, report_items, table
from sampan.errors import SampanError

VERBS = ("create", "ls", "list", "inspect", "rm", "remove", "prune", "connect", "disconnect")


def _port(argv, g) -> int:
    p = Parser("port", "List port mappings of a container")
    p.add_argument("container")
    p.add_argument("private_port", nargs="?", help="PORT[/PROTO] to show")
    ns = p.parse_args(argv)
    lines = [f"{port.private_port}/{port.type} -> {port.ip}:{port.public_port}"
             for port in g.engine().containers.ports(ns.container)]
    if ns.private_port:
        want = ns.private_port if "/" in ns.private_port else ns.private_port + "/tcp"
        lines = [l.split(" -> ", 1)[1] for l in lines if l.startswith(want + " ")]
        if not lines:
            raise SampanError(f"no public port '{want}' published for {ns.container}")
    for l in lines:
        print(l)
    return 0


def main(command: str, argv: list[str], g) -> int:
    if command == "port":
        return _port(argv, g)
    if not argv or argv[0] not in VERBS:
        print("Usage:  sampan network COMMAND\n\nCommands:\n  connect     Connect a container to a network\n"
              "  create      Create a network\n  disconnect  Disconnect a container from a network\n"
              "  inspect     Display detailed information on one or more networks\n  ls          List networks\n"
              "  prune       Remove all unused networks\n  rm          Remove one or more networks")
        return 0 if argv and argv[0] in ("-h", "--help") else 125
    verb = {"list": "ls", "remove": "rm"}.get(argv[0], argv[0])
    p = Parser(f"network {verb}")
    engine = g.engine()
    if verb == "create":
        p.add_argument("--subnet", help="Subnet in CIDR format, e.g. 10.20.0.0/24")
        p.add_argument("--gateway", help="Gateway for the subnet")
        p.add_argument("--internal", action="store_true", help="Restrict external access to the network")
        p.add_argument("-d", "--driver", default="bridge", help="Only bridge is supported")
        p.add_argument("--label", action="append", default=[])
        p.add_argument("name")
        ns = p.parse_args(argv[1:])
        from sampan.engine.options import NetworkCreateOptions
        info = engine.networks.create(NetworkCreateOptions(
            name=ns.name, driver=ns.driver, subnet=ns.subnet, gateway=ns.gateway, internal=ns.internal,
            labels=key_values(ns.label, "label")))
        print(info.id)
    elif verb == "ls":
        p.add_argument("-q", "--quiet", action="store_true")
        p.add_argument("--no-trunc", action="store_true")
        p.add_argument("-f", "--filter", action="append", default=[],
                       help="Filter output (name=, id=, label=KEY[=VALUE], driver=)")
        p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.Name}}')")
        ns = p.parse_args(argv[1:])
        from sampan.engine.options import ListOptions
        nets = engine.networks.list(ListOptions(filters=ns.filter))
        if ns.quiet:
            for n in nets:
                print(n.id if ns.no_trunc else n.id[:12])
        elif ns.format:
            from sampan.cli.formatters import NetworkContext
            from sampan.cli.output import write_formatted
            write_formatted(ns.format, [NetworkContext(n, trunc=not ns.no_trunc) for n in nets], NetworkContext)
        else:
            table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                  [[n.id if ns.no_trunc else n.id[:12], n.name, "bridge", "local"] for n in nets])
    elif verb == "inspect":
        p.add_argument("-f", "--format", help="Format output using a Go template ('json', '{{.Driver}}')")
        p.add_argument("names", nargs="+")
        ns = p.parse_args(argv[1:])
        return inspect_each(ns.names, engine.networks.inspect, ns.format)
    elif verb == "rm":
        p.add_argument("-f", "--force", action="store_true", help="Do not fail on a network that does not exist")
        p.add_argument("names", nargs="+")
        ns = p.parse_args(argv[1:])
        return report_items(engine.networks.remove(ns.names), lambda r: r.name, missing_ok=ns.force)
    elif verb == "prune":
        from sampan.cli.commands import prune
        p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
        prune.add_filter(p)
        ns = p.parse_args(argv[1:])
        from sampan.cli import prompt
        from sampan.engine.options import PruneOptions
        if not ns.force and not prompt.confirm(prompt.NETWORKS):
            return 0
        prune.section("Deleted Networks:", engine.networks.prune(PruneOptions(filters=ns.filter)).deleted)
    elif verb == "connect":
        p.add_argument("--alias", action="append", default=[], help="Add network-scoped alias for the container")
        p.add_argument("--ip", help="IPv4 address (e.g. 172.30.100.104)")
        p.add_argument("--link", action="append", default=[], help="Add link to another container: NAME[:ALIAS]")
        p.add_argument("network")
        p.add_argument("container")
        ns = p.parse_args(argv[1:])
        engine.networks.connect(ns.network, ns.container, ns.alias, ip=ns.ip, links=ns.link)
    elif verb == "disconnect":
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("network")
        p.add_argument("container")
        ns = p.parse_args(argv[1:])
        engine.networks.disconnect(ns.network, ns.container, force=ns.force)
    return 0

