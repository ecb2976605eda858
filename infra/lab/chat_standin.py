"""A stand-in for the chat platforms' APIs, which the lab cannot reach (it has no Internet): Slack's
`chat.postMessage`, Zalo OA's customer-service message, and a Teams bot's Bot Framework token
endpoint (client credentials) and connector activities, at the witness over HTTPS.

It checks each request as the platform would: the credential (Slack's bot token as a Bearer, Zalo's
`access_token` header, a token the Teams endpoint issued), a JSON body, the fields the method
requires and Zalo's 2,000-character text limit. It answers in the platform's own shape (`{"ok":
false, "error": ...}`, a negative Zalo error code, an HTTP status), and keeps every message it
accepted in a JSON-lines file (`received`) for tests to read.
Run: `python -m infra.lab.chat_standin --config FILE` (infra.lab.render writes it)."""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SLACK_PATH = "/slack/api/chat.postMessage"
ZALO_PATH = "/zalo/v3.0/oa/message/cs"
TEAMS_TOKEN_PATH = "/teams/token"
TEAMS_ACTIVITIES_PATH = "/teams/v3/conversations/{conversation}/activities"
TEAMS_TOKEN_LIFETIME_S = 3599
SLACK_TEXT_MAX = 40_000
ZALO_TEXT_MAX = 2000


class StandinConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int
    cert_file: str
    key_file: str
    slack_bot_token: str
    zalo_oa_access_token: str
    teams_app_id: str
    teams_app_password: str
    teams_scope: str
    received: str  # JSON lines, one per accepted message


def received(path: Path) -> list[dict[str, Any]]:
    """What the stand-in accepted so far (tests read it)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def create_app(config: StandinConfig) -> Starlette:
    lock = threading.Lock()
    out = Path(config.received)
    out.parent.mkdir(parents=True, exist_ok=True)

    def keep(platform: str, body: dict[str, Any]) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "platform": platform, "body": body}, ensure_ascii=False)
        with lock, out.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    async def json_body(request: Request) -> dict[str, Any] | None:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def slack(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {config.slack_bot_token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        body = await json_body(request)
        if body is None:
            return JSONResponse({"ok": False, "error": "invalid_json"})
        channel, text = body.get("channel"), body.get("text")
        if not isinstance(channel, str) or not channel:
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        if not isinstance(text, str) or not text.strip():
            return JSONResponse({"ok": False, "error": "no_text"})
        if len(text) > SLACK_TEXT_MAX:
            return JSONResponse({"ok": False, "error": "msg_too_long"})
        keep("slack", body)
        return JSONResponse({"ok": True, "channel": channel, "ts": f"{time.time():.6f}"})

    async def zalo(request: Request) -> JSONResponse:
        if request.headers.get("access_token") != config.zalo_oa_access_token:
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        body = await json_body(request)
        recipient = (body or {}).get("recipient")
        message = (body or {}).get("message")
        user = recipient.get("user_id") if isinstance(recipient, dict) else None
        text = message.get("text") if isinstance(message, dict) else None
        if body is None or not isinstance(user, str) or not user or not isinstance(text, str) or not text.strip():
            return JSONResponse({"error": -201, "message": "Parameters are invalid"})
        if len(text) > ZALO_TEXT_MAX:
            return JSONResponse({"error": -201, "message": "Text is too long"})
        keep("zalo", body)
        return JSONResponse(
            {"error": 0, "message": "Success", "data": {"message_id": uuid.uuid4().hex, "user_id": user}}
        )

    issued: set[str] = set()

    async def teams_token(request: Request) -> JSONResponse:
        form = await request.form()
        wanted = {
            "grant_type": "client_credentials",
            "client_id": config.teams_app_id,
            "client_secret": config.teams_app_password,
            "scope": config.teams_scope,
        }
        if any(form.get(k) != v for k, v in wanted.items()):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = uuid.uuid4().hex
        issued.add(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": TEAMS_TOKEN_LIFETIME_S, "access_token": token})

    async def teams_activity(request: Request) -> JSONResponse:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in issued:
            return JSONResponse({"error": {"code": "Unauthorized"}}, status_code=401)
        body = await json_body(request)
        text = (body or {}).get("text")
        if body is None or body.get("type") != "message" or not isinstance(text, str) or not text.strip():
            return JSONResponse({"error": {"code": "BadArgument"}}, status_code=400)
        keep("teams", {"conversation": request.path_params["conversation"], **body})
        return JSONResponse({"id": uuid.uuid4().hex}, status_code=201)

    return Starlette(
        routes=[
            Route(SLACK_PATH, slack, methods=["POST"]),
            Route(ZALO_PATH, zalo, methods=["POST"]),
            Route(TEAMS_TOKEN_PATH, teams_token, methods=["POST"]),
            Route(TEAMS_ACTIVITIES_PATH, teams_activity, methods=["POST"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    config = StandinConfig.model_validate_json(parser.parse_args().config.read_text())
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        ssl_certfile=config.cert_file,
        ssl_keyfile=config.key_file,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
