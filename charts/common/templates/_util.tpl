{{/* Render a value that may hold a template: (dict "value" .Values.x "ctx" .). */}}
{{- define "common.tplvalue" -}}
{{- if typeIs "string" .value -}}
{{- tpl .value .ctx -}}
{{- else -}}
{{- tpl (toYaml .value) .ctx -}}
{{- end -}}
{{- end -}}

{{/* sha256 of a rendered template of the calling chart: (dict "ctx" . "file" "/configmap.yaml"). */}}
{{- define "common.checksum" -}}
{{- include (print .ctx.Template.BasePath .file) .ctx | sha256sum -}}
{{- end -}}

{{/*
A credential that a chart generates only when no existing Secret is named: keeps the value a
previous release stored (lookup), else a random one. (dict "ctx" . "secret" NAME "key" KEY).
*/}}
{{- define "common.generatedValue" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- if and $existing (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}
