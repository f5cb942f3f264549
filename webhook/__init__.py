"""The sheets-sync webhook: a Flask app factory.

``create_app(config)`` builds an app around one :class:`~sheets_sync.config.Config`; nothing is read from
the environment here (``webhook.wsgi`` is the only module that loads configuration and holds a
module-level app). The webhook only enqueues and reports: it never imports gspread or the Amazon APIs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask

from sheets_sync.config import Config, load_config
from sheets_sync.jobs import JobQueue, make_queue, with_defaults

from .auth import GoogleIdTokenVerifier
from .errors import register_error_handlers

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("webhook")


@dataclass
class WebhookState:
    config: Config
    queue: JobQueue
    verifier: GoogleIdTokenVerifier


def create_app(config: Config | None = None, *, queue: JobQueue | None = None,
               verifier: GoogleIdTokenVerifier | None = None, certs_url: str | None = None,
               sync_fn: Any = None) -> Flask:
    """Build the webhook app.

    ``config`` defaults to :func:`~sheets_sync.config.load_config` (plus the demo workbook when none is
    configured). ``queue`` defaults to :func:`~sheets_sync.jobs.make_queue` for the config (``sync_fn`` is
    passed to it). ``verifier`` defaults to a :class:`~webhook.auth.GoogleIdTokenVerifier` for
    ``config.audience``, fetching certificates from ``certs_url`` (Google's by default).
    """
    config = with_defaults(config if config is not None else load_config())
    if queue is None:
        queue = make_queue(config, sync_fn=sync_fn)
    if verifier is None:
        kwargs = {"certs_url": certs_url} if certs_url else {}
        verifier = GoogleIdTokenVerifier(config.audience, **kwargs)
    app = Flask("webhook")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["sheets_sync"] = WebhookState(config=config, queue=queue, verifier=verifier)
    register_error_handlers(app)
    from .routes import bp

    app.register_blueprint(bp)
    from .addon import init_addon  # the Google Sheets add-on's routes (docs/addon.md)

    init_addon(app)
    if not verifier.enabled and not config.hmac_secret:
        log.warning("no audience and no HMAC secret configured: every sync request will get 401")
    return app


__all__ = ["create_app"]
