"""gunicorn.conf.py (read by gunicorn from the project root): the master's objects are frozen before a fork."""
from __future__ import annotations

import gc
import importlib.util
from pathlib import Path


def test_objects_built_before_the_fork_are_left_out_of_garbage_collection():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", Path(__file__).resolve().parent.parent /
                                                  "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    try:
        conf.pre_fork(server=None, worker=None)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
