"""Lab-only credentials: random per lab, generated once, kept in the state dir (0600)."""

from __future__ import annotations

import json
import os
import secrets

from infra.lab.layout import LabLayout
from infra.lab.render import Secrets


def load_or_create(layout: LabLayout) -> Secrets:
    path = layout.secrets_file
    if path.exists():
        return Secrets(**json.loads(path.read_text()))
    values = Secrets(**{field: secrets.token_urlsafe(18) for field in ("superuser", "replication", "rewind", "app")})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(values.__dict__, out)
    return values


def load(layout: LabLayout) -> Secrets:
    return Secrets(**json.loads(layout.secrets_file.read_text()))
