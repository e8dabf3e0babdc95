"""The API's masking the other way round: a value a chart put inside a Secret value (a
password in a connection string) is masked wherever the release's values show it."""

from __future__ import annotations

import base64

from reconciler.loop.api import MIN_EMBEDDED_SECRET, mask_values
from reconciler.render.secrets.masking import MASK
from reconciler.render.secrets.redaction import values_of_secrets
from reconciler.types import JsonObject

PASSWORD = "hunter2-but-longer"
SECRET: JsonObject = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "reports-db"},
    "data": {
        "url": base64.b64encode(f"postgres://app:{PASSWORD}@db:5432/reports".encode()).decode()
    },
}


def test_a_value_held_inside_a_secret_value_is_masked_under_any_key() -> None:
    secrets = values_of_secrets([SECRET])
    config: JsonObject = {"db": {"user": "app", "pw": PASSWORD}, "replicas": 2}
    assert mask_values(config, secrets) == {"db": {"user": "app", "pw": MASK}, "replicas": 2}


def test_a_short_string_inside_a_secret_value_stays_visible() -> None:
    secrets = values_of_secrets([SECRET])
    short = "app"
    assert len(short) < MIN_EMBEDDED_SECRET
    assert mask_values({"user": short, "port": 5432}, secrets) == {"user": short, "port": 5432}
