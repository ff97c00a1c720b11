//! Where Kubernetes' JSON is not the plain reading of its protobuf messages: types with a JSON
//! form of their own, Go structs embedded inline, and fields named differently in JSON.

/// Messages whose JSON is not an object of their fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `{seconds, nanos}` ↔ RFC 3339 in whole seconds (the zero time is `null`).
    Time,
    /// `{seconds, nanos}` ↔ RFC 3339 with microseconds.
    MicroTime,
    /// `{type, intVal, strVal}` ↔ a number or a string.
    IntOrString,
    /// `{string}` ↔ the canonical string.
    Quantity,
    /// `{raw}` ↔ the embedded JSON (or an enveloped object, in watch events).
    RawExtension,
    /// `{Raw}` ↔ the managed field set as a JSON object.
    FieldsV1,
    /// apiextensions `JSON`: `{raw}` ↔ any JSON value.
    Json,
    /// `{schema, jSONSchemas}` ↔ a schema or an array of schemas.
    SchemaOrArray,
    /// `{allows, schema}` ↔ a boolean or a schema.
    SchemaOrBool,
    /// `{schema, property}` ↔ a schema or an array of strings.
    SchemaOrStringArray,
    /// `{items}` ↔ a plain array (`Verbs`, `ExtraValue`).
    StringList,
}

pub fn special(message: &str) -> Option<Special> {
    const EXT: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.";
    Some(match message {
        "apimachinery.pkg.apis.meta.v1.Time" => Special::Time,
        "apimachinery.pkg.apis.meta.v1.MicroTime" => Special::MicroTime,
        "apimachinery.pkg.util.intstr.IntOrString" => Special::IntOrString,
        "apimachinery.pkg.api.resource.Quantity" => Special::Quantity,
        "apimachinery.pkg.runtime.RawExtension" => Special::RawExtension,
        "apimachinery.pkg.apis.meta.v1.FieldsV1" => Special::FieldsV1,
        "apimachinery.pkg.apis.meta.v1.Verbs" | "api.authentication.v1.ExtraValue" | "api.authorization.v1.ExtraValue" => Special::StringList,
        m => match m.strip_prefix(EXT) {
            Some("JSON") => Special::Json,
            Some("JSONSchemaPropsOrArray") => Special::SchemaOrArray,
            Some("JSONSchemaPropsOrBool") => Special::SchemaOrBool,
            Some("JSONSchemaPropsOrStringArray") => Special::SchemaOrStringArray,
            _ => return None,
        },
    })
}

/// Go structs embedded with `json:",inline"`: one sub-message in protobuf, their fields at the
/// outer level in JSON.
const INLINE: &[(&str, &str)] = &[
    ("api.core.v1.Volume", "volumeSource"),
    ("api.core.v1.Probe", "handler"),
    ("api.core.v1.EphemeralContainer", "ephemeralContainerCommon"),
    ("api.core.v1.PersistentVolumeSpec", "persistentVolumeSource"),
    ("api.core.v1.ConfigMapEnvSource", "localObjectReference"),
    ("api.core.v1.ConfigMapKeySelector", "localObjectReference"),
    ("api.core.v1.ConfigMapProjection", "localObjectReference"),
    ("api.core.v1.ConfigMapVolumeSource", "localObjectReference"),
    ("api.core.v1.SecretEnvSource", "localObjectReference"),
    ("api.core.v1.SecretKeySelector", "localObjectReference"),
    ("api.core.v1.SecretProjection", "localObjectReference"),
];

pub fn is_inline(message: &str, field: &str) -> bool {
    INLINE.contains(&(message, field))
}

/// The JSON key of a field: its protobuf name except where Go's JSON tag differs.
pub fn json_key<'a>(message: &str, field: &'a str) -> std::borrow::Cow<'a, str> {
    const SCHEMA: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";
    match (message, field) {
        (SCHEMA, "ref") => "$ref".into(),
        (SCHEMA, "schema") => "$schema".into(),
        (SCHEMA, f) if f.starts_with("xKubernetes") => kebab(f).into(),
        ("api.authentication.v1.BoundObjectReference", "uID") => "uid".into(),
        ("api.networking.v1.IngressClassParametersReference", "aPIGroup") => "apiGroup".into(),
        _ => field.into(),
    }
}

/// `xKubernetesListMapKeys` → `x-kubernetes-list-map-keys`.
fn kebab(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
