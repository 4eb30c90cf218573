"""`sampan image tree` on built images that share layers and one that does not."""


def test_image_tree_shows_shared_layers_and_savings(sampan, tmp_path):
    for tag, extra in (("app:1", "b"), ("app:2", "c")):
        (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN echo a > /a\nRUN echo {extra} > /{extra}\n")
        sampan.ok("build", "-q", "-t", tag, str(tmp_path))
    out = sampan.ok("image", "tree").splitlines()
    assert "shared by 3" in out[0] and "<- busybox:latest" in out[0]
    assert "echo a > /a" in out[1] and "shared by 2" in out[1]
    leaves = {line.split("<- ")[1] for line in out[2:4]}
    assert leaves == {"app:1", "app:2"} and out[2].lstrip().startswith("├─") and out[3].lstrip().startswith("└─")
    assert out[-1].startswith("3 images:") and "sharing saves" in out[-1]
    only = sampan.ok("image", "tree", "app:2").splitlines()
    assert len(only) == 4 and "sharing saves 0B" in only[-1]
    missing = sampan("image", "tree", "nope")
    assert missing.rc == 1 and "nope" in missing.err and "Traceback" not in missing.err
