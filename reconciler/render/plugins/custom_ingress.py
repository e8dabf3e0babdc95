"""CustomIngress: Ingresses added to a release, or the chart's Ingresses kept as they are.

A post-render plugin (WALM's CustomIngress). args: `ingressToAdd` (name -> `host`,
`path`, `serviceName`, `servicePort`, `annotations`) adds one Ingress each;
`ingressToSkipNames` / `ingressSkipAll` mark the chart's Ingresses to be created when
missing and never updated afterwards (people edit them by hand).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.render.model import KubeObject, RenderError
from reconciler.render.ownership import ensure_mapping
from reconciler.render.plugins.args import DNS_SUBDOMAIN, ArgsReader, describe, label_key_problem
from reconciler.render.plugins.base import KEEP, UPGRADE_POLICY_ANNOTATION, PluginContext, Transform
from reconciler.render.plugins.workloads import name_of
from reconciler.types import JsonObject, JsonValue

NAME = "CustomIngress"
ADDED_ANNOTATIONS = {
    "transwarp/walmplugin.custom.ingress": "true",
    "kubernetes.io/ingress.class": "nginx",
}
"""WALM's annotations on an added Ingress; the entry's own annotations override them."""


@dataclass(frozen=True)
class _AddedIngress:
    name: str
    host: str
    path: str
    service_name: str
    service_port: int
    annotations: dict[str, str]

    def to_object(self, context: PluginContext) -> KubeObject:
        rule: JsonObject = {
            "http": {
                "paths": [
                    {
                        "path": self.path,
                        # WALM's extensions/v1beta1 Ingress had no pathType; this is its meaning.
                        "pathType": "ImplementationSpecific",
                        "backend": {
                            "service": {
                                "name": self.service_name,
                                "port": {"number": self.service_port},
                            }
                        },
                    }
                ]
            }
        }
        if self.host:
            rule = {"host": self.host, **rule}
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": self.name,
                "namespace": context.release_namespace,
                "labels": context.added_labels(),
                "annotations": {**ADDED_ANNOTATIONS, **self.annotations},
            },
            "spec": {"rules": [rule]},
        }


def build(args: JsonValue) -> Transform:
    reader = ArgsReader()
    fields = reader.fields(args, "args", ("ingressToAdd", "ingressToSkipNames", "ingressSkipAll"))
    added = [
        _added(reader, name, value, where)
        for name, value, where in reader.entries(fields.get("ingressToAdd"), "args.ingressToAdd")
    ]
    skipped = set(reader.strings(fields.get("ingressToSkipNames"), "args.ingressToSkipNames"))
    skip_all = reader.boolean(fields.get("ingressSkipAll"), "args.ingressSkipAll")
    reader.done()

    def customise_ingresses(objects: list[KubeObject], context: PluginContext) -> list[KubeObject]:
        rendered = [obj for obj in objects if obj.get("kind") == "Ingress"]
        for ingress in rendered:
            if skip_all or name_of(ingress) in skipped:
                annotations = ensure_mapping(ensure_mapping(ingress, "metadata"), "annotations")
                annotations[UPGRADE_POLICY_ANNOTATION] = KEEP
        names = {name_of(ingress) for ingress in rendered}
        clashes = sorted(item.name for item in added if item.name in names)
        if clashes:
            raise RenderError(
                f"args.ingressToAdd: the chart already renders Ingress {', '.join(clashes)}"
            )
        return [*objects, *(item.to_object(context) for item in added)]

    return customise_ingresses


def _added(reader: ArgsReader, name: str, value: JsonValue, where: str) -> _AddedIngress:
    fields = reader.fields(
        value, where, ("annotations", "host", "path", "serviceName", "servicePort")
    )
    if len(name) > 63 or not DNS_SUBDOMAIN.match(name):
        reader.problem(
            where, "the Ingress name must be at most 63 lowercase letters, digits, '-' or '.'"
        )
    path = reader.string(fields.get("path"), f"{where}.path", required=True)
    if path and not path.startswith("/"):
        reader.problem(f"{where}.path", f"'{path}' must start with /")
    return _AddedIngress(
        name=name,
        host=reader.string(fields.get("host"), f"{where}.host"),
        path=path,
        service_name=reader.string(
            fields.get("serviceName"), f"{where}.serviceName", required=True
        ),
        service_port=_port(reader, fields.get("servicePort"), f"{where}.servicePort"),
        annotations=reader.string_map(
            fields.get("annotations"), f"{where}.annotations", key_check=label_key_problem
        ),
    )


def _port(reader: ArgsReader, value: JsonValue, where: str) -> int:
    """A port number; WALM took it as a string of digits, a YAML number works too."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    if value is None:
        reader.problem(where, "is required")
    elif text is None or not text.isdigit() or not 1 <= int(text) <= 65535:
        reader.problem(where, f"expected a port number from 1 to 65535, got {describe(value)}")
    else:
        return int(text)
    return 0
