"""Images through the Engine API with real clients: list, inspect, history, tag, rmi,
prune, save/load, import, commit; and hostile input (names, archives) answered by a 4xx."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from tests.support.api import docker_clis, request




@pytest.mark.parametrize("cli", docker_clis())
def test_images_tag_inspect_history_rmi_with_the_docker_cli(service, cli):
    r = service.docker("images", cli=cli)
    assert r.rc == 0, r.err
    assert "busybox" in r.out
    r = service.docker("tag", "busybox", "127.0.0.1:5000/team/box:v1", cli=cli)
    assert r.rc == 0, r.err
    r = service.docker("image", "inspect", "127.0.0.1:5000/team/box:v1", cli=cli)
    assert r.rc == 0, r.err
    [info] = json.loads(r.out)
    assert "127.0.0.1:5000/team/box:v1" in info["RepoTags"] and info["Id"].startswith("sha256:")
    assert "127.0.0.1:5000/team/box" in service.cli.ok("images")
    r = service.docker("history", "busybox", cli=cli)
    assert r.rc == 0 and "IMAGE" in r.out, r.err
    r = service.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "127.0.0.1:5000/team/box", cli=cli)
    assert r.out.split() == ["127.0.0.1:5000/team/box:v1"], r.out
    r = service.docker("rmi", "127.0.0.1:5000/team/box:v1", cli=cli)
    assert r.rc == 0 and "Untagged: 127.0.0.1:5000/team/box:v1" in r.out, r.err
    r = service.docker("image", "inspect", "127.0.0.1:5000/team/box:v1", cli=cli)
    assert r.rc != 0 and "127.0.0.1:5000/team/box:v1" in r.err


@pytest.mark.parametrize("cli", docker_clis())
def test_rmi_of_an_image_in_use_is_a_conflict_with_dockers_message(service, cli):
    service.cli.ok("create", "--name", "user", "busybox", "true")
    r = service.docker("rmi", "busybox", cli=cli)
    assert r.rc != 0
    assert "conflict: unable to remove repository reference \"busybox\" (must force)" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert "busybox" in service.cli.ok("images")
    image_id = service.cli.ok("image", "inspect", "--format", "{{.Id}}", "busybox").strip()
    r = service.docker("rmi", image_id.split(":")[1][:12], cli=cli)
    assert r.rc != 0 and "conflict: unable to delete" in r.err and "(must be forced)" in r.err, r.err
    # -f takes the tag off and leaves the image to the container that uses it
    r = service.docker("rmi", "-f", "busybox", cli=cli)
    assert r.rc == 0 and "Untagged: busybox:latest" in r.out, (r.out, r.err)
    assert "busybox" not in service.cli.ok("images")
    service.cli.ok("rm", "user")


@pytest.mark.parametrize("cli", docker_clis())
def test_save_and_load_round_trip_with_the_docker_cli(service, tmp_path, cli):
    archive = tmp_path / "box.tar"
    assert service.docker("tag", "busybox", "saved/box:1", cli=cli).rc == 0
    r = service.docker("save", "-o", str(archive), "saved/box:1", cli=cli)
    assert r.rc == 0, r.err
    with tarfile.open(archive) as t:
        assert "manifest.json" in t.getnames()
    assert service.docker("rmi", "saved/box:1", cli=cli).rc == 0
    r = service.docker("load", "-i", str(archive), cli=cli)
    assert r.rc == 0 and "Loaded image: saved/box:1" in r.out, (r.out, r.err)
    assert "saved/box" in service.cli.ok("images")
    out = service.cli.ok("run", "--rm", "saved/box:1", "echo", "from-loaded")
    assert "from-loaded" in out


def test_docker_py_lists_gets_and_saves(service):
    client = service.client()
    try:
        tags = [t for img in client.images.list() for t in img.tags]
        assert "busybox:latest" in tags
        img = client.images.get("busybox")
        assert img.id.startswith("sha256:") and "busybox:latest" in img.tags
        data = b"".join(img.save())
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            assert "manifest.json" in t.getnames()
        [loaded] = client.images.load(data)
        assert loaded.id == img.id
        img.tag("pyrepo/box", "2")
        assert "pyrepo/box:2" in client.images.get("pyrepo/box:2").tags
        client.images.remove("pyrepo/box:2")
        with pytest.raises(Exception, match="pyrepo/box"):
            client.images.get("pyrepo/box:2")
    finally:
        client.close()


def test_import_of_a_rootfs_and_commit(service, busybox_tar):
    r = service.docker("import", str(busybox_tar), "imported/box:1")
    assert r.rc == 0 and r.out.strip().startswith("sha256:"), (r.out, r.err)
    assert "imported/box" in service.cli.ok("images")
    service.cli.ok("run", "--name", "c1", "busybox", "sh", "-c", "echo committed > /marker")
    r = service.docker("commit", "-m", "a note", "-c", "ENV X=1", "c1", "committed/box:1")
    assert r.rc == 0 and r.out.strip().startswith("sha256:"), r.err
    out = service.cli.ok("run", "--rm", "committed/box:1", "sh", "-c", "cat /marker; echo $X")
    assert out.split() == ["committed", "1"]


def test_prune_removes_dangling_images(service):
    service.cli.ok("run", "--name", "c2", "busybox", "true")
    image_id = service.docker("commit", "c2").out.strip()
    assert image_id.startswith("sha256:")
    service.cli.ok("rm", "c2")
    r = service.docker("image", "prune", "-f")
    assert r.rc == 0 and image_id in r.out, (r.out, r.err)
    assert service.docker("image", "inspect", image_id).rc != 0
    assert "busybox" in service.cli.ok("images")  # tagged: kept without -a
    service.cli.ok("tag", "busybox", "spare/box:1")
    r = service.docker("image", "prune", "-a", "-f")
    assert r.rc == 0 and "untagged: spare/box:1" in r.out, (r.out, r.err)
    assert "spare/box" not in service.cli.ok("images")


def test_hostile_names_and_archives_get_one_clear_4xx(service):
    for path in ("/images/..%2F..%2Fetc/json", "/images/a/../../b/json", "/images/x..y:1/history"):
        status, _, body = request(service, "GET", path)
        assert 400 <= status < 500, (path, status, body)
        assert json.loads(body)["message"]
    status, _, body = request(service, "POST", "/images/busybox/tag?repo=bad..name&tag=1")
    assert status == 400, body
    status, _, body = request(service, "POST", "/images/load", b"this is not an archive" * 100)
    assert status == 400, body
    assert "\n" not in json.loads(body)["message"]
    status, _, body = request(service, "POST", "/images/create?fromSrc=-&repo=junk", b"not a tar at all")
    assert status == 400, body
    status, _, body = request(service, "GET", "/images/json?filters=3")
    assert status == 400, body
    status, _, body = request(service, "GET", "/images/nosuch:1/get")
    assert status == 404, body
    r = service.docker("load", input=b"garbage" * 1000)
    assert r.rc != 0 and len(r.err.strip().splitlines()) == 1, r.err
