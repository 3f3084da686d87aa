{{/*
Expand the name of the chart.
*/}}
{{- define "queuegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "queuegate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "queuegate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "queuegate.labels" -}}
helm.sh/chart: {{ include "queuegate.chart" . }}
{{ include "queuegate.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: api
{{- end }}

{{/*
Selector labels
*/}}
{{- define "queuegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "queuegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "queuegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "queuegate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository@digest when a digest is set, else repository:tag
(tag defaults to the chart's appVersion).
*/}}
{{- define "queuegate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding ADMIN_TOKEN, ACCESS_TOKEN_SECRET and REDIS_PASSWORD:
auth.existingSecret when given, else the one this chart renders.
*/}}
{{- define "queuegate.secretName" -}}
{{- default (include "queuegate.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/*
Keys of the three secret values inside queuegate.secretName. The chart's own
Secret uses the environment variable names; an existing one may use others.
*/}}
{{- define "queuegate.secretKey" -}}
{{- $ctx := index . 0 }}
{{- $which := index . 1 }}
{{- if $ctx.Values.auth.existingSecret }}
{{- index $ctx.Values.auth.existingSecretKeys $which }}
{{- else }}
{{- index (dict "adminToken" "ADMIN_TOKEN" "accessTokenSecret" "ACCESS_TOKEN_SECRET" "redisPassword" "REDIS_PASSWORD" "joinJwtSecret" "JOIN_JWT_SECRET" "queueItSecretKey" "QUEUE_IT_SECRET_KEY" "awsVwrSigningKey" "AWS_VWR_SIGNING_KEY" "awsVwrAccessKeys" "AWS_VWR_ACCESS_KEYS") $which }}
{{- end }}
{{- end }}

{{/*
Seconds the app needs after SIGTERM to drain (SHUTDOWN_DRAIN_MS rounded up).
*/}}
{{- define "queuegate.drainSeconds" -}}
{{- $ms := int64 .Values.config.shutdownDrainMs }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{/*
terminationGracePeriodSeconds: explicit value, else preStop sleep + drain + 15 s
for in-flight requests to finish and the Redis connections to close.
*/}}
{{- define "queuegate.terminationGracePeriodSeconds" -}}
{{- $floor := add (int64 .Values.lifecycle.preStopSleepSeconds) (include "queuegate.drainSeconds" . | int64) }}
{{- if ne (toString .Values.terminationGracePeriodSeconds) "" }}
{{- int64 .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- add $floor 15 }}
{{- end }}
{{- end }}

{{/*
Redis ports named in redis.url / redis.clusterNodes (for the NetworkPolicy),
as a comma list; 6379 when a URL names no port.
*/}}
{{- define "queuegate.redisPorts" -}}
{{- $ports := list }}
{{- if .Values.networkPolicy.redisPorts }}
{{- $ports = .Values.networkPolicy.redisPorts }}
{{- else if .Values.redis.clusterNodes }}
{{- range .Values.redis.clusterNodes }}
{{- $ports = append $ports (regexFind "[0-9]+$" (toString .) | default "6379") }}
{{- end }}
{{- else }}
{{- $host := (urlParse .Values.redis.url).host }}
{{- $port := regexFind ":[0-9]+$" $host | trimPrefix ":" }}
{{- $ports = append $ports ($port | default "6379") }}
{{- end }}
{{- range $i, $p := ($ports | uniq) }}{{ if $i }},{{ end }}{{ $p }}{{ end }}
{{- end }}

{{/*
Fails the render with a clear message on values the app would refuse at boot
(or that would break the shutdown sequence), so `helm install` stops early.
*/}}
{{- define "queuegate.validateValues" -}}
{{- if and (not .Values.redis.clusterNodes) (not .Values.redis.url) }}
{{- fail "queuegate: set redis.url (single node) or redis.clusterNodes (Redis Cluster)" }}
{{- end }}
{{- range .Values.redis.clusterNodes }}
{{- if not (regexMatch "^[^:,\\s]+:[0-9]+$" (toString .)) }}
{{- fail (printf "queuegate: redis.clusterNodes entry %q is not host:port" (toString .)) }}
{{- end }}
{{- end }}
{{- if and .Values.redis.url (not (regexMatch "^rediss?://" .Values.redis.url)) }}
{{- fail "queuegate: redis.url must start with redis:// or rediss://" }}
{{- end }}
{{- if not .Values.auth.existingSecret }}
{{- if and .Values.auth.adminToken (lt (len .Values.auth.adminToken) 16) }}
{{- fail "queuegate: auth.adminToken must be at least 16 characters (ADMIN_TOKEN)" }}
{{- end }}
{{- if and .Values.auth.accessTokenSecret (lt (len .Values.auth.accessTokenSecret) 32) }}
{{- fail "queuegate: auth.accessTokenSecret must be at least 32 characters (ACCESS_TOKEN_SECRET)" }}
{{- end }}
{{- if and .Values.auth.joinJwtSecret (lt (len .Values.auth.joinJwtSecret) 32) }}
{{- fail "queuegate: auth.joinJwtSecret must be at least 32 characters (JOIN_JWT_SECRET)" }}
{{- end }}
{{- if and .Values.auth.queueItSecretKey (lt (len .Values.auth.queueItSecretKey) 32) }}
{{- fail "queuegate: auth.queueItSecretKey must be at least 32 characters (QUEUE_IT_SECRET_KEY)" }}
{{- end }}
{{- if ne (empty .Values.config.queueItCustomerId) (empty .Values.auth.queueItSecretKey) }}
{{- fail "queuegate: config.queueItCustomerId and auth.queueItSecretKey must be set together (Queue-it connector compatibility)" }}
{{- end }}
{{- if and (eq .Values.config.joinIdentity "jwt") (not .Values.auth.joinJwtSecret) (not .Values.config.joinJwtPublicKey) }}
{{- fail "queuegate: config.joinIdentity jwt needs auth.joinJwtSecret (HS256) or config.joinJwtPublicKey (RS256/ES256)" }}
{{- end }}
{{- end }}
{{- if and .Values.config.awsVwrCompat (not .Values.config.awsVwrIssuer) }}
{{- fail "queuegate: config.awsVwrCompat needs config.awsVwrIssuer (AWS_VWR_ISSUER, the tokens' iss)" }}
{{- end }}
{{- if not (has .Values.config.joinIdentity (list "anonymous" "jwt")) }}
{{- fail "queuegate: config.joinIdentity must be anonymous or jwt (JOIN_IDENTITY)" }}
{{- end }}
{{- if and (gt (int64 .Values.config.redisWaitReplicas) 0) (ge (int64 .Values.config.redisWaitTimeoutMs) (int64 .Values.config.redisCommandTimeoutMs)) }}
{{- fail "queuegate: config.redisWaitTimeoutMs must be less than config.redisCommandTimeoutMs (WAIT is itself a Redis command)" }}
{{- end }}
{{- $needed := add (int64 .Values.lifecycle.preStopSleepSeconds) (include "queuegate.drainSeconds" . | int64) }}
{{- if le (include "queuegate.terminationGracePeriodSeconds" . | int64) $needed }}
{{- fail (printf "queuegate: terminationGracePeriodSeconds must be larger than lifecycle.preStopSleepSeconds + config.shutdownDrainMs/1000 (%d s), or the pod is killed mid-drain" $needed) }}
{{- end }}
{{- end }}
