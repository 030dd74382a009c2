"""gunicorn settings, read from the directory gunicorn starts in (``make run``, ``make cluster``, deploy/ and
``bench/`` start it here). The command line (``--workers``, ``--preload``, ``--bind`` ...) stays with the caller.
"""
import gc

# A web request never takes long (exports, imports and indexing run outside requests), so a worker that hangs
# this long is killed, and a stopping server waits at most graceful_timeout for requests in flight: a restarted
# server can bind its port again within seconds, not the 300 s an old worker used to hold it.
timeout = 120
graceful_timeout = 20


def pre_fork(server, worker):
    """With ``--preload`` the app is built in the master before the workers fork. Its ~160,000 long-lived objects
    (modules, SQLAlchemy metadata, templates, translations, search dictionaries) are moved out of the garbage
    collector's generations, so no worker walks them again in every full collection, and their memory pages stay
    shared between the workers (Python's advice for pre-forking servers, ``gc.freeze``). Called before each fork;
    objects made since the last call join them."""
    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    """Each worker process keeps this server's search index in step with the log in a background thread
    (``SEARCH_WORKER_INTERVAL``; 0 switches it off, e.g. when ``flask search worker`` runs beside the server)."""
    app = worker.wsgi
    if hasattr(app, "extensions") and "search" in app.extensions:
        from search.indexing import start_indexer

        start_indexer(app)
