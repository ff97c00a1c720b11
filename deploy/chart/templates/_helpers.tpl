{{/* The namespace of synthesis pods, their Secrets and the rollout slot. */}}
{{- define "eno.synthesisNamespace" -}}
{{- default .Release.Namespace .Values.synthesisNamespace -}}
{{- end -}}

{{/* The image, tag defaulting to the chart's appVersion. */}}
{{- define "eno.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "eno.labels" -}}
app.kubernetes.io/name: eno
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The pods of one controller Deployment (`name`: "controller", or a shard's). */}}
{{- define "eno.selector" -}}
app.kubernetes.io/name: eno
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}
