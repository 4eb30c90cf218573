"""The engine: the one facade over store, runtime, network and volumes.

Names load on first use, so that a lean process (a detached container's idle
monitor) can import one engine module without pulling the whole engine in.
"""

__all__ = ["Engine", "ExecOptions", "RunOptions"]


def __getattr__(name: str):
    if name == "Engine":
        from sampan.engine.engine import Engine
        return Engine
    if name in ("ExecOptions", "RunOptions"):
        from sampan.engine import options
        return getattr(options, name)
    raise AttributeError(name)
