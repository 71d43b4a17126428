{{/*
Pod Security "restricted" by default. Call with (dict "ctx" . "override" .Values.podSecurityContext);
keys in override replace the defaults, so a chart can set its image's user id.
*/}}
{{- define "common.podSecurityContext" -}}
{{- $default := dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- toYaml (mergeOverwrite $default (default (dict) .override)) -}}
{{- end -}}

{{- define "common.containerSecurityContext" -}}
{{- $default := dict "runAsNonRoot" true "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- toYaml (mergeOverwrite $default (default (dict) .override)) -}}
{{- end -}}
