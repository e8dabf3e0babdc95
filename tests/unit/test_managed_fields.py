"""Field ownership handed over on adoption: the fields Harmonia applies leave the previous
managers' entries; everything else they own, and subresource entries, stay theirs."""

from __future__ import annotations

from typing import Any

from reconciler.apply.managed_fields import transferred_managed_fields
from reconciler.types import JsonObject

HARMONIA_FIELDS: JsonObject = {
    "f:metadata": {"f:labels": {"f:app": {}, "f:app.kubernetes.io/managed-by": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"kafka"}': {".": {}, "f:image": {}, "f:name": {}},
                }
            }
        },
    },
}
HELM_FIELDS: JsonObject = {
    "f:metadata": {
        "f:annotations": {".": {}, "f:meta.helm.sh/release-name": {}},
        "f:labels": {".": {}, "f:app": {}, "f:app.kubernetes.io/managed-by": {}},
    },
    "f:spec": {
        "f:replicas": {},
        "f:revisionHistoryLimit": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"kafka"}': {
                        ".": {},
                        "f:image": {},
                        "f:imagePullPolicy": {},
                        "f:name": {},
                    },
                }
            }
        },
    },
}
STATUS_ENTRY: JsonObject = {
    "manager": "kube-controller-manager",
    "operation": "Update",
    "subresource": "status",
    "fieldsV1": {"f:status": {"f:replicas": {}}},
}


def entry(manager: str, operation: str, fields: JsonObject) -> JsonObject:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


def live(*entries: JsonObject) -> JsonObject:
    return {"metadata": {"name": "kafka", "managedFields": list(entries)}}


def test_the_fields_harmonia_applies_leave_the_previous_owners_entry() -> None:
    harmonia = entry("harmonia", "Apply", HARMONIA_FIELDS)
    helm = entry("helm", "Update", HELM_FIELDS)
    result = transferred_managed_fields(live(harmonia, helm, STATUS_ENTRY), manager="harmonia")
    assert result is not None
    assert result[0] == harmonia
    assert result[2] == STATUS_ENTRY
    assert result[1] == {
        **helm,
        "fieldsV1": {
            "f:metadata": {
                "f:annotations": {".": {}, "f:meta.helm.sh/release-name": {}},
                "f:labels": {},
            },
            "f:spec": {
                "f:revisionHistoryLimit": {},
                "f:template": {
                    "f:spec": {"f:containers": {'k:{"name":"kafka"}': {"f:imagePullPolicy": {}}}}
                },
            },
        },
    }


def test_an_entry_left_with_nothing_is_dropped() -> None:
    harmonia = entry("harmonia", "Apply", HARMONIA_FIELDS)
    helm = entry("helm", "Apply", {"f:spec": {"f:replicas": {}}})
    assert transferred_managed_fields(live(harmonia, helm), manager="harmonia") == [harmonia]


def test_nothing_changes_when_no_other_manager_shares_a_field() -> None:
    harmonia = entry("harmonia", "Apply", HARMONIA_FIELDS)
    other = entry("kubectl-annotate", "Update", {"f:metadata": {"f:annotations": {"f:x": {}}}})
    assert (
        transferred_managed_fields(live(harmonia, other, STATUS_ENTRY), manager="harmonia") is None
    )


def test_subresource_entries_keep_what_controllers_wrote() -> None:
    harmonia = entry("harmonia", "Apply", {"f:spec": {"f:replicas": {}}})
    scale: dict[str, Any] = {
        **entry("kube-controller-manager", "Update", {"f:spec": {"f:replicas": {}}}),
        "subresource": "scale",
    }
    assert transferred_managed_fields(live(harmonia, scale), manager="harmonia") is None


def test_without_a_harmonia_apply_entry_nothing_is_handed_over() -> None:
    helm = entry("helm", "Update", HELM_FIELDS)
    harmonia_update = entry("harmonia", "Update", HARMONIA_FIELDS)
    assert transferred_managed_fields(live(helm, harmonia_update), manager="harmonia") is None
    assert transferred_managed_fields({"metadata": {}}, manager="harmonia") is None
