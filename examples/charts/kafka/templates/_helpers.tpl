{{- define "kafka.fullname" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "kafka.headlessName" -}}
{{- printf "%s-hl" (include "kafka.fullname" .) -}}
{{- end -}}

{{- define "kafka.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kafka.labels" -}}
{{ include "kafka.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: broker
{{- end -}}

{{/*
zookeeper.connect from the outputs of the `zookeeper` dependency. Entries without a
port (as WALM's own zookeeper charts published them) get zookeeper_port appended.
*/}}
{{- define "kafka.zookeeperConnect" -}}
{{- $zk := .Values.ZOOKEEPER_CLIENT_CONFIG | default dict -}}
{{- $addresses := required "kafka needs a ZooKeeper: declare `dependencies: {zookeeper: <release>}` in the release file (its outputs arrive as ZOOKEEPER_CLIENT_CONFIG.zookeeper_addresses)" $zk.zookeeper_addresses -}}
{{- $port := toString ($zk.zookeeper_port | default 2181) -}}
{{- $hosts := list -}}
{{- range $entry := splitList "," (toString $addresses) -}}
{{- $entry = trim $entry -}}
{{- if $entry -}}
{{- $hosts = append $hosts (ternary $entry (printf "%s:%s" $entry $port) (contains ":" $entry)) -}}
{{- end -}}
{{- end -}}
{{- printf "%s%s" (join "," $hosts) (.Values.zookeeper.chroot | default "") -}}
{{- end -}}

{{/* Comma-separated host:port of every broker, in ordinal order. */}}
{{- define "kafka.bootstrapServers" -}}
{{- $root := . -}}
{{- $servers := list -}}
{{- range $i := until (int $root.Values.replicas) -}}
{{- $servers = append $servers (printf "%s-%d.%s.%s.svc.%s:%d" (include "kafka.fullname" $root) $i (include "kafka.headlessName" $root) $root.Release.Namespace $root.Values.clusterDomain (int $root.Values.port)) -}}
{{- end -}}
{{- join "," $servers -}}
{{- end -}}

{{/* Replication settings follow the broker count, up to three copies. */}}
{{- define "kafka.replicationFactor" -}}
{{- min 3 (int .Values.replicas) -}}
{{- end -}}

{{/*
Quantities as WALM's metainfo types them: CPU in cores (a number, e.g. 0.1 -> "100m"),
memory in MiB and storage in GiB when given as numbers; strings pass through.
*/}}
{{- define "kafka.cpu" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dm" (int (round (mulf . 1000) 0)) }}{{- end -}}
{{- end -}}

{{- define "kafka.memory" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dMi" (int .) }}{{- end -}}
{{- end -}}

{{- define "kafka.storage" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dGi" (int .) }}{{- end -}}
{{- end -}}
