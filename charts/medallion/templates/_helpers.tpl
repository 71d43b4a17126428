{{/*
Names of the umbrella's own objects are "<release>-<component>" (e.g. "<release>-bronze"), so the
trigger contract reads `kubectl create job --from=cronjob/<release>-<layer> NAME`.
*/}}
{{- define "medallion.name" -}}
{{- printf "%s-%s" .ctx.Release.Name .component | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "medallion.serviceAccount" -}}
{{- $name := index .ctx.Values.serviceAccounts .key -}}
{{- default (include "medallion.name" (dict "ctx" .ctx "component" .default)) $name -}}
{{- end -}}

{{/* Where the dbt project, the profiles and the Spark conf sit inside the images and pods. */}}
{{- define "medallion.dbtProjectDir" -}}/opt/medallion/dbt{{- end -}}
{{- define "medallion.profilesDir" -}}/opt/medallion/profiles{{- end -}}
{{- define "medallion.sparkConfDir" -}}/opt/medallion/conf{{- end -}}
{{- define "medallion.silverTemplateDir" -}}/etc/medallion/silver{{- end -}}

{{/* The Trino host the dbt jobs use. */}}
{{- define "medallion.trinoHost" -}}
{{- if .Values.query.host -}}
{{- tpl .Values.query.host . -}}
{{- else -}}
{{- include "common.trino.host" . -}}
{{- end -}}
{{- end -}}

{{/* Restricted security contexts with the uid of the project's images (dbt and spark: 10000). */}}
{{- define "medallion.podSecurityContext" -}}
{{- $uid := dict "runAsUser" .uid "runAsGroup" .uid "fsGroup" .uid -}}
{{- include "common.podSecurityContext" (dict "ctx" .ctx "override" (mergeOverwrite $uid (deepCopy .ctx.Values.podSecurityContext))) -}}
{{- end -}}

{{- define "medallion.containerSecurityContext" -}}
{{- include "common.containerSecurityContext" (dict "ctx" .ctx "override" .ctx.Values.containerSecurityContext) -}}
{{- end -}}

{{/* Trino's HTTPS port: query.port, else the bundled Trino's httpsPort. */}}
{{- define "medallion.trinoPort" -}}
{{- if .Values.query.port -}}
{{- .Values.query.port -}}
{{- else -}}
{{- .Values.trino.httpsPort -}}
{{- end -}}
{{- end -}}

{{/* The user the layer jobs log in as: query.user, else the bundled Trino's pipeline user. */}}
{{- define "medallion.trinoUser" -}}
{{- default (.Values.trino.auth).pipelineUser .Values.query.user -}}
{{- end -}}

{{/* The Secret with that user's password: query.existingSecret, else the trino chart's. */}}
{{- define "medallion.trinoAuthSecret" -}}
{{- if .Values.query.existingSecret -}}
{{- tpl .Values.query.existingSecret . -}}
{{- else -}}
{{- include "common.trino.authSecret" (dict "auth" .Values.trino.auth "ctx" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the CA that signed Trino's certificate: query.caSecret, else the trino chart's. */}}
{{- define "medallion.trinoCaSecret" -}}
{{- if .Values.query.caSecret -}}
{{- tpl .Values.query.caSecret . -}}
{{- else -}}
{{- include "common.trino.tlsSecret" (dict "tls" .Values.trino.tls "ctx" .) -}}
{{- end -}}
{{- end -}}

{{- define "medallion.trinoCaDir" -}}/etc/medallion/trino-ca{{- end -}}

{{/* The mount and the volume of TRINO_CA_FILE, for every container with common.env.trino-client. */}}
{{- define "medallion.trinoCaMount" -}}
- name: trino-ca
  mountPath: {{ include "medallion.trinoCaDir" . }}
  readOnly: true
{{- end -}}

{{- define "medallion.trinoCaVolume" -}}
- name: trino-ca
  secret:
    secretName: {{ include "medallion.trinoCaSecret" . }}
    items:
      - key: {{ .Values.query.caKey }}
        path: ca.crt
    defaultMode: 0440
{{- end -}}

{{/* Environment of a dbt-trino container: what files/dbt/profiles.yml reads with env_var(). */}}
{{- define "medallion.dbtEnv" -}}
{{ include "common.env.trino-client" . }}
- name: DBT_TARGET
  value: trino
- name: DBT_THREADS
  value: {{ .Values.dbt.threads | quote }}
- name: DBT_PROFILES_DIR
  value: {{ include "medallion.profilesDir" . }}
# The project directory is read-only: dbt writes its target/ and logs/ to the scratch volume.
- name: DBT_TARGET_PATH
  value: /tmp/dbt/target
- name: DBT_LOG_PATH
  value: /tmp/dbt/logs
- name: DBT_SEND_ANONYMOUS_USAGE_STATS
  value: "false"
- name: HOME
  value: /tmp
{{- end -}}

{{/*
Environment of every layer container (medallion.run.job): the Job's name is the pipeline id of the
ledger's rows, the image tag their code version.
*/}}
{{- define "medallion.jobEnv" -}}
- name: MEDALLION_PIPELINE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['batch.kubernetes.io/job-name']
- name: MEDALLION_CODE_VERSION
  value: {{ include "common.image" (dict "ctx" . "image" .Values.images.dbt) | quote }}
- name: MEDALLION_DBT_PROJECT_DIR
  value: {{ include "medallion.dbtProjectDir" . }}
- name: MEDALLION_DBT_PROFILES_DIR
  value: {{ include "medallion.profilesDir" . }}
{{- /* Where S3, the metastore and PostgreSQL are, so that an error about a dead one names its
address (medallion.dependencies). Addresses only: these containers reach them through Trino. */}}
{{ include "common.env.addresses" . }}
{{- end -}}

{{/*
A layer container: `python -m medallion.run.job LAYER` runs dbt-trino's build of the layer's
selector (dbt/selectors.yml) and writes the run's row to the ledger (serving.audit.pipeline_runs),
as `medallion run` does on the embedded stack: (dict "ctx" . "layer" "bronze"). Bronze first
checks the landing files' freshness (dbt source freshness) unless bronze.freshness is false.
*/}}
{{- define "medallion.dbtContainer" -}}
- name: {{ .layer }}
  image: {{ include "common.image" (dict "ctx" .ctx "image" .ctx.Values.images.dbt) }}
  imagePullPolicy: {{ include "common.imagePullPolicy" (dict "image" .ctx.Values.images.dbt) }}
  command:
    - python
    - -m
    - medallion.run.job
    - {{ .layer }}
    {{- if and (eq .layer "bronze") (not .ctx.Values.bronze.freshness) }}
    - --skip-freshness
    {{- end }}
  env:
    {{- include "medallion.dbtEnv" .ctx | nindent 4 }}
    {{- include "medallion.jobEnv" .ctx | nindent 4 }}
  resources:
    {{- toYaml .ctx.Values.dbt.resources | nindent 4 }}
  securityContext:
    {{- include "medallion.containerSecurityContext" (dict "ctx" .ctx) | nindent 4 }}
  volumeMounts:
    - name: profiles
      mountPath: {{ include "medallion.profilesDir" .ctx }}
      readOnly: true
    {{- include "medallion.trinoCaMount" .ctx | nindent 4 }}
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/*
The silver container: `python -m medallion.run.job silver` creates a SparkApplication from the
template, waits for its end and writes the run's row to the ledger through Trino.
*/}}
{{- define "medallion.submitterContainer" -}}
- name: silver
  image: {{ include "common.image" (dict "ctx" . "image" .Values.images.dbt) }}
  imagePullPolicy: {{ include "common.imagePullPolicy" (dict "image" .Values.images.dbt) }}
  command:
    - python
    - -m
    - medallion.run.job
    - silver
    - --template
    - {{ include "medallion.silverTemplateDir" . }}/sparkapplication.yaml
    - --timeout
    - {{ .Values.silver.timeoutSeconds | quote }}
  env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: MEDALLION_TRIGGERED_BY
      valueFrom:
        fieldRef:
          fieldPath: metadata.labels['batch.kubernetes.io/job-name']
    {{- include "common.env.trino-client" . | nindent 4 }}
    {{- include "medallion.jobEnv" . | nindent 4 }}
    - name: HOME
      value: /tmp
  resources:
    {{- toYaml .Values.silver.submitterResources | nindent 4 }}
  securityContext:
    {{- include "medallion.containerSecurityContext" (dict "ctx" .) | nindent 4 }}
  volumeMounts:
    - name: silver-template
      mountPath: {{ include "medallion.silverTemplateDir" . }}
      readOnly: true
    {{- include "medallion.trinoCaMount" . | nindent 4 }}
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* CronJob fields shared by every layer: (dict "ctx" . "schedule" .. "suspend" ..). */}}
{{- define "medallion.cronJobSpec" -}}
schedule: {{ .schedule | quote }}
timeZone: {{ .ctx.Values.jobs.timeZone | quote }}
suspend: {{ .suspend }}
concurrencyPolicy: Forbid
startingDeadlineSeconds: {{ .ctx.Values.jobs.startingDeadlineSeconds }}
successfulJobsHistoryLimit: {{ .ctx.Values.jobs.successfulJobsHistoryLimit }}
failedJobsHistoryLimit: {{ .ctx.Values.jobs.failedJobsHistoryLimit }}
{{- end -}}

{{- define "medallion.jobSpec" -}}
backoffLimit: {{ .Values.jobs.backoffLimit }}
# A layer another run holds (medallion.lock) exits 75: no retry, the Job fails with that reason.
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        operator: In
        values: [75]
activeDeadlineSeconds: {{ .Values.jobs.activeDeadlineSeconds }}
ttlSecondsAfterFinished: {{ .Values.jobs.ttlSecondsAfterFinished }}
{{- end -}}
