"""The API's paths, named once: app.py adds them, auth.py guards the model's, /metrics counts
requests by them (telemetry.py, from the app's own routes), docs/serving.md describes them
(tests/serving checks it names every one). A new route: add its function in app.py; a new one
that needs the model goes in MODEL_ROUTES too."""

PREDICT = "/predict"
EXPLAIN = "/explain"
HEALTH = "/health"
READY = "/ready"
METRICS = "/metrics"
# Answered by the loaded model: a 503 until there is one, and behind API_TOKEN when it is set.
MODEL_ROUTES = (PREDICT, EXPLAIN)
