"""`ps -f ancestor=IMAGE`: containers of IMAGE and of images built on it, decided from the
layer chain and history (sampan keeps no parent link; engine/image_lineage.py)."""


def _build(sampan, tmp_path, name: str, dockerfile: str) -> None:
    d = tmp_path / name.replace(":", "_")
    d.mkdir()
    (d / "Dockerfile").write_text(dockerfile)
    sampan.ok("build", "-q", "--network", "none", "-t", name, str(d), timeout=180)


def test_ancestor_matches_children_and_grandchildren_not_parents_or_lookalikes(sampan, tmp_path, busybox_tar):
    _build(sampan, tmp_path, "child:1", "FROM busybox\nRUN echo child > /child\n")
    _build(sampan, tmp_path, "grand:1", "FROM child:1\nENV GRAND=1\n")  # no layer of its own
    # the same layers under a history of its own: shares busybox's chain, was not built FROM it
    sampan.ok("import", "--change", "ENV LOOK=alike", str(busybox_tar), "lookalike:1")
    for name, image in (("c-base", "busybox"), ("c-child", "child:1"), ("c-grand", "grand:1"),
                        ("c-look", "lookalike:1")):
        sampan.ok("create", "--network", "none", "--name", name, image, "true")

    def names(ancestor: str) -> list[str]:
        return sorted(sampan.ok("ps", "-a", "--format", "{{.Names}}", "-f", f"ancestor={ancestor}").split())

    assert names("busybox") == ["c-base", "c-child", "c-grand"]
    assert names("child:1") == ["c-child", "c-grand"]
    assert names("grand:1") == ["c-grand"]
    assert names("lookalike:1") == ["c-look"]
    child_id = sampan.ok("inspect", "--format", "{{.Id}}", "child:1").strip()
    assert names(child_id) == names(child_id[7:19]) == ["c-child", "c-grand"]
    assert names("nothing:1") == []
    # several ancestors: any of them
    assert sorted(sampan.ok("ps", "-a", "--format", "{{.Names}}", "-f", "ancestor=grand:1",
                            "-f", "ancestor=lookalike:1").split()) == ["c-grand", "c-look"]
