"""`manifest inspect [--verbose] [--insecure] REF`: docker/cli's cli/command/manifest/inspect.go
output. An image manifest prints as the registry's bytes re-indented with tabs; an index as
Docker's manifest list rebuilt from what it lists (indented with 3 spaces, as distribution's
MarshalJSON); --verbose prints Docker's ImageManifest objects (Ref, Descriptor, Raw, and the
manifest under SchemaV2Manifest or OCIManifest)."""

from __future__ import annotations

import base64
import sys

from sampan.cli.args import Parser
from sampan.cli.gojson_indent import indent
from sampan.cli.gotemplate.gojson import _json_str

LIST_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def main(command: str, argv: list[str], g) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] != "inspect":
        print("Usage:  sampan manifest COMMAND\n\nManage Docker image manifests and manifest lists\n\n"
              "Commands:\n  inspect     Display an image manifest, or manifest list")
        return 0 if argv and argv[0] in ("-h", "--help") else 125
    p = Parser("manifest inspect", "Display an image manifest, or manifest list")
    p.add_argument("--insecure", action="store_true", help="Allow communication with an insecure registry")
    p.add_argument("-v", "--verbose", action="store_true", help="Output additional info including layers and platform")
    p.add_argument("ref", metavar="MANIFEST")
    ns = p.parse_args(argv[1:])
    report = g.engine().images.manifest_inspect(ns.ref, tls_verify=False if ns.insecure else None)
    sys.stdout.write(render(report, ns.verbose))
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
