// Small helpers shared by the example Jsonnet charts. Lives in a library folder named by
// harmonia.yaml (libraryDirs), so charts import it by name: import 'workload.libsonnet'.
{
  // The recommended app.kubernetes.io labels; selectorLabels is the subset used in (immutable) selectors.
  selectorLabels(name, instance):: {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': instance,
  },
  labels(name, instance, version, component):: self.selectorLabels(name, instance) {
    'app.kubernetes.io/version': version,
    'app.kubernetes.io/component': component,
  },

  // Quantities as WALM's metainfo types them: CPU in cores (a number, 0.05 -> "50m"),
  // memory in MiB and storage in GiB when given as numbers; strings pass through.
  cpu(q):: if std.isNumber(q) then '%dm' % std.round(q * 1000) else q,
  memory(q):: if std.isNumber(q) then '%dMi' % q else q,
  storage(q):: if std.isNumber(q) then '%dGi' % q else q,

  resources(r):: {
    requests: { cpu: $.cpu(r.cpu_request), memory: $.memory(r.memory_request) },
    limits: { cpu: $.cpu(r.cpu_limit), memory: $.memory(r.memory_limit) },
  },

  // A claim template; an empty storageClass leaves the class out (the cluster's default).
  claimTemplate(name, labels, storage):: {
    metadata: { name: name, labels: labels },
    spec: {
      accessModes: storage.accessModes,
      resources: { requests: { storage: $.storage(storage.size) } },
    } + (if std.get(storage, 'storageClass', '') != '' then { storageClassName: storage.storageClass } else {}),
  },

  // `key value` lines (redis.conf style) from a map, sorted by key.
  keyValueLines(m)::
    std.join('', ['%s %s\n' % [k, std.toString(m[k])] for k in std.objectFields(m)]),
}
