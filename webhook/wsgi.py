"""The only module-level app: ``gunicorn webhook.wsgi:app``.

Configuration comes from ``service.yaml`` / ``SHEETS_SYNC_*`` (see :mod:`sheets_sync.config`), loaded once
when a worker imports this module. ``sheets-sync serve`` does not import it; it builds the app itself.
"""

from sheets_sync.config import load_config

from . import create_app

app = create_app(load_config())
