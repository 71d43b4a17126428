{{/*
Generated from charts/common/env.yaml (the environment contract) by `make charts-docs`:
edit that file, not this one.
*/}}

{{- define "common.env.s3" -}}
- name: S3_ENDPOINT
  value: {{ include "common.s3.endpoint" . | quote }}
- name: S3_REGION
  value: {{ include "common.s3.region" . | quote }}
- name: S3_BUCKET
  value: {{ include "common.s3.bucket" . | quote }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "common.s3.secretName" . }}
      key: {{ include "common.s3.accessKeyKey" . }}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "common.s3.secretName" . }}
      key: {{ include "common.s3.secretKeyKey" . }}
{{- end -}}

{{- define "common.env.aws" -}}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "common.s3.secretName" . }}
      key: {{ include "common.s3.accessKeyKey" . }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "common.s3.secretName" . }}
      key: {{ include "common.s3.secretKeyKey" . }}
{{- end -}}

{{- define "common.env.metastore" -}}
- name: HIVE_METASTORE_URI
  value: {{ include "common.metastore.uri" . | quote }}
{{- end -}}

{{- define "common.env.metastore-server" -}}
- name: METASTORE_DB_HOST
  value: {{ include "common.postgres.host" . | quote }}
- name: METASTORE_DB_PORT
  value: {{ include "common.postgres.port" . | quote }}
- name: METASTORE_DB_NAME
  value: {{ include "common.postgres.metastoreDatabase" . | quote }}
- name: METASTORE_DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "common.postgres.secretName" . }}
      key: {{ include "common.postgres.usernameKey" . }}
- name: METASTORE_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "common.postgres.secretName" . }}
      key: {{ include "common.postgres.passwordKey" . }}
- name: METASTORE_PORT
  value: {{ .Values.port | quote }}
{{- end -}}

{{- define "common.env.serving-db" -}}
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

{{- define "common.env.trino-client" -}}
- name: TRINO_HOST
  value: {{ include "medallion.trinoHost" . | quote }}
- name: TRINO_PORT
  value: {{ include "medallion.trinoPort" . | quote }}
- name: TRINO_HTTP_SCHEME
  value: https
- name: TRINO_USER
  value: {{ include "medallion.trinoUser" . | quote }}
- name: TRINO_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "medallion.trinoAuthSecret" . }}
      key: {{ default (include "medallion.trinoUser" .) .Values.query.passwordKey }}
- name: TRINO_CA_FILE
  value: {{ include "medallion.trinoCaDir" . }}/ca.crt
{{- end -}}

{{- define "common.env.addresses" -}}
- name: S3_ENDPOINT
  value: {{ include "common.s3.endpoint" . | quote }}
- name: HIVE_METASTORE_URI
  value: {{ include "common.metastore.uri" . | quote }}
- name: METASTORE_DB_HOST
  value: {{ include "common.postgres.host" . | quote }}
- name: METASTORE_DB_PORT
  value: {{ include "common.postgres.port" . | quote }}
- name: SERVING_DB_HOST
  value: {{ include "common.postgres.host" . | quote }}
- name: SERVING_DB_PORT
  value: {{ include "common.postgres.port" . | quote }}
{{- end -}}
