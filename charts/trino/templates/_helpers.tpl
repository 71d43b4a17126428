{{/*
Environment of every Trino node: what the catalog files expand as ${ENV:NAME}.
The serving database's password and the S3 keys stay environment variables: the catalog files
are shared byte for byte with the embedded stack, which hands Trino its credentials through the
environment, and ${ENV:..} is the substitution both runtimes support.
*/}}
{{- define "trino.env" -}}
{{ include "common.env.metastore" . }}
{{ include "common.env.s3" . }}
{{ include "common.env.serving-db" . }}
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

{{/*
config.properties' shared part: files/server/common.properties, and for the coordinator
files/server/coordinator.properties (dict "ctx" . "role" "coordinator"|"worker").
*/}}
{{- define "trino.sharedConfig" -}}
{{- $files := list "files/server/common.properties" -}}
{{- if eq .role "coordinator" }}{{ $files = append $files "files/server/coordinator.properties" }}{{ end -}}
{{- range $files -}}
{{- $text := $.ctx.Files.Get . -}}
{{- if not $text }}{{ fail (printf "%s is missing from the chart" .) }}{{ end -}}
{{- $text -}}
{{- if not (hasSuffix "\n" $text) }}{{ "\n" }}{{ end -}}
{{- end -}}
{{- end -}}

{{- define "trino.logProperties" -}}
{{ .Files.Get "files/server/log.properties" }}
{{- end -}}

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

{{/*
(dict "ctx" . "component" "coordinator"); the catalogs land in /etc/trino/catalog/. The
coordinator alone also gets the password file and its TLS keystore, readable by the group
(fsGroup) and no one else.
*/}}
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
      {{- if eq .component "coordinator" }}
      - secret:
          name: {{ include "trino.authSecretName" .ctx }}
          items:
            - key: password.db
              path: {{ include "trino.passwordFile" . | trimPrefix "/etc/trino/" }}
              mode: 0440
      - secret:
          name: {{ include "trino.tlsSecretName" .ctx }}
          items:
            - key: keystore.pem
              path: {{ include "trino.keystoreFile" . | trimPrefix "/etc/trino/" }}
              mode: 0440
      {{- end }}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{/* Where the coordinator reads its password file, TLS keystore and access rules. */}}
{{- define "trino.passwordFile" -}}/etc/trino/auth/password.db{{- end -}}
{{- define "trino.keystoreFile" -}}/etc/trino/tls/keystore.pem{{- end -}}
{{- define "trino.rulesFile" -}}/etc/trino/rules.json{{- end -}}

{{/* The Secret with the users' passwords, password.db and shared-secret. */}}
{{- define "trino.authSecretName" -}}
{{- include "common.trino.authSecret" (dict "auth" .Values.auth "ctx" .) -}}
{{- end -}}

{{/* The Secret with ca.crt and keystore.pem. */}}
{{- define "trino.tlsSecretName" -}}
{{- include "common.trino.tlsSecret" (dict "tls" .Values.tls "ctx" .) -}}
{{- end -}}

{{/*
The nodes sign their internal requests with the shared secret (required once clients log in);
config.properties expands it as ${ENV:TRINO_SHARED_SECRET}, so it stays out of the ConfigMap.
*/}}
{{- define "trino.sharedSecretEnv" -}}
- name: TRINO_SHARED_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "trino.authSecretName" . }}
      key: shared-secret
{{- end -}}
