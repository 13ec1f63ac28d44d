"""Is the MLflow tracking server there? Asked in seconds, before any expensive work.

MLflow's own client retries a refused connection for minutes (7 retries, exponential backoff)
and then prints a long traceback. `check_tracking_server` asks once, with a short timeout, and
turns every way it can fail into one line: the URL, what failed, and the fix. It imports no
mlflow, so a stage can call it before its inputs are even read. Once the server has answered,
it also caps MLflow's retries for the rest of the process, so a server that dies mid-run is
reported in seconds too.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.request

TIMEOUT_S = 5.0
# Later MLflow requests in this process: at most 2 retries, 15 s each (the defaults wait minutes).
RETRY_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
FIX = (
    "start it, point MLFLOW_TRACKING_URI (or mlflow.tracking_uri in params.yaml) at a running "
    "server, or leave both empty to use the embedded store"
)
CREDENTIALS_FIX = (
    "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) in "
    ".env, or leave MLFLOW_TRACKING_URI and mlflow.tracking_uri empty to use the embedded store"
)


class TrackingUnavailable(SystemExit):
    """The tracking server cannot be used; the message is one line with the fix."""


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def check_tracking_server(uri: str, timeout: float = TIMEOUT_S) -> None:
    """Raise TrackingUnavailable unless `uri` is a local store or an MLflow server that answers
    an authenticated request within `timeout` seconds."""
    if not is_server(uri):
        return  # sqlite or a folder: nothing to reach
    request = urllib.request.Request(
        uri.rstrip("/") + "/api/2.0/mlflow/experiments/search?max_results=1",
        headers=_auth_headers(),
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise TrackingUnavailable(
                f"MLflow tracking server {uri} refused the credentials (HTTP {error.code}): "
                + CREDENTIALS_FIX
            ) from None
        raise TrackingUnavailable(
            f"MLflow tracking server {uri} answered HTTP {error.code} {error.reason}: is it an "
            f"MLflow server? {FIX}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise TrackingUnavailable(
            f"MLflow tracking server {uri} {_what_failed(error, timeout)}: {FIX}"
        ) from None
    for name, value in RETRY_SETTINGS.items():
        os.environ.setdefault(name, value)


def _what_failed(error: Exception, timeout: float) -> str:
    reason = getattr(error, "reason", error)
    if isinstance(reason, ConnectionRefusedError):
        return "refused the connection (nothing listens there)"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"did not answer within {timeout:g} s"
    if isinstance(reason, socket.gaierror):
        return "has a host name that does not resolve"
    if isinstance(error, ValueError):
        return "did not answer with JSON"
    return f"cannot be reached ({reason})"


def _auth_headers() -> dict[str, str]:
    """The credentials MLflow's own client sends (basic auth, or a bearer token)."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    if token:
        return {"Authorization": f"Bearer {token}"}
    return {}
