"""Every route group of the API, in the order they are matched (the more specific first)."""

from __future__ import annotations


def all_groups() -> list:
    from sampan.server import (build_routes, container_routes, fs_routes, image_routes, network_routes,
                               system_routes, volume_routes)
    return [system_routes.routes, fs_routes.routes, container_routes.routes, image_routes.routes,
            build_routes.routes, volume_routes.routes, network_routes.routes]
