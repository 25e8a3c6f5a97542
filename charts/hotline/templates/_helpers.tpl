{{/* Names, labels and the facts the templates derive from config. */}}

{{- define "hotline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hotline.fullname" -}}
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

{{- define "hotline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hotline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hotline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hotline.labels" -}}
helm.sh/chart: {{ include "hotline.chart" . }}
{{ include "hotline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hotline
{{- end }}

{{- define "hotline.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret the pod takes its environment from. */}}
{{- define "hotline.secretName" -}}
{{- .Values.existingSecret | default (include "hotline.fullname" .) }}
{{- end }}

{{/* config with the chart's defaults applied: what hotline.yaml holds. */}}
{{- define "hotline.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $http := get $config "http" | default dict }}
{{- if not $http.listen }}
{{- $_ := set $http "listen" ":8080" }}
{{- end }}
{{- $_ := set $config "http" $http }}
{{- toYaml $config }}
{{- end }}

{{- define "hotline.databaseURL" -}}
{{- $database := .Values.config.database | default dict }}
{{- $database.url | default "" }}
{{- end }}

{{/* "true" when Hotline runs on SQLite: no database.url (Hotline's default
is sqlite:hotline.db) or a sqlite: one. */}}
{{- define "hotline.sqlite" -}}
{{- $url := include "hotline.databaseURL" . }}
{{- if or (eq $url "") (hasPrefix "sqlite:" $url) }}true{{ end }}
{{- end }}

{{/* The port of a listen address like ":8080" or "0.0.0.0:2525". */}}
{{- define "hotline.listenPort" -}}
{{- $addr := .addr | default "" | toString }}
{{- $port := regexFind ":[0-9]+$" $addr | trimPrefix ":" }}
{{- if not $port }}
{{- fail (printf "%s: %q must be a literal host:port like \":%s\" (the chart derives the container port from it)" .path $addr .example) }}
{{- end }}
{{- $port }}
{{- end }}

{{- define "hotline.httpPort" -}}
{{- $http := .Values.config.http | default dict }}
{{- include "hotline.listenPort" (dict "addr" ($http.listen | default ":8080") "path" "config.http.listen" "example" "8080") }}
{{- end }}

{{/* The SMTP listener's port, empty when config.mail.smtp is not set. */}}
{{- define "hotline.smtpPort" -}}
{{- $mail := .Values.config.mail | default dict }}
{{- if $mail.smtp }}
{{- include "hotline.listenPort" (dict "addr" $mail.smtp.listen "path" "config.mail.smtp.listen" "example" "2525") }}
{{- end }}
{{- end }}

{{/* Seconds in a Go duration like "30s", "1m30s" or "2h"; empty when the
value is not a literal duration (a ${VAR}, say). */}}
{{- define "hotline.durationSeconds" -}}
{{- $d := . | toString | trim }}
{{- if regexMatch "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$" $d }}
{{- $scale := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 }}
{{- $total := 0.0 }}
{{- range $part := regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" $d -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $part }}
{{- $unit := trimPrefix $number $part }}
{{- $total = addf $total (mulf (float64 $number) (get $scale $unit)) }}
{{- end }}
{{- $total }}
{{- end }}
{{- end }}

{{/* Refuses values that cannot work, with a message that says what to do.
Included by the Deployment, so nothing renders when one of these fails. */}}
{{- define "hotline.validate" -}}
{{- $sqlite := include "hotline.sqlite" . }}
{{- $url := include "hotline.databaseURL" . }}
{{- if and $sqlite (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d but the database is SQLite (config.database.url is %s): SQLite is one file on one volume and serves a single replica. For several replicas use PostgreSQL (config.database.url: ${DATABASE_URL} from existingSecret), or set replicaCount: 1." (int .Values.replicaCount) (ternary "empty" (printf "%q" $url) (eq $url ""))) }}
{{- end }}
{{- if and $sqlite (ne $url "") }}
{{- $path := $url | trimPrefix "sqlite:" | trimPrefix "//" }}
{{- if and (hasPrefix "/" $path) (not (hasPrefix "/var/lib/hotline/" $path)) }}
{{- fail (printf "config.database.url: the SQLite file %q must be under /var/lib/hotline/ (the data volume); the container's root filesystem is read-only. Use sqlite:///var/lib/hotline/hotline.db." $path) }}
{{- end }}
{{- end }}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- range $i, $policy := .Values.config.policies | default list }}
{{- range $j, $step := $policy.steps | default list }}
{{- $seconds := include "hotline.durationSeconds" ($step.ring_timeout | default "") }}
{{- if and $seconds (ge (float64 $seconds) (float64 $grace)) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than config.policies[%d].steps[%d].ring_timeout (%s), so a replica that is stopped mid-call can wait out the call it placed. Raise terminationGracePeriodSeconds." $grace $i $j $step.ring_timeout) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
