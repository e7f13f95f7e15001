{{/* Chart name, truncated to the 63 characters Kubernetes allows in a name. */}}
{{- define "labkeep.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name of every object; the release name alone when it already holds the chart's. */}}
{{- define "labkeep.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "labkeep.selectorLabels" -}}
app.kubernetes.io/name: {{ include "labkeep.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "labkeep.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "labkeep.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "labkeep.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret holding the database URI: the user's own, or the one this chart makes. */}}
{{- define "labkeep.databaseSecret" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecret }}
{{- else }}
{{- if not .Values.database.uri }}
{{- fail "database.uri (or database.existingSecret) is required: the servers share one PostgreSQL/MySQL database" }}
{{- end }}
{{- printf "%s-db" (include "labkeep.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Refuse a release whose busiest moment needs more database connections than the database
allows: pods x workers x (pool + overflow) + reserved <= max_connections.
*/}}
{{- define "labkeep.checkConnectionBudget" -}}
{{- $db := .Values.database }}
{{- $pods := int .Values.replicaCount }}
{{- if .Values.autoscaling.enabled }}{{ $pods = int .Values.autoscaling.maxReplicas }}{{ end }}
{{- $need := add (mul $pods (int .Values.server.workers) (add (int $db.poolSize) (int $db.maxOverflow))) (int $db.reservedConnections) }}
{{- if gt (int $need) (int $db.maxConnections) }}
{{- fail (printf "connection budget exceeded: %d pods x %d workers x (%d pool + %d overflow) + %d reserved = %d > database.maxConnections %d; lower database.poolSize/maxOverflow or server.workers, or put PgBouncer in front" $pods (int .Values.server.workers) (int $db.poolSize) (int $db.maxOverflow) (int $db.reservedConnections) (int $need) (int $db.maxConnections)) }}
{{- end }}
{{- end }}

{{/* Environment shared by the server and the migration job. */}}
{{- define "labkeep.env" -}}
- name: LABKEEP_BACKEND_STORE_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "labkeep.databaseSecret" . }}
      key: {{ .Values.database.secretKey }}
- name: LABKEEP_SQL_POOL_SIZE
  value: {{ .Values.database.poolSize | quote }}
- name: LABKEEP_SQL_MAX_OVERFLOW
  value: {{ .Values.database.maxOverflow | quote }}
{{- if .Values.artifacts.s3EndpointUrl }}
- name: MLFLOW_S3_ENDPOINT_URL
  value: {{ .Values.artifacts.s3EndpointUrl | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
