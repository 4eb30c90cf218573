"""`run -u NAME` reads the image's /etc/passwd as the container will see it: through the
merged view of its layers, where an opaque directory hides everything below it."""

import hashlib
import io
import json
import tarfile


def _tar(entries: list[tuple[str, bytes | None]]) -> bytes:
    """A layer: (name, content) files; content None makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _docker_archive(path, tag: str, layers: list[bytes]) -> None:
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(l)}" for l in layers]}}).encode()
    files = {f"{sha(cfg)}.json": cfg}
    for l in layers:
        files[f"{sha(l)}/layer.tar"] = l
    files["manifest.json"] = json.dumps([{"Config": f"{sha(cfg)}.json", "RepoTags": [tag],
                                          "Layers": [f"{sha(l)}/layer.tar" for l in layers]}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def test_an_opaque_etc_hides_the_older_passwd(sampan, busybox_tar, tmp_path):
    base = busybox_tar.read_bytes()
    users = _tar([("etc", None), ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                                                 b"olduser:x:1234:1234::/home:/bin/sh\n")])
    # a new /etc over the old one, as a layer records `rm -rf /etc; mkdir /etc`: opaque, no passwd
    fresh = _tar([("etc", None), ("etc/.wh..wh..opq", b""), ("etc/hostname", b"fresh\n")])
    _docker_archive(tmp_path / "plain.tar", "plain:1", [base, users])
    _docker_archive(tmp_path / "opaque.tar", "opaque:1", [base, users, fresh])
    sampan.ok("load", "-i", str(tmp_path / "plain.tar"))
    sampan.ok("load", "-i", str(tmp_path / "opaque.tar"))
    assert sampan.ok("run", "--rm", "-u", "olduser", "plain:1", "id", "-u").strip() == "1234"
    assert "passwd" not in sampan.ok("run", "--rm", "opaque:1", "ls", "/etc").split()  # overlayfs agrees
    r = sampan("run", "--rm", "-u", "olduser", "opaque:1", "id")
    assert r.rc != 0 and "olduser" in r.err, (r.rc, r.out, r.err)
