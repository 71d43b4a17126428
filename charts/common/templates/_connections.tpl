{{/*
Connection settings shared by every chart of a release, under .Values.global: every chart's
values.yaml carries the same block, copied from charts/common/global-values.yaml (their one home,
defaults included). Empty values mean "the component this release deploys", named by the
"<release>-<chart>" convention.
*/}}

{{/* S3 endpoint URL: global.s3.endpoint, else the release's MinIO. */}}
{{- define "common.s3.endpoint" -}}
{{- $s3 := .Values.global.s3 -}}
{{- if $s3.endpoint -}}
{{- tpl $s3.endpoint . -}}
{{- else -}}
{{- printf "http://%s-minio:9000" .Release.Name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the S3 access and secret keys. */}}
{{- define "common.s3.secretName" -}}
{{- $s3 := .Values.global.s3 -}}
{{- if $s3.existingSecret -}}
{{- tpl $s3.existingSecret . -}}
{{- else -}}
{{- printf "%s-s3-credentials" .Release.Name -}}
{{- end -}}
{{- end -}}

{{- define "common.s3.accessKeyKey" -}}
{{- .Values.global.s3.accessKeyKey -}}
{{- end -}}

{{- define "common.s3.secretKeyKey" -}}
{{- .Values.global.s3.secretKeyKey -}}
{{- end -}}

{{- define "common.s3.region" -}}
{{- .Values.global.s3.region -}}
{{- end -}}

{{- define "common.s3.bucket" -}}
{{- .Values.global.s3.bucket -}}
{{- end -}}

{{/* PostgreSQL host: global.postgres.host, else the release's PostgreSQL. */}}
{{- define "common.postgres.host" -}}
{{- $pg := .Values.global.postgres -}}
{{- if $pg.host -}}
{{- tpl $pg.host . -}}
{{- else -}}
{{- printf "%s-postgres" .Release.Name -}}
{{- end -}}
{{- end -}}

{{- define "common.postgres.port" -}}
{{- .Values.global.postgres.port -}}
{{- end -}}

{{/* The Secret holding the PostgreSQL user name and password. */}}
{{- define "common.postgres.secretName" -}}
{{- $pg := .Values.global.postgres -}}
{{- if $pg.existingSecret -}}
{{- tpl $pg.existingSecret . -}}
{{- else -}}
{{- printf "%s-postgres-credentials" .Release.Name -}}
{{- end -}}
{{- end -}}

{{- define "common.postgres.usernameKey" -}}
{{- .Values.global.postgres.usernameKey -}}
{{- end -}}

{{- define "common.postgres.passwordKey" -}}
{{- .Values.global.postgres.passwordKey -}}
{{- end -}}

{{- define "common.postgres.metastoreDatabase" -}}
{{- .Values.global.postgres.metastoreDatabase -}}
{{- end -}}

{{- define "common.postgres.servingDatabase" -}}
{{- .Values.global.postgres.servingDatabase -}}
{{- end -}}

{{/* thrift:// URI of the Hive Metastore: global.metastore.uri, else the release's metastore. */}}
{{- define "common.metastore.uri" -}}
{{- $ms := .Values.global.metastore -}}
{{- if $ms.uri -}}
{{- tpl $ms.uri . -}}
{{- else -}}
{{- printf "thrift://%s-hive-metastore:9083" .Release.Name -}}
{{- end -}}
{{- end -}}

{{/* Host of the Trino coordinator (its Service). */}}
{{- define "common.trino.host" -}}
{{- printf "%s-trino" .Release.Name -}}
{{- end -}}

{{/* The Secret the trino chart generates with its users' passwords, password.db and the nodes' shared secret. */}}
{{- define "common.trino.authSecretName" -}}
{{- printf "%s-trino-auth" .Release.Name -}}
{{- end -}}

{{/* The Secret the trino chart generates with its CA (ca.crt) and server certificate. */}}
{{- define "common.trino.tlsSecretName" -}}
{{- printf "%s-trino-tls" .Release.Name -}}
{{- end -}}

{{/* The Secret with the Trino users' passwords: the trino chart's auth.existingSecret, else the
one it generates. Called with (dict "auth" <the trino chart's auth values> "ctx" $). */}}
{{- define "common.trino.authSecret" -}}
{{- if (.auth).existingSecret -}}
{{- tpl .auth.existingSecret .ctx -}}
{{- else -}}
{{- include "common.trino.authSecretName" .ctx -}}
{{- end -}}
{{- end -}}

{{/* The Secret with Trino's CA (ca.crt): the trino chart's tls.existingSecret, else the one it
generates. Called with (dict "tls" <the trino chart's tls values> "ctx" $). */}}
{{- define "common.trino.tlsSecret" -}}
{{- if (.tls).existingSecret -}}
{{- tpl .tls.existingSecret .ctx -}}
{{- else -}}
{{- include "common.trino.tlsSecretName" .ctx -}}
{{- end -}}
{{- end -}}
