"""What the builder needs from the engine: images, layers, and a way to run a step.

The executor never imports sampan.engine; the engine passes an object with
these methods. `LayerRef` and `ImageInfo` are sampan.store's types; the
builder treats them as opaque handles (it only passes them back) except for
`ImageInfo.id` and `ImageInfo.repo_tags`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from sampan.store import ImageInfo, LayerRef  # noqa: F401  (types only)


class BuildBackend(Protocol):
    def base_image(self, ref: str) -> tuple[str, dict, list]:
        """(image id, full image config dict, layers) of a local image (by ref or id).
        Raises ImageNotFound. Never pulls when the build says --pull=never."""

    def layer_dirs(self, layers: list) -> list[Path]:
        """Unpacked dirs of these layers, TOP FIRST (overlay lowerdir order)."""

    def run(self, lowers: list[Path], upper: Path, argv: list[str], env: list[str], cwd: str,
            user: str, network: str, output: Callable[[bytes], None]) -> int:
        """Run argv in a container whose rootfs is overlay(lowers, upper) and wait.
        Streams stdout+stderr to output; returns the exit code (126/127 when argv cannot run)."""

    def add_layer_from_dir(self, upper: Path) -> "LayerRef | None":
        """Turn an (overlay-style) upper dir into a stored layer; None when it is empty."""

    def write_image(self, config: dict, layers: list, ref: str | None,
                    history: list[dict]) -> "ImageInfo":
        """Store an image (config with rootfs.diff_ids filled in, manifest) and tag it if ref."""

    def tag(self, image_id: str, ref: str) -> None: ...

    def temp_dir(self) -> Path:
        """A NEW empty directory on the store's filesystem; the builder removes it."""

    # Optional (looked up with getattr): after add_layer_from_dir(upper) made the
    # top layer of `layers`, take `upper` (moved, not copied) as that layer's unpacked
    # dir; return False to let the builder delete it. Saves re-extracting the tar.
    # def adopt_layer_dir(self, layers: list, upper: Path) -> bool: ...

    # Optional: like base_image, but never pulls (--cache-from images).
    # def local_image(self, ref: str) -> tuple[str, dict, list]: ...

    # Added for the cache (a step's result must survive across builds):
    def layer_to_json(self, layer: Any) -> dict:
        """A JSON-able description of a layer (e.g. its descriptor fields)."""

    def layer_from_json(self, data: dict) -> "LayerRef | None":
        """The layer again, or None if the store no longer has it (cache miss)."""
