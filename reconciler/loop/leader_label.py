"""The label `harmonia.dev/leader: "true"` on the Pod of the replica that acts, so that a
Service selecting it (deploy/'s webhooks Service) sends push webhooks to the leader alone.

Next to the Lease (`lease.py`) in the loop: `service.py` clears a stale label when the
process starts (a restarted container keeps its pod), holds it once this replica leads and
drops it when it stops leading. The pod is named by the downward API (POD_NAME,
POD_NAMESPACE); the label is a merge patch sent through `KubeClient`. A failed patch is a
warning: the label routes deliveries, it never decides who leads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.types import JsonObject

log = logging.getLogger(__name__)

LEADER_LABEL = "harmonia.dev/leader"
LEADER_VALUE = "true"


@dataclass(frozen=True)
class OwnPod:
    """The Pod this process runs in."""

    namespace: str
    name: str

    @property
    def subject(self) -> str:
        return f"Pod/{self.namespace}/{self.name}"


def own_pod(environ: Mapping[str, str]) -> OwnPod | None:
    """The pod the downward API names in `environ` (POD_NAMESPACE and POD_NAME); None
    unless both are given (the CLI on a workstation, a test outside a pod)."""
    namespace = environ.get("POD_NAMESPACE", "").strip()
    name = environ.get("POD_NAME", "").strip()
    return OwnPod(namespace, name) if namespace and name else None


def pod_reference(pod: OwnPod) -> JsonObject:
    """Enough of the Pod for `KubeClient` to find it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": pod.namespace, "name": pod.name},
    }


def label_patch(*, leading: bool) -> JsonObject:
    """The merge patch that sets the label (`leading`) or removes it (a null value), leaving
    every other label alone."""
    return {"metadata": {"labels": {LEADER_LABEL: LEADER_VALUE if leading else None}}}


def carries_leader_label(pod: JsonObject | None) -> bool:
    metadata: Any = (pod or {}).get("metadata") or {}
    labels: Any = metadata.get("labels") or {}
    return bool(labels.get(LEADER_LABEL) == LEADER_VALUE)


class LeaderLabel:
    """Keeps the label on this replica's own Pod exactly while it leads; does nothing when
    the pod is unknown (said once, at `unknown_level`)."""

    def __init__(
        self, client: KubeClient, pod: OwnPod | None, *, unknown_level: int = logging.INFO
    ) -> None:
        self._client = client
        self._pod = pod
        self._leading = False
        self._carries: bool | None = False
        """Whether the pod carries the label this process set; None after a temporary
        failure (a request that timed out may have been written)."""
        self._problem = ""
        if pod is None:
            log.log(
                unknown_level,
                "no POD_NAME and POD_NAMESPACE (not in a pod): the leader's pod is not "
                "labelled %s, so no Service selecting that label reaches this replica",
                LEADER_LABEL,
            )

    def clear_stale(self) -> None:
        """At start, before campaigning: a label left by this pod's previous container
        (killed while it led) is removed, so deliveries do not come to a replica that does
        not lead."""
        if self._pod is None:
            return
        try:
            found = self._client.get(pod_reference(self._pod))
        except KubeError as error:
            log.warning("%s: cannot read its labels: %s", self._pod.subject, error.message)
            return
        if found is None:
            log.warning(
                "%s: no such pod (POD_NAME, POD_NAMESPACE): the leader label is not kept",
                self._pod.subject,
            )
            self._pod = None
        elif carries_leader_label(found) and self._send(leading=False) is None:
            log.info("%s: removed the stale %s label", self._pod.subject, LEADER_LABEL)

    def hold(self) -> None:
        """While leading: the label on, unless it is already; a failure is retried at the
        next call (the service calls again after each periodic pass)."""
        self._leading = True
        if self._pod is None or self._carries is True:
            return
        error = self._send(leading=True)
        if error is None:
            self._carries = True
            log.info("%s: labelled %s=%s", self._pod.subject, LEADER_LABEL, LEADER_VALUE)
        else:
            self._carries = None if error.temporary else False

    def drop(self) -> None:
        """No longer leading (stopping, or the Lease lost): the label off, unless it is
        known not to be there."""
        if self._pod is None or not self._leading:
            return
        self._leading = False
        if self._carries is not False and self._send(leading=False) is None:
            log.info("%s: %s label removed", self._pod.subject, LEADER_LABEL)
        self._carries = False

    def _send(self, *, leading: bool) -> KubeError | None:
        """The patch sent; the error, logged (a warning when it differs from the last), if
        it failed."""
        assert self._pod is not None
        try:
            self._client.merge_patch(pod_reference(self._pod), label_patch(leading=leading))
        except KubeError as error:
            if leading:
                consequence = "it leads on, but a Service selecting the label does not reach it"
            else:
                consequence = "a Service selecting the label may still send it deliveries (503)"
            problem = (
                f"{self._pod.subject}: cannot {'set' if leading else 'remove'} the "
                f"{LEADER_LABEL} label ({error.message}): {consequence}"
            )
            log.log(logging.DEBUG if problem == self._problem else logging.WARNING, "%s", problem)
            self._problem = problem
            return error
        self._problem = ""
        return None
