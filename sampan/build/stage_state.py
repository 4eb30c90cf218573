"""The mutable state of one stage while it builds: config, layers, history, args."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

from sampan.build.expand import Lexer
from sampan.build.parse import Stage


@dataclass
class StageState:
    stage: Stage
    lexer: Lexer
    image_config: dict
    layers: list
    history: list[dict]
    base_id: str
    cache_key: str
    args: dict[str, str] = field(default_factory=dict)  # ARGs in scope that have a value
    cmd_set: bool = False
    used: set[str] = field(default_factory=set)  # names expanded by the current step

    @property
    def cfg(self) -> dict:
        cfg = self.image_config.get("config")
        if cfg is None:
            cfg = self.image_config["config"] = {}
        return cfg

    # The config's Env list read as a dict, kept in step with it (see set_env): rebuilding
    # it at every step made a Dockerfile of n ENV lines cost n^2.
    _env_of: list | None = field(default=None, init=False, repr=False, compare=False)
    _env_view: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def env_view(self) -> dict[str, str]:
        env = self.cfg.get("Env")
        if env is None:
            env = self.cfg["Env"] = []
        if self._env_of is not env:  # replaced as a whole (a base image, a cache restore)
            self._env_view = {}
            for item in env:
                k, _, v = item.partition("=")
                self._env_view[k] = v
            self._env_of = env
        return self._env_view

    def set_env(self, name: str, value: str) -> None:
        """ENV name=value: the old definition goes, the new one is appended (in place: the
        list belongs to this stage alone; a stage built FROM it gets a deep copy)."""
        view = self.env_view()
        env = self.cfg["Env"]
        item = f"{name}={value}"
        if name not in view:
            env.append(item)
        elif len(view) == len(env) and env[-1].partition("=")[0] == name:
            env[-1] = item  # redefining the newest name (ENV A=... again and again): O(1)
        else:
            env[:] = [e for e in env if e.partition("=")[0] != name] + [item]
            self._env_of = env
        view.pop(name, None)
        view[name] = value

    def expand_env(self) -> Mapping[str, str]:
        """Build args in scope, overridden by ENV (Docker: ENV always wins over ARG)."""
        return ChainMap(self.env_view(), self.args)

    def word(self, text: str, env: Mapping[str, str]) -> str:
        result = self.lexer.expand(text, env, split=False)
        self.used |= result.used
        return result.words[0]
