"""`build --output type=image,name=REF` and `type=docker` (BuildKit's image and docker
exporters: the image stored and tagged; type=docker,dest=FILE a `save` archive), and
several -o refused as the Docker daemon's builder refuses them."""

import io
import json
import subprocess
import tarfile

import pytest

from tests.integration.build.test_cli_build import cli, write  # noqa: F401  (fixture)

DF = "FROM busybox\nRUN echo exported > /marker\n"


def _tags(cli):
    return sorted(cli.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split())


def test_type_image_and_docker_store_and_tag(cli):
    write(cli, {"Dockerfile": DF})
    iid = cli.ok("build", "--network=none", "-q", "-o", "type=image,name=out/img:1", str(cli.ctx)).strip()
    assert cli.ok("inspect", "--format", "{{.Id}}", "out/img:1").strip() == iid
    assert cli.ok("run", "--rm", "--network=none", "out/img:1", "cat", "/marker") == "exported\n"
    # several names in one quoted CSV field, as BuildKit takes them
    cli.ok("build", "--network=none", "-q", "-o", 'type=docker,"name=out/a:1,out/b:2"', str(cli.ctx))
    assert {"out/a:1", "out/b:2", "out/img:1"} <= set(_tags(cli))
    # -t wins over name= (buildx fills the exporter's names from the tags)
    cli.ok("build", "--network=none", "-q", "-t", "out/tagged:1", "-o", "type=image,name=out/ignored:1",
           str(cli.ctx))
    assert "out/tagged:1" in _tags(cli) and "out/ignored:1" not in _tags(cli)


def test_type_docker_dest_writes_a_loadable_archive(cli, tmp_path):
    write(cli, {"Dockerfile": DF})
    dest = tmp_path / "img.tar"
    iid = cli.ok("build", "--network=none", "-q", "-o", f"type=docker,name=arch/ive:1,dest={dest}",
                 str(cli.ctx)).strip()
    with tarfile.open(dest) as t:
        manifest = json.load(t.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["arch/ive:1"]
    cli.ok("rmi", "arch/ive:1")
    cli.ok("load", "-i", str(dest))
    assert cli.ok("inspect", "--format", "{{.Id}}", "arch/ive:1").strip() == iid
    # dest=-: the archive alone on stdout
    p = subprocess.run(cli.argv("build", "--network=none", "-q", "-o", "type=docker,dest=-", str(cli.ctx)),
                       capture_output=True, env=cli.env(), stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        assert "manifest.json" in t.getnames()


@pytest.mark.parametrize("argv,words", [
    (["-o", "type=local,dest=/tmp/x", "-o", "type=tar,dest=/tmp/y.tar"], "multiple outputs not supported"),
    (["-o", "type=image,name=a:1", "-o", "type=docker"], "multiple outputs not supported"),
    (["-o", "type=image,name=a:1,push=true"], "push=true is not supported"),
    (["-o", "type=image,dest=/tmp/z"], "type=image takes no dest"),
    (["-o", "type=local,name=a:1,dest=/tmp/z"], "unsupported --output field 'name'"),
    (["-o", 'type=image,"name=a:1'], "not a CSV record"),
    (["-o", "type=image,name=out/UPPER:1"], "must be lowercase"),
])
def test_output_errors_build_nothing(cli, argv, words):
    write(cli, {"Dockerfile": DF})
    before = _tags(cli)
    r = cli("build", "--network=none", *argv, str(cli.ctx))
    assert r.rc == 125 and words in r.err and "Traceback" not in r.err, r
    assert _tags(cli) == before
