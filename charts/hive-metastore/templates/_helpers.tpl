{{/*
The metastore's environment: what files/metastore-site.xml expands as ${env.NAME}.
The database password and S3 keys are environment variables because Hadoop's configuration reads
them only from the environment (${env.NAME}) or a JCEKS credential store, not from a plain file;
the same site file serves the embedded stack, which sets the same variables.
*/}}
{{- define "hive-metastore.env" -}}
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
{{ include "common.s3.env" . }}
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
- name: SERVICE_OPTS
  value: {{ printf "-Xmx%s -Djava.io.tmpdir=/tmp" .Values.heap | quote }}
{{- end -}}

{{/* Volumes and mounts of every metastore container: the site file and writable /tmp. */}}
{{- define "hive-metastore.volumeMounts" -}}
- name: conf
  mountPath: /opt/hive/conf/metastore-site.xml
  subPath: metastore-site.xml
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "hive-metastore.volumes" -}}
- name: conf
  configMap:
    name: {{ include "common.fullname" . }}
- name: tmp
  emptyDir: {}
{{- end -}}
