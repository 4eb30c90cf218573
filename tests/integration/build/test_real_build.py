"""Builds with the real store and real containers (runc over overlayfs); checked from inside."""

import pytest

from sampan.errors import BuildError, ImageNotFound


def test_run_copy_chown_workdir_user_and_whiteouts(real):
    real.write({"app.sh": "#!/bin/sh\necho app says hi\n", "data/a.txt": "A"})
    result = real.build(
        "FROM busybox\n"
        "RUN echo made-by-run > /made && rm -r /home && mkdir -p /var/empty\n"
        "COPY --chmod=755 app.sh /usr/local/bin/app\n"
        "COPY --chown=www-data:staff data /srv/data\n"
        "WORKDIR /srv/work\n"
        "USER www-data\n"
        "RUN id -u > /tmp/uid-at-build; pwd > /tmp/pwd-at-build\n"
        'CMD ["app"]\n', tags=["built:1"])
    assert result.image_id.startswith("sha256:")
    code, out = real.run_in("built:1", ["sh", "-c",
                                        "cat /made; app; test -e /home || echo home-gone; "
                                        "stat -c '%U:%G %a' /srv/data/a.txt; cat /tmp/uid-at-build /tmp/pwd-at-build; "
                                        "stat -c '%a' /usr/local/bin/app; id -un"])
    assert code == 0, out
    lines = out.split("\n")
    assert lines[0] == "made-by-run"
    assert lines[1] == "app says hi"
    assert lines[2] == "home-gone"  # the RUN's delete became a whiteout
    assert lines[3].startswith("33:50 ") or lines[3].startswith("www-data:")  # owner from --chown
    assert lines[4] == "33" and lines[5] == "/srv/work"
    assert lines[6] == "755"
    info = real.store.resolve("built:1")
    assert info.config["config"]["Cmd"] == ["app"] and info.config["config"]["User"] == "www-data"
    created = [h["created_by"] for h in info.config["history"]]
    assert any(c.startswith("RUN /bin/sh -c echo made-by-run") for c in created)


def test_heredoc_and_exec_form_really_run(real):
    real.build("FROM busybox\nRUN <<EOF\nset -e\necho one > /h1\necho two >> /h1\nEOF\n"
               'RUN ["/bin/sh", "-c", "echo exec > /h2"]\n', tags=["here:1"])
    code, out = real.run_in("here:1", ["cat", "/h1", "/h2"])
    assert code == 0 and out == "one\ntwo\nexec\n"


def test_failing_run_leaves_no_tag_and_keeps_cache(real):
    with pytest.raises(BuildError) as info:
        real.build("FROM busybox\nRUN echo step-one\nRUN echo boom >&2; exit 42\n", tags=["broken:1"])
    assert "Dockerfile:3: RUN failed" in str(info.value) and "exit code: 42" in str(info.value)
    assert "boom" in real.out.getvalue()
    with pytest.raises(ImageNotFound):
        real.store.resolve("broken:1")
    runs = len(real.backend.runs)
    real.build("FROM busybox\nRUN echo step-one\nRUN true\n", tags=["broken:1"])
    assert len(real.backend.runs) == runs + 1  # step one came from the cache
    assert "CACHED" in real.out.getvalue()


def test_rebuild_cached_same_id_and_content_change_reruns(real):
    real.write({"f": "1"})
    df = "FROM busybox\nCOPY f /f\nRUN cat /f > /copy\n"
    first = real.build(df, tags=["c:1"])
    runs = len(real.backend.runs)
    again = real.build(df, tags=["c:1"])
    assert again.image_id == first.image_id and len(real.backend.runs) == runs
    real.write({"f": "2"})
    changed = real.build(df, tags=["c:1"])
    assert changed.image_id != first.image_id and len(real.backend.runs) == runs + 1
    assert real.run_in("c:1", ["cat", "/copy"]) == (0, "2")


def test_multistage_copy_from_and_target(real):
    df = ("FROM busybox AS build\nRUN echo compiled > /artifact\n"
          "FROM busybox AS unused\nRUN exit 1\n"
          "FROM busybox\nCOPY --from=build /artifact /app/artifact\n")
    real.build(df, tags=["ms:1"])
    assert real.run_in("ms:1", ["cat", "/app/artifact"]) == (0, "compiled\n")
    real.build(df, target="build", tags=["ms:build"])
    assert real.run_in("ms:build", ["cat", "/artifact"]) == (0, "compiled\n")


def test_network_none_has_only_loopback(real):
    real.build("FROM busybox\nRUN ls /sys/class/net > /ifaces\n", network="none", tags=["n:1"])
    assert real.run_in("n:1", ["cat", "/ifaces"]) == (0, "lo\n")


def test_heredoc_with_shebang_runs_with_its_interpreter(real):
    real.build("FROM busybox\nRUN <<EOF\n#!/usr/bin/awk -f\nBEGIN { print \"from awk\" > \"/awk-out\" }\nEOF\n",
               tags=["shebang:1"])
    assert real.run_in("shebang:1", ["cat", "/awk-out"]) == (0, "from awk\n")
    code, out = real.run_in("shebang:1", ["sh", "-c", "ls -a /dev | grep -c sampan-heredoc"])
    assert out.strip() == "0"  # the script did not end up in the image


def test_scratch_plus_added_rootfs_tarball_runs(real, busybox_tar):
    import shutil

    shutil.copy(busybox_tar, real.context / "rootfs.tar")
    real.build("FROM scratch\nADD rootfs.tar /\nRUN echo built-on-scratch > /proof\n", tags=["scratchy:1"])
    assert real.run_in("scratchy:1", ["cat", "/proof"]) == (0, "built-on-scratch\n")
