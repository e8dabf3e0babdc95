"""The requests Harmonia sends to Kubernetes: server-side apply (and its dry-run),
get, list by label, delete, patch. One field manager for everything it applies.

The only module that sends object requests; callers hand it plain dicts and get
plain dicts back. Discovery is cached and refreshed once when a kind is unknown
(a CRD applied moments ago). Every failure becomes a `KubeError` naming the object.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
from kubernetes.dynamic.resource import ResourceList

from reconciler.kube.connection import KubeTarget, connect
from reconciler.kube.errors import (
    RATE_LIMIT_TRIES,
    ClusterUnreachable,
    KubeError,
    NotFound,
    from_status,
    rate_limit_wait,
)
from reconciler.types import JsonObject

FIELD_MANAGER = "harmonia"
REQUEST_TIMEOUT = 60.0
"""Seconds one request may take."""
WATCH_CONNECT_TIMEOUT = 10.0
"""Seconds to open a watch; once open, the API server ends it after `timeout_seconds`."""
_VERBS = {"get": "get", "patch": "patch", "post": "create", "put": "update", "delete": "delete"}
"""The Kubernetes verb of a request by its method (a list says so itself)."""


def describe(obj: JsonObject) -> str:
    """`Kind/namespace/name` (or `Kind/name`), the subject of every message about `obj`."""
    metadata: Any = obj.get("metadata") or {}
    parts = [str(obj.get("kind", "?")), metadata.get("namespace"), metadata.get("name", "?")]
    return "/".join(str(p) for p in parts if p)


@dataclass(frozen=True)
class ResourceType:
    api_version: str
    kind: str
    plural: str
    namespaced: bool


@dataclass(frozen=True)
class Listing:
    """A list's items and the resourceVersion a watch continues from."""

    items: list[JsonObject]
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    type: str
    """ADDED, MODIFIED, DELETED or BOOKMARK (whose object carries only a resourceVersion)."""
    object: JsonObject


class KubeClient:
    """A connection to one cluster, for one field manager."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        field_manager: str = FIELD_MANAGER,
        cache_dir: Path | None = None,
    ) -> None:
        self.api = api
        self.field_manager = field_manager
        # Discovery's cache is not safe to fill from several threads at once.
        self._discovery_lock = threading.RLock()
        self._resources: dict[tuple[str, str], Any] = {}
        self._sent: dict[str, int] = {}
        self._sent_lock = threading.Lock()
        cache_file = None
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache_file = str(cache_dir / "discovery.json")
        try:
            self._dynamic = DynamicClient(api, cache_file=cache_file)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            raise ClusterUnreachable(
                "", f"cluster at {api.configuration.host} did not answer: {error}"
            ) from error

    @classmethod
    def connect(cls, target: KubeTarget, **kwargs: Any) -> KubeClient:
        return cls(connect(target), **kwargs)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- discovery ---------------------------------------------------------

    def _resource(self, api_version: str, kind: str) -> Any:
        # Found once per kind: the discoverer's search is slow and runs under the lock.
        known = self._resources.get((api_version, kind))
        if known is not None:
            return known
        subject = f"{kind} ({api_version})"
        for attempt in range(2):
            try:
                with self._discovery_lock:
                    found = self._dynamic.resources.get(api_version=api_version, kind=kind)
                    if not isinstance(found, ResourceList):
                        self._resources[(api_version, kind)] = found
                        return found
                # The dynamic client makes up `<Kind>List` for every kind it serves: a
                # list is no object of its own, and has no path to send to.
                raise NotFound(subject, "a list kind, not an object the cluster stores")
            except ResourceNotFoundError:
                if attempt == 0:
                    self.invalidate_discovery()
                    continue
                raise NotFound(
                    subject, "the cluster serves no such kind (is its CRD installed?)"
                ) from None
            except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
                raise _translated(subject, error) from error
        raise AssertionError("unreachable")

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        found = self._resource(api_version, kind)
        return ResourceType(api_version, kind, found.name, bool(found.namespaced))

    def invalidate_discovery(self) -> None:
        with self._discovery_lock:
            self._resources.clear()
            self._dynamic.resources.invalidate_cache()

    # -- requests ------------------------------------------------------------

    @property
    def requests_sent(self) -> int:
        """Requests sent so far (discovery aside): the cost a pass reports."""
        return sum(self.requests_by_verb().values())

    def requests_by_verb(self) -> dict[str, int]:
        """Requests sent so far (discovery aside) by Kubernetes verb (`list`, `watch`,
        `get`, `patch`, ...): what `/metrics` says this reconciler asks of the API server."""
        with self._sent_lock:
            return dict(self._sent)

    def _count(self, verb: str) -> None:
        with self._sent_lock:
            self._sent[verb] = self._sent.get(verb, 0) + 1

    def _call(
        self,
        subject: str,
        method: str,
        path: str,
        *,
        sent: JsonObject | None = None,
        verb: str = "",
        **params: Any,
    ) -> JsonObject:
        """Send one request; a 429 is retried after the wait the server asks for.

        `sent` is the object the request carries: a Secret's values never reach the error.
        `verb` names it for the count when the method does not (a `get` that lists).
        """
        for attempt in range(RATE_LIMIT_TRIES):
            self._count(verb or _VERBS[method])
            try:
                response = self._dynamic.request(
                    method, path, serialize=False, _request_timeout=REQUEST_TIMEOUT, **params
                )
            except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as error:
                wait = rate_limit_wait(
                    int(getattr(error, "status", 0) or 0),
                    (getattr(error, "headers", None) or {}).get("Retry-After"),
                    attempt=attempt,
                )
                if wait is not None:
                    time.sleep(wait)
                    continue
                translated = _translated(subject, error, sent=sent)
                # The response body quotes the Secret: it must not ride along as the cause.
                secret = sent is not None and sent.get("kind") == "Secret"
                raise translated from (None if secret else error)
            decoded: JsonObject = json.loads(response.data or b"{}")
            return decoded
        raise AssertionError("unreachable: the last try returns or raises")

    def _path(self, obj: JsonObject) -> tuple[Any, str]:
        resource = self._resource(str(obj["apiVersion"]), str(obj["kind"]))
        metadata: Any = obj.get("metadata") or {}
        namespace = metadata.get("namespace") if resource.namespaced else None
        return resource, resource.path(name=metadata.get("name"), namespace=namespace)

    def apply(self, obj: JsonObject, *, dry_run: bool = False, force: bool = False) -> JsonObject:
        """Server-side apply of `obj` as Harmonia's field manager; returns what the server stored
        (or, with `dry_run`, what it would store, defaults included)."""
        _resource, path = self._path(obj)
        return self._call(
            f"{describe(obj)} apply failed",
            "patch",
            path,
            sent=obj,
            body=json.dumps(obj),
            content_type="application/apply-patch+yaml",
            field_manager=self.field_manager,
            force_conflicts=force,
            dry_run="All" if dry_run else None,
        )

    def get(self, obj: JsonObject) -> JsonObject | None:
        """The live object named like `obj`, or None (also when its kind is not served)."""
        try:
            _resource, path = self._path(obj)
            return self._call(describe(obj), "get", path)
        except NotFound:
            return None

    def list(self, api_version: str, kind: str, **selection: str | None) -> list[JsonObject]:
        """The objects of `list_versioned` (`namespace`, `label_selector`, `field_selector`)."""
        return self.list_versioned(api_version, kind, **selection).items

    def list_versioned(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Listing:
        """The objects, each with its apiVersion and kind, and the list's resourceVersion."""
        path = self._collection(api_version, kind, namespace)
        listed = self._call(
            f"{kind} list",
            "get",
            path,
            verb="list",
            label_selector=label_selector,
            field_selector=field_selector,
        )
        items: Any = listed.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        metadata: Any = listed.get("metadata") or {}
        return Listing(list(items), str(metadata.get("resourceVersion") or ""))

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        resource_version: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
        opened: Callable[[Callable[[], None]], None] = lambda _close: None,
    ) -> Iterator[WatchEvent]:
        """The changes since `resource_version`, as they happen, bookmarks included, until
        the API server ends the watch after `timeout_seconds`. `opened` receives a function
        that ends the watch from another thread. A resourceVersion too old raises
        `Expired`; a connection lost, `ClusterUnreachable`."""
        subject = f"{kind} watch"
        path = self._collection(api_version, kind, namespace)
        self._count("watch")
        try:
            response = self._dynamic.request(
                "get",
                path,
                serialize=False,
                watch=True,
                allow_watch_bookmarks=True,
                resource_version=resource_version,
                label_selector=label_selector,
                timeout_seconds=timeout_seconds,
                _request_timeout=(WATCH_CONNECT_TIMEOUT, timeout_seconds + REQUEST_TIMEOUT),
            )
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as error:
            raise _translated(subject, error) from error

        def close() -> None:
            # A watch already ended has given its connection back to the pool.
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                response.shutdown()

        opened(close)
        try:
            yield from _watch_events(subject, response, api_version, kind)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise _translated(subject, error) from error
        finally:
            response.release_conn()

    def _collection(self, api_version: str, kind: str, namespace: str | None) -> str:
        resource = self._resource(api_version, kind)
        path: str = resource.path(namespace=namespace) if resource.namespaced else resource.path()
        return path

    def delete(self, obj: JsonObject, *, propagation: str = "Background") -> bool:
        """Delete the object named like `obj`; False if it was already gone."""
        try:
            _resource, path = self._path(obj)
            self._call(describe(obj), "delete", path, propagation_policy=propagation)
        except NotFound:
            return False
        return True

    def merge_patch(self, obj: JsonObject, patch: JsonObject) -> JsonObject:
        """A JSON merge patch (for annotations Harmonia keeps outside its applied fields)."""
        _resource, path = self._path(obj)
        return self._call(
            describe(obj),
            "patch",
            path,
            body=patch,
            content_type="application/merge-patch+json",
        )

    def create(self, obj: JsonObject) -> JsonObject:
        resource, _path = self._path(obj)
        metadata: Any = obj.get("metadata") or {}
        namespace = metadata.get("namespace") if resource.namespaced else None
        path = resource.path(namespace=namespace) if resource.namespaced else resource.path()
        return self._call(describe(obj), "post", path, sent=obj, body=obj)


def _watch_events(subject: str, response: Any, api_version: str, kind: str) -> Iterator[WatchEvent]:
    """The events of a watch response, one JSON document per line; an ERROR event (a
    `Status`, e.g. 410 Expired) raised as its KubeError."""
    pending = b""
    for chunk in response.stream(65536, decode_content=True):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            event: Any = json.loads(line)
            body: Any = event.get("object") or {}
            if event.get("type") == "ERROR":
                code = int(body.get("code") or 500)
                raise from_status(subject, code, json.dumps(body))
            body.setdefault("apiVersion", api_version)
            body.setdefault("kind", kind)
            yield WatchEvent(str(event.get("type")), body)


def _translated(subject: str, error: Exception, *, sent: JsonObject | None = None) -> KubeError:
    if isinstance(error, (ApiException, DynamicApiError)):
        status = int(getattr(error, "status", 0) or 0)
        body = getattr(error, "body", None)
        if status:
            return from_status(subject, status, body, sent=sent)
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return ClusterUnreachable(subject, f"the API server did not answer: {reason}")
