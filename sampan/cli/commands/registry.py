"""`pull`, `push`, `login`, `logout`."""

from __future__ import annotations

import getpass
import sys

from sampan.cli.args import Parser
from sampan.errors import InvalidArgument


def _tls(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"invalid --tls-verify {value!r}: true or false")


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command)
    if command in ("pull", "push", "login"):
        p.add_argument("--tls-verify", nargs="?", const="true", default=None,
                       help="Require HTTPS with a verified certificate (false allows plain HTTP)")
    if command in ("pull", "push"):
        p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    if command == "pull":
        p.add_argument("--platform", help="Platform to pull, e.g. linux/arm64")
        p.add_argument("image")
        ns = p.parse_args(argv)
        info = g.engine().images.pull(ns.image, ns.platform, _tls(ns.tls_verify), ns.quiet)
        print(info.id if ns.quiet else f"Status: pulled {ns.image} ({info.short_id})")
        return 0
    if command == "push":
        p.add_argument("image")
        p.add_argument("destination", nargs="?", help="Push to this reference instead")
        ns = p.parse_args(argv)
        digest = g.engine().images.push(ns.image, ns.destination, _tls(ns.tls_verify), ns.quiet)
        print(digest if ns.quiet else f"{ns.destination or ns.image}: digest: {digest}")
        return 0
    if command == "login":
        p.add_argument("-u", "--username")
        p.add_argument("-p", "--password")
        p.add_argument("--password-stdin", action="store_true", help="Take the password from STDIN")
        p.add_argument("server", nargs="?")
        ns = p.parse_args(argv)
        user = ns.username or input("Username: ")
        if ns.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif ns.password is not None:
            sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
            password = ns.password
        else:
            password = getpass.getpass("Password: ")
        g.engine().login(ns.server, user, password, _tls(ns.tls_verify))
        print("Login Succeeded")
        return 0
    p.add_argument("server", nargs="?")
    ns = p.parse_args(argv)
    if g.engine().logout(ns.server):
        print(f"Removing login credentials for {ns.server or 'docker.io'}")
    else:
        print(f"Not logged in to {ns.server or 'docker.io'}")
    return 0
