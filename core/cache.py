"""The shared cache (Flask-Caching): ``SimpleCache`` in this process by default, Redis when ``REDIS_URL`` is set
(every server of a cluster then shares it). Only data that is the same for everyone goes in, under keys that
carry a version the writing transaction changes (see ``courses/cache.py``)."""
from __future__ import annotations

from flask import Flask
from flask_caching import Cache

cache = Cache()


def init_app(app: Flask) -> None:
    config = {"CACHE_DEFAULT_TIMEOUT": app.config.get("CACHE_DEFAULT_TIMEOUT", 300),
              "CACHE_KEY_PREFIX": app.config.get("CACHE_KEY_PREFIX", "ops:"),
              "CACHE_THRESHOLD": app.config.get("CACHE_THRESHOLD", 20000)}
    if app.config.get("REDIS_URL"):
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=app.config["REDIS_URL"])
    else:
        config["CACHE_TYPE"] = app.config.get("CACHE_TYPE") or "SimpleCache"
        if app.config.get("CACHE_DIR"):  # FileSystemCache: servers of one machine sharing a folder
            config["CACHE_DIR"] = app.config["CACHE_DIR"]
    cache.init_app(app, config=config)
