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


def test_a_stopping_server_frees_its_port_within_seconds():
    """A restart used to wait up to --timeout 300 s for an old worker; now the deploy recipe and make run take the
    timeouts from gunicorn.conf.py (no --timeout on their command lines), and systemd kills what is left."""
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("gunicorn_conf", root / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert conf.graceful_timeout <= 30 and conf.timeout <= 120
    for recipe in ("Makefile", "deploy/cluster.sh", "deploy/ops-web.service", "deploy/Procfile"):
        assert "--timeout" not in (root / recipe).read_text()
    unit = (root / "deploy/ops-web.service").read_text()
    assert "KillMode=mixed" in unit and "TimeoutStopSec=30" in unit
