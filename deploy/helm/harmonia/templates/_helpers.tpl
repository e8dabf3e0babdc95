{{/* The name every object of this installation starts with. */}}
{{- define "harmonia.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "harmonia.selectorLabels" -}}
app.kubernetes.io/name: {{ .Values.nameOverride | default .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: reconciler
{{- end -}}

{{- define "harmonia.labels" -}}
{{ include "harmonia.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "harmonia.leaseName" -}}
{{- .Values.leaderElection.leaseName | default (printf "%s-leader" (include "harmonia.fullname" .)) -}}
{{- end -}}

{{/*
The keys of notifications.secretName the receivers name, as a JSON list: every urlFile and
secretFile under /etc/harmonia/notifications/ is a key of that Secret, mounted there. A
receiver naming such a file without the Secret fails the render, not the pod at start.
*/}}
{{- define "harmonia.notificationKeys" -}}
{{- $prefix := "/etc/harmonia/notifications/" -}}
{{- $keys := list -}}
{{- range .Values.notifications.receivers -}}
{{- range list .urlFile .secretFile | compact -}}
{{- if hasPrefix $prefix . -}}
{{- $keys = append $keys (trimPrefix $prefix .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $keys (not $.Values.notifications.secretName) -}}
{{- fail (printf "notifications.secretName: the receivers read %s%s from a Secret; name the Secret holding it" $prefix (first $keys)) -}}
{{- end -}}
{{- $keys | uniq | toJson -}}
{{- end -}}

{{/* The forge's token file, where the forge.tokenSecret is mounted. */}}
{{- define "harmonia.forgeTokenFile" -}}
{{- if not .Values.forge.tokenSecret -}}
{{- fail "forge.tokenSecret: forge.type is set; name the Secret holding the forge's token" -}}
{{- end -}}
/etc/harmonia/forge/{{ .Values.forge.tokenKey }}
{{- end -}}

{{/*
The pod of both modes. Called with (dict "root" $ "once" true|false): a CronJob's pod
runs one pass with no HTTP server; a Deployment's serves the probes and metrics.
*/}}
{{- define "harmonia.podSpec" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $credentials := $values.gitCredentials -}}
{{- $sopsAge := $values.sopsAgeKey -}}
serviceAccountName: {{ include "harmonia.fullname" $root }}
{{- with $values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  # Makes the mounted token readable by the group, not the world.
  fsGroup: 10001
  seccompProfile: {type: RuntimeDefault}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: harmonia
    image: "{{ $values.image.repository }}:{{ $values.image.tag | default $root.Chart.AppVersion }}"
    imagePullPolicy: {{ $values.image.pullPolicy }}
    args:
      - run
      {{- if .once }}
      - --once
      {{- end }}
      - --repo
      - $(HARMONIA_REPO_URL)
      - --config
      - /etc/harmonia/config.yaml
      - --listen
      {{- if .once }}
      - "off"
      {{- else }}
      {{- /* Every interface, for the kubelet's probes and Prometheus; the default is loopback. */}}
      - "0.0.0.0:8080"
      {{- end }}
    env:
      - name: HARMONIA_REPO_URL
        value: {{ $values.repository.url | quote }}
      {{- with $values.repository.ref }}
      - name: HARMONIA_REPO_REF
        value: {{ . | quote }}
      {{- end }}
      {{- with $values.repository.path }}
      - name: HARMONIA_REPO_PATH
        value: {{ . | quote }}
      {{- end }}
      {{- with $values.repository.environment }}
      - name: HARMONIA_ENVIRONMENT
        value: {{ . | quote }}
      {{- end }}
      {{- with $credentials.tokenKey }}
      - name: HARMONIA_GIT_TOKEN_FILE
        value: /etc/harmonia/git/{{ . }}
      {{- end }}
      {{- with $credentials.sshKeyKey }}
      - name: HARMONIA_GIT_SSH_KEY_FILE
        value: /etc/harmonia/git/{{ . }}
      {{- end }}
      {{- with $credentials.knownHostsKey }}
      - name: HARMONIA_GIT_KNOWN_HOSTS_FILE
        value: /etc/harmonia/git/{{ . }}
      {{- end }}
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef: {fieldPath: metadata.namespace}
      {{- if not .once }}
      {{- /* The leader labels its own pod harmonia.dev/leader=true, for the webhooks Service. */}}
      - name: POD_NAME
        valueFrom:
          fieldRef: {fieldPath: metadata.name}
      {{- end }}
      - name: HARMONIA_CACHE_DIR
        value: /var/cache/harmonia
      {{- if $sopsAge.secretName }}
      - name: SOPS_AGE_KEY_FILE
        value: /etc/harmonia/sops/age/keys.txt
      {{- end }}
      {{- if and (not .once) $values.uiToken.secretName }}
      - name: HARMONIA_LISTEN_TOKEN_FILE
        value: /etc/harmonia/ui-token/{{ $values.uiToken.secretKey }}
      {{- end }}
      {{- if and (not .once) $values.webhook.secretName }}
      - name: HARMONIA_WEBHOOK_SECRET_FILE
        value: /etc/harmonia/webhook/{{ $values.webhook.secretKey }}
      {{- end }}
    {{- if not .once }}
    ports:
      - name: http-metrics
        containerPort: 8080
        protocol: TCP
    livenessProbe:
      httpGet: {path: /healthz, port: http-metrics}
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: http-metrics}
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml $values.resources | nindent 6 }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    volumeMounts:
      - {name: config, mountPath: /etc/harmonia, readOnly: true}
      - {name: cache, mountPath: /var/cache/harmonia}
      - {name: tmp, mountPath: /tmp}
volumes:
  # /etc/harmonia: config.yaml, the Git credentials under git/, the age
  # key at sops/age/keys.txt (optional), the UI's token under ui-token/, the webhook
  # secret under webhook/, the
  # receivers' files under notifications/, the forge's token under forge/.
  - name: config
    projected:
      defaultMode: 0440
      sources:
        - configMap: {name: {{ include "harmonia.fullname" $root }}-config}
        - secret:
            name: {{ $credentials.secretName }}
            items:
              {{- range list $credentials.tokenKey $credentials.sshKeyKey $credentials.knownHostsKey | compact }}
              - {key: {{ . }}, path: git/{{ . }}}
              {{- end }}
        {{- if $sopsAge.secretName }}
        - secret:
            name: {{ $sopsAge.secretName }}
            optional: true
            items: [{key: {{ $sopsAge.secretKey }}, path: sops/age/keys.txt}]
        {{- end }}
        {{- if and (not .once) $values.uiToken.secretName }}
        - secret:
            name: {{ $values.uiToken.secretName }}
            items: [{key: {{ $values.uiToken.secretKey }}, path: ui-token/{{ $values.uiToken.secretKey }}}]
        {{- end }}
        {{- if and (not .once) $values.webhook.secretName }}
        - secret:
            name: {{ $values.webhook.secretName }}
            items: [{key: {{ $values.webhook.secretKey }}, path: webhook/{{ $values.webhook.secretKey }}}]
        {{- end }}
        {{- with include "harmonia.notificationKeys" $root | fromJsonArray }}
        - secret:
            name: {{ $values.notifications.secretName }}
            items:
              {{- range . }}
              - {key: {{ . }}, path: notifications/{{ . }}}
              {{- end }}
        {{- end }}
        {{- if $values.forge.type }}
        - secret:
            name: {{ $values.forge.tokenSecret }}
            items: [{key: {{ $values.forge.tokenKey }}, path: forge/{{ $values.forge.tokenKey }}}]
        {{- end }}
  - name: cache
    emptyDir: {sizeLimit: {{ $values.cacheSizeLimit }}}
  - name: tmp
    emptyDir: {sizeLimit: 256Mi}
{{- end -}}
