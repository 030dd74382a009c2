"""gunicorn settings, read from the directory gunicorn starts in (``make run`` and ``bench/`` start it here).

The command line (``--workers``, ``--preload``, ``--bind`` ...) stays in the Makefile; this file only adds hooks.
"""
import gc


def pre_fork(server, worker):
    """With ``--preload`` the app is built in the master before the workers fork. Its ~160,000 long-lived objects
    (modules, SQLAlchemy metadata, templates, translations, search dictionaries) are moved out of the garbage
    collector's generations, so no worker walks them again in every full collection — about a quarter of a
    cached course page's CPU time — and their memory pages stay shared between the workers (Python's advice for
    pre-forking servers, ``gc.freeze``). Called before each fork; objects made since the last call join them."""
    gc.collect()
    gc.freeze()
