{{/*
The spec of a SparkApplication (silver's template and maintenance's ScheduledSparkApplication):
(dict "ctx" . "app" "silver" "mainFile" "silver/main.py" "replicas" 2 "driver" {...} "executor" {...}
      "arguments" list).
Volumes, mounts, security contexts and the environment go through driver.template and
executor.template (pod templates), which Spark applies itself: no operator webhook needed.
*/}}
{{- define "medallion.sparkPodTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "common.labels" (dict "ctx" $ctx "component" "spark") | nindent 4 }}
    medallion.io/app: {{ .app }}
spec:
  {{- /* The driver keeps its token: in cluster mode it creates and deletes its executor pods
  and their services through the API (role-spark). Executors never call the API. */}}
  {{- if eq .role "executor" }}
  automountServiceAccountToken: false
  {{- end }}
  securityContext:
    {{- include "medallion.podSecurityContext" (dict "ctx" $ctx "uid" 10000) | nindent 4 }}
  containers:
    - name: {{ printf "spark-kubernetes-%s" .role }}
      securityContext:
        {{- include "medallion.containerSecurityContext" (dict "ctx" $ctx) | nindent 8 }}
      env:
        - name: MEDALLION_SPARK_CONF
          value: {{ include "medallion.sparkConfDir" $ctx }}/spark-defaults.conf
        {{- include "common.env.metastore" $ctx | nindent 8 }}
        {{- include "common.env.s3" $ctx | nindent 8 }}
        - name: DBT_PROFILES_DIR
          value: {{ include "medallion.profilesDir" $ctx }}
        - name: DBT_TARGET
          value: spark
        {{- /* No TRINO_*: dbt renders only the selected output of profiles.yml (spark), and
        Spark pods get no Trino password. */}}
        - name: DBT_TARGET_PATH
          value: /tmp/dbt/target
        - name: DBT_LOG_PATH
          value: /tmp/dbt/logs
        - name: DBT_SEND_ANONYMOUS_USAGE_STATS
          value: "false"
        - name: PYTHONDONTWRITEBYTECODE
          value: "1"
        - name: HOME
          value: /tmp
      volumeMounts:
        - name: spark-conf
          mountPath: {{ include "medallion.sparkConfDir" $ctx }}
          readOnly: true
        - name: profiles
          mountPath: {{ include "medallion.profilesDir" $ctx }}
          readOnly: true
        - name: tmp
          mountPath: /tmp
        - name: work-dir
          mountPath: /opt/spark/work-dir
  volumes:
    - name: spark-conf
      configMap:
        name: {{ include "medallion.name" (dict "ctx" $ctx "component" "spark-conf") }}
    - name: profiles
      configMap:
        name: {{ include "medallion.name" (dict "ctx" $ctx "component" "dbt-profiles") }}
    - name: tmp
      emptyDir: {}
    - name: work-dir
      emptyDir: {}
{{- end -}}

{{- define "medallion.sparkApplicationSpec" -}}
{{- $ctx := .ctx -}}
type: Python
pythonVersion: "3"
mode: cluster
image: {{ include "common.image" (dict "ctx" $ctx "image" $ctx.Values.images.spark) }}
imagePullPolicy: {{ include "common.imagePullPolicy" (dict "image" $ctx.Values.images.spark) }}
mainApplicationFile: {{ printf "local:///opt/medallion/spark-apps/%s" .mainFile }}
{{- with .arguments }}
arguments:
  {{- toYaml . | nindent 2 }}
{{- end }}
sparkVersion: {{ $ctx.Values.spark.version | quote }}
restartPolicy:
  type: Never
timeToLiveSeconds: {{ .ttl }}
{{- with $ctx.Values.spark.sparkConf }}
sparkConf:
  {{- toYaml . | nindent 2 }}
{{- end }}
driver:
  cores: {{ .driver.cores }}
  {{- with .driver.coreRequest }}
  coreRequest: {{ . | quote }}
  {{- end }}
  coreLimit: {{ .driver.coreLimit | quote }}
  memory: {{ .driver.memory | quote }}
  serviceAccount: {{ include "medallion.serviceAccount" (dict "ctx" $ctx "key" "spark" "default" "spark") }}
  javaOptions: {{ $ctx.Values.spark.javaOptions | quote }}
  labels:
    {{- include "common.labels" (dict "ctx" $ctx "component" "spark") | nindent 4 }}
    medallion.io/app: {{ .app }}
  template:
    {{- include "medallion.sparkPodTemplate" (dict "ctx" $ctx "app" .app "role" "driver") | nindent 4 }}
executor:
  instances: {{ .replicas }}
  cores: {{ .executor.cores }}
  {{- with .executor.coreRequest }}
  coreRequest: {{ . | quote }}
  {{- end }}
  coreLimit: {{ .executor.coreLimit | quote }}
  memory: {{ .executor.memory | quote }}
  serviceAccount: {{ include "medallion.serviceAccount" (dict "ctx" $ctx "key" "sparkExecutor" "default" "spark-executor") }}
  javaOptions: {{ $ctx.Values.spark.javaOptions | quote }}
  labels:
    {{- include "common.labels" (dict "ctx" $ctx "component" "spark") | nindent 4 }}
    medallion.io/app: {{ .app }}
  template:
    {{- include "medallion.sparkPodTemplate" (dict "ctx" $ctx "app" .app "role" "executor") | nindent 4 }}
{{- end -}}

{{/* silver's SparkApplication, as the submitter reads it from the ConfigMap. */}}
{{- define "medallion.silverApplication" -}}
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: {{ include "medallion.name" (dict "ctx" . "component" "silver") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels" (dict "ctx" . "component" "spark") | nindent 4 }}
    medallion.io/app: silver
spec:
  {{- include "medallion.sparkApplicationSpec" (dict "ctx" . "app" "silver" "mainFile" "silver/main.py" "replicas" .Values.silver.replicas "driver" .Values.silver.driver "executor" .Values.silver.executor "ttl" .Values.silver.timeToLiveSeconds) | nindent 2 }}
{{- end -}}
