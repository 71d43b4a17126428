{{/*
Names. Every object is named "<release>-<chart>[-<component>]" so that charts of one release can
find each other's Services without a lookup (e.g. "<release>-minio", "<release>-trino").
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<name>", or fullnameOverride. */}}
{{- define "common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "common.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>"; call with (dict "ctx" . "component" "worker"). */}}
{{- define "common.componentName" -}}
{{- printf "%s-%s" (include "common.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ServiceAccount a chart's pods run as; call with (dict "ctx" . "sa" .Values.serviceAccount). */}}
{{- define "common.serviceAccountName" -}}
{{- if .sa.create -}}
{{- default (include "common.fullname" .ctx) .sa.name -}}
{{- else -}}
{{- default "default" .sa.name -}}
{{- end -}}
{{- end -}}
