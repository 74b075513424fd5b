{{/*
Names. With the default release name `berth`, every object is `berth-<component>`: the watcher's
ServiceAccount is `berth-watcher`, which the watcher's tests and the rig also use.
*/}}
{{- define "berth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "berth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "berth.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "berth.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* `<fullname>-<component>`; call with (dict "root" $ "component" "watcher"). */}}
{{- define "berth.componentName" -}}
{{- printf "%s-%s" (include "berth.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "berth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: berth
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "watcher"). */}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "berth.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "berth.componentLabels" -}}
{{ include "berth.labels" .root }}
{{ include "berth.selectorLabels" . }}
{{- end -}}

{{/*
An image reference; call with (dict "root" $ "image" .Values.watcher.image). Berth's images take
image.registry; NATS and Redis have a registry of their own (empty: Docker Hub).
*/}}
{{- define "berth.image" -}}
{{- $ownRegistry := hasKey .image "registry" -}}
{{- $registry := ternary .image.registry .root.Values.image.registry $ownRegistry -}}
{{- $tag := .image.tag -}}
{{- if not $ownRegistry }}{{ $tag = .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}{{ end }}
{{- if and (not $tag) (not .image.digest) }}{{ fail (printf "image %s needs a tag or a digest" .image.repository) }}{{ end }}
{{- if .image.digest -}}
{{- printf "%s%s@%s" (ternary "" (printf "%s/" $registry) (empty $registry)) .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s%s:%s" (ternary "" (printf "%s/" $registry) (empty $registry)) .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "berth.pullPolicy" -}}
{{- .image.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end -}}

{{- define "berth.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The restricted container securityContext every container gets unless it needs more: no root, no
privilege escalation, no capabilities, a read-only root file system, the runtime's seccomp profile.
*/}}
{{- define "berth.restrictedContainerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The pod securityContext of Berth's own pods (images run as uid/gid 65532). */}}
{{- define "berth.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "berth.natsSecretName" -}}
{{- .Values.nats.existingSecret | default (printf "%s-nats-auth" (include "berth.fullname" .)) -}}
{{- end -}}

{{- define "berth.redisSecretName" -}}
{{- .Values.redis.existingSecret | default (printf "%s-redis-auth" (include "berth.fullname" .)) -}}
{{- end -}}

{{/* Whether Berth's pods read NATS credentials from a Secret at all. */}}
{{- define "berth.natsHasSecret" -}}
{{- if or .Values.nats.deploy .Values.nats.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
Each NATS user Berth has, with the subjects it may publish and subscribe to:
files/nats-permissions.json, written from libs/bus's BusGrants (npm run nats-permissions).
*/}}
{{- define "berth.natsPermissions" -}}
{{- .Files.Get "files/nats-permissions.json" -}}
{{- end -}}

{{/*
The identities that are users of the bundled NATS, each with a password: all but node-agent,
which connects as its node (its pod's ServiceAccount token, judged by bus-auth): space-separated.
*/}}
{{- define "berth.natsPasswordIdentities" -}}
{{- without (keys (include "berth.natsPermissions" . | fromJson) | sortAlpha) "node-agent" | join " " -}}
{{- end -}}

{{/* The Secret with bus-auth's signing key (seed, and issuer: its public key), made by a hook. */}}
{{- define "berth.busAuthIssuerSecret" -}}
{{- printf "%s-bus-auth-issuer" (include "berth.fullname" .) -}}
{{- end -}}

{{/* The audience of node-agents' projected tokens: the bundled NATS's bus-auth accepts no other. */}}
{{- define "berth.natsTokenAudience" -}}
berth-nats
{{- end -}}

{{/* The key of the NATS Secret holding one identity's password. Call with (dict "root" $ "identity" "ipam"). */}}
{{- define "berth.natsPasswordKey" -}}
{{- replace "{component}" .identity (.root.Values.nats.secretKeys.password | default "password-{component}") -}}
{{- end -}}

{{/* The variable the bundled server reads one identity's password from, e.g. NATS_PASSWORD_ROUTE_PUBLISHER. */}}
{{- define "berth.natsPasswordVar" -}}
NATS_PASSWORD_{{ . | upper | replace "-" "_" }}
{{- end -}}

{{/*
How a Berth process reaches NATS (BERTH_NATS_*) as its own identity: the bundled server, or an
external one whose URL and credentials come from values or a Secret. Files (a .creds file, TLS)
are mounted by "berth.natsVolumeMounts" at fixed paths. Call with (dict "root" $ "identity" "ipam").
*/}}
{{- define "berth.natsEnv" -}}
{{- $identity := .identity -}}
{{- $root := .root -}}
{{- with .root -}}
{{- $secret := include "berth.natsSecretName" . -}}
{{- $keys := .Values.nats.secretKeys -}}
{{- $passwordKey := include "berth.natsPasswordKey" (dict "root" . "identity" $identity) -}}
{{- $streamReplicas := int .Values.nats.jetstream.replicas -}}
{{- if .Values.nats.deploy }}
{{- /* Every server by its pod's name: a client reaches the cluster while any one of them answers. */}}
{{- $servers := list }}
{{- range $i := until (int .Values.nats.replicas) }}
{{- $scheme := ternary "tls" "nats" (not (empty (include "berth.natsTlsSecret" $root))) }}
{{- $servers = append $servers (printf "%s://%s:%d" $scheme (include "berth.podHost" (dict "root" $root "component" "nats" "index" $i)) (int $root.Values.nats.port)) }}
{{- end }}
- name: BERTH_NATS_SERVERS
  value: {{ join "," $servers | quote }}
{{- if include "berth.natsTlsSecret" $root }}
- name: BERTH_NATS_TLS_CA
  value: /etc/berth/nats/tls/ca.crt
{{- end }}
{{- if eq $streamReplicas 0 }}{{ $streamReplicas = min 3 (int .Values.nats.replicas) }}{{ end }}
{{- if eq $identity "node-agent" }}
{{- /* Its pod's projected token ("berth.natsTokenVolume"): bus-auth lets it speak for its node alone. */}}
- name: BERTH_NATS_TOKEN_FILE
  value: /var/run/secrets/berth/nats/token
{{- else }}
- name: BERTH_NATS_USER
  value: {{ $identity | quote }}
- name: BERTH_NATS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $passwordKey }} }
{{- end }}
{{- else }}
{{- if and .Values.nats.existingSecret $keys.url }}
- name: BERTH_NATS_SERVERS
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.url }} }
{{- else if .Values.nats.url }}
- name: BERTH_NATS_SERVERS
  value: {{ .Values.nats.url | quote }}
{{- else }}
{{- fail "nats.deploy is false: set nats.url (comma-separated nats:// or tls:// URLs), or nats.existingSecret with nats.secretKeys.url" }}
{{- end }}
{{- if .Values.nats.existingSecret }}
{{- if $keys.user }}
- name: BERTH_NATS_USER
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ replace "{component}" $identity $keys.user }} }
{{- else if $keys.password }}
- name: BERTH_NATS_USER
  value: {{ $identity | quote }}
{{- end }}
{{- if $keys.password }}
- name: BERTH_NATS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $passwordKey }} }
{{- end }}
{{- if $keys.token }}
- name: BERTH_NATS_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.token }} }
{{- end }}
{{- if $keys.creds }}
- name: BERTH_NATS_CREDS_FILE
  value: /etc/berth/nats/creds/nats.creds
{{- end }}
{{- end }}
{{- with .Values.nats.tls.existingSecret }}
{{- if $root.Values.nats.tls.caKey }}
- name: BERTH_NATS_TLS_CA
  value: /etc/berth/nats/tls/ca.crt
{{- end }}
{{- if $root.Values.nats.tls.certKey }}
- name: BERTH_NATS_TLS_CERT
  value: /etc/berth/nats/tls/tls.crt
- name: BERTH_NATS_TLS_KEY
  value: /etc/berth/nats/tls/tls.key
{{- end }}
{{- end }}
{{- end }}
{{- if gt $streamReplicas 1 }}
- name: BERTH_NATS_REPLICAS
  value: {{ $streamReplicas | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The node-agent's ServiceAccount token for the bundled NATS: its audience alone, renewed by the kubelet. */}}
{{- define "berth.natsTokenVolume" -}}
- name: nats-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          audience: {{ include "berth.natsTokenAudience" . }}
          expirationSeconds: 3600
{{- end -}}

{{/*
The Secret with the bundled NATS's TLS certificate (ca.crt, tls.crt, tls.key): yours
(nats.tls.existingSecret) or the chart's (nats.tls.generate); empty when the bundled NATS speaks
plain TCP, or NATS is your own.
*/}}
{{- define "berth.natsTlsSecret" -}}
{{- if .Values.nats.deploy -}}
{{- if .Values.nats.tls.existingSecret -}}
{{- .Values.nats.tls.existingSecret -}}
{{- else if .Values.nats.tls.generate -}}
{{- printf "%s-nats-tls" (include "berth.fullname" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "berth.natsVolumes" -}}
{{- with include "berth.natsTlsSecret" . }}
{{- /* The CA alone: clients check the servers' certificate and present none. */}}
- name: nats-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - { key: {{ $.Values.nats.tls.caKey | default "ca.crt" }}, path: ca.crt }
{{- end }}
{{- if and (not .Values.nats.deploy) .Values.nats.existingSecret .Values.nats.secretKeys.creds }}
- name: nats-creds
  secret:
    secretName: {{ .Values.nats.existingSecret }}
    defaultMode: 0440
    items:
      - { key: {{ .Values.nats.secretKeys.creds }}, path: nats.creds }
{{- end }}
{{- if and (not .Values.nats.deploy) .Values.nats.tls.existingSecret }}
- name: nats-tls
  secret:
    secretName: {{ .Values.nats.tls.existingSecret }}
    defaultMode: 0440
    items:
      {{- with .Values.nats.tls.caKey }}
      - { key: {{ . }}, path: ca.crt }
      {{- end }}
      {{- if .Values.nats.tls.certKey }}
      - { key: {{ .Values.nats.tls.certKey }}, path: tls.crt }
      - { key: {{ .Values.nats.tls.keyKey }}, path: tls.key }
      {{- end }}
{{- end }}
{{- end -}}

{{- define "berth.natsVolumeMounts" -}}
{{- if include "berth.natsTlsSecret" . }}
- { name: nats-tls, mountPath: /etc/berth/nats/tls, readOnly: true }
{{- end }}
{{- if and (not .Values.nats.deploy) .Values.nats.existingSecret .Values.nats.secretKeys.creds }}
- { name: nats-creds, mountPath: /etc/berth/nats/creds, readOnly: true }
{{- end }}
{{- if and (not .Values.nats.deploy) .Values.nats.tls.existingSecret }}
- { name: nats-tls, mountPath: /etc/berth/nats/tls, readOnly: true }
{{- end }}
{{- end -}}

{{/* How ipam reaches Redis (BERTH_REDIS_*), like "berth.natsEnv". */}}
{{- define "berth.redisEnv" -}}
{{- $secret := include "berth.redisSecretName" . -}}
{{- $keys := .Values.redis.secretKeys -}}
{{- if and .Values.redis.deploy .Values.redis.sentinel.enabled }}
{{- $sentinels := list }}
{{- range $i := until (int .Values.redis.replicas) }}
{{- $sentinels = append $sentinels (printf "redis://%s:%d" (include "berth.podHost" (dict "root" $ "component" "redis" "index" $i)) (int $.Values.redis.sentinel.port)) }}
{{- end }}
- name: BERTH_REDIS_SENTINELS
  value: {{ join "," $sentinels | quote }}
- name: BERTH_REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName | quote }}
- name: BERTH_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.password | default "password" }} }
- name: BERTH_REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.password | default "password" }} }
- name: BERTH_REDIS_MIN_REPLICAS
  value: {{ .Values.redis.sentinel.minReplicas | quote }}
{{- else if .Values.redis.deploy }}
- name: BERTH_REDIS_URL
  value: {{ printf "redis://%s-redis.%s.svc:%d" (include "berth.fullname" .) .Release.Namespace (int .Values.redis.port) | quote }}
- name: BERTH_REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.password | default "password" }} }
{{- else }}
{{- if and .Values.redis.existingSecret $keys.url }}
- name: BERTH_REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.url }} }
{{- else if .Values.redis.url }}
- name: BERTH_REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- else }}
{{- fail "redis.deploy is false: set redis.url (redis:// or rediss://), or redis.existingSecret with redis.secretKeys.url" }}
{{- end }}
{{- if .Values.redis.existingSecret }}
{{- if $keys.username }}
- name: BERTH_REDIS_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.username }} }
{{- end }}
{{- if $keys.password }}
- name: BERTH_REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $keys.password }} }
{{- end }}
{{- end }}
{{- with .Values.redis.tls.existingSecret }}
{{- if $.Values.redis.tls.caKey }}
- name: BERTH_REDIS_TLS_CA
  value: /etc/berth/redis/tls/ca.crt
{{- end }}
{{- if $.Values.redis.tls.certKey }}
- name: BERTH_REDIS_TLS_CERT
  value: /etc/berth/redis/tls/tls.crt
- name: BERTH_REDIS_TLS_KEY
  value: /etc/berth/redis/tls/tls.key
{{- end }}
{{- end }}
{{- end }}
- name: BERTH_REDIS_PREFIX
  value: {{ .Values.ipam.redisPrefix | quote }}
{{- end -}}

{{/*
What the bundled Redis's containers read: the password and, under Sentinel, where the pods are.
*/}}
{{- define "berth.redisServerEnv" -}}
{{- $r := .Values.redis -}}
{{- $name := include "berth.componentName" (dict "root" $ "component" "redis") -}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "berth.redisSecretName" . }}
      key: {{ $r.secretKeys.password | default "password" }}
{{- if $r.sentinel.enabled }}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: STATEFULSET
  value: {{ $name | quote }}
- name: HEADLESS
  value: {{ printf "%s-headless.%s.svc" $name .Release.Namespace | quote }}
- name: REPLICAS
  value: {{ $r.replicas | quote }}
- name: PORT
  value: {{ $r.port | quote }}
- name: SENTINEL_PORT
  value: {{ $r.sentinel.port | quote }}
- name: MASTER
  value: {{ $r.sentinel.masterName | quote }}
{{- end }}
{{- end -}}

{{- define "berth.redisVolumes" -}}
{{- if and (not .Values.redis.deploy) .Values.redis.tls.existingSecret }}
- name: redis-tls
  secret:
    secretName: {{ .Values.redis.tls.existingSecret }}
    defaultMode: 0440
    items:
      {{- with .Values.redis.tls.caKey }}
      - { key: {{ . }}, path: ca.crt }
      {{- end }}
      {{- if .Values.redis.tls.certKey }}
      - { key: {{ .Values.redis.tls.certKey }}, path: tls.crt }
      - { key: {{ .Values.redis.tls.keyKey }}, path: tls.key }
      {{- end }}
{{- end }}
{{- end -}}

{{- define "berth.redisVolumeMounts" -}}
{{- if and (not .Values.redis.deploy) .Values.redis.tls.existingSecret }}
- { name: redis-tls, mountPath: /etc/berth/redis/tls, readOnly: true }
{{- end }}
{{- end -}}

{{/*
Settings every Berth process reads, then the component's own extraEnv (last, so it can override).
Call with (dict "root" $ "values" .Values.watcher "identity" "watcher"): the identity names its NATS user.
*/}}
{{- define "berth.commonEnv" -}}
- name: BERTH_HEALTH_PORT
  value: {{ .values.healthPort | quote }}
- name: BERTH_LOG_LEVEL
  value: {{ .values.logLevel | default .root.Values.logLevel | quote }}
{{- include "berth.natsEnv" (dict "root" .root "identity" .identity) }}
{{- end -}}

{{/* Probes on the health server every Berth process runs. Call with the component's values. */}}
{{- define "berth.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: health }
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: { path: /healthz, port: health }
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: health }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{/* The scheduling fields of a pod from a component's values. */}}
{{- define "berth.scheduling" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Replicas of a component prefer different nodes, unless its values set an affinity of their own.
Call with (dict "root" $ "component" "ipam" "values" .Values.ipam "replicas" N).
*/}}
{{- define "berth.spreadReplicas" -}}
{{- if and (not .values.affinity) (gt (int .replicas) 1) }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "berth.selectorLabels" . | nindent 14 }}
{{- end }}
{{- end -}}

{{/*
The stable DNS name of one pod of a bundled StatefulSet (nats or redis), through its headless
Service. Call with (dict "root" $ "component" "nats" "index" 0).
*/}}
{{- define "berth.podHost" -}}
{{- $name := include "berth.componentName" . -}}
{{- printf "%s-%d.%s-headless.%s.svc" $name (int .index) $name .root.Release.Namespace -}}
{{- end -}}

{{/* Checks that values fit together, with messages that say what to change. */}}
{{- define "berth.validate" -}}
{{- if and .Values.redis.deploy .Values.redis.tls.existingSecret }}
{{- fail "redis.tls.existingSecret is for an external Redis: the bundled one (redis.deploy=true) has no TLS; set redis.deploy=false and redis.url to use TLS" }}
{{- end }}
{{- if and .Values.nats.tls.existingSecret .Values.nats.tls.certKey (not .Values.nats.tls.keyKey) }}
{{- fail "nats.tls.certKey needs nats.tls.keyKey (the client certificate's private key)" }}
{{- end }}
{{- if and .Values.redis.tls.existingSecret .Values.redis.tls.certKey (not .Values.redis.tls.keyKey) }}
{{- fail "redis.tls.certKey needs redis.tls.keyKey (the client certificate's private key)" }}
{{- end }}
{{- if and .Values.redis.deploy .Values.redis.sentinel.enabled (lt (int .Values.redis.replicas) 3) }}
{{- fail "redis.sentinel.enabled needs redis.replicas of 3 or more: the sentinels of a smaller set cannot outvote a lost one; set redis.sentinel.enabled=false for one Redis" }}
{{- end }}
{{- if and .Values.redis.deploy .Values.redis.sentinel.enabled (ge (int .Values.redis.sentinel.minReplicas) (int .Values.redis.replicas)) }}
{{- fail "redis.sentinel.minReplicas must be below redis.replicas: a primary has replicas-1 replicas to confirm a lease" }}
{{- end }}
{{- if and .Values.nats.deploy .Values.nats.existingSecret (or .Values.nats.secretKeys.token .Values.nats.secretKeys.creds) }}
{{- fail "the bundled NATS (nats.deploy=true) uses a user and password: leave nats.secretKeys.token and nats.secretKeys.creds empty" }}
{{- end }}
{{- $keys := .Values.nats.secretKeys }}
{{- if and (not .Values.nats.deploy) .Values.nats.existingSecret (gt (len (compact (list $keys.password $keys.token $keys.creds))) 1) }}
{{- fail "nats.secretKeys: password, token and creds are each a way to log in, set one (password is set by default: with a token or a .creds file add --set nats.secretKeys.password='')" }}
{{- end }}
{{- end -}}

{{/*
A PodDisruptionBudget for one component; call with (dict "root" $ "component" "ipam" "pdb"
.Values.ipam.podDisruptionBudget). minAvailable wins when both are set.
*/}}
{{- define "berth.pdb" -}}
{{- if .pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "berth.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "berth.componentLabels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .pdb.minAvailable) }}
  minAvailable: {{ .pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "berth.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
