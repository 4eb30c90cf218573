"""ONBUILD: triggers fire in the child build, right after FROM, and are not inherited."""


def test_triggers_run_in_child_build(h):
    h.write({"src.txt": "child context"})
    parent = h.build("FROM busybox\nONBUILD COPY src.txt /app/\nONBUILD RUN echo triggered\n")
    h.backend.images["parent"] = (parent.image_id, dict(parent.image.config, history=parent.image.history),
                                  parent.image.layers)
    assert h.backend.runs == []
    child = h.build("FROM parent\nRUN echo child\n")
    assert [r.argv[-1] for r in h.backend.runs] == ["echo triggered", "echo child"]
    assert h.files(child)["/app/src.txt"].read_text() == "child context"
    assert not child.image.config["config"].get("OnBuild")
    assert "ONBUILD COPY src.txt /app/" in h.out.getvalue()


def test_triggers_do_not_fire_for_stage_parents(h):
    h.build("FROM busybox AS base\nONBUILD RUN echo no\nFROM base\nRUN echo yes\n")
    assert [r.argv[-1] for r in h.backend.runs] == ["echo yes"]
