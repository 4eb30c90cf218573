"""Cache hits and misses: content not mtimes, modes, build args used, parent changes."""

import os
import time

import pytest

DF = "FROM busybox\nCOPY app /app\nRUN build-it\n"


def cached_titles(h) -> list[str]:
    lines = h.out.getvalue().splitlines()
    titles = {}
    out = []
    for line in lines:
        parts = line.split(" ", 1)
        if len(parts) == 2 and parts[1].startswith("["):
            titles[parts[0]] = parts[1]
        if len(parts) == 2 and parts[1] == "CACHED":
            out.append(titles[parts[0]])
    return out


def test_rebuild_without_change_is_all_cached_and_same_image(h):
    h.write({"app": "v1"})
    first = h.build(DF)
    runs = len(h.backend.runs)
    second = h.build(DF)
    assert len(h.backend.runs) == runs  # RUN not executed again
    assert second.image.id == first.image.id
    assert second.cached_steps == second.steps == 2
    assert cached_titles(h) == ["[2/3] COPY app /app", "[3/3] RUN build-it"]


def test_touch_does_not_invalidate_but_content_does(h):
    h.write({"app": "v1"})
    h.build(DF)
    future = time.time() + 1000
    os.utime(h.context / "app", (future, future))
    h.build(DF)
    assert len(h.backend.runs) == 1
    (h.context / "app").write_text("v2")
    h.build(DF)
    assert len(h.backend.runs) == 2  # COPY changed -> RUN below it re-runs


def test_mode_change_invalidates(h):
    h.write({"app": "v1"})
    h.build(DF)
    os.chmod(h.context / "app", 0o700)
    h.build(DF)
    assert len(h.backend.runs) == 2


def test_new_file_in_copied_dir_invalidates(h):
    h.write({"app/a": "1"})
    h.build(DF)
    h.write({"app/b": "2"})
    h.build(DF)
    assert len(h.backend.runs) == 2


def test_ignored_file_change_does_not_invalidate(h):
    h.write({".dockerignore": "app/*.log\n", "app/a": "1", "app/x.log": "1"})
    h.build(DF)
    h.write({"app/x.log": "2"})
    h.build(DF)
    assert len(h.backend.runs) == 1


def test_build_arg_value_used_by_run_is_in_the_key(h):
    df = "FROM busybox\nARG V=1\nRUN echo $V\n"
    h.build(df)
    h.build(df)
    assert len(h.backend.runs) == 1
    h.build(df, build_args={"V": "2"})
    assert len(h.backend.runs) == 2
    assert "V=2" in h.backend.runs[-1].env
    h.build(df, build_args={"V": "2"})
    assert len(h.backend.runs) == 2


def test_proxy_args_are_not_in_the_key_but_reach_run(h):
    df = "FROM busybox\nRUN fetch\n"
    h.build(df)
    h.build(df, build_args={"http_proxy": "http://proxy:3128"})
    assert len(h.backend.runs) == 1
    h.build("FROM busybox\nRUN fetch2\n", build_args={"http_proxy": "http://proxy:3128"})
    assert "http_proxy=http://proxy:3128" in h.backend.runs[-1].env
    assert "http_proxy" not in str(h.backend.written[-1].history)  # not recorded in history


def test_parent_change_invalidates_later_steps(h):
    h.build("FROM busybox\nENV A=1\nRUN x\n")
    h.build("FROM busybox\nENV A=2\nRUN x\n")
    assert len(h.backend.runs) == 2
    h.backend.add_image("busybox", {"bin/sh": "new base"})
    h.build("FROM busybox\nENV A=2\nRUN x\n")
    assert len(h.backend.runs) == 3  # new base image id


def test_cache_is_shared_across_images_and_builds(h):
    h.write({"app": "v1"})
    h.build(DF)
    h.build(DF + "CMD [\"other\"]\n", tags=["other:1"])
    assert len(h.backend.runs) == 1


def test_no_cache_runs_everything(h):
    h.write({"app": "v1"})
    h.build(DF)
    h.build(DF, no_cache=True)
    assert len(h.backend.runs) == 2


def test_cache_entry_with_vanished_layer_is_a_miss(h):
    def effect(call, upper, output):
        (upper / "made").write_text("x")
        return 0

    h.backend.effect = effect
    h.build("FROM busybox\nRUN make\n")
    for layer_id in [k for k in h.backend.layers if not k.startswith("layer-img")]:
        del h.backend.layers[layer_id]  # as if the store pruned it
    h.build("FROM busybox\nRUN make\n")
    assert len(h.backend.runs) == 2


def test_successful_steps_stay_cached_after_a_failure(h):
    from sampan.errors import BuildError

    h.backend.effect = lambda call, upper, out: 3 if "fail" in call.argv[-1] else 0
    with pytest.raises(BuildError):
        h.build("FROM busybox\nRUN ok\nRUN fail\n")
    h.backend.effect = None
    h.build("FROM busybox\nRUN ok\nRUN fixed\n")
    assert [r.argv[-1] for r in h.backend.runs] == ["ok", "fail", "fixed"]


def test_same_size_change_with_mtime_restored_is_still_seen(h):
    h.write({"app": "v1"})
    h.build(DF)
    st = os.stat(h.context / "app")
    (h.context / "app").write_text("v2")  # same size
    os.utime(h.context / "app", ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back; ctime moves
    h.build(DF)
    assert len(h.backend.runs) == 2


def test_unchanged_context_files_are_not_read_again(h, monkeypatch):
    import sampan.build.context as context

    h.write({f"app/f{i}": str(i) for i in range(20)})
    h.build(DF)
    reads = []
    real = context._file_digest
    # the digest reads a file opened by fd: name it by what the fd holds
    monkeypatch.setattr(context, "_file_digest", lambda f: reads.append(
        os.path.basename(os.readlink(f"/proc/self/fd/{f.fileno()}"))) or real(f))
    h.build(DF)
    assert reads == []
    h.write({"app/f3": "changed"})
    h.build(DF)
    assert reads == ["f3"]


def test_prune_forgets_every_step(h):
    from sampan.build.cache import BuildCache

    h.build("FROM busybox\nRUN a\n")
    assert BuildCache(h.db).prune() >= 1
    h.build("FROM busybox\nRUN a\n")
    assert len(h.backend.runs) == 2


def test_fully_cached_build_needs_no_unpacked_layers(h, monkeypatch):
    h.write({"app": "v1"})
    df = "FROM busybox\nCOPY --chown=app app /app\nWORKDIR /w\nRUN x\n"
    h.build(df)
    calls = []
    real = h.backend.layer_dirs
    monkeypatch.setattr(h.backend, "layer_dirs", lambda layers: calls.append(1) or real(layers))
    h.build(df)
    assert calls == []


def test_relative_context_path_uses_the_same_digest_memory(h, monkeypatch):
    import sampan.build.context as context
    from pathlib import Path

    h.write({"app/a": "1"})
    monkeypatch.chdir(h.context.parent)
    h.build(DF, context=Path(h.context.name))
    reads = []
    real = context._file_digest
    monkeypatch.setattr(context, "_file_digest", lambda p: reads.append(p) or real(p))
    h.build(DF, context=h.context)  # absolute this time: same files, nothing re-read
    assert reads == [] and len(h.backend.runs) == 1
