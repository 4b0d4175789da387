"""``referral-hub serve``: the production WSGI server (gunicorn) around the app factory."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class HubServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """Gunicorn configured from code so the CLI stays the single entry point."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from referral_hub import create_app

        app = create_app()
        if not app.config.get("REDIS_URL"):
            # Embedded mode: failed in-process jobs are retried by a thread in each web worker.
            from referral_hub.jobs.inprocess import start_inprocess_retry_thread

            start_inprocess_retry_thread(app)
        return app


def serve(host: str, port: int, workers: int, threads: int, timeout: int) -> None:
    """Run gunicorn in the foreground. The app logs every request as JSON itself, so gunicorn's
    access log (which would print query strings — FHIR searches carry PHI there) stays off."""
    HubServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "timeout": timeout,
            "accesslog": None,
            "errorlog": "-",
            "worker_class": "gthread" if threads > 1 else "sync",
            "preload_app": False,
        }
    ).run()
