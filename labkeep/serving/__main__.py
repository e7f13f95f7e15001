"""``python -m labkeep.serving MODEL_DIR HOST PORT WORKERS``: serve in the current interpreter.

Used to start the server inside a model environment built by ``--env-manager uv|virtualenv``.
"""

from __future__ import annotations

import sys

from labkeep.serving.server import run_uvicorn

if __name__ == "__main__":
    model_dir, host, port, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    run_uvicorn(model_dir, host, port, workers)
