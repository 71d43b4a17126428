{{/*
An image reference: call with (dict "ctx" . "image" .Values.image). The tag defaults to the
chart's appVersion; a digest, when given, pins the exact bytes. "latest" is refused.
*/}}
{{- define "common.image" -}}
{{- $tag := toString (default .ctx.Chart.AppVersion .image.tag) -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail (printf "image %s: pin a tag (got %q); latest is not allowed" .image.repository $tag) -}}
{{- end -}}
{{- $ref := printf "%s:%s" .image.repository $tag -}}
{{- with .image.registry }}{{ $ref = printf "%s/%s" . $ref }}{{ end -}}
{{- with .image.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/* The pull policy, defaulting to IfNotPresent. */}}
{{- define "common.imagePullPolicy" -}}
{{- default "IfNotPresent" .image.pullPolicy -}}
{{- end -}}
