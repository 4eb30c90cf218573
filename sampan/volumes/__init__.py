"""Named volumes: directories under <root>/volumes/<name>/_data that outlive containers."""

from sampan.volumes.store import VolumeInfo, VolumeStore, valid_volume_name

__all__ = ["VolumeInfo", "VolumeStore", "valid_volume_name"]
