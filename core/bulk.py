"""Bulk writes: a block of many commits (``flask materials import``) during which work that follows each commit
and is better done once at the end (search indexing) waits. The packages that do such work register a context
manager at app wiring time (``search.indexing.init_app``); the writer opens ``bulk_writes()`` and needs to know
none of them."""
from __future__ import annotations

import contextlib
from typing import Callable, ContextManager

from flask import Flask, current_app


def add_bulk_write_hook(app: Flask, hook: Callable[[], ContextManager]) -> None:
    app.extensions.setdefault("bulk_write_hooks", []).append(hook)


@contextlib.contextmanager
def bulk_writes():
    with contextlib.ExitStack() as stack:
        for hook in current_app.extensions.get("bulk_write_hooks", []):
            stack.enter_context(hook())
        yield
