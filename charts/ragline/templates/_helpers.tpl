{{/*
Names. The operator's objects are "<fullname>-operator"; with the release "ragline" that is
"ragline-operator", the name manifests/rbac/ and manifests/install/ use.
*/}}
{{- define "ragline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ragline.fullname" -}}
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

{{- define "ragline.operator.fullname" -}}
{{- printf "%s-operator" (include "ragline.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ragline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ragline.operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels every object of the chart carries. */}}
{{- define "ragline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "ragline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ragline
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "ragline.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ragline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "ragline.operator.labels" -}}
{{ include "ragline.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
An image reference from an image block: [registry/]repository(@digest|:tag), the tag defaulting to
the chart's appVersion. Called with (list <block> <root context>).
*/}}
{{- define "ragline.image" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- $repository := $image.repository }}
{{- if $image.registry }}
{{- $repository = printf "%s/%s" $image.registry $image.repository }}
{{- end }}
{{- if $image.digest }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/*
The workloads' image block: workloads.image's non-empty keys over operator.image. A workload tag
or repository of its own drops an inherited digest (which would otherwise win).
*/}}
{{- define "ragline.workloads.imageBlock" -}}
{{- $block := deepCopy .Values.operator.image }}
{{- $own := .Values.workloads.image }}
{{- if and (or $own.repository $own.tag) (not $own.digest) }}
{{- $_ := set $block "digest" "" }}
{{- end }}
{{- range $key, $value := $own }}
{{- if $value }}
{{- $_ := set $block $key $value }}
{{- end }}
{{- end }}
{{- toYaml $block }}
{{- end }}

{{/* kopf's command line. */}}
{{- define "ragline.operator.command" -}}
- kopf
- run
- --standalone
- --liveness=http://0.0.0.0:{{ .Values.operator.healthPort }}/healthz
- --log-format={{ .Values.operator.logFormat }}
{{- with (get (dict "quiet" "--quiet" "verbose" "--verbose" "debug" "--debug") .Values.operator.logLevel) }}
- {{ . }}
{{- end }}
{{- range .Values.operator.watchNamespaces }}
- --namespace={{ . }}
{{- else }}
- --all-namespaces
{{- end }}
- --module=ragline_operator.main
{{- end }}
