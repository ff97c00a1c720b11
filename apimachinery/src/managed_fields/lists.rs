//! List and map semantics: how a list merges and how its items are named in field sets
//! (atomic, `set`, `map` with keys), from a CRD schema, the built-in merge keys or a closure.

use serde_json::Value;

use super::PathElement;
use crate::gofmt::go_json_string;

/// A key field of a `map` list, with the schema default used when an item omits it
/// (Kubernetes keys container ports by `containerPort` and `protocol`, defaulting to TCP).
#[derive(Debug, Clone, PartialEq)]
pub struct MapKey {
    pub name: String,
    pub default: Option<Value>,
}

/// How a list merges and how its items are named in field sets.
#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    /// Replaced as a whole and owned as one leaf (the CRD default).
    Atomic,
    /// Items are scalars merged as a union (`v:` elements).
    Set,
    /// Items are maps identified by these key fields (`k:` elements).
    Map(Vec<MapKey>),
}

impl ListType {
    /// A `map` list keyed by `keys`, none of which has a default.
    pub fn map<I, S>(keys: I) -> ListType
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ListType::Map(keys.into_iter().map(|k| MapKey { name: k.into(), default: None }).collect())
    }
}

/// Answers, for a path in an object, how the list there behaves. Paths contain the `Key` /
/// `Value` / `Index` elements of enclosing list items, e.g. `spec.template.spec.containers`
/// then `[name="app"]` then `ports`.
pub trait ListSemantics {
    fn list_type(&self, path: &[PathElement]) -> ListType;

    /// `x-kubernetes-map-type: atomic`: the map is replaced and owned as a whole.
    fn map_is_atomic(&self, _path: &[PathElement]) -> bool {
        false
    }
}

/// Every list is atomic: the CRD default when the schema says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct AtomicLists;

impl ListSemantics for AtomicLists {
    fn list_type(&self, _path: &[PathElement]) -> ListType {
        ListType::Atomic
    }
}

/// List semantics read from an openAPIV3 schema (`x-kubernetes-list-type`,
/// `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`), as CRDs declare them.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaLists {
    schema: Value,
}

impl SchemaLists {
    /// Takes the `openAPIV3Schema` value (a CRD version's `schema` wrapper is also accepted).
    pub fn new(schema: &Value) -> Self {
        let schema = schema.get("openAPIV3Schema").unwrap_or(schema).clone();
        SchemaLists { schema }
    }

    fn node(&self, path: &[PathElement]) -> Option<&Value> {
        let mut node = &self.schema;
        for pe in path {
            node = match pe {
                PathElement::Field(name) => match node.get("properties").and_then(|p| p.get(name)) {
                    Some(n) => n,
                    None => node.get("additionalProperties").filter(|a| a.is_object())?,
                },
                _ => node.get("items")?,
            };
        }
        Some(node)
    }
}

impl ListSemantics for SchemaLists {
    fn list_type(&self, path: &[PathElement]) -> ListType {
        let Some(node) = self.node(path) else {
            return ListType::Atomic;
        };
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let item_props = node.get("items").and_then(|i| i.get("properties"));
                let keys: Vec<MapKey> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|ks| {
                        ks.iter()
                            .filter_map(Value::as_str)
                            .map(|k| MapKey {
                                name: k.to_string(),
                                default: item_props.and_then(|p| p.get(k)).and_then(|p| p.get("default")).cloned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    ListType::Atomic
                } else {
                    ListType::Map(keys)
                }
            }
            _ => ListType::Atomic,
        }
    }

    fn map_is_atomic(&self, path: &[PathElement]) -> bool {
        self.node(path).and_then(|n| n.get("x-kubernetes-map-type")).and_then(Value::as_str) == Some("atomic")
    }
}

/// List semantics from a closure, for built-in kinds whose merge keys are compiled in.
/// `None` means atomic.
pub struct FnLists<F>(pub F);

impl<F> ListSemantics for FnLists<F>
where
    F: Fn(&[PathElement]) -> Option<ListType>,
{
    fn list_type(&self, path: &[PathElement]) -> ListType {
        (self.0)(path).unwrap_or(ListType::Atomic)
    }
}

/// The merge keys of the common built-in lists (pod templates, services, conditions).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinLists;

impl ListSemantics for BuiltinLists {
    fn list_type(&self, path: &[PathElement]) -> ListType {
        builtin_list_type(path).unwrap_or(ListType::Atomic)
    }

    fn map_is_atomic(&self, path: &[PathElement]) -> bool {
        builtin_map_is_atomic(path)
    }
}

/// The built-in maps Kubernetes marks atomic (`+structType=atomic` / `+mapType=atomic`):
/// label selectors (`spec.selector` of workloads and Services) and `nodeSelector`.
pub fn builtin_map_is_atomic(path: &[PathElement]) -> bool {
    match path {
        [PathElement::Field(s), PathElement::Field(f)] if s == "spec" && f == "selector" => true,
        [.., PathElement::Field(f)] => f == "nodeSelector",
        _ => false,
    }
}

/// Merge keys Kubernetes' OpenAPI gives the usual built-in lists, recognised by field name
/// and context. Usable inside an [`FnLists`] closure to extend.
pub fn builtin_list_type(path: &[PathElement]) -> Option<ListType> {
    let PathElement::Field(last) = path.last()? else {
        return None;
    };
    let parent = path.len().checked_sub(2).and_then(|i| path.get(i));
    let in_list_item = matches!(parent, Some(PathElement::Key(_)));
    let tcp = || Some(Value::String("TCP".to_string()));
    let key = |name: &str| MapKey { name: name.to_string(), default: None };
    let t = match last.as_str() {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "imagePullSecrets" | "resourceClaims" => {
            ListType::map(["name"])
        }
        "env" if in_list_item => ListType::map(["name"]),
        "volumeMounts" if in_list_item => ListType::map(["mountPath"]),
        "volumeDevices" if in_list_item => ListType::map(["devicePath"]),
        "ports" if in_list_item => {
            ListType::Map(vec![key("containerPort"), MapKey { name: "protocol".to_string(), default: tcp() }])
        }
        // Service ports (`spec.ports` of a Service).
        "ports" if path.len() == 2 && matches!(&path[0], PathElement::Field(f) if f == "spec") => {
            ListType::Map(vec![key("port"), MapKey { name: "protocol".to_string(), default: tcp() }])
        }
        "hostAliases" => ListType::map(["ip"]),
        "topologySpreadConstraints" => ListType::map(["topologyKey", "whenUnsatisfiable"]),
        "conditions" if matches!(path.first(), Some(PathElement::Field(f)) if f == "status") => ListType::map(["type"]),
        _ => return None,
    };
    Some(t)
}

/// The list type actually used at `path`: ObjectMeta's lists are fixed by Kubernetes whatever
/// the kind's schema says (finalizers are a set, ownerReferences are keyed by uid).
pub(crate) fn list_type_at(lists: &dyn ListSemantics, path: &[PathElement]) -> ListType {
    if let [PathElement::Field(m), PathElement::Field(f)] = path {
        if m == "metadata" {
            match f.as_str() {
                "finalizers" => return ListType::Set,
                "ownerReferences" => return ListType::map(["uid"]),
                "managedFields" => return ListType::Atomic,
                _ => {}
            }
        }
    }
    match lists.list_type(path) {
        ListType::Map(keys) if keys.is_empty() => ListType::Atomic,
        t => t,
    }
}

/// Whether the map at `path` is atomic. The object, `metadata`, labels and annotations never are.
pub(crate) fn map_atomic_at(lists: &dyn ListSemantics, path: &[PathElement]) -> bool {
    match path {
        [] => false,
        [PathElement::Field(m)] if m == "metadata" => false,
        [PathElement::Field(m), PathElement::Field(f)] if m == "metadata" && (f == "labels" || f == "annotations") => {
            false
        }
        // OwnerReference is `+structType=atomic`: each item is owned whole.
        [PathElement::Field(m), PathElement::Field(f), PathElement::Key(_)]
            if m == "metadata" && f == "ownerReferences" =>
        {
            true
        }
        _ => lists.map_is_atomic(path),
    }
}

/// The path element naming `item` (at `index`) of a list of type `lt`.
pub(crate) fn item_pe(lt: &ListType, index: usize, item: &Value) -> Result<PathElement, String> {
    match lt {
        ListType::Atomic => Ok(PathElement::Index(index)),
        ListType::Set => match item {
            Value::Object(_) | Value::Array(_) => {
                Err(format!("element {index}: expected a scalar in a list of type set"))
            }
            v => Ok(PathElement::Value(v.clone())),
        },
        ListType::Map(keys) => {
            let Value::Object(obj) = item else {
                return Err(format!("element {index}: expected a map in a list of type map"));
            };
            let mut fields = Vec::with_capacity(keys.len());
            for k in keys {
                match (obj.get(&k.name), &k.default) {
                    (Some(v), _) if !v.is_null() => fields.push((k.name.clone(), v.clone())),
                    (_, Some(d)) => fields.push((k.name.clone(), d.clone())),
                    _ => {
                        return Err(format!(
                            "element {index}: associative list with keys has an element that omits key field {} (and doesn't have default value)",
                            go_json_string(&k.name)
                        ))
                    }
                }
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            fields.dedup_by(|a, b| a.0 == b.0);
            Ok(PathElement::Key(fields))
        }
    }
}

/// Like [`item_pe`] but never fails: an item that cannot be keyed is named by its index.
pub(crate) fn item_pe_lenient(lt: &ListType, index: usize, item: &Value) -> PathElement {
    item_pe(lt, index, item).unwrap_or(PathElement::Index(index))
}
