"""An optional bearer token on the prediction endpoints: set API_TOKEN in the environment (a
secret: never in params.yaml or git) and every request to them must carry
`Authorization: Bearer <token>`. /health, /ready and /metrics stay open to probes and scrapers.
"""

import hmac
import json
import os
from typing import Any

from .routes import MODEL_ROUTES

TOKEN_VARIABLE = "API_TOKEN"


def api_token() -> str | None:
    return os.environ.get(TOKEN_VARIABLE) or None


class BearerToken:
    """401 for a protected path without the token (checked before the body is read)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in MODEL_ROUTES:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                payload = json.dumps({"detail": "missing or wrong bearer token"}).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="predictions"'),
                ]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": payload})
                return
        await self.app(scope, receive, send)


SCHEME = "bearerAuth"


def document_bearer(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document, saying that the protected operations need the bearer token (so
    /docs offers an "Authorize" button and generated clients send the header)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": f"the {TOKEN_VARIABLE} the server was started with",
    }
    for path in MODEL_ROUTES:
        for operation in schema.get("paths", {}).get(path, {}).values():
            operation["security"] = [{SCHEME: []}]
            operation.setdefault("responses", {})["401"] = {
                "description": "Missing or wrong bearer token"
            }
    return schema
