{{/*
Labels. Call with (dict "ctx" . "component" "coordinator"); component may be empty.
Metadata carries the full app.kubernetes.io set; selectors only name, instance and component,
because a selector is immutable once created.
*/}}

{{- define "common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "common.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "common.labels" -}}
{{ include "common.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | default .ctx.Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: medallion
helm.sh/chart: {{ include "common.chart" .ctx }}
{{- end -}}
