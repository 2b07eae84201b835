"""The baseline: a bare FastAPI app with one ping route, served the same way as the service."""

from fastapi import FastAPI


def create_app() -> FastAPI:
    """One GET /ping returning a small JSON body."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return app
