"""The operator's stored connections: API keys ``sheets-sync connect <provider>`` saved for the service's own use.

One JSON file per provider under ``<data_dir>/connections/`` (the folder 0700, the file 0600, written to a
temporary file in the same folder and renamed, so a reader never sees half a file). Environment variables win
over a stored connection; what is stored is never printed, logged or shown in the sheet — :func:`describe` gives
the non-secret part (which markets, which client id) for messages.

Connections owned by a team (a registration of the Google Sheets add-on) live beside the registration instead;
this store is the operator's, for the workbooks listed in service.yaml and the CLI.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

SECRET_FIELDS = ("client_secret", "private_key", "token", "refresh_token")


def _path(data_dir: Path, provider: str) -> Path:
    if not provider.isidentifier():
        raise ValueError(f"not a provider name: {provider!r}")
    return Path(data_dir) / "connections" / f"{provider}.json"


def load_connection(data_dir: Path, provider: str) -> dict[str, Any]:
    """The stored connection (``{}`` when none or unreadable)."""
    try:
        raw = json.loads(_path(data_dir, provider).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def save_connection(data_dir: Path, provider: str, values: dict[str, Any]) -> Path:
    """Merge ``values`` (e.g. ``{"us": {...}}``) into the stored connection, atomically, readable only by the
    service's user."""
    path = _path(data_dir, provider)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    merged = {**load_connection(data_dir, provider), **values}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(merged, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def describe(connection: dict[str, Any]) -> str:
    """What is stored, without a secret: 'us (client id 8f2…), ads (consumer id …)'."""
    parts = []
    for key, value in sorted(connection.items()):
        if isinstance(value, dict):
            ident = value.get("client_id") or value.get("consumer_id") or ""
            shown = f"{str(ident)[:6]}…" if ident else "set"
            parts.append(f"{key} ({shown})")
    return ", ".join(parts) or "nothing"


def secrets_of(connection: dict[str, Any]) -> list[str]:
    return [str(v[f]) for v in connection.values() if isinstance(v, dict) for f in SECRET_FIELDS if v.get(f)]
