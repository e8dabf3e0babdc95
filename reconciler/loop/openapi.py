"""The OpenAPI 3.1 document of the read-only JSON API, served at `/api/v1/openapi.json`.

Plain data, no I/O: the schemas are written from what `api.py` and the catalog return, and
a test checks real answers against them. Masking (`api.mask_values`) may turn any string,
and any number equal to a Secret's value, into `***`: numbers and free-form maps allow it.
"""

from __future__ import annotations

from reconciler.types import JsonObject, JsonValue

OPENAPI_PATH = "/api/v1/openapi.json"


def _ref(name: str) -> JsonObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: JsonObject) -> JsonObject:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: JsonObject, *, optional: tuple[str, ...] = ()) -> JsonObject:
    """An object with exactly these properties, all required but `optional`."""
    return {
        "type": "object",
        "properties": properties,
        "required": [key for key in properties if key not in optional],
        "additionalProperties": False,
    }


STRING: JsonObject = {"type": "string"}
NULLABLE_STRING: JsonObject = {"type": ["string", "null"]}
MASKED_INTEGER: JsonObject = {"anyOf": [{"type": "integer"}, _ref("Masked")]}
MASKED_NUMBER: JsonObject = {"anyOf": [{"type": "number"}, _ref("Masked")]}
ANY_JSON: JsonObject = {"description": "Any JSON value, Secret values masked."}

_SUMMARY: JsonObject = {
    "name": STRING,
    "namespace": STRING,
    "labels": {"type": "object", "additionalProperties": STRING},
    "chart": _nullable(_ref("Chart")),
    "state": {
        "type": "string",
        "description": "Ready, Progressing, Degraded, Failed, Paused, Blocked, or "
        "NotInstalled (no inventory record in the cluster).",
    },
    "message": STRING,
    "revision": {**NULLABLE_STRING, "description": "The commit last applied."},
    "revisionUrl": {
        **NULLABLE_STRING,
        "description": "That commit's page on the repository's forge (GitHub, GitLab, "
        "Gitea/Forgejo); null when the forge is unknown or the record is another source's.",
    },
    "installed": {
        **NULLABLE_STRING,
        "description": "RFC 3339: when it was first installed (its inventory record made).",
    },
    "lastApplied": {**NULLABLE_STRING, "description": "RFC 3339: its last apply's result."},
    "outcome": {**NULLABLE_STRING, "description": "What the last pass did to it."},
    "dependsOn": {
        "type": "array",
        "items": STRING,
        "description": "The releases (`namespace/name`) it depends on, from Git; for a "
        "release only in the cluster, those its inventory record took outputs from.",
    },
    "outputsTaken": {
        "type": "array",
        "items": _ref("OutputsTaken"),
        "description": "By alias: the release depended on and the names of the outputs "
        "taken from it (never their values).",
    },
    "nextAttempt": {
        **STRING,
        "description": "For a failure under `harmonia run`: `waiting for a change`, or "
        "`retrying in 40s (at 17:40:12Z)`.",
    },
    "appliedBy": {
        **STRING,
        "description": "Under `harmonia run --shards`: the replica (its Lease identity) "
        "that last applied it, from its inventory record (docs/sharding.md).",
    },
}

_DETAIL: JsonObject = {
    **_SUMMARY,
    "file": {**NULLABLE_STRING, "description": "Its file in Git."},
    "spec": {
        "anyOf": [{"type": "object"}, {"type": "null"}],
        "description": "The release request as written in Git.",
    },
    "source": {**NULLABLE_STRING, "description": "The source its inventory record names."},
    "lastResult": NULLABLE_STRING,
    "readySince": NULLABLE_STRING,
    "paused": {"type": "boolean"},
    "resources": {"type": "array", "items": _ref("Resource")},
    "dependencies": {
        "type": "object",
        "additionalProperties": {"anyOf": [_ref("Dependency"), _ref("Masked")]},
    },
    "outputs": {"type": "object", "additionalProperties": ANY_JSON},
    "computedValues": {"anyOf": [{"type": "object"}, {"type": "null"}, _ref("Masked")]},
    "lastPass": _nullable(_ref("ReleaseReport")),
    "lastChange": {
        **_nullable(_ref("LastChange")),
        "description": "The last pass that created, configured or deleted objects of it, "
        "since this reconciler started, with its change set and masked diffs.",
    },
    "recentPasses": {
        "type": "array",
        "items": _ref("PassLine"),
        "description": "The last passes over it (at most 10), newest first, since this "
        "reconciler started.",
    },
    "events": {
        "type": "array",
        "items": _ref("KubeEvent"),
        "description": "Kubernetes Events on its inventory record, its objects and their "
        "pods, read now: newest first, at most 20.",
    },
    "eventsProblem": {**NULLABLE_STRING, "description": "Why its Events could not be read."},
}

SCHEMAS: JsonObject = {
    "Masked": {"const": "***", "description": "A value hidden because it is a secret."},
    "Error": _object({"error": STRING}),
    "Routes": _object({"routes": {"type": "array", "items": STRING}}),
    "ReleaseEvent": _object(
        {
            "id": {**STRING, "description": "The frame's `id:`, for `Last-Event-ID`."},
            "release": {**STRING, "description": "`namespace/name`."},
            "state": {
                "type": "string",
                "description": "Applied, Ready, Progressing, Degraded, Failed, Blocked, "
                "Invalid, Removed, RemovalWithheld, DriftCorrected, Paused, Resumed or "
                "SecretWarning: the reason of the Kubernetes Event said with it.",
            },
            "reason": {**STRING, "description": "Why, Secret values masked."},
            "revision": {**NULLABLE_STRING, "description": "The commit concerned."},
            "time": {**STRING, "description": "RFC 3339."},
        }
    ),
    "Chart": {
        "oneOf": [
            _object({"chartPath": STRING}),
            _object({"chartImage": STRING}),
            _object({"repoName": STRING, "chartName": STRING, "chartVersion": STRING}),
        ]
    },
    "ReleaseSummary": _object(_SUMMARY, optional=("nextAttempt", "appliedBy")),
    "OutputsTaken": _object(
        {"alias": STRING, "release": STRING, "outputs": {"type": "array", "items": STRING}}
    ),
    "ReleaseList": _object(
        {
            "releases": {"type": "array", "items": _ref("ReleaseSummary")},
            "count": {"type": "integer", "minimum": 0},
            "problems": {
                "type": "array",
                "items": STRING,
                "description": "Inventory records that could not be read.",
            },
            "source": {
                **_nullable(_ref("SourceState")),
                "description": "The revision of the last pass; null before the first.",
            },
        },
        optional=("problems", "source"),
    ),
    "SourceState": _object(
        {"revision": STRING, "stale": {"type": "boolean"}, "error": NULLABLE_STRING}
    ),
    "Release": _object(_DETAIL, optional=("nextAttempt", "appliedBy")),
    "Resource": _object(
        {
            "kind": STRING,
            "namespace": {**STRING, "description": "Empty for cluster-scoped objects."},
            "name": STRING,
            "state": STRING,
            "reason": STRING,
            "message": STRING,
            "pods": {"type": "array", "items": _ref("Pod")},
        },
        optional=("pods",),
    ),
    "Pod": _object(
        {
            "name": STRING,
            "node": STRING,
            "phase": STRING,
            "state": STRING,
            "reason": STRING,
            "message": STRING,
            "ready": {**STRING, "description": "Ready containers of all, `n/m`."},
            "restarts": MASKED_INTEGER,
        }
    ),
    "Dependency": _object(
        {"release": STRING, "outputs": {"type": "object", "additionalProperties": ANY_JSON}},
        optional=("outputs",),
    ),
    "ReleaseReport": _object(
        {
            "release": STRING,
            "outcome": STRING,
            "message": STRING,
            "seconds": MASKED_NUMBER,
            "changes": _ref("ChangeSet"),
            "failure": {"enum": ["temporary", "permanent"]},
            "nextAttempt": STRING,
            "retryAt": {**STRING, "description": "RFC 3339, for a temporary failure."},
        },
        optional=("seconds", "changes", "failure", "nextAttempt", "retryAt"),
    ),
    "Reconciler": _object(
        {
            "instance": {**STRING, "description": "This replica's identity in the Lease."},
            "leading": {"type": "boolean"},
            "lease": _nullable(_ref("Lease")),
            "running": _nullable(_object({"since": STRING, "why": STRING})),
            "lastPass": _nullable(_ref("PassSummary")),
            "nextPass": _object(
                {
                    "at": {**NULLABLE_STRING, "description": "RFC 3339; null: none scheduled."},
                    "why": STRING,
                }
            ),
            "errors": {"type": "array", "items": _ref("LoopError")},
            "hooks": {"type": "array", "items": _ref("HookDelivery")},
            "notifications": {"type": "array", "items": _ref("NotificationDelivery")},
            "shards": _ref("ShardSet"),
        },
        optional=("shards",),
    ),
    "ShardSet": _object(
        {
            "set": {**STRING, "description": "The set's name (leaderElection.name)."},
            "namespace": STRING,
            "lease": {**STRING, "description": "This replica's own Lease in the set."},
            "holding": {"type": "boolean", "description": "Whether it holds it now."},
            "holders": {
                "type": "array",
                "items": STRING,
                "description": "The live holders' identities as the last pass listed them.",
            },
            "share": _object(
                {
                    "releases": {"type": "integer"},
                    "of": {"type": "integer"},
                }
            ),
        }
    ),
    "Lease": _object(
        {
            "namespace": STRING,
            "name": STRING,
            "holder": NULLABLE_STRING,
            "acquired": NULLABLE_STRING,
            "renewed": NULLABLE_STRING,
            "transitions": {"type": "integer"},
            "durationSeconds": {"type": ["integer", "null"]},
            "error": {**STRING, "description": "Why the Lease could not be read."},
        },
        optional=("holder", "acquired", "renewed", "transitions", "durationSeconds", "error"),
    ),
    "PassSummary": _object(
        {
            "revision": NULLABLE_STRING,
            "why": STRING,
            "started": STRING,
            "finished": STRING,
            "seconds": {"type": "number"},
            "problem": NULLABLE_STRING,
            "outcomes": {"type": "object", "additionalProperties": {"type": "integer"}},
            "applied": {"type": "array", "items": STRING},
            "notApplied": {
                "type": "array",
                "items": _object({"release": STRING, "outcome": STRING, "message": STRING}),
            },
        }
    ),
    "LoopError": _object({"time": STRING, "subject": STRING, "message": STRING}),
    "HookDelivery": _object(
        {
            "time": STRING,
            "provider": STRING,
            "event": STRING,
            "status": {"type": "integer"},
            "answer": STRING,
        }
    ),
    "NotificationDelivery": _object({"time": STRING, "receiver": STRING, "result": STRING}),
    "PassLine": _object(
        {
            "time": {**STRING, "description": "RFC 3339: when the pass reported it."},
            "revision": STRING,
            "outcome": STRING,
            "seconds": {"anyOf": [{"type": "number"}, {"type": "null"}, _ref("Masked")]},
            "message": {**STRING, "description": "What changed and why."},
        }
    ),
    "LastChange": _object(
        {
            "time": STRING,
            "revision": STRING,
            "outcome": STRING,
            "seconds": {"anyOf": [{"type": "number"}, {"type": "null"}, _ref("Masked")]},
            "message": STRING,
            "changes": _nullable(_ref("ChangeSet")),
        }
    ),
    "KubeEvent": _object(
        {
            "time": {**STRING, "description": "RFC 3339: when it last happened."},
            "type": {**STRING, "description": "Normal or Warning."},
            "reason": STRING,
            "object": {**STRING, "description": "`Kind/name` of the object it is about."},
            "message": STRING,
            "count": MASKED_INTEGER,
        }
    ),
    "ChangeSet": _object(
        {
            "release": STRING,
            "dryRun": {"type": "boolean"},
            "hasChanges": {"type": "boolean"},
            "counts": {"type": "object", "additionalProperties": MASKED_INTEGER},
            "changes": {"type": "array", "items": _ref("ObjectChange")},
        }
    ),
    "ObjectChange": _object(
        {
            "object": _object(
                {"apiVersion": STRING, "kind": STRING, "namespace": STRING, "name": STRING},
                optional=("namespace",),
            ),
            "subject": STRING,
            "action": STRING,
            "reason": STRING,
            "changedPaths": {"type": "array", "items": STRING},
            "diff": STRING,
        },
        optional=("changedPaths", "diff"),
    ),
}


def _answers(schema: str, description: str, *errors: int) -> JsonObject:
    responses: JsonObject = {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    }
    for status in errors:
        responses[str(status)] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return responses


_ERRORS = {
    400: "A malformed or unknown query parameter.",
    404: "No such release here (for /api/v1/reconciler: no loop in this server).",
    429: "Too many API requests at once; see Retry-After.",
    503: "The cluster could not be read.",
}

_LIST_PARAMETERS: list[JsonValue] = [
    {
        "name": "namespace",
        "in": "query",
        "schema": STRING,
        "description": "Only the releases of this namespace.",
    },
    {
        "name": "labelSelector",
        "in": "query",
        "schema": {**STRING, "maxLength": 4096},
        "description": "kubectl's label selector on the releases' labels.",
    },
]

_EVENT_PARAMETERS: list[JsonValue] = [
    {
        "name": "namespace",
        "in": "query",
        "schema": STRING,
        "description": "Only the events of releases in this namespace.",
    },
    {
        "name": "release",
        "in": "query",
        "schema": STRING,
        "description": "Only the events of this release, `namespace/name`.",
    },
    {
        "name": "Last-Event-ID",
        "in": "header",
        "schema": STRING,
        "description": "The id of the last event seen: the kept events after it are sent "
        "first (all kept events when it is not one of them).",
    },
]

_EVENT_STREAM: JsonObject = {
    "200": {
        "description": "Server-Sent Events, one per release state change: `id: <id>`, "
        "`event: release`, `data: <ReleaseEvent as one line of JSON>`; a comment every "
        "15 s while nothing happens. The stream ends when the server stops, or when the "
        "client falls behind (it reconnects with Last-Event-ID).",
        "content": {"text/event-stream": {"schema": STRING, "x-event-data": _ref("ReleaseEvent")}},
    },
    **{
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for status, description in (
            (400, _ERRORS[400]),
            (429, "Too many event streams open at once; see Retry-After."),
            (503, "The server is stopping."),
        )
    },
}

_PATH_PARAMETERS: list[JsonValue] = [
    {"name": "namespace", "in": "path", "required": True, "schema": STRING},
    {"name": "name", "in": "path", "required": True, "schema": STRING},
]

OPENAPI: JsonObject = {
    "openapi": "3.1.0",
    "info": {
        "title": "Harmonia",
        "version": "v1",
        "description": "The read-only JSON API of `harmonia run`: its releases, their state "
        "read live from the cluster, what the last pass did, and the stream of their "
        "state changes.",
    },
    "paths": {
        "/api/v1": {
            "get": {"summary": "The routes", "responses": _answers("Routes", "The routes.")}
        },
        "/api/v1/releases": {
            "get": {
                "summary": "The releases",
                "parameters": _LIST_PARAMETERS,
                "responses": _answers("ReleaseList", "The releases, by key.", 400, 429, 503),
            }
        },
        "/api/v1/releases/{namespace}/{name}": {
            "get": {
                "summary": "One release",
                "parameters": _PATH_PARAMETERS,
                "responses": _answers("Release", "The release.", 404, 429, 503),
            }
        },
        "/api/v1/reconciler": {
            "get": {
                "summary": "The reconciler: leader, last and next pass, errors, deliveries",
                "responses": _answers("Reconciler", "The loop's state.", 404, 429),
            }
        },
        "/api/v1/events": {
            "get": {
                "summary": "The release events, live",
                "parameters": _EVENT_PARAMETERS,
                "responses": _EVENT_STREAM,
            }
        },
    },
    "components": {"schemas": SCHEMAS},
}
