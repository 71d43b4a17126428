{{/*
The metastore's environment: what files/metastore-site.xml expands as ${env.NAME}.
The database password and S3 keys are environment variables because Hadoop's configuration reads
them only from the environment (${env.NAME}) or a JCEKS credential store, not from a plain file;
the same site file serves the embedded stack, which sets the same variables.
*/}}
{{- define "hive-metastore.env" -}}
{{ include "common.env.metastore-server" . }}
{{ include "common.env.s3" . }}
{{ include "common.env.aws" . }}
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
