"""The mutable state of one stage while it builds: config, layers, history, args."""

from __future__ import annotations

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

    def expand_env(self) -> dict[str, str]:
        """Build args in scope, overridden by ENV (Docker: ENV always wins over ARG)."""
        env = dict(self.args)
        for item in self.cfg.get("Env") or []:
            k, _, v = item.partition("=")
            env[k] = v
        return env

    def word(self, text: str, env: dict[str, str]) -> str:
        result = self.lexer.expand(text, env, split=False)
        self.used |= result.used
        return result.words[0]
