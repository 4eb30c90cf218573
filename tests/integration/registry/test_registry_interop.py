"""Real peers: Debian's docker-registry (distribution 2.8) and skopeo."""

import json
import secrets
import subprocess

import pytest

from sampan.archive import load, save
from sampan.errors import RegistryError
from sampan.registry import login, pull, push


def token() -> str:
    return secrets.token_hex(4)


def skopeo(*args: str) -> str:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, text=True,
                          timeout=120).stdout


def test_push_then_pull_into_second_store_same_image(registry, busybox_stores):
    a, b = busybox_stores
    ref = f"{registry.host}/sampan/bb-{token()}:1"
    digest = push(a, "busybox:latest", ref, progress=False)
    assert digest == a.resolve("busybox").manifest_digest
    info = pull(b, ref, progress=False)
    assert info.id == a.resolve("busybox").id
    assert info.manifest_digest == digest
    # pulling again finds everything present and changes nothing
    assert pull(b, ref, progress=False).id == info.id
    # pull by digest works too
    assert pull(b, f"{registry.host}/sampan/{ref.split('/')[-1].split(':')[0]}@{digest}",
                progress=False).id == info.id



def test_repo_digests_are_what_the_registry_holds(registry, busybox_stores):
    """RepoDigests (and `images --digests`): name@digest after a push and after a pull."""
    a, b = busybox_stores
    name = f"{registry.host}/sampan/dg-{token()}"
    assert a.resolve("busybox").repo_digests == []  # imported: no registry holds it
    digest = push(a, "busybox:latest", f"{name}:1", progress=False)
    assert a.resolve("busybox").repo_digests == [f"{name}@{digest}"]
    info = pull(b, f"{name}:1", progress=False)
    assert info.repo_digests == [f"{name}@{digest}"]
    # a second name for the same image gets its own entry; the image's removal takes both
    push(b, f"{name}:1", f"{name}-other:2", progress=False)
    assert b.resolve(info.id).repo_digests == sorted([f"{name}@{digest}", f"{name}-other@{digest}"])
    b.remove(info.id, force=True)
    assert b.db.conn.execute("SELECT COUNT(*) FROM repo_digests").fetchone()[0] == 0


def test_skopeo_reads_what_we_pushed(registry, busybox_stores, tmp_path):
    a, _ = busybox_stores
    ref = f"{registry.host}/sampan/sk-{token()}:1"
    push(a, "busybox:latest", ref, progress=False)
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{tmp_path}/oci:x")
    index = json.loads((tmp_path / "oci" / "index.json").read_text())
    mdigest = index["manifests"][0]["digest"]
    manifest = json.loads((tmp_path / "oci" / "blobs" / "sha256" / mdigest[7:]).read_text())
    config = json.loads((tmp_path / "oci" / "blobs" / "sha256" / manifest["config"]["digest"][7:]).read_text())
    assert config["rootfs"]["diff_ids"] == a.resolve("busybox").diff_ids


def test_we_pull_what_skopeo_pushed(registry, busybox_stores, tmp_path):
    a, b = busybox_stores
    archive = tmp_path / "bb.tar"
    with open(archive, "wb") as f:
        save(a, ["busybox:latest"], f, "docker")
    ref = f"{registry.host}/sampan/fromskopeo-{token()}:v2"
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{ref}")
    info = pull(b, ref, progress=False)
    assert info.id == a.resolve("busybox").id      # same config => same image id


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_load_skopeo_made_archives(registry, busybox_stores, tmp_path, transport):
    a, b = busybox_stores
    ref = f"{registry.host}/sampan/arch-{token()}:1"
    push(a, "busybox:latest", ref, progress=False)
    out = tmp_path / "skopeo.tar"
    dest_ref = "example.com/sk/bb:7"
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"{transport}:{out}:{dest_ref}")
    with open(out, "rb") as f:
        loaded = load(b, f)
    assert loaded == [dest_ref]
    assert b.resolve(dest_ref).id == a.resolve("busybox").id


@pytest.mark.parametrize("fmt,transport", [("docker", "docker-archive"), ("oci", "oci-archive")])
def test_skopeo_inspects_our_save(busybox_stores, tmp_path, fmt, transport):
    a, _ = busybox_stores
    out = tmp_path / f"ours-{fmt}.tar"
    with open(out, "wb") as f:
        save(a, ["busybox:latest"], f, fmt)
    target = f"{transport}:{out}" + (":docker.io/library/busybox:latest" if fmt == "oci" else "")
    info = json.loads(skopeo("inspect", target))
    cfg = json.loads(skopeo("inspect", "--config", target))
    assert cfg["rootfs"]["diff_ids"] == a.resolve("busybox").diff_ids
    assert info["Os"] == "linux" and len(info["Layers"]) == 1


def test_basic_auth_registry_login_push_pull(auth_registry, busybox_stores, private_config):
    a, b = busybox_stores
    ref = f"{auth_registry.host}/private/bb-{token()}:1"
    with pytest.raises(RegistryError, match="authentication required.*sampan login"):
        push(a, "busybox:latest", ref, progress=False)
    with pytest.raises(RegistryError, match="wrong username or password|authentication"):
        login(auth_registry.host, "alice", "nope")
    assert not private_config.exists()
    login(auth_registry.host, "alice", "s3cret")
    assert auth_registry.host in json.loads(private_config.read_text())["auths"]
    digest = push(a, "busybox:latest", ref, progress=False)
    assert pull(b, ref, progress=False).manifest_digest == digest
