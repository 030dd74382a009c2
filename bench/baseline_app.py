"""The baseline every benchmark is divided by: a minimal Flask app with one route returning a
short string, served by gunicorn with exactly the same settings as the product."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
