"""`image tree` from made-up image records: sharing is by the whole chain below a layer."""

from types import SimpleNamespace

from sampan.engine.image_tree import image_tree


def layer(name: str, size: int):
    return SimpleNamespace(diff_id=f"sha256:{name * 64}"[:71], size=size // 2, uncompressed_size=size)


def image(tag: str, layers, made_by):
    history = [{"created_by": m} for m in made_by] + [{"created_by": "CMD", "empty_layer": True}]
    return SimpleNamespace(id=f"sha256:{tag}", repo_tags=[tag], layers=layers,
                           config={"history": history})


BASE, A, B, C = layer("0", 1000), layer("a", 10), layer("b", 20), layer("c", 30)


def test_images_on_one_base_share_it_and_sharing_is_counted():
    r = image_tree([image("base", [BASE], ["ADD rootfs"]),
                    image("one", [BASE, A, B], ["ADD rootfs", "RUN a", "RUN b"]),
                    image("two", [BASE, A, C], ["ADD rootfs", "RUN a", "RUN c"])])
    [root] = r.roots
    assert (root.users, root.images, root.created_by) == (3, ["base"], "ADD rootfs")
    [a] = root.children
    assert a.users == 2 and [c.images for c in a.children] == [["one"], ["two"]]
    assert r.stored == 1000 + 10 + 20 + 30
    assert r.unshared == 1000 + (1000 + 10 + 20) + (1000 + 10 + 30)


def test_the_same_layer_on_another_base_is_another_node_but_stored_once():
    other = layer("9", 500)
    r = image_tree([image("x", [BASE, A], ["ADD", "RUN a"]), image("y", [other, A], ["ADD", "RUN a"])])
    assert len(r.roots) == 2
    assert r.stored == 1000 + 500 + 10  # a layer is kept once by its content
    assert r.unshared == 1000 + 10 + 500 + 10


def test_no_images_no_tree():
    r = image_tree([])
    assert (r.roots, r.stored, r.unshared) == ([], 0, 0)
