"""Request bodies past the limit are refused with a 413 problem, declared or streamed, and the
handler never runs on them; a path with its own limit keeps it."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from core.http import problems
from core.http.body_limit import BodyLimit

LIMIT = 1024
seen: list[int] = []


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(BodyLimit, limit=LIMIT, per_path={"/upload": 4 * LIMIT})

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 256):
        yield b"x" * 256


def test_a_body_within_the_limit_passes() -> None:
    assert TestClient(_app()).post("/echo", content=b"x" * LIMIT).json() == {"bytes": LIMIT}


def test_a_declared_body_over_the_limit_is_a_413_problem_and_the_handler_never_runs() -> None:
    seen.clear()
    r = TestClient(_app()).post("/echo", content=b"x" * (LIMIT + 1))
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/payload-too-large") and seen == []


def test_a_streamed_body_without_length_is_cut_off_at_the_limit() -> None:
    seen.clear()
    r = TestClient(_app()).post("/echo", content=_chunks(8 * LIMIT))
    assert r.status_code == 413 and seen == []


def test_a_path_with_its_own_limit_keeps_it() -> None:
    client = TestClient(_app())
    assert client.post("/upload", content=b"x" * (3 * LIMIT)).json() == {"bytes": 3 * LIMIT}
    assert client.post("/upload", content=b"x" * (5 * LIMIT)).status_code == 413
