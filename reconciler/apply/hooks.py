"""Helm hooks, run as Helm runs them, from the renderer's marks.

Pre-install/pre-upgrade hooks run before a changed release is applied, post-install/
post-upgrade hooks after it is Ready; in weight order (then kind and name); a hook
Job is waited for until it completes. Delete policies: `before-hook-creation` (the
default) removes the previous run's object first, `hook-succeeded` / `hook-failed`
remove it after. Hooks are never in the inventory, the diff or prune.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.objects import ref_of
from reconciler.render.model import Hook, KubeObject

DEFAULT_DELETE_POLICY = "before-hook-creation"
POLL_INTERVAL = 0.5


class HookFailed(Exception):
    """A hook could not be created, or its Job failed or did not finish in time."""


def hooks_for(hooks: Sequence[Hook], event: str) -> list[Hook]:
    """The hooks bound to `event`, in the order Helm runs them."""
    chosen = [hook for hook in hooks if event in hook.events]
    return sorted(
        chosen, key=lambda h: (h.weight, str(h.object.get("kind")), str(ref_of(h.object)))
    )


def _job_result(job: KubeObject | None) -> str | None:
    """ "Complete", "Failed: <reason>", or None while it runs."""
    if job is None:
        return "Failed: the Job disappeared"
    conditions: Any = (job.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
    for condition in conditions:
        if condition.get("status") != "True":
            continue
        if condition.get("type") in ("Complete", "SuccessCriteriaMet"):
            return "Complete"
        if condition.get("type") == "Failed":
            return f"Failed: {condition.get('reason', '')} {condition.get('message', '')}".strip()
    return None


def _wait_gone(client: KubeClient, obj: KubeObject, deadline: float) -> None:
    while client.get(obj) is not None:
        if time.monotonic() > deadline:
            raise HookFailed(
                f"hook {ref_of(obj)}: the previous run's object is still being deleted"
            )
        time.sleep(POLL_INTERVAL)


def _await_job(client: KubeClient, job: KubeObject, *, deadline: float, timeout: float) -> str:
    while True:
        result = _job_result(client.get(job))
        if result is not None:
            return result
        if time.monotonic() > deadline:
            return f"Failed: not finished after {timeout:.0f}s"
        time.sleep(POLL_INTERVAL)


def run_hook(client: KubeClient, hook: Hook, *, timeout: float) -> str:
    """Run one hook to its end; returns a line saying what happened."""
    obj = hook.object
    subject = f"hook {ref_of(obj)}"
    deadline = time.monotonic() + timeout
    policies = hook.delete_policies or (DEFAULT_DELETE_POLICY,)
    try:
        if DEFAULT_DELETE_POLICY in policies and client.delete(obj, propagation="Foreground"):
            _wait_gone(client, obj, deadline)
        client.apply(obj, force=True)
        result = "Complete"
        if obj.get("kind") == "Job":
            result = _await_job(client, obj, deadline=deadline, timeout=timeout)
        if result != "Complete":
            if "hook-failed" in policies:
                client.delete(obj)
            raise HookFailed(f"{subject} {result}")
        if "hook-succeeded" in policies:
            client.delete(obj)
    except KubeError as error:
        raise HookFailed(f"{subject}: {error}") from None
    return f"{subject} completed"


def run_hooks(
    client: KubeClient, hooks: Sequence[Hook], *, event: str, timeout: float
) -> list[str]:
    """Run every hook of `event` in order; stops at the first failure (HookFailed)."""
    return [run_hook(client, hook, timeout=timeout) for hook in hooks_for(hooks, event)]
