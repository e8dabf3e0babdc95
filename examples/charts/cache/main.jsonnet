// The cache chart: a Redis StatefulSet with its config, services and outputs.
//
// `values` holds the merged values. The release name and namespace are read from the keys
// WALM injected into every Jsonnet chart (helmReleaseName, helmReleaseNamespace); without
// them the chart renders as release "cache" and publishes a namespace-relative address.
// chartAppVersion (also injected by WALM) feeds the version label.
local workload = import 'workload.libsonnet';
local defaults = std.parseYaml(importstr 'values.yaml');

function(values={})
  local v = std.mergePatch(defaults, values);
  local name = std.get(v, 'helmReleaseName', 'cache');
  local namespace = std.get(v, 'helmReleaseNamespace', '');
  local selector = workload.selectorLabels('cache', name);
  local labels = workload.labels('cache', name, std.get(v, 'chartAppVersion', '7.4.2'), 'cache');
  local headless = name + '-hl';
  local host = if namespace == '' then name else '%s.%s.svc.%s' % [name, namespace, v.clusterDomain];
  local config = {
    'redis.conf': 'port %d\ndir /data\n' % v.port + workload.keyValueLines(v.redisConf),
  };

  {
    'configmap.json': {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: name, labels: labels },
      data: config,
    },

    'service-headless.json': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: headless, labels: labels },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: selector,
        ports: [{ name: 'redis', port: v.port, targetPort: 'redis' }],
      },
    },

    'service.json': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: name, labels: labels },
      spec: {
        type: 'ClusterIP',
        selector: selector,
        ports: [{ name: 'redis', port: v.port, targetPort: 'redis' }],
      },
    },

    'statefulset.json': {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: name, labels: labels },
      spec: {
        serviceName: headless,
        replicas: v.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: labels,
            // redis.conf is read at start-up: roll the pod when it changes.
            annotations: { 'checksum/config': std.md5(std.manifestJsonEx(config, '')) },
          },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 999, fsGroup: 999 },
            containers: [{
              name: 'redis',
              image: v.image,
              imagePullPolicy: 'IfNotPresent',
              args: ['/etc/redis/redis.conf'],
              ports: [{ name: 'redis', containerPort: v.port }],
              readinessProbe: {
                exec: { command: ['redis-cli', '-p', std.toString(v.port), 'ping'] },
                periodSeconds: 10,
                timeoutSeconds: 3,
              },
              livenessProbe: {
                tcpSocket: { port: 'redis' },
                initialDelaySeconds: 15,
                periodSeconds: 20,
              },
              resources: workload.resources(v.resources),
              securityContext: { allowPrivilegeEscalation: false },
              volumeMounts: [
                { name: 'data', mountPath: '/data' },
                { name: 'config', mountPath: '/etc/redis' },
              ],
            }],
            volumes: [{ name: 'config', configMap: { name: name } }],
          },
        },
        volumeClaimTemplates: [workload.claimTemplate('data', selector, v.resources.storage.data)],
      },
    },

    // Outputs for dependents (a web release declaring `dependencies: {cache: cache}`
    // receives them as dependencies.cache).
    'releaseconfig.json': {
      apiVersion: 'harmonia.dev/v1alpha1',
      kind: 'ReleaseConfig',
      metadata: { name: name, labels: labels },
      spec: {
        outputConfig: {
          cache_address: '%s:%d' % [host, v.port],
          cache_port: v.port,
        },
      },
    },
  }
