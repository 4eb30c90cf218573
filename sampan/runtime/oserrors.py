"""A stray OSError from a runtime verb becomes one RuntimeFailure line, never a traceback."""

from __future__ import annotations

import functools

from sampan.errors import RuntimeFailure


def os_errors(verb: str):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(self, cid, *args, **kwargs):
            try:
                return fn(self, cid, *args, **kwargs)
            except OSError as e:
                from sampan.state.nospace import no_space
                full = no_space(e)
                if full is not None:
                    raise full from None
                where = f" ({e.filename})" if e.filename else ""
                raise RuntimeFailure(f"{verb} container {cid}: {e.strerror or e}{where}") from None
        return inner
    return wrap
