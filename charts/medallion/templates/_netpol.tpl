{{/* Peers of the NetworkPolicies: (dict "ctx" . "name" "trino" ["component" "x"]). */}}
{{- define "medallion.peer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ .name }}
      app.kubernetes.io/instance: {{ .ctx.Release.Name }}
      {{- with .component }}
      app.kubernetes.io/component: {{ . }}
      {{- end }}
{{- end -}}

{{/* The umbrella's own pods with one of the given components: (dict "ctx" . "components" list). */}}
{{- define "medallion.peerComponents" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ include "common.name" .ctx }}
      app.kubernetes.io/instance: {{ .ctx.Release.Name }}
    matchExpressions:
      - key: app.kubernetes.io/component
        operator: In
        values: {{ toJson .components }}
{{- end -}}

{{/* Egress to CIDRs on ports: (dict "cidrs" list "ports" list). */}}
{{- define "medallion.egressCidrs" -}}
- to:
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* Egress to the object store: the bundled MinIO or the external endpoint. */}}
{{- define "medallion.egressS3" -}}
{{- if .Values.minio.enabled }}
- to:
    {{- include "medallion.peer" (dict "ctx" . "name" "minio" "component" "server") | nindent 4 }}
  ports:
    - port: 9000
      protocol: TCP
{{- else }}
{{ include "medallion.egressCidrs" .Values.networkPolicy.externalS3 }}
{{- end }}
{{- end -}}

{{- define "medallion.egressPostgres" -}}
{{- if .Values.postgres.enabled }}
- to:
    {{- include "medallion.peer" (dict "ctx" . "name" "postgres" "component" "server") | nindent 4 }}
  ports:
    - port: {{ .Values.global.postgres.port }}
      protocol: TCP
{{- else }}
{{ include "medallion.egressCidrs" .Values.networkPolicy.externalPostgres }}
{{- end }}
{{- end -}}

{{- define "medallion.egressMetastore" -}}
{{- if (index .Values "hive-metastore" "enabled") }}
- to:
    {{- include "medallion.peer" (dict "ctx" . "name" "hive-metastore" "component" "metastore") | nindent 4 }}
  ports:
    - port: 9083
      protocol: TCP
{{- else }}
{{ include "medallion.egressCidrs" .Values.networkPolicy.externalMetastore }}
{{- end }}
{{- end -}}

{{/* To the query engine: the chart's Trino, or any address on its port when it is external. */}}
{{- define "medallion.egressQuery" -}}
{{- if .Values.trino.enabled -}}
{{ include "medallion.egressTrino" . }}
{{- else -}}
- ports:
    - port: {{ .Values.query.port }}
      protocol: TCP
{{- end -}}
{{- end -}}

{{- define "medallion.egressTrino" -}}
- to:
    {{- include "medallion.peer" (dict "ctx" . "name" "trino") | nindent 4 }}
  ports:
    - port: {{ .Values.query.port }}
      protocol: TCP
{{- end -}}
