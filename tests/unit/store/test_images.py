import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import subprocess

import pytest

from sampan.errors import (Conflict, DigestMismatch, ImageNotFound, InvalidArgument, StoreCorrupt,
                           UnsafeArchive)
from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore, LayerRef
from sampan.store.types import ImageDeletion
from tests.unit.store.conftest import tree_files
from tests.unit.store.tarmaker import entry, make_tar

REF_NAME = "org.opencontainers.image.ref.name"


def imp(store, busybox_tar, ref="busybox", **kw):
    with open(busybox_tar, "rb") as f:
        return store.import_rootfs(f, ref, **kw)


def index_names(store) -> dict[str, str]:
    idx = json.loads(store.paths.index_json.read_text())
    return {m["annotations"][REF_NAME]: m["digest"] for m in idx["manifests"]
            if REF_NAME in m.get("annotations", {})}


def test_import_busybox_and_unpack(store, busybox_tar):
    info = imp(store, busybox_tar, changes=['CMD ["sh"]', "ENV PATH=/bin:/usr/bin",
                                            "WORKDIR /srv", "EXPOSE 80 53/udp"])
    assert info.repo_tags == ["busybox:latest"]
    assert info.full_tags == ["docker.io/library/busybox:latest"]
    assert info.id.startswith("sha256:") and len(info.layers) == 1
    cfg = info.config["config"]
    assert cfg["Cmd"] == ["sh"] and cfg["Env"] == ["PATH=/bin:/usr/bin"]
    assert cfg["WorkingDir"] == "/srv" and cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert info.config["history"][0]["comment"] == "Imported from -"
    assert info.size == os.path.getsize(busybox_tar)  # uncompressed tar size
    [diff] = store.layer_dirs(info)
    assert (diff / "bin/busybox").read_bytes() == open("/bin/busybox", "rb").read()
    assert os.readlink(diff / "bin/sh") == "busybox"
    assert store.layer_dirs("busybox") == [diff]
    out = subprocess.run([str(diff / "bin/busybox"), "echo", "hi"], capture_output=True, text=True)
    assert out.stdout == "hi\n"


@pytest.mark.parametrize("compress", ["gzip", "bzip2", "xz", "zstd"])
def test_import_compressed_tars_gives_same_layer(store, busybox_tar, compress):
    raw = open(busybox_tar, "rb").read()
    if compress == "zstd":
        if not shutil.which("zstd"):
            pytest.skip("no zstd program")
        data = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
    else:
        data = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}[compress](raw)
    plain = imp(store, busybox_tar, ref="plain")
    packed = store.import_rootfs(io.BytesIO(data), "packed")
    assert packed.layers[0].diff_id == plain.layers[0].diff_id
    assert packed.layers[0].digest == plain.layers[0].digest  # reproducible gzip


def test_import_rejects_garbage_and_hostile_tars_leaving_nothing(store):
    with pytest.raises(InvalidArgument) as e:
        store.import_rootfs(io.BytesIO(b"definitely not a tar " * 50), "x")
    assert "tar" in str(e.value)
    with pytest.raises(UnsafeArchive):
        store.import_rootfs(io.BytesIO(make_tar(entry("../evil", data=b"x"))), "x")
    with pytest.raises(InvalidArgument):
        store.import_rootfs(io.BytesIO(gzip.compress(b"x" * 100)[:30]), "x")
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []
    assert store.list_images() == []


@pytest.mark.parametrize("change", ["RUN echo", "FROM x", "EXPOSE http", "ENV", "LABEL novalue",
                                    "CMD", "VOLUME", "EXPOSE 70000"])
def test_bad_changes_are_refused_before_reading(store, change):
    class Unread:
        def read(self, n=-1):
            raise AssertionError("tar read before the changes were checked")
    with pytest.raises(InvalidArgument) as e:
        store.import_rootfs(Unread(), "x", [change])
    assert "invalid change" in str(e.value)


def test_changes_forms(store):
    tar = io.BytesIO(make_tar(entry("f", data=b"1")))
    info = store.import_rootfs(tar, None, [
        "ENTRYPOINT /bin/app --flag", "CMD [\"a\", \"b\"]", "ENV A=1 B=\"two words\"",
        "ENV LEGACY some value", "LABEL a=b \"c d\"=e", "VOLUME /data /cache", "USER www-data",
        "STOPSIGNAL SIGINT", "EXPOSE 8000-8002"], message="hello")
    c = info.config["config"]
    assert c["Entrypoint"] == ["/bin/sh", "-c", "/bin/app --flag"] and c["Cmd"] == ["a", "b"]
    assert c["Env"] == ["A=1", "B=two words", "LEGACY=some value"]
    assert c["Labels"] == {"a": "b", "c d": "e"} and set(c["Volumes"]) == {"/data", "/cache"}
    assert c["User"] == "www-data" and c["StopSignal"] == "SIGINT"
    assert set(c["ExposedPorts"]) == {"8000/tcp", "8001/tcp", "8002/tcp"}
    assert info.repo_tags == [] and store.history(info.id)[0]["comment"] == "hello"


def test_resolve_forms(store, busybox_tar):
    info = imp(store, busybox_tar)
    hexid = info.id.split(":")[1]
    for name in ("busybox", "busybox:latest", "docker.io/library/busybox:latest",
                 "library/busybox", info.id, hexid, hexid[:4], hexid[:12], "sha256:" + hexid[:8],
                 f"busybox@{info.manifest_digest}"):
        assert store.resolve(name).id == info.id, name
    with pytest.raises(ImageNotFound) as e:
        store.resolve("nothere:1")
    assert "No such image: nothere:1" in str(e.value) and "sampan images" in str(e.value)
    with pytest.raises(ImageNotFound):
        store.resolve(hexid[:3])  # too short to be an id prefix
    with pytest.raises(InvalidArgument):
        store.resolve("UPPER")


def test_ambiguous_short_id_conflicts(store):
    from sampan.store.catalog import Catalog
    with store.db.tx() as conn:
        for fill in ("1", "2"):
            Catalog.insert_image(conn, image_id="sha256:abcd" + fill * 60, manifest_digest="sha256:"
                                 + fill * 64, manifest_media_type="x", manifest_size=1, created="",
                                 config_json="{}", layers=[], intermediate=False)
    with pytest.raises(Conflict) as e:
        store.resolve("abcd")
    assert "ambiguous" in str(e.value)
    assert store.resolve("abcd1").id == "sha256:abcd" + "1" * 60


def test_tag_untag_and_rmi_semantics(store, busybox_tar):
    info = imp(store, busybox_tar)
    store.tag("busybox", "localhost:5000/app:1")
    store.tag(info.id[7:19], "app:2")
    assert sorted(store.resolve("busybox").repo_tags) == ["app:2", "busybox:latest",
                                                           "localhost:5000/app:1"]
    assert set(index_names(store)) == {
        "docker.io/library/busybox:latest", "busybox:latest", "localhost:5000/app:1",
        "docker.io/library/app:2", "app:2"}
    with pytest.raises(InvalidArgument):
        store.tag("busybox", f"app@{info.manifest_digest}")
    # by a tag among several: untag only
    assert store.remove("app:2") == ImageDeletion(untagged=["app:2"])
    assert "app:2" not in index_names(store)
    # by id with several tags: refused unless forced
    with pytest.raises(Conflict) as e:
        store.remove(info.id)
    assert "must be forced" in str(e.value)
    assert store.untag("localhost:5000/app:1") is True
    assert store.untag("localhost:5000/app:1") is False
    [diff] = store.layer_dirs(info)
    done = store.remove("busybox")
    assert done.untagged == ["busybox:latest"]
    assert done.deleted == [info.id, info.layers[0].diff_id]  # then the layer's chain id
    assert not diff.exists() and tree_files(store.paths.blobs) == []
    assert json.loads(store.paths.index_json.read_text())["manifests"] == []
    with pytest.raises(ImageNotFound):
        store.resolve(info.id)


def test_force_remove_by_id_and_shared_layers(store, busybox_tar):
    a = imp(store, busybox_tar, ref="a")
    store.tag("a", "a2")
    b = store.write_image({"config": {"Labels": {"b": "1"}}}, a.layers, "b")
    assert b.id != a.id and b.layers == a.layers
    [diff] = store.layer_dirs(b)
    done = store.remove(a.id, force=True)
    assert done == ImageDeletion(["a2:latest", "a:latest"], [a.id])
    assert diff.exists() and store.has_blob(a.layers[0].digest)  # still used by b
    assert not store.has_blob(a.id) and not store.has_blob(a.manifest_digest)
    assert store.layer_dirs("b") == [diff]


def test_retag_leaves_dangling_image_and_prune_removes_it(store, busybox_tar):
    old = imp(store, busybox_tar, ref="app")
    new = store.write_image({"config": {"Cmd": ["true"]}}, old.layers, "app")
    assert store.resolve("app").id == new.id
    dangling = store.resolve(old.id)
    assert dangling.repo_tags == []
    assert {i.id for i in store.list_images()} == {old.id, new.id}
    idx = json.loads(store.paths.index_json.read_text())["manifests"]
    assert {m["digest"] for m in idx} == {old.manifest_digest, new.manifest_digest}
    assert store.prune() == [ImageDeletion([], [old.id])]
    assert [i.id for i in store.list_images()] == [new.id]
    assert store.prune(dangling_only=False, keep=[new.id]) == []
    [done] = store.prune(dangling_only=False)
    assert done.untagged == ["app:latest"] and done.deleted[0] == new.id
    assert tree_files(store.paths.blobs) == []


def test_intermediate_images_hidden_unless_all(store, busybox_tar):
    base = imp(store, busybox_tar)
    mid = store.write_image({"config": {"Env": ["X=1"]}}, base.layers, None, intermediate=True)
    assert mid.id not in {i.id for i in store.list_images()}
    assert mid.id in {i.id for i in store.list_images(all=True)}


def test_write_image_history_and_layers(store, busybox_tar):
    base = imp(store, busybox_tar)
    extra = store.add_layer_from_tar(io.BytesIO(make_tar(entry("etc/motd", data=b"hi\n"))))
    hist = base.config["history"] + [{"created": "2024-01-01T00:00:00Z", "created_by": "COPY motd"},
                                     {"created": "2024-01-01T00:00:01Z", "created_by": "ENV A=1",
                                      "empty_layer": True}]
    info = store.write_image(dict(base.config), base.layers + [extra], "two", history=hist)
    assert info.config["rootfs"]["diff_ids"] == [base.layers[0].diff_id, extra.diff_id]
    rows = store.history("two")
    assert [r["created_by"] for r in rows] == ["ENV A=1", "COPY motd", ""]
    assert rows[0]["id"] == info.id and rows[1]["id"] == "<missing>"
    assert rows[0]["size"] == 0 and rows[1]["size"] == extra.uncompressed_size
    top, bottom = store.layer_dirs(info)
    assert store.layer_dirs(base.layers + [extra]) == [top, bottom]
    assert (top / "etc/motd").read_text() == "hi\n" and (bottom / "bin/busybox").exists()
    assert not (top / "bin").exists()


def test_write_image_refuses_missing_layer(store):
    fake = LayerRef("sha256:" + "1" * 64, "sha256:" + "2" * 64, 10, "application/vnd.oci.image.layer.v1.tar+gzip")
    with pytest.raises(StoreCorrupt):
        store.write_image({}, [fake], "x")


def test_unpack_checks_diff_id_and_redoes_crash_leftovers(store, busybox_tar):
    info = imp(store, busybox_tar)
    layer = info.layers[0]
    liar = LayerRef("sha256:" + "9" * 64, layer.digest, layer.size, layer.media_type)
    bad = store.write_image({}, [liar], "liar")
    with pytest.raises(DigestMismatch):
        store.layer_dirs(bad)
    assert not store.unpacker.layer_dir(liar.diff_id).exists()
    # a crash mid-unpack: dir without the completion marker is thrown away and redone
    leftover = store.unpacker.diff_dir(info.chain_ids[0])
    (leftover / "bin").mkdir(parents=True)
    (leftover / "junk").write_text("half")
    [diff] = store.layer_dirs(info)
    assert diff == leftover and not (diff / "junk").exists() and (diff / "bin/busybox").exists()


def test_register_manifest_from_another_store(store, busybox_tar, tmp_path):
    src = imp(store, busybox_tar)
    other_paths = Paths(tmp_path / "r2", tmp_path / "run2")
    other = ImageStore(other_paths, Database(other_paths.db))
    manifest = store.blob_path(src.manifest_digest).read_bytes()
    with pytest.raises(StoreCorrupt):
        other.register_manifest(manifest, "copied")
    for d in [src.id] + [l.digest for l in src.layers]:
        with store.open_blob(d) as f:
            other.put_blob_stream(f, d, store.blob_size(d))
    info = other.register_manifest(manifest, "copied:1")
    assert info.id == src.id and info.manifest_digest == src.manifest_digest
    assert info.repo_tags == ["copied:1"]
    [diff] = other.layer_dirs("copied:1")
    assert (diff / "bin/busybox").exists()
    assert other.resolve("copied:1").size == src.size  # learnt while unpacking
    m = json.loads(manifest)
    m["layers"][0]["size"] += 1
    with pytest.raises(DigestMismatch):
        other.register_manifest(json.dumps(m).encode(), None)
    m["layers"] = []
    with pytest.raises(InvalidArgument):
        other.register_manifest(json.dumps(m).encode(), None)
    other.db.close()


def test_disk_usage(store, busybox_tar):
    info = imp(store, busybox_tar)
    store.layer_dirs(info)
    du = store.disk_usage()
    assert du["images"] == 1 and du["dangling"] == 0
    assert du["blobs_size"] >= info.layers[0].size > 0
    assert du["unpacked_size"] > 1_000_000 and du["per_image"] == {info.id: info.size}


def test_store_survives_reopen(store, busybox_tar):
    info = imp(store, busybox_tar)
    again = ImageStore(store.paths, Database(store.paths.db))
    assert again.resolve("busybox").id == info.id
    again.db.close()


@pytest.mark.parametrize("entries, words", [
    ([entry("l", "symlink", link="/etc"), entry("l/passwd", data=b"x")], "symlink"),
    ([entry("h", "hardlink", link="later"), entry("later", data=b"x")], "hardlink"),
    ([entry("d", "dir"), entry("h", "hardlink", link="d")], "hardlink"),
])
def test_import_refuses_what_unpack_would(store, entries, words):
    with pytest.raises(UnsafeArchive) as e:
        store.import_rootfs(io.BytesIO(make_tar(*entries)), "x")
    assert words in str(e.value)
    assert tree_files(store.paths.blobs) == []


def test_import_accepts_replaced_symlink_and_gzip_padding(store):
    tar = make_tar(entry("a", "symlink", link="/etc"), entry("a", "dir", mode=0o755),
                   entry("a/f", data=b"ok"), entry("b", data=b"1"), entry("c", "hardlink", link="b"))
    info = store.import_rootfs(io.BytesIO(gzip.compress(tar) + b"\0" * 1000), "ok")
    [diff] = store.layer_dirs(info)
    assert (diff / "a/f").read_bytes() == b"ok"
    assert os.stat(diff / "b").st_ino == os.stat(diff / "c").st_ino
    with pytest.raises(InvalidArgument):
        store.import_rootfs(io.BytesIO(gzip.compress(tar) + b"\0junk"), "bad")


def test_verify_store_finds_damage_and_changes_nothing(store, busybox_tar):
    from sampan.store.verify import NOTE, PROBLEM, verify_store
    info = imp(store, busybox_tar)
    store.layer_dirs(info)
    assert verify_store(store) == []
    os.chmod(store.blob_path(info.id), 0o644)
    with open(store.blob_path(info.id), "ab") as f:
        f.write(b" ")  # bit rot
    (store.unpacker.diff_dir("sha256:" + "7" * 64)).mkdir(parents=True)  # crash leftover
    (store.paths.tmp / "blob-stray").write_bytes(b"x")
    store.paths.index_json.write_text("{}")
    found = verify_store(store)
    problems = [f.message for f in found if f.kind == PROBLEM]
    notes = [f.message for f in found if f.kind == NOTE]
    assert any(info.id in p and "does not match" in p for p in problems), problems
    assert any("index.json" in p for p in problems), problems
    assert any("half unpacked" in n for n in notes) and any("blob-stray" in n for n in notes), notes
    assert (store.paths.tmp / "blob-stray").exists()  # a check only looks


@pytest.mark.skipif(os.geteuid() != 0, reason="trusted.* xattrs need root")
def test_upper_dir_with_metacopy_is_refused(store, tmp_path):
    from sampan.errors import InvalidState
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "f").write_text("")
    os.setxattr(upper / "f", "trusted.overlay.metacopy", b"")
    with pytest.raises(InvalidState) as e:
        store.add_layer_from_dir(upper)
    assert "metacopy=off" in str(e.value)
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []


@pytest.mark.skipif(not shutil.which("zstd"), reason="no zstd program")
def test_corrupt_zstd_import_fails_cleanly(store):
    with pytest.raises(InvalidArgument) as e:
        store.import_rootfs(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"garbage" * 100), "z")
    assert "zstd" in str(e.value)
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []
    children = subprocess.run(["pgrep", "-P", str(os.getpid()), "zstd"], capture_output=True)
    assert children.stdout == b""  # the decompressor was reaped
