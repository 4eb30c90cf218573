"""The engine: the one facade over store, runtime, network and volumes."""

from sampan.engine.engine import Engine
from sampan.engine.options import ExecOptions, RunOptions

__all__ = ["Engine", "ExecOptions", "RunOptions"]
