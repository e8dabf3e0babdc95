{{/*
Objects are named after the release, so the addresses this chart publishes
(<release>-N.<release>-hl.<namespace>.svc.<domain>) are predictable.
*/}}
{{- define "zookeeper.fullname" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "zookeeper.headlessName" -}}
{{- printf "%s-hl" (include "zookeeper.fullname" .) -}}
{{- end -}}

{{- define "zookeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "zookeeper.labels" -}}
{{ include "zookeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: coordination
{{- end -}}

{{/* The DNS name of member $i: "<sts>-<i>.<headless>.<ns>.svc.<domain>". */}}
{{- define "zookeeper.memberHost" -}}
{{- $root := index . 0 -}}
{{- $i := index . 1 -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "zookeeper.fullname" $root) $i (include "zookeeper.headlessName" $root) $root.Release.Namespace $root.Values.clusterDomain -}}
{{- end -}}

{{/* Comma-separated host:port of every member, in ordinal order. */}}
{{- define "zookeeper.clientAddresses" -}}
{{- $root := . -}}
{{- $addresses := list -}}
{{- range $i := until (int $root.Values.replicas) -}}
{{- $addresses = append $addresses (printf "%s:%d" (include "zookeeper.memberHost" (list $root $i)) (int $root.Values.ports.client)) -}}
{{- end -}}
{{- join "," $addresses -}}
{{- end -}}

{{/*
Quantities as WALM's metainfo types them: CPU in cores (a number, e.g. 0.1 -> "100m"),
memory in MiB and storage in GiB when given as numbers; strings pass through.
*/}}
{{- define "zookeeper.cpu" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dm" (int (round (mulf . 1000) 0)) }}{{- end -}}
{{- end -}}

{{- define "zookeeper.memory" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dMi" (int .) }}{{- end -}}
{{- end -}}

{{- define "zookeeper.storage" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dGi" (int .) }}{{- end -}}
{{- end -}}
