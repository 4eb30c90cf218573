"""`manifest inspect [--verbose] [--insecure] REF`: docker/cli's cli/command/manifest/inspect.go
output. An image manifest prints as the registry's bytes re-indented with tabs; an index as
Docker's manifest list rebuilt from what it lists (indented with 3 spaces, as distribution's
MarshalJSON); --verbose prints Docker's ImageManifest objects (Ref, Descriptor, Raw, and the
manifest under SchemaV2Manifest or OCIManifest)."""

from __future__ import annotations

import base64
import sys

from sampan.cli.args import Parser
from sampan.oci.json_indent import indent
from sampan.cli.gotemplate.gojson import _json_str

LIST_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


USAGE = ("Usage:  sampan manifest COMMAND\n\nManage Docker image manifests and manifest lists\n\n"
         "Commands:\n  annotate    Add additional information to a local image manifest\n"
         "  create      Create a local manifest list for annotating and pushing to a registry\n"
         "  inspect     Display an image manifest, or manifest list\n"
         "  push        Push a manifest list to a repository\n"
         "  rm          Delete one or more manifest lists from local storage\n")


def main(command: str, argv: list[str], g) -> int:
    verb = argv[0] if argv else ""
    if verb not in ("inspect", "create", "annotate", "push", "rm"):
        sys.stdout.write(USAGE)
        return 0 if verb in ("-h", "--help") else 125
    def images():  # the engine only once the arguments parsed (`completion` reads the parsers)
        return g.engine().images
    if verb == "inspect":
        p = Parser("manifest inspect", "Display an image manifest, or manifest list")
        p.add_argument("--insecure", action="store_true", help="Allow communication with an insecure registry")
        p.add_argument("-v", "--verbose", action="store_true",
                       help="Output additional info including layers and platform")
        p.add_argument("ref", metavar="MANIFEST")
        ns = p.parse_args(argv[1:])
        sys.stdout.write(render(images().manifest_inspect(ns.ref, tls_verify=False if ns.insecure else None),
                                ns.verbose))
    elif verb == "create":
        p = Parser("manifest create", "Create a local manifest list for annotating and pushing to a registry")
        p.add_argument("-a", "--amend", action="store_true", help="Amend an existing manifest list")
        p.add_argument("--insecure", action="store_true", help="Allow communication with an insecure registry")
        p.add_argument("list", metavar="MANIFEST_LIST")
        p.add_argument("manifests", metavar="MANIFEST", nargs="+")
        ns = p.parse_args(argv[1:])
        name = images().manifest_create(ns.list, ns.manifests, ns.amend, False if ns.insecure else None)
        print(f"Created manifest list {name}")
    elif verb == "annotate":
        p = Parser("manifest annotate", "Add additional information to a local image manifest")
        p.add_argument("--arch", default="", help="Set architecture")
        p.add_argument("--os", default="", help="Set operating system")
        p.add_argument("--os-version", default="", help="Set operating system version")
        p.add_argument("--os-features", action="append", default=[], help="Set operating system feature")
        p.add_argument("--variant", default="", help="Set architecture variant")
        p.add_argument("list", metavar="MANIFEST_LIST")
        p.add_argument("manifest", metavar="MANIFEST")
        ns = p.parse_args(argv[1:])
        features = [f for item in ns.os_features for f in item.split(",") if f]
        images().manifest_annotate(ns.list, ns.manifest, {"architecture": ns.arch, "os": ns.os,
                                                          "os.version": ns.os_version,
                                                          "os.features": features, "variant": ns.variant})
    elif verb == "push":
        p = Parser("manifest push", "Push a manifest list to a repository")
        p.add_argument("--insecure", action="store_true", help="Allow push to an insecure registry")
        p.add_argument("-p", "--purge", action="store_true", help="Remove the local manifest list after push")
        p.add_argument("list", metavar="MANIFEST_LIST")
        ns = p.parse_args(argv[1:])
        print(images().manifest_push(ns.list, ns.purge, False if ns.insecure else None))
    else:
        p = Parser("manifest rm", "Delete one or more manifest lists from local storage")
        p.add_argument("lists", metavar="MANIFEST_LIST", nargs="+")
        ns = p.parse_args(argv[1:])
        failed = [r for r in images().manifest_remove(ns.lists) if r.error is not None]
        for r in failed:
            print(r.error, file=sys.stderr)
        return 1 if failed else 0
    return 0


def render(report, verbose: bool) -> str:
    if report.children is None:
        if not verbose:
            return indent(report.raw.decode(), "\t") + "\n"
        return indent(_image_manifest(report), "\t") + "\n"
    if not verbose:
        entries = ",".join(
            "{" + f'"mediaType":{_json_str(c.media_type, True)},"size":{c.size},"digest":{_json_str(c.digest, True)},'
            f'"platform":{_platform(c.platform or {"architecture": "", "os": ""})}' + "}"
            for c in report.children)
        # distribution's FromDescriptors: an OCI index when the first entry is an OCI manifest
        oci = bool(report.children) and report.children[0].media_type == OCI_MANIFEST
        kind = OCI_INDEX if oci else LIST_TYPE
        return indent(f'{{"schemaVersion":2,"mediaType":"{kind}","manifests":[{entries}]}}', "   ") + "\n"
    return indent("[" + ",".join(_image_manifest(c) for c in report.children) + "]", "\t") + "\n"


def _image_manifest(m) -> str:
    """docker/cli's types.ImageManifest, compact (MarshalIndent re-indents it)."""
    desc = (f'{{"mediaType":{_json_str(m.media_type, True)},"digest":{_json_str(m.digest, True)},"size":{m.size}'
            + (f',"platform":{_platform(m.platform)}' if m.platform is not None else "") + "}")
    field = "SchemaV2Manifest" if m.media_type == DOCKER_MANIFEST else "OCIManifest"
    return (f'{{"Ref":{_json_str(m.ref, True)},"Descriptor":{desc},'
            f'"Raw":"{base64.b64encode(m.raw).decode()}","{field}":{indent(m.raw.decode(), None, True)}}}')


def _platform(p: dict) -> str:
    parts = []
    for key, value in p.items():
        if isinstance(value, list):
            parts.append(f"{_json_str(key, True)}:[" + ",".join(_json_str(v, True) for v in value) + "]")
        else:
            parts.append(f"{_json_str(key, True)}:{_json_str(value, True)}")
    return "{" + ",".join(parts) + "}"
