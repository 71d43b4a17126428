{{/*
Environment of every Trino node: what the catalog files expand as ${ENV:NAME}.
The serving database's password and the S3 keys stay environment variables: the catalog files
are shared byte for byte with the embedded stack, which hands Trino its credentials through the
environment, and ${ENV:..} is the substitution both runtimes support.
*/}}
{{- define "trino.env" -}}
- name: HIVE_METASTORE_URI
  value: {{ include "common.metastore.uri" . | quote }}
{{ include "common.s3.env" . }}
- name: SERVING_DB_HOST
  value: {{ include "common.postgres.host" . | quote }}
- name: SERVING_DB_PORT
  value: {{ include "common.postgres.port" . | quote }}
- name: SERVING_DB_NAME
  value: {{ include "common.postgres.servingDatabase" . | quote }}
- name: SERVING_DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "common.postgres.secretName" . }}
      key: {{ include "common.postgres.usernameKey" . }}
- name: SERVING_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "common.postgres.secretName" . }}
      key: {{ include "common.postgres.passwordKey" . }}
{{- end -}}

{{/* jvm.config: the shared file, then the heap of this role. (dict "ctx" . "heap" "2G") */}}
{{- define "trino.jvmConfig" -}}
{{- $shared := .ctx.Files.Get "files/jvm.config" -}}
{{- $shared -}}
{{- if not (hasSuffix "\n" $shared) }}{{ "\n" }}{{ end -}}
-Xmx{{ .heap }}
{{ end -}}

{{- define "trino.nodeProperties" -}}
node.environment={{ .Values.environment }}
node.data-dir=/data/trino
{{ end -}}

{{- define "trino.logProperties" -}}
io.trino=INFO
{{ end -}}

{{/* The containers' mounts: etc (role files and catalogs, one projected volume), writable data and tmp. */}}
{{- define "trino.volumeMounts" -}}
- name: etc
  mountPath: /etc/trino
  readOnly: true
- name: data
  mountPath: /data/trino
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* (dict "ctx" . "component" "coordinator"); the catalogs land in /etc/trino/catalog/. */}}
{{- define "trino.volumes" -}}
- name: etc
  projected:
    sources:
      - configMap:
          name: {{ include "common.componentName" (dict "ctx" .ctx "component" .component) }}
      - configMap:
          name: {{ include "common.componentName" (dict "ctx" .ctx "component" "catalog") }}
          items:
            {{- range $path, $_ := .ctx.Files.Glob "files/catalog/*.properties" }}
            - key: {{ base $path }}
              path: catalog/{{ base $path }}
            {{- end }}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}
