"""The job consumer's entry point: ``huey_consumer worker.huey`` (``make run`` starts it beside gunicorn)."""
from app import create_app
from core import jobs

app = create_app()
jobs.bind(app)
huey = jobs.huey
