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

{{/* To the query engine's HTTPS port: the chart's Trino, or any address when it is external. */}}
{{- define "medallion.egressQuery" -}}
{{- if .Values.trino.enabled -}}
- to:
    {{- include "medallion.peer" (dict "ctx" . "name" "trino" "component" "coordinator") | nindent 4 }}
  ports:
    - port: {{ include "medallion.trinoPort" . }}
      protocol: TCP
{{- else -}}
- ports:
    - port: {{ include "medallion.trinoPort" . }}
      protocol: TCP
{{- end -}}
{{- end -}}

{{/* Trino's nodes among themselves: plain HTTP, each request signed with the shared secret. */}}
{{- define "medallion.egressTrinoNodes" -}}
- to:
    {{- include "medallion.peer" (dict "ctx" . "name" "trino") | nindent 4 }}
  ports:
    - port: {{ .Values.trino.port }}
      protocol: TCP
{{- end -}}
