"""Every route group of the API, in the order they are matched (the more specific first)."""

from __future__ import annotations


def all_groups() -> list:
    from sampan.server import (attach_routes, build_routes, container_routes, events_routes, exec_routes,
                               fs_routes, image_routes, logs_routes, network_routes, pause_routes, stats_routes,
                               system_routes, volume_routes)
    return [system_routes.routes, events_routes.routes, stats_routes.routes, pause_routes.routes,
            container_routes.routes, attach_routes.routes, exec_routes.routes, logs_routes.routes,
            fs_routes.routes, image_routes.routes, build_routes.routes, volume_routes.routes,
            network_routes.routes]
