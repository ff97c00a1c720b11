{{/*
A controller Deployment and its PodDisruptionBudget: the main one ("controller") or a shard's
("controller-NAME"), each handling the compositions and resources its `shard` settings select
(compositionNamespace, compositionLabelSelector, resourceFilter: eno run's sharding flags).
*/}}
{{- define "eno.controller" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $shard := .shard -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eno.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $name }}
spec:
  replicas: {{ $root.Values.replicas }}
  selector:
    matchLabels:
      {{- include "eno.selector" (dict "root" $root "name" $name) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "eno.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $name }}
    spec:
      serviceAccountName: eno-controller
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: controller
          image: {{ include "eno.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            - run
            - --synthesis-namespace={{ include "eno.synthesisNamespace" $root }}
            - --service-account=eno-synthesizer
            - --synthesis-concurrency={{ $root.Values.controller.synthesisConcurrency }}
            - --rollout-cooldown={{ $root.Values.controller.rolloutCooldown }}
            - --watchdog-threshold={{ $root.Values.controller.watchdogThreshold }}
            - --list-semantic={{ $root.Values.controller.listSemantic }}
            - --ops-address=0.0.0.0:8080
            - --pod-timeout={{ $root.Values.controller.podTimeout }}
            - --container-creation-ttl={{ $root.Values.controller.containerCreationTTL }}
            - --self-healing-grace-period={{ $root.Values.controller.selfHealingGracePeriod }}
            - --input-qps={{ $root.Values.controller.inputQPS }}
            {{- with $root.Values.leaderElection }}
            {{- if .enabled }}
            - --leader-election
            - --leader-election-namespace={{ include "eno.synthesisNamespace" $root }}
            {{- /* Each shard elects its own leader. */}}
            - --leader-election-id={{ .id }}{{ if ne $name "controller" }}-{{ $shard.name }}{{ end }}
            - --leader-election-lease-duration={{ .leaseDuration }}
            - --leader-election-lease-renew-deadline={{ .renewDeadline }}
            - --leader-election-lease-retry={{ .retryPeriod }}
            {{- end }}
            {{- end }}
            {{- with $shard.compositionNamespace }}
            - {{ printf "--composition-namespace=%s" . | quote }}
            {{- end }}
            {{- with $shard.compositionLabelSelector }}
            - {{ printf "--composition-label-selector=%s" . | quote }}
            {{- end }}
            {{- with $shard.resourceFilter }}
            - {{ printf "--resource-filter=%s" . | quote }}
            {{- end }}
            {{- with $root.Values.synthesisPods.labels }}
            - --synthesizer-pod-labels={{ range $key, $value := . }}{{ $key }}={{ $value }},{{ end }}
            {{- end }}
            {{- with $root.Values.synthesisPods.annotations }}
            - --synthesizer-pod-annotations={{ range $key, $value := . }}{{ $key }}={{ $value }},{{ end }}
            {{- end }}
            {{- with $root.Values.synthesisPods.taintToleration }}
            - --taint-toleration={{ . }}
            {{- end }}
            {{- with $root.Values.synthesisPods.nodeAffinity }}
            - --node-affinity={{ . }}
            {{- end }}
          env:
            # The leader election identity: the pod's name (and a random suffix).
            - name: POD_NAME
              valueFrom:
                fieldRef: {fieldPath: metadata.name}
            # Synthesis pods copy this binary from the controller's own image.
            - name: ENO_EXECUTOR_IMAGE
              value: {{ include "eno.image" $root }}
            - name: RUST_LOG
              value: {{ $root.Values.controller.logLevel | quote }}
          ports:
            - name: ops
              containerPort: 8080
          livenessProbe:
            httpGet: {path: /healthz, port: ops}
            periodSeconds: 10
          readinessProbe:
            httpGet: {path: /readyz, port: ops}
            periodSeconds: 5
          resources:
            {{- toYaml $root.Values.controller.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
      {{- with $root.Values.controller.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.controller.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.controller.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "eno.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $name }}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      {{- include "eno.selector" (dict "root" $root "name" $name) | nindent 6 }}
{{- end -}}
