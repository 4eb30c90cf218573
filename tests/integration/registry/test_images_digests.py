"""`images` and `images --digests` for an image known only by digest (pulled by digest, no
tag): docker/cli's imageFormat rows ("REPO <none>", with the digest under --digests)."""

import secrets

from tests.support.cli import Sampan


def test_an_image_pulled_by_digest_lists_under_its_repository(registry, state_dirs, busybox_tar, tmp_path):
    root, runroot = state_dirs
    pusher = Sampan(root, runroot)
    name = f"{registry.host}/sampan/bydigest-{secrets.token_hex(4)}"
    pusher.ok("import", str(busybox_tar), f"{name}:1")
    pusher.ok("push", "--tls-verify=false", f"{name}:1", timeout=120)
    digest = pusher.ok("images", "--digests", "--format", "{{.Digest}}", f"{name}:1").strip()
    assert digest.startswith("sha256:") and len(digest) == 71
    image_id = pusher.ok("inspect", "--format", "{{.Id}}", f"{name}:1").strip()

    puller = Sampan(tmp_path / "root2", tmp_path / "run2")
    try:
        puller.ok("pull", "-q", "--tls-verify=false", f"{name}@{digest}", timeout=120)
        short = image_id[7:19]
        rows = [line.split()[:3] for line in puller.ok("images").splitlines()]
        assert rows[0] == ["REPOSITORY", "TAG", "IMAGE"] and rows[1:] == [[name, "<none>", short]]
        rows = [line.split()[:4] for line in puller.ok("images", "--digests").splitlines()]
        assert rows == [["REPOSITORY", "TAG", "DIGEST", "IMAGE"], [name, "<none>", digest, short]]
        # a template naming .Digest without --digests: the digest-only row has an empty one, as Docker's
        assert puller.ok("images", "--format", "{{.Repository}}|{{.Tag}}|{{.Digest}}") == f"{name}|<none>|\n"
        # tagged too: the tag's row shows the digest, and no separate digest-only row
        puller.ok("tag", image_id, f"{name}:again")
        assert puller.ok("images", "--digests", "--format", "{{.Repository}}|{{.Tag}}|{{.Digest}}") == \
            f"{name}|again|{digest}\n"
    finally:
        puller.cleanup()
    pusher.cleanup()
