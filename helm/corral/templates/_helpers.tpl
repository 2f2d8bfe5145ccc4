{{/* Names, labels and the pieces that several templates share. */}}

{{- define "corral.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "corral.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "corral.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "corral.selectorLabels" -}}
app.kubernetes.io/name: {{ include "corral.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "corral.labels" -}}
helm.sh/chart: {{ include "corral.chart" . }}
{{ include "corral.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "corral.serviceName" -}}
{{- default (include "corral.fullname" .) .Values.service.name }}
{{- end }}

{{- define "corral.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "corral.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "corral.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "corral.workloadKind" -}}
{{- if .Values.leaderWorkerSet.enabled }}LeaderWorkerSet{{ else if .Values.statefulSet.enabled }}StatefulSet{{ else }}Deployment{{ end }}
{{- end }}

{{/* The RPC workers' labels: not the server's selector labels, so that neither the Service
nor the PodDisruptionBudget nor the InferencePool picks a worker. */}}
{{- define "corral.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "corral.name" . }}-rpc-worker
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The LeaderWorkerSet's name: the controller makes a headless Service of that name,
which must not be the chart's own Service. */}}
{{- define "corral.lwsName" -}}{{ include "corral.fullname" . | trunc 59 | trimSuffix "-" }}-lws{{- end }}

{{/* A leader's NIM_RPC_SERVERS: its group's workers, by the stable names the
LeaderWorkerSet gives them (<lws>-<group>-<index>, under the headless Service <lws>). */}}
{{- define "corral.rpcServers" -}}
{{- $name := include "corral.lwsName" . }}
{{- $port := int .Values.leaderWorkerSet.rpcPort }}
{{- $list := list }}
{{- range $i := untilStep 1 (int (add1 .Values.leaderWorkerSet.workers)) 1 }}
{{- $list = append $list (printf "%s-$(LWS_GROUP_INDEX)-%d.%s:%d" $name $i $name $port) }}
{{- end }}
{{- join "," $list }}
{{- end }}

{{/* The model cache claim: an existing one, or the one the chart makes for a Deployment. */}}
{{- define "corral.cacheClaim" -}}
{{- default (printf "%s-cache" (include "corral.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{- define "corral.apiKeysSecret" -}}
{{- default (printf "%s-api-keys" (include "corral.fullname" .)) .Values.apiKeys.existingSecret }}
{{- end }}

{{- define "corral.apiKeysEnabled" -}}
{{- if or .Values.apiKeys.keys .Values.apiKeys.existingSecret }}true{{ end }}
{{- end }}

{{/* The label that marks the StatefulSet's headless Service (left out of monitoring). */}}
{{- define "corral.headlessLabelKey" -}}corral.headless{{- end }}

{{/* The Secret key that the ServiceMonitor sends as a bearer token (name, key). */}}
{{- define "corral.metricsToken" -}}
{{- $ref := .Values.metrics.serviceMonitor.bearerTokenSecret }}
{{- if $ref.name }}
name: {{ $ref.name }}
key: {{ required "metrics.serviceMonitor.bearerTokenSecret.key is needed with its name" $ref.key }}
{{- else if .Values.apiKeys.existingSecret }}
name: {{ .Values.apiKeys.existingSecret }}
key: {{ .Values.apiKeys.secretKey }}
{{- else }}
name: {{ include "corral.apiKeysSecret" . }}
key: metrics-token
{{- end }}
{{- end }}

{{/* NO_PROXY as rendered: the values' list plus the pod itself, which the probes reach. */}}
{{- define "corral.noProxy" -}}
{{- $hosts := list }}
{{- range splitList "," .Values.proxy.noProxy }}
{{- if trim . }}{{ $hosts = append $hosts (trim .) }}{{ end }}
{{- end }}
{{- range list "localhost" "127.0.0.1" }}
{{- if not (has . $hosts) }}{{ $hosts = append $hosts . }}{{ end }}
{{- end }}
{{- join "," $hosts }}
{{- end }}

{{/* HTTP_PROXY, HTTPS_PROXY and NO_PROXY, when a proxy is set. */}}
{{- define "corral.proxyEnv" -}}
{{- if or .Values.proxy.httpProxy .Values.proxy.httpsProxy }}
{{- with .Values.proxy.httpProxy }}
- name: HTTP_PROXY
  value: {{ . | quote }}
{{- end }}
{{- with .Values.proxy.httpsProxy }}
- name: HTTPS_PROXY
  value: {{ . | quote }}
{{- end }}
- name: NO_PROXY
  value: {{ include "corral.noProxy" . | quote }}
{{- end }}
{{- end }}

{{- define "corral.tlsSecret" -}}
{{- default (printf "%s-tls" (include "corral.fullname" .)) .Values.ssl.existingSecret }}
{{- end }}

{{- define "corral.tlsEnabled" -}}
{{- if ne .Values.ssl.mode "DISABLED" }}true{{ end }}
{{- end }}

{{- define "corral.scheme" -}}
{{- if include "corral.tlsEnabled" . }}https{{ else }}http{{ end }}
{{- end }}

{{- define "corral.eppName" -}}
{{- default (printf "%s-epp" (include "corral.fullname" .) | trunc 63 | trimSuffix "-") .Values.inferencePool.endpointPicker.name }}
{{- end }}

{{/* NIM_KV_EVENTS_TOPIC: llm-d's kv@<pod-id>@<model>. Its precise-prefix-cache-scorer (v0.5)
looks a pod's blocks up by the pod's IP, so the pod id is $(POD_IP), set just before. */}}
{{- define "corral.kvEventsTopic" -}}
{{- default (printf "kv@$(POD_IP)@%s" .Values.model.servedModelName) .Values.kvEvents.topic }}
{{- end }}

{{- define "corral.routerName" -}}
{{- printf "%s-router" (include "corral.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{/* The vLLM router's pods: not the server's selector labels, so that neither the
Service nor the PodDisruptionBudget nor the InferencePool picks a router. */}}
{{- define "corral.routerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "corral.name" . }}-router
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The router's resources' labels: not the server's app.kubernetes.io/name either, so that
the ServiceMonitor, which selects the chart's Services by it, does not scrape the router. */}}
{{- define "corral.routerLabels" -}}
helm.sh/chart: {{ include "corral.chart" . }}
{{ include "corral.routerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The router's worker URLs: each StatefulSet pod by its stable name under the headless
Service, <sts>-<i>.<sts>-headless.<namespace>.svc.<domain>. */}}
{{- define "corral.routerWorkerUrls" -}}
{{- $sts := include "corral.fullname" . }}
{{- $urls := list }}
{{- range $i := until (int .Values.replicaCount) }}
{{- $urls = append $urls (printf "http://%s-%d.%s-headless.%s.svc.%s:%d" $sts $i $sts $.Release.Namespace $.Values.vllmRouter.clusterDomain (int $.Values.model.openaiPort)) }}
{{- end }}
{{- join " " $urls }}
{{- end }}

{{/* The startup probe's whole allowance in seconds (0 when it is off). */}}
{{- define "corral.startupAllowance" -}}
{{- $p := .Values.startupProbe }}
{{- ternary (add $p.initialDelaySeconds (mul $p.failureThreshold $p.periodSeconds)) 0 $p.enabled }}
{{- end }}

{{/* The endpoint picker's image: llm-d's inference scheduler for the precise scorer. */}}
{{- define "corral.eppImage" -}}
{{- $epp := .Values.inferencePool.endpointPicker }}
{{- $image := ternary $epp.scheduling.precise.image $epp.image (eq $epp.scheduling.prefixCache "precise") }}
{{- printf "%s:%s" $image.repository $image.tag }}
{{- end }}

{{- define "corral.eppPullPolicy" -}}
{{- $epp := .Values.inferencePool.endpointPicker }}
{{- ternary $epp.scheduling.precise.image.pullPolicy $epp.image.pullPolicy (eq $epp.scheduling.prefixCache "precise") }}
{{- end }}

{{/* The file in the picker's ConfigMap that --config-file names. */}}
{{- define "corral.eppConfigFile" -}}epp-config.yaml{{- end }}

{{/*
The endpoint picker's EndpointPickerConfig (inference.networking.x-k8s.io/v1alpha1): the
plugins, then one scheduling profile that weighs the scorers and lets the max-score-picker
choose. Weights are integers, as the picker's config API reads them.
*/}}
{{- define "corral.eppConfig" -}}
{{- $s := .Values.inferencePool.endpointPicker.scheduling }}
{{- if $s.config }}
{{- toYaml $s.config }}
{{- else }}
{{- $w := $s.weights }}
{{- $prefix := dict }}
{{- if eq $s.prefixCache "precise" }}
{{- $p := $s.precise }}
{{- $prefix = dict "type" "precise-prefix-cache-scorer" "parameters" (dict
  "tokenProcessorConfig" (dict "blockSize" (int $p.blockSize) "hashSeed" $p.hashSeed)
  "indexerConfig" (dict "tokenizersPoolConfig" (dict
    "modelName" $p.tokenizer
    "hf" (dict "enabled" true "tokenizersCacheDir" "/tmp/tokenizers")))
  "kvEventsConfig" (dict
    "topicFilter" "kv@"
    "concurrency" 4
    "discoverPods" true
    "podDiscoveryConfig" (dict "socketPort" (int .Values.kvEvents.port)))) }}
{{- else }}
{{- $a := $s.approximate }}
{{- $prefix = dict "type" "prefix-cache-scorer" "parameters" (dict
  "hashBlockSize" (int $a.hashBlockSize)
  "maxPrefixBlocksToMatch" (int $a.maxPrefixBlocksToMatch)
  "lruCapacityPerServer" (int $a.lruCapacityPerServer)) }}
{{- end }}
{{- $config := dict
  "apiVersion" "inference.networking.x-k8s.io/v1alpha1"
  "kind" "EndpointPickerConfig"
  "plugins" (list
    (dict "type" "single-profile-handler")
    $prefix
    (dict "type" "queue-scorer")
    (dict "type" "kv-cache-utilization-scorer")
    (dict "type" "max-score-picker"))
  "schedulingProfiles" (list (dict
    "name" "default"
    "plugins" (list
      (dict "pluginRef" $prefix.type "weight" (int $w.prefixCache))
      (dict "pluginRef" "queue-scorer" "weight" (int $w.queue))
      (dict "pluginRef" "kv-cache-utilization-scorer" "weight" (int $w.kvCacheUtilization))
      (dict "pluginRef" "max-score-picker")))) }}
{{- toYaml $config }}
{{- end }}
{{- end }}

{{/*
A value as the text of an environment variable or argument. Helm reads every number in
values as a float64, which toString writes in scientific notation from 1e6 on
("1.048576e+06"), and corral reads integers with Int(): whole numbers are written as
integers, other numbers and strings as they are.
*/}}
{{- define "corral.text" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}{{ int64 . }}
{{- else }}{{ toString . }}{{ end }}
{{- end }}

{{/* Mount points inside the container. */}}
{{- define "corral.apiKeysDir" -}}/etc/corral/api-keys{{- end }}
{{- define "corral.tlsDir" -}}/etc/corral/tls{{- end }}

{{/*
Settings that a values set cannot express consistently stop the render with a reason.
*/}}
{{- define "corral.validate" -}}
{{- $drain := add .Values.drain.graceSeconds .Values.drain.preStopSleepSeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $drain) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be longer than drain.preStopSleepSeconds + drain.graceSeconds (%v)" .Values.terminationGracePeriodSeconds $drain) }}
{{- end }}
{{- if and (include "corral.tlsEnabled" .) (not .Values.ssl.existingSecret) (not (and .Values.ssl.cert .Values.ssl.key)) }}
{{- fail (printf "ssl.mode=%s needs ssl.existingSecret, or ssl.cert and ssl.key" .Values.ssl.mode) }}
{{- end }}
{{- if and (eq .Values.ssl.mode "MTLS") (not .Values.ssl.existingSecret) (not .Values.ssl.ca) }}
{{- fail "ssl.mode=MTLS needs ssl.ca (or ca.crt in ssl.existingSecret)" }}
{{- end }}
{{- if and .Values.inferencePool.enabled (include "corral.tlsEnabled" .) }}
{{- fail "inferencePool.enabled needs ssl.mode DISABLED: the gateway speaks plain HTTP to the pool's pods (terminate TLS at the Gateway)" }}
{{- end }}
{{- $scheduling := .Values.inferencePool.endpointPicker.scheduling }}
{{- if and .Values.inferencePool.enabled .Values.inferencePool.endpointPicker.create (eq $scheduling.prefixCache "precise") (not $scheduling.config) }}
{{- if not .Values.kvEvents.enabled }}
{{- fail "inferencePool.endpointPicker.scheduling.prefixCache=precise reads the pods' KV events: set kvEvents.enabled" }}
{{- end }}
{{- if not $scheduling.precise.tokenizer }}
{{- fail "inferencePool.endpointPicker.scheduling.prefixCache=precise needs scheduling.precise.tokenizer: the Hugging Face model whose tokenizer is the served model's (the scorer tokenizes each prompt)" }}
{{- end }}
{{- end }}
{{- if .Values.kvEvents.enabled }}
{{- if not (or .Values.kvEvents.topic .Values.model.servedModelName) }}
{{- fail "kvEvents.enabled needs model.servedModelName (or kvEvents.topic): the topic kv@<pod>@<model> names the model as clients send it" }}
{{- end }}
{{- $ports := list (int .Values.model.openaiPort) (int .Values.kvEvents.port) }}
{{- if .Values.kvEvents.replayPort }}{{ $ports = append $ports (int .Values.kvEvents.replayPort) }}{{ end }}
{{- if ne (len $ports) (len (uniq $ports)) }}
{{- fail (printf "kvEvents.port, kvEvents.replayPort and model.openaiPort must differ (%v)" $ports) }}
{{- end }}
{{- end }}
{{- if .Values.vllmRouter.enabled }}
{{- if or (not .Values.statefulSet.enabled) .Values.autoscaling.enabled .Values.leaderWorkerSet.enabled }}
{{- fail "vllmRouter.enabled routes to a fixed list of the StatefulSet's pods by name: set statefulSet.enabled, and turn autoscaling.enabled and leaderWorkerSet.enabled off" }}
{{- end }}
{{- if include "corral.tlsEnabled" . }}
{{- fail "vllmRouter.enabled needs ssl.mode DISABLED: the router speaks plain HTTP to the replicas" }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail "vllmRouter.enabled needs replicaCount of 1 or more: the router needs a worker to start" }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.leaderWorkerSet.enabled (or .Values.statefulSet.enabled .Values.autoscaling.enabled) }}
{{- fail "leaderWorkerSet.enabled replaces the Deployment and the StatefulSet and is not autoscaled by this chart: turn statefulSet.enabled and autoscaling.enabled off" }}
{{- end }}
{{- if and .Values.persistence.readOnly .Values.model.url }}
{{- fail "persistence.readOnly cannot be combined with model.url: the download writes into the cache" }}
{{- end }}
{{- $named := or (hasPrefix "/" .Values.model.name) (contains "://" .Values.model.name) }}
{{- if not (or .Values.model.url .Values.persistence.enabled .Values.initContainers.extraInit $named) }}
{{- fail (printf "model.url is empty and the model cache is an empty volume (persistence.enabled=false), so no model named %s can be there and the pod would restart forever: set model.url (hf://OWNER/REPO/FILE.gguf or an http(s) URL), or persistence (existingClaim) with a cache that holds it" .Values.model.name) }}
{{- end }}
{{- end }}

{{/* One probe: HTTP(S) GET on the server port, or curl with the pod's certificate under MTLS. */}}
{{- define "corral.probe" -}}
{{- $root := index . 0 }}
{{- $p := index . 1 }}
{{- if eq $root.Values.ssl.mode "MTLS" }}
exec:
  command:
    - curl
    - --fail
    - --silent
    - --output
    - /dev/null
    - --max-time
    - {{ include "corral.text" $p.timeoutSeconds | quote }}
    - --cert
    - {{ include "corral.tlsDir" $root }}/tls.crt
    - --key
    - {{ include "corral.tlsDir" $root }}/tls.key
    - --insecure
    - https://127.0.0.1:{{ $root.Values.model.openaiPort }}{{ $p.path }}
{{- else }}
httpGet:
  path: {{ $p.path }}
  port: http
  scheme: {{ include "corral.scheme" $root | upper }}
{{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
periodSeconds: {{ $p.periodSeconds }}
successThreshold: {{ $p.successThreshold }}
failureThreshold: {{ $p.failureThreshold }}
{{- end }}

{{/* The server's environment: every name is one `corral serve` reads. */}}
{{- define "corral.env" -}}
- name: NIM_SERVER_PORT
  value: {{ include "corral.text" .Values.model.openaiPort | quote }}
- name: NIM_CACHE_PATH
  value: {{ .Values.model.nimCache | quote }}
- name: NIM_MODEL_NAME
  value: {{ .Values.model.name | quote }}
{{- with .Values.model.servedModelName }}
- name: NIM_SERVED_MODEL_NAME
  value: {{ . | quote }}
{{- end }}
- name: NIM_LOG_LEVEL
  value: {{ .Values.model.logLevel | quote }}
- name: NIM_JSONL_LOGGING
  value: {{ ternary "1" "0" .Values.model.jsonLogging | quote }}
- name: NIM_DRAIN_GRACE_SECONDS
  value: {{ include "corral.text" .Values.drain.graceSeconds | quote }}
{{- if .Values.kvEvents.enabled }}
# KV events for the endpoint picker's precise prefix-cache scorer: a PUB socket on every pod,
# under a topic that names the pod as the scorer knows it, by its IP.
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: NIM_KV_EVENTS_ENDPOINT
  value: {{ printf "tcp://*:%s" (include "corral.text" .Values.kvEvents.port) | quote }}
- name: NIM_KV_EVENTS_TOPIC
  value: {{ include "corral.kvEventsTopic" . | quote }}
{{- if .Values.kvEvents.replayPort }}
- name: NIM_KV_EVENTS_REPLAY_ENDPOINT
  value: {{ printf "tcp://*:%s" (include "corral.text" .Values.kvEvents.replayPort) | quote }}
{{- end }}
{{- end }}
{{- if .Values.leaderWorkerSet.enabled }}
# The leader of a LeaderWorkerSet group: its workers' devices over RPC (the pod network only).
- name: LWS_GROUP_INDEX
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['leaderworkerset.sigs.k8s.io/group-index']
- name: NIM_RPC_SERVERS
  value: {{ include "corral.rpcServers" . | quote }}
- name: NIM_RPC_WAIT_SECONDS
  value: {{ include "corral.text" .Values.leaderWorkerSet.waitSeconds | quote }}
- name: NIM_SPLIT_MODE
  value: {{ .Values.leaderWorkerSet.splitMode | quote }}
{{- end }}
{{- if include "corral.apiKeysEnabled" . }}
- name: NIM_API_KEYS_FILE
  value: {{ printf "%s/%s" (include "corral.apiKeysDir" .) .Values.apiKeys.secretKey | quote }}
- name: NIM_METRICS_REQUIRE_AUTH
  value: {{ ternary "1" "0" .Values.apiKeys.metricsRequireAuth | quote }}
{{- end }}
{{- if .Values.lora.enabled }}
- name: NIM_PEFT_SOURCE
  value: {{ .Values.lora.mountPath | quote }}
{{- with .Values.lora.refreshInterval }}
- name: NIM_PEFT_REFRESH_INTERVAL
  value: {{ include "corral.text" . | quote }}
{{- end }}
{{- with .Values.lora.maxLoras }}
- name: NIM_MAX_GPU_LORAS
  value: {{ include "corral.text" . | quote }}
{{- end }}
{{- with .Values.lora.maxCpuLoras }}
- name: NIM_MAX_CPU_LORAS
  value: {{ include "corral.text" . | quote }}
{{- end }}
{{- with .Values.lora.maxLoraRank }}
- name: NIM_MAX_LORA_RANK
  value: {{ include "corral.text" . | quote }}
{{- end }}
{{- end }}
- name: NIM_SSL_MODE
  value: {{ .Values.ssl.mode | quote }}
{{- if include "corral.tlsEnabled" . }}
- name: NIM_SSL_CERTS_PATH
  value: {{ include "corral.tlsDir" . }}/tls.crt
- name: NIM_SSL_KEY_PATH
  value: {{ include "corral.tlsDir" . }}/tls.key
{{- if eq .Values.ssl.mode "MTLS" }}
- name: NIM_SSL_CA_CERTS_PATH
  value: {{ include "corral.tlsDir" . }}/ca.crt
{{- end }}
{{- end }}
{{- $names := dict
  "kvCacheTokens" "NIM_KV_CACHE_TOKENS"
  "kvCachePercent" "NIM_KV_CACHE_PERCENT"
  "gpuMemoryUtilization" "NIM_GPU_MEMORY_UTILIZATION"
  "kvLayout" "NIM_KV_LAYOUT"
  "enableKvCacheReuse" "NIM_ENABLE_KV_CACHE_REUSE"
  "kvCacheHostMemMib" "NIM_KV_CACHE_HOST_MEM_MIB"
  "schedulerPolicy" "NIM_SCHEDULER_POLICY"
  "maxModelLen" "NIM_MAX_MODEL_LEN"
  "maxBatchTokens" "NIM_MAX_BATCH_TOKENS"
  "maxNumSeqs" "NIM_MAX_NUM_SEQS"
  "maxQueueRequests" "NIM_MAX_QUEUE_REQUESTS"
  "maxQueueTokens" "NIM_MAX_QUEUE_TOKENS"
  "queueTimeoutSeconds" "NIM_QUEUE_TIMEOUT_SECONDS"
  "threads" "NIM_NUM_THREADS"
  "gpuLayers" "NIM_GPU_LAYERS"
  "maxRequestBytes" "NIM_MAX_REQUEST_BYTES"
  "perRequestMetrics" "NIM_PER_REQ_METRICS_ENABLE"
  "disableLogRequests" "NIM_DISABLE_LOG_REQUESTS" }}
{{- range $key, $env := $names }}
{{- $v := index $.Values.config $key }}
{{- if not (kindIs "invalid" $v) }}
- name: {{ $env }}
  value: {{ if kindIs "bool" $v }}{{ ternary "1" "0" $v | quote }}{{ else }}{{ include "corral.text" $v | quote }}{{ end }}
{{- end }}
{{- end }}
{{- with include "corral.proxyEnv" . | trim }}
{{ . }}
{{- end }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pod template shared by the Deployment and the StatefulSet. */}}
{{- define "corral.podTemplate" -}}
metadata:
  labels:
    {{- include "corral.selectorLabels" . | nindent 4 }}
    {{- with .Values.model.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/secrets: {{ printf "%v%v%v%v" .Values.apiKeys.keys .Values.ssl.cert .Values.ssl.key .Values.ssl.ca | sha256sum | trunc 16 }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "corral.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  terminationGracePeriodSeconds: {{ include "corral.text" .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- if or .Values.model.url .Values.initContainers.extraInit }}
  initContainers:
    {{- if .Values.model.url }}
    - name: download-model
      image: {{ include "corral.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - corral
        - download-to-cache
        - $(MODEL_URL)
        {{- if .Values.model.sha256 }}
        - --sha256
        - $(MODEL_SHA256)
        {{- end }}
        {{- if .Values.model.fileName }}
        - --name
        - {{ .Values.model.fileName | quote }}
        {{- end }}
      env:
        - name: NIM_CACHE_PATH
          value: {{ .Values.model.nimCache | quote }}
        - name: MODEL_URL
          value: {{ .Values.model.url | quote }}
        {{- if .Values.model.sha256 }}
        - name: MODEL_SHA256
          value: {{ .Values.model.sha256 | quote }}
        {{- end }}
        {{- with .Values.model.hfTokenSecret }}
        {{- if .name }}
        # A gated or private model on Hugging Face; only this container gets the token.
        - name: HF_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ .name }}
              key: {{ .key }}
        {{- end }}
        {{- end }}
        {{- with .Values.model.hfEndpoint }}
        - name: HF_ENDPOINT
          value: {{ . | quote }}
        {{- end }}
        {{- with include "corral.proxyEnv" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
      # The main container's resources: the CUDA image's corral needs the GPU driver that a
      # GPU request brings, and init containers do not add to the pod's total.
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: model-cache
          mountPath: {{ .Values.model.nimCache }}
        - name: tmp
          mountPath: /tmp
    {{- end }}
    {{- with .Values.initContainers.extraInit }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  containers:
    - name: corral
      image: {{ include "corral.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      env:
        {{- include "corral.env" . | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ .Values.model.openaiPort }}
          protocol: TCP
        {{- if .Values.kvEvents.enabled }}
        - name: kv-events
          containerPort: {{ .Values.kvEvents.port }}
          protocol: TCP
        {{- if .Values.kvEvents.replayPort }}
        - name: kv-replay
          containerPort: {{ .Values.kvEvents.replayPort }}
          protocol: TCP
        {{- end }}
        {{- end }}
      {{- if .Values.startupProbe.enabled }}
      startupProbe:
        {{- include "corral.probe" (list . .Values.startupProbe) | trim | nindent 8 }}
      {{- end }}
      {{- if .Values.livenessProbe.enabled }}
      livenessProbe:
        {{- include "corral.probe" (list . .Values.livenessProbe) | trim | nindent 8 }}
      {{- end }}
      {{- if .Values.readinessProbe.enabled }}
      readinessProbe:
        {{- include "corral.probe" (list . .Values.readinessProbe) | trim | nindent 8 }}
      {{- end }}
      lifecycle:
        preStop:
          exec:
            command:
              - sleep
              - {{ include "corral.text" .Values.drain.preStopSleepSeconds | quote }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: model-cache
          mountPath: {{ .Values.model.nimCache }}
          {{- if .Values.persistence.readOnly }}
          readOnly: true
          {{- end }}
        - name: tmp
          mountPath: /tmp
        {{- if include "corral.apiKeysEnabled" . }}
        - name: api-keys
          mountPath: {{ include "corral.apiKeysDir" . }}
          readOnly: true
        {{- end }}
        {{- if include "corral.tlsEnabled" . }}
        - name: tls
          mountPath: {{ include "corral.tlsDir" . }}
          readOnly: true
        {{- end }}
        {{- if .Values.lora.enabled }}
        - name: lora-adapters
          mountPath: {{ .Values.lora.mountPath }}
          readOnly: true
        {{- end }}
        {{- range $name, $mount := .Values.extraVolumeMounts }}
        - name: {{ $name }}
          {{- toYaml $mount | nindent 10 }}
        {{- end }}
  volumes:
    {{- if not (and .Values.statefulSet.enabled .Values.persistence.enabled (not .Values.persistence.existingClaim)) }}
    - name: model-cache
      {{- if .Values.persistence.enabled }}
      persistentVolumeClaim:
        claimName: {{ include "corral.cacheClaim" . }}
        {{- if .Values.persistence.readOnly }}
        readOnly: true
        {{- end }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    {{- end }}
    - name: tmp
      emptyDir: {}
    {{- if include "corral.apiKeysEnabled" . }}
    - name: api-keys
      secret:
        secretName: {{ include "corral.apiKeysSecret" . }}
        defaultMode: 0440
        items:
          - key: {{ .Values.apiKeys.secretKey }}
            path: {{ .Values.apiKeys.secretKey }}
    {{- end }}
    {{- if include "corral.tlsEnabled" . }}
    - name: tls
      secret:
        secretName: {{ include "corral.tlsSecret" . }}
        defaultMode: 0440
    {{- end }}
    {{- if .Values.lora.enabled }}
    - name: lora-adapters
      {{- required "lora.enabled needs lora.volume: the volume source holding the adapters (a persistentVolumeClaim, configMap, ...)" (.Values.lora.volume | default nil) | toYaml | nindent 6 }}
    {{- end }}
    {{- range $name, $volume := .Values.extraVolumes }}
    - name: {{ $name }}
      {{- toYaml $volume | nindent 6 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{- define "corral.storageClass" -}}
{{- if eq .Values.persistence.storageClass "-" }}
storageClassName: ""
{{- else if .Values.persistence.storageClass }}
storageClassName: {{ .Values.persistence.storageClass | quote }}
{{- end }}
{{- end }}
