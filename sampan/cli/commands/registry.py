"""`pull`, `push`, `login`, `logout`."""

from __future__ import annotations

import getpass
import sys
from contextlib import contextmanager
from typing import Iterator

from sampan.cli.args import Parser
from sampan.errors import InvalidArgument, SampanError
from sampan.oci.reference import Reference, parse_reference


def _tls(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"invalid --tls-verify {value!r}: true or false")


def _announce(image: str, quiet: bool) -> Reference:
    """The full reference pull/push print last; "Using default tag" first when none was given."""
    ref = parse_reference(image, default_tag=False)
    if ref.tag is None and ref.digest is None:
        if not quiet:
            print("Using default tag: latest", flush=True)
        ref = ref.with_tag("latest")
    return ref


@contextmanager
def _exit_1() -> Iterator[None]:
    """Docker's CLI ends a failed pull with 1 whatever the daemon's reason (a registry that
    is down, refuses, or answers nonsense); 125 is for `run`/`create` failing to start."""
    try:
        yield
    except SampanError as e:
        e.exit_code = 1
        raise


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
        ref = _announce(ns.image, ns.quiet)
        with _exit_1():
            g.engine().images.pull(ns.image, ns.platform, _tls(ns.tls_verify), ns.quiet, display=sys.stdout)
        print(ref)  # as Docker: the full reference last (alone with -q), for scripts
        return 0
    if command == "push":
        p.add_argument("image")
        p.add_argument("destination", nargs="?", help="Push to this reference instead")
        ns = p.parse_args(argv)
        ref = _announce(ns.destination or ns.image, ns.quiet)
        engine = g.engine()
        digest = engine.images.push(ns.image, ns.destination, _tls(ns.tls_verify), ns.quiet, display=sys.stdout)
        if ns.quiet:
            print(ref)
        else:  # the line Docker's daemon ends a push with
            print(f"{ref.tag or ref.digest}: digest: {digest} size: {engine.images.manifest_size(digest)}")
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
