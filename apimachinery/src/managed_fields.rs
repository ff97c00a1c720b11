//! Field ownership (`metadata.managedFields`) the way the Kubernetes apiserver keeps it.
//!
//! Kubernetes tracks, per writer ("manager"), the set of fields that writer last set. The set
//! is a trie of path elements serialised as FieldsV1 (`{"f:spec":{"f:size":{}}}`). This module
//! holds that trie ([`FieldSet`]), the list semantics that decide how list items are named
//! ([`ListSemantics`]), and the bookkeeping for non-apply writes ([`record_update`]). The
//! rules follow `sigs.k8s.io/structured-merge-diff` and
//! `k8s.io/apimachinery/pkg/util/managedfields/internal` so that kubectl and kube-rs see the
//! same entries a real server would produce.
//!
//! Everything here is a pure function over `serde_json::Value`; nothing panics on odd input.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A malformed FieldsV1 document or managedFields entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsError(pub String);

// ---------------------------------------------------------------------------------------------
// Path elements
// ---------------------------------------------------------------------------------------------

/// One step of a field path, as structured-merge-diff names it.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// `f:<name>`: a field of a map.
    Field(String),
    /// `k:{"name":"app"}`: the item of a `map` list with these key values, sorted by key name.
    Key(Vec<(String, Value)>),
    /// `v:<json>`: the item of a `set` list with this value.
    Value(Value),
    /// `i:<n>`: an item addressed by position (only when it cannot be keyed).
    Index(usize),
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The FieldsV1 object key (`f:spec`, `k:{"name":"app"}`, `v:"x"`, `i:0`).
    pub fn to_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let body: Vec<String> =
                    fields.iter().map(|(k, v)| format!("{}:{}", go_json_string(k), go_json(v))).collect();
                format!("k:{{{}}}", body.join(","))
            }
            PathElement::Value(v) => format!("v:{}", go_json(v)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key. `Ok(None)` for an unknown element type, which Kubernetes skips
    /// so that newer formats do not break older readers.
    pub fn from_key(s: &str) -> Result<Option<PathElement>, FieldsError> {
        let b = s.as_bytes();
        if b.len() < 2 {
            return Err(FieldsError(format!("key must be 2 characters long: {s:?}")));
        }
        if b[1] != b':' {
            return Err(FieldsError(format!("missing colon: {s:?}")));
        }
        // b[1] is ASCII ':' so b[0] is a single-byte char and index 2 is a char boundary.
        let rest = &s[2..];
        match b[0] {
            b'f' => Ok(Some(PathElement::Field(rest.to_string()))),
            b'v' => serde_json::from_str::<Value>(rest)
                .map(|v| Some(PathElement::Value(v)))
                .map_err(|e| FieldsError(format!("parsing key as path element: {e}"))),
            b'k' => {
                let v: Value =
                    serde_json::from_str(rest).map_err(|e| FieldsError(format!("parsing key as path element: {e}")))?;
                let Value::Object(m) = v else {
                    return Err(FieldsError(format!("parsing key as path element: expected an object in {s:?}")));
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Some(PathElement::Key(fields)))
            }
            b'i' => rest
                .parse::<usize>()
                .map(|i| Some(PathElement::Index(i)))
                .map_err(|e| FieldsError(format!("parsing key as path element: {e}"))),
            _ => Ok(None),
        }
    }
}

impl Ord for PathElement {
    /// structured-merge-diff's order: fields < keys < values < indices, then by content.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
                    let c = ka.cmp(kb).then_with(|| cmp_values(va, vb));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (PathElement::Value(a), PathElement::Value(b)) => cmp_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl fmt::Display for PathElement {
    /// The human form used in conflict messages: `.spec`, `[name="app"]`, `[="x"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", value_to_string(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path as Kubernetes prints it in conflicts: `.spec.template.spec.containers[name="app"].image`.
pub fn path_to_string(path: &[PathElement]) -> String {
    path.iter().map(|pe| pe.to_string()).collect()
}

/// structured-merge-diff `value.ToString`: strings quoted, everything else bare.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => go_json_string(s),
        Value::Array(items) => format!("[{}]", items.iter().map(value_to_string).collect::<Vec<_>>().join(",")),
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}={}", go_json_string(k), value_to_string(v))).collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// A total order on JSON values consistent with `==`, so path elements can live in B-trees.
pub fn cmp_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let fx = x.as_f64().unwrap_or(f64::NAN);
            let fy = y.as_f64().unwrap_or(f64::NAN);
            fx.total_cmp(&fy).then_with(|| x.to_string().cmp(&y.to_string()))
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let c = cmp_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<(&String, &Value)> = x.iter().collect();
            let mut ys: Vec<(&String, &Value)> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(ys.iter()) {
                let c = kx.cmp(ky).then_with(|| cmp_values(vx, vy));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Go `encoding/json` output for a string: like serde_json but with HTML-safe escapes, so keys
/// match what a real apiserver writes byte for byte.
fn go_json_string(s: &str) -> String {
    let raw = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string());
    if !raw.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return raw;
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Go `encoding/json` output for any value: object keys sorted, HTML-safe strings.
pub(crate) fn go_json(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => go_json_string(s),
        Value::Array(items) => format!("[{}]", items.iter().map(go_json).collect::<Vec<_>>().join(",")),
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}:{}", go_json_string(k), go_json(v))).collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// FieldSet
// ---------------------------------------------------------------------------------------------

/// A set of field paths stored as a trie, like structured-merge-diff's `fieldpath.Set`.
///
/// A node can be a member (the path itself is owned) and have children at the same time;
/// FieldsV1 writes that as a `"."` key next to the children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    /// Invariant: no child set is empty.
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Number of paths in the set.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.values().map(FieldSet::len).sum::<usize>()
    }

    /// Adds `path`. The empty path (the object itself) is never a member.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// The subtree below `pe`, if any.
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_with(other);
        out
    }

    pub fn union_with(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (pe, c) in &other.children {
            self.children.entry(pe.clone()).or_default().union_with(c);
        }
    }

    /// Paths in `self` but not in `other` (exact paths; descendants are not implied).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, c) in &self.children {
            let d = match other.children.get(pe) {
                Some(oc) => c.difference(oc),
                None => c.clone(),
            };
            if !d.is_empty() {
                children.insert(pe.clone(), d);
            }
        }
        FieldSet { members, children }
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, c) in &self.children {
            if let Some(oc) = other.children.get(pe) {
                let i = c.intersection(oc);
                if !i.is_empty() {
                    children.insert(pe.clone(), i);
                }
            }
        }
        FieldSet { members, children }
    }

    /// All paths, in structured-merge-diff's iteration order (a node's members, then its
    /// children depth-first), which is the order conflicts are reported in.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect_paths(&mut prefix, &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, c) in &self.children {
            prefix.push(pe.clone());
            c.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON form.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        let keys: BTreeSet<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            let v = match self.children.get(pe) {
                Some(c) => Value::Object(c.emit(self.members.contains(pe))),
                None => Value::Object(Map::new()),
            };
            out.insert(pe.to_key(), v);
        }
        out
    }

    /// Parses FieldsV1. Unknown element types are skipped, as Kubernetes does.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, FieldsError> {
        let (set, _) = Self::read(v)?;
        Ok(set)
    }

    /// Returns the subtree and whether the node itself is a member (a leaf `{}` or `"."`).
    fn read(v: &Value) -> Result<(FieldSet, bool), FieldsError> {
        let Value::Object(m) = v else {
            return Err(FieldsError(format!("FieldsV1: expected an object, got {}", go_json(v))));
        };
        let mut set = FieldSet::new();
        let mut is_member = false;
        for (k, child) in m {
            if k == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::from_key(k)? else { continue };
            let (grand, child_member) = Self::read(child)?;
            if child_member {
                set.members.insert(pe.clone());
            }
            if !grand.is_empty() {
                set.children.entry(pe).or_default().union_with(&grand);
            }
        }
        if set.is_empty() {
            is_member = true;
        }
        Ok((set, is_member))
    }
}

// ---------------------------------------------------------------------------------------------
// List semantics
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Field sets of objects and comparisons
// ---------------------------------------------------------------------------------------------

/// Paths Kubernetes never records in managedFields (`stripmeta.go`): identity and
/// server-owned metadata. Removal is by exact path.
pub fn strip_set() -> FieldSet {
    let mut s = FieldSet::new();
    let f = |n: &str| PathElement::Field(n.to_string());
    s.insert(&[f("apiVersion")]);
    s.insert(&[f("kind")]);
    s.insert(&[f("metadata")]);
    for m in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        s.insert(&[f("metadata"), f(m)]);
    }
    s
}

/// The fields an object sets, as structured-merge-diff's `ToFieldSet` computes them (leaves,
/// atomic lists and maps, keyed/set list items), minus [`strip_set`]. Items that cannot be
/// keyed are named by index rather than failing.
pub fn fields_of(obj: &Value, lists: &dyn ListSemantics) -> FieldSet {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    // Lenient mode never returns an error.
    let _ = walk_fields(obj, &mut path, lists, &mut set, false);
    set.difference(&strip_set())
}

/// [`fields_of`] for an applied configuration: list items without their keys and duplicate
/// keys are errors, as they are for a real server.
pub fn try_fields_of(obj: &Value, lists: &dyn ListSemantics) -> Result<FieldSet, String> {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    walk_fields(obj, &mut path, lists, &mut set, true)?;
    Ok(set.difference(&strip_set()))
}

fn walk_fields(
    v: &Value,
    path: &mut Vec<PathElement>,
    lists: &dyn ListSemantics,
    set: &mut FieldSet,
    strict: bool,
) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            if map_atomic_at(lists, path) {
                set.insert(path);
                return Ok(());
            }
            for (k, c) in m {
                path.push(PathElement::Field(k.clone()));
                let r = walk_fields(c, path, lists, set, strict);
                path.pop();
                r?;
            }
        }
        Value::Array(items) => {
            let lt = list_type_at(lists, path);
            if lt == ListType::Atomic {
                set.insert(path);
                return Ok(());
            }
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let pe = match item_pe(&lt, i, item) {
                    Ok(pe) => pe,
                    Err(e) if strict => return Err(format!("{}: {e}", path_to_string(path))),
                    Err(_) => PathElement::Index(i),
                };
                if strict && !seen.insert(pe.clone()) {
                    return Err(format!("{}: duplicate entries for key {pe}", path_to_string(path)));
                }
                path.push(pe);
                let r = walk_fields(item, path, lists, set, strict);
                set.insert(path);
                path.pop();
                r?;
            }
        }
        _ => set.insert(path),
    }
    Ok(())
}

/// What changed between two versions of an object, as structured-merge-diff's `Compare`:
/// every added or removed path (including the containers themselves) and every leaf whose
/// value changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// Compares `old` to `new` under `lists`.
pub fn compare(old: &Value, new: &Value, lists: &dyn ListSemantics) -> Comparison {
    let mut out = Comparison::default();
    let mut path = Vec::new();
    cmp_walk(Some(old), Some(new), &mut path, lists, &mut out);
    out
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Map,
    List,
    Scalar,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Object(_) => Kind::Map,
        Value::Array(_) => Kind::List,
        _ => Kind::Scalar,
    }
}

fn cmp_walk(
    l: Option<&Value>,
    r: Option<&Value>,
    path: &mut Vec<PathElement>,
    lists: &dyn ListSemantics,
    out: &mut Comparison,
) {
    match (l, r) {
        (None, None) => {}
        (None, Some(_)) => out.added.insert(path),
        (Some(_), None) => out.removed.insert(path),
        (Some(a), Some(b)) if kind(a) != kind(b) => {
            // A type change: the leaf changed, the old children went, the new ones came.
            out.modified.insert(path);
            cmp_descend(Some(a), None, path, lists, out);
            cmp_descend(None, Some(b), path, lists, out);
            return;
        }
        _ => {}
    }
    cmp_descend(l, r, path, lists, out);
}

/// Compares the children of `l` and `r`, which are of the same kind or absent.
fn cmp_descend(
    l: Option<&Value>,
    r: Option<&Value>,
    path: &mut Vec<PathElement>,
    lists: &dyn ListSemantics,
    out: &mut Comparison,
) {
    let Some(k) = l.or(r).map(kind) else { return };
    let leaf = |out: &mut Comparison, path: &[PathElement]| {
        if let (Some(a), Some(b)) = (l, r) {
            if a != b {
                out.modified.insert(path);
            }
        }
    };
    match k {
        Kind::Scalar => leaf(out, path),
        Kind::Map => {
            let lm = l.and_then(Value::as_object);
            let rm = r.and_then(Value::as_object);
            let both_empty = lm.is_none_or(|m| m.is_empty()) && rm.is_none_or(|m| m.is_empty());
            if both_empty || map_atomic_at(lists, path) {
                leaf(out, path);
                return;
            }
            if let Some(lm) = lm {
                for (key, lv) in lm {
                    path.push(PathElement::Field(key.clone()));
                    cmp_walk(Some(lv), rm.and_then(|m| m.get(key)), path, lists, out);
                    path.pop();
                }
            }
            if let Some(rm) = rm {
                for (key, rv) in rm {
                    if lm.is_some_and(|m| m.contains_key(key)) {
                        continue;
                    }
                    path.push(PathElement::Field(key.clone()));
                    cmp_walk(None, Some(rv), path, lists, out);
                    path.pop();
                }
            }
        }
        Kind::List => {
            let la = l.and_then(Value::as_array);
            let ra = r.and_then(Value::as_array);
            let lt = list_type_at(lists, path);
            let both_empty = la.is_none_or(|a| a.is_empty()) && ra.is_none_or(|a| a.is_empty());
            if both_empty || lt == ListType::Atomic {
                leaf(out, path);
                return;
            }
            let index = |items: Option<&Vec<Value>>| -> Vec<(PathElement, usize)> {
                let mut seen = BTreeSet::new();
                let mut v = Vec::new();
                for (i, item) in items.map(|a| a.as_slice()).unwrap_or(&[]).iter().enumerate() {
                    let pe = item_pe_lenient(&lt, i, item);
                    if seen.insert(pe.clone()) {
                        v.push((pe, i));
                    }
                }
                v
            };
            let lidx = index(la);
            let ridx = index(ra);
            let rmap: BTreeMap<&PathElement, usize> = ridx.iter().map(|(pe, i)| (pe, *i)).collect();
            let lset: BTreeSet<&PathElement> = lidx.iter().map(|(pe, _)| pe).collect();
            fn get(items: Option<&Vec<Value>>, i: usize) -> Option<&Value> {
                items.and_then(|a| a.get(i))
            }
            for (pe, li) in &lidx {
                let rv = rmap.get(pe).and_then(|ri| get(ra, *ri));
                path.push(pe.clone());
                cmp_walk(get(la, *li), rv, path, lists, out);
                path.pop();
            }
            for (pe, ri) in &ridx {
                if lset.contains(pe) {
                    continue;
                }
                path.push(pe.clone());
                cmp_walk(None, get(ra, *ri), path, lists, out);
                path.pop();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// managedFields entries
// ---------------------------------------------------------------------------------------------

/// `operation` of a managedFields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    /// RFC 3339; absent when the manager never changed the object's content.
    pub time: Option<String>,
    pub fields: FieldSet,
    pub subresource: Option<String>,
}

/// Kubernetes' manager identifier (`BuildManagerIdentifier`): the entry's JSON without time
/// and fields, and without apiVersion for appliers. Entries with the same identifier are one
/// manager; conflicts are grouped and sorted by it.
pub fn manager_identity(manager: &str, operation: Operation, api_version: &str, subresource: Option<&str>) -> String {
    let mut s = String::from("{");
    let mut parts = Vec::new();
    if !manager.is_empty() {
        parts.push(format!("\"manager\":{}", go_json_string(manager)));
    }
    parts.push(format!("\"operation\":\"{}\"", operation.as_str()));
    if operation == Operation::Update && !api_version.is_empty() {
        parts.push(format!("\"apiVersion\":{}", go_json_string(api_version)));
    }
    if let Some(sub) = subresource.filter(|s| !s.is_empty()) {
        parts.push(format!("\"subresource\":{}", go_json_string(sub)));
    }
    s.push_str(&parts.join(","));
    s.push('}');
    s
}

/// How Kubernetes names a manager in conflict messages (`printManager`):
/// `"kubectl"` for appliers, `"m" using apps/v1` for updaters, plus `with subresource "status"`.
pub fn describe_manager(manager: &str, operation: Operation, api_version: &str, subresource: Option<&str>) -> String {
    let mut s = go_json_string(manager);
    if let Some(sub) = subresource.filter(|s| !s.is_empty()) {
        s = format!("{s} with subresource {}", go_json_string(sub));
    }
    if operation == Operation::Update {
        s = format!("{s} using {api_version}");
    }
    s
}

impl ManagedEntry {
    pub fn identity(&self) -> String {
        manager_identity(&self.manager, self.operation, &self.api_version, self.subresource.as_deref())
    }

    pub fn describe(&self) -> String {
        describe_manager(&self.manager, self.operation, &self.api_version, self.subresource.as_deref())
    }

    /// Decodes one entry with Kubernetes' validation (`DecodeManagedFields`).
    pub fn from_json(v: &Value) -> Result<ManagedEntry, FieldsError> {
        let Value::Object(m) = v else {
            return Err(FieldsError("managedFields entry must be an object".to_string()));
        };
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        let operation = match s("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return Err(FieldsError("operation must be `Apply` or `Update`".to_string())),
        };
        if s("apiVersion").is_empty() {
            return Err(FieldsError("apiVersion must not be empty".to_string()));
        }
        match s("fieldsType") {
            "FieldsV1" => {}
            "" => return Err(FieldsError("missing fieldsType in managed fields entry".to_string())),
            other => return Err(FieldsError(format!("invalid fieldsType {other:?} in managed fields entry"))),
        }
        let fields = match m.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1(f)?,
        };
        Ok(ManagedEntry {
            manager: s("manager").to_string(),
            operation,
            api_version: s("apiVersion").to_string(),
            time: m.get("time").and_then(Value::as_str).map(str::to_string),
            fields,
            subresource: Some(s("subresource")).filter(|x| !x.is_empty()).map(str::to_string),
        })
    }

    /// The wire form, fields in Go's struct order, empty ones omitted.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), Value::String(self.manager.clone()));
        }
        m.insert("operation".into(), Value::String(self.operation.as_str().into()));
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(sub) = self.subresource.as_ref().filter(|s| !s.is_empty()) {
            m.insert("subresource".into(), Value::String(sub.clone()));
        }
        Value::Object(m)
    }
}

/// Decodes `metadata.managedFields` of `obj` (absent or null gives no entries). Entries with
/// the same manager identity collapse, the later one winning, as in Kubernetes.
pub fn decode_managed_fields(obj: &Value) -> Result<Vec<ManagedEntry>, FieldsError> {
    let Some(mf) = obj.get("metadata").and_then(|m| m.get("managedFields")) else {
        return Ok(Vec::new());
    };
    let items = match mf {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(FieldsError("metadata.managedFields must be a list".to_string())),
    };
    let mut out: Vec<ManagedEntry> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let e = ManagedEntry::from_json(item).map_err(|e| FieldsError(format!("managed fields entry {i}: {e}")))?;
        let id = e.identity();
        match out.iter_mut().find(|x| x.identity() == id) {
            Some(slot) => *slot = e,
            None => out.push(e),
        }
    }
    Ok(out)
}

/// Kubernetes' `sortEncodedManagedFields`: Apply before Update, then oldest first, then by
/// manager, apiVersion and subresource.
pub fn sort_entries(entries: &mut [ManagedEntry]) {
    entries.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then_with(|| time_seconds(p.time.as_deref()).cmp(&time_seconds(q.time.as_deref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.as_deref().unwrap_or("").cmp(q.subresource.as_deref().unwrap_or("")))
    });
}

/// Writes `entries` (sorted, empty sets dropped) into `obj.metadata.managedFields`, or removes
/// the field when none remain (Go omits an empty list). The key keeps its position if present.
pub fn set_managed_fields(obj: &mut Value, mut entries: Vec<ManagedEntry>) {
    let Value::Object(root) = obj else { return };
    entries.retain(|e| !e.fields.is_empty());
    sort_entries(&mut entries);
    if entries.is_empty() {
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            meta.retain(|k, _| k != "managedFields");
        }
        return;
    }
    let list = Value::Array(entries.iter().map(ManagedEntry::to_json).collect());
    let meta = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        meta.insert("managedFields".to_string(), list);
    }
}

/// Unix seconds of an RFC 3339 time; 0 when absent or unparsable (Go sorts a nil time as 0).
fn time_seconds(t: Option<&str>) -> i64 {
    t.and_then(parse_rfc3339).unwrap_or(0)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || rb[3] != b':' || !matches!(rb[0], b'+' | b'-') {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if rb[0] == b'-' {
                -o
            } else {
                o
            }
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// `managedFields: [{}]` (a single empty entry) asks the server to drop all ownership.
/// `[]` does not: clients unaware of the field must not wipe it by accident.
pub fn is_reset_request(managed_fields: Option<&Value>) -> bool {
    match managed_fields {
        Some(Value::Array(items)) if items.len() == 1 => match &items[0] {
            Value::Object(m) => m.values().all(|v| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                _ => false,
            }),
            _ => false,
        },
        _ => false,
    }
}

/// Records a non-apply write (create, update, patch) in `new.metadata.managedFields`, as the
/// apiserver's field manager does for `operation: Update`.
///
/// Which entries to start from: a write to a subresource always starts from `old`'s entries
/// (a status writer cannot edit ownership); otherwise `managedFields: [{}]` in `new` starts
/// from nothing, a valid non-empty list in `new` is taken as written (clients may edit
/// ownership directly), and anything else (absent, `[]`, invalid) keeps `old`'s entries.
///
/// Then every changed, added or removed field is taken away from the other managers, managers
/// left with nothing are dropped, and the fields this write added or changed are added to the
/// entry `{manager, Update, api_version, subresource}`, whose time becomes `time`. A write
/// that changes nothing trackable leaves that entry (and its time) alone.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    api_version: &str,
    time: &str,
    lists: &dyn ListSemantics,
) {
    if !new.is_object() {
        return;
    }
    let subresource = subresource.filter(|s| !s.is_empty());
    let from_old = || old.map(|o| decode_managed_fields(o).unwrap_or_default()).unwrap_or_default();
    let new_mf = new.get("metadata").and_then(|m| m.get("managedFields"));
    let mut entries = if subresource.is_some() {
        from_old()
    } else if is_reset_request(new_mf) {
        Vec::new()
    } else {
        match decode_managed_fields(new) {
            Ok(e) if !e.is_empty() => e,
            _ => from_old(),
        }
    };

    let empty = Value::Object(Map::new());
    let mut old_content = old.cloned().unwrap_or_else(|| empty.clone());
    strip_managed_fields(&mut old_content);
    let mut new_content = new.clone();
    strip_managed_fields(&mut new_content);

    let cmp = compare(&old_content, &new_content, lists);
    let changed = cmp.modified.union(&cmp.added);
    for e in &mut entries {
        e.fields = e.fields.difference(&changed).difference(&cmp.removed);
    }
    let own = changed.difference(&cmp.removed).difference(&strip_set());
    if !own.is_empty() {
        let id = manager_identity(manager, Operation::Update, api_version, subresource);
        match entries.iter_mut().find(|e| e.identity() == id) {
            Some(e) => {
                e.fields.union_with(&own);
                e.time = Some(time.to_string());
            }
            None => entries.push(ManagedEntry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: api_version.to_string(),
                time: Some(time.to_string()),
                fields: own,
                subresource: subresource.map(str::to_string),
            }),
        }
    }
    cap_update_managers(&mut entries, MAX_UPDATE_MANAGERS);
    set_managed_fields(new, entries);
}

/// Kubernetes keeps at most this many `Update` entries (`DefaultMaxUpdateManagers`).
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager that absorbs the oldest updaters beyond the cap.
pub const ANCIENT_CHANGES_MANAGER: &str = "ancient-changes";

/// `capmanagers.go`: while there are more than `max` Update entries, the oldest ones are
/// merged, per apiVersion, into an `ancient-changes` entry carrying the newest merged time.
/// The first (oldest) updater of each apiVersion only marks the version; the second one
/// moves it into the bucket, so every merge removes one entry.
pub fn cap_update_managers(entries: &mut Vec<ManagedEntry>, max: usize) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == Operation::Update && !entries[i].fields.is_empty())
        .collect();
    if updaters.len() <= max {
        return;
    }
    updaters.sort_by(|&i, &j| {
        time_seconds(entries[i].time.as_deref())
            .cmp(&time_seconds(entries[j].time.as_deref()))
            .then_with(|| entries[i].identity().cmp(&entries[j].identity()))
    });
    let mut removed = vec![false; entries.len()];
    let mut first_of_version: BTreeMap<String, usize> = BTreeMap::new();
    let mut length = updaters.len();
    for &i in &updaters {
        if length <= max {
            break;
        }
        let version = entries[i].api_version.clone();
        let bucket_id = manager_identity(ANCIENT_CHANGES_MANAGER, Operation::Update, &version, None);
        if entries[i].identity() == bucket_id {
            // The bucket itself is old: it stays and absorbs later updaters of its version.
            first_of_version.entry(version).or_insert(i);
            continue;
        }
        let Some(&first) = first_of_version.get(&version) else {
            first_of_version.insert(version, i);
            continue;
        };
        let bucket = match (0..entries.len()).find(|&b| !removed[b] && entries[b].identity() == bucket_id) {
            Some(b) => b,
            None => {
                // The version's first updater becomes the bucket.
                entries[first].manager = ANCIENT_CHANGES_MANAGER.to_string();
                entries[first].subresource = None;
                first
            }
        };
        let fields = entries[i].fields.clone();
        let time = entries[i].time.clone();
        entries[bucket].fields.union_with(&fields);
        entries[bucket].time = time;
        removed[i] = true;
        length -= 1;
    }
    let mut idx = 0;
    entries.retain(|_| {
        let keep = !removed[idx];
        idx += 1;
        keep
    });
}

/// Removes `metadata.managedFields` (ownership is never part of the compared content).
pub(crate) fn strip_managed_fields(obj: &mut Value) {
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.retain(|k, _| k != "managedFields");
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::Field(n.to_string())
    }

    #[test]
    fn fields_v1_round_trip_with_dot() {
        let v = json!({"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:size":{}}});
        let s = FieldSet::from_fields_v1(&v).unwrap();
        assert!(s.contains(&[f("spec")]));
        assert!(s.contains(&[f("spec"), f("size")]));
        assert!(s.contains(&[f("metadata"), f("labels")]));
        assert!(!s.contains(&[f("metadata")]));
        assert_eq!(s.to_fields_v1(), v);
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn keyed_value_and_index_elements() {
        let v = json!({"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}},
            "f:finalizers":{"v:\"a\"":{}},"f:args":{"i:0":{}}}});
        let s = FieldSet::from_fields_v1(&v).unwrap();
        let key = PathElement::Key(vec![("name".into(), json!("app"))]);
        assert!(s.contains(&[f("spec"), f("containers"), key.clone(), f("image")]));
        assert!(s.contains(&[f("spec"), f("containers"), key.clone()]));
        assert!(s.contains(&[f("spec"), f("finalizers"), PathElement::Value(json!("a"))]));
        assert!(s.contains(&[f("spec"), f("args"), PathElement::Index(0)]));
        assert_eq!(s.to_fields_v1(), v);
        assert_eq!(
            path_to_string(&[f("spec"), f("containers"), key, f("image")]),
            ".spec.containers[name=\"app\"].image"
        );
    }

    #[test]
    fn key_serialisation_sorts_and_escapes_like_go() {
        let pe = PathElement::Key(vec![("containerPort".into(), json!(80)), ("protocol".into(), json!("TCP"))]);
        assert_eq!(pe.to_key(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        let parsed = PathElement::from_key(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap().unwrap();
        assert_eq!(parsed, pe);
        assert_eq!(PathElement::Value(json!("a<b")).to_key(), r#"v:"a\u003cb""#);
    }

    #[test]
    fn bad_fields_v1_is_an_error_and_unknown_types_are_skipped() {
        assert!(FieldSet::from_fields_v1(&json!([1])).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"x":{}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"k:[1]":{}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 3})).is_err());
        let s = FieldSet::from_fields_v1(&json!({"z:whatever":{},"f:a":{}})).unwrap();
        assert_eq!(s.to_fields_v1(), json!({"f:a":{}}));
    }

    #[test]
    fn set_operations() {
        let mut a = FieldSet::new();
        a.insert(&[f("spec"), f("a")]);
        a.insert(&[f("spec"), f("b")]);
        let mut b = FieldSet::new();
        b.insert(&[f("spec"), f("b")]);
        b.insert(&[f("status")]);
        assert_eq!(a.intersection(&b).paths(), vec![vec![f("spec"), f("b")]]);
        assert_eq!(a.difference(&b).paths(), vec![vec![f("spec"), f("a")]]);
        assert_eq!(a.union(&b).len(), 3);
        // Members are listed before children at each level.
        assert_eq!(a.union(&b).paths()[0], vec![f("status")]);
    }

    #[test]
    fn fields_of_skips_identity_metadata() {
        let obj = json!({"apiVersion":"v1","kind":"ConfigMap",
            "metadata":{"name":"x","namespace":"d","uid":"u","resourceVersion":"1","labels":{"a":"1"},
                        "finalizers":["f1"],"managedFields":[{"manager":"m"}]},
            "data":{"k":"v"}});
        let s = fields_of(&obj, &AtomicLists);
        assert_eq!(
            s.to_fields_v1(),
            json!({"f:data":{"f:k":{}},"f:metadata":{"f:finalizers":{"v:\"f1\"":{}},"f:labels":{"f:a":{}}}})
        );
    }

    #[test]
    fn schema_lists_read_extensions() {
        let schema = json!({"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","properties":{
            "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["port","protocol"],
                     "items":{"type":"object","properties":{"protocol":{"type":"string","default":"TCP"}}}},
            "tags":{"type":"array","x-kubernetes-list-type":"set"},
            "sel":{"type":"object","x-kubernetes-map-type":"atomic"},
            "plain":{"type":"array"}}}}}});
        let l = SchemaLists::new(&schema);
        let p = |n: &str| vec![f("spec"), f(n)];
        match l.list_type(&p("ports")) {
            ListType::Map(keys) => {
                assert_eq!(keys[0].name, "port");
                assert_eq!(keys[1].default, Some(json!("TCP")));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(l.list_type(&p("tags")), ListType::Set);
        assert_eq!(l.list_type(&p("plain")), ListType::Atomic);
        assert_eq!(l.list_type(&p("missing")), ListType::Atomic);
        assert!(l.map_is_atomic(&p("sel")));
        let obj = json!({"spec":{"ports":[{"port":80}],"sel":{"a":"b"}}});
        assert_eq!(
            fields_of(&obj, &l).to_fields_v1(),
            json!({"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{}}},"f:sel":{}}})
        );
    }

    #[test]
    fn builtin_atomic_maps_and_owner_references() {
        let obj = json!({"metadata":{"name":"d","ownerReferences":[{"apiVersion":"v1","kind":"X","name":"o","uid":"u1"}]},
            "spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"nodeSelector":{"k":"v"},
                "containers":[{"name":"c","ports":[{"containerPort":80}]}]}}}});
        assert_eq!(
            fields_of(&obj, &BuiltinLists).to_fields_v1(),
            json!({"f:metadata":{"f:ownerReferences":{"k:{\"uid\":\"u1\"}":{}}},
                "f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:name":{},
                    "f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}},
                    "f:nodeSelector":{}}}}})
        );
    }

    #[test]
    fn strict_fields_reject_missing_and_duplicate_keys() {
        let l = BuiltinLists;
        let missing = json!({"spec":{"containers":[{"image":"x"}]}});
        let e = try_fields_of(&missing, &l).unwrap_err();
        assert!(e.contains("omits key field \"name\""), "{e}");
        let dup = json!({"spec":{"containers":[{"name":"a"},{"name":"a"}]}});
        assert!(try_fields_of(&dup, &l).unwrap_err().contains("duplicate entries for key [name=\"a\"]"));
        // Lenient mode names the item by index instead.
        assert!(fields_of(&missing, &l).contains(&[f("spec"), f("containers"), PathElement::Index(0)]));
    }

    #[test]
    fn record_update_on_create_marks_containers_with_dot() {
        let mut obj = json!({"apiVersion":"example.com/v1","kind":"Widget",
            "metadata":{"name":"w","labels":{"app":"x"}},"spec":{"size":1}});
        record_update(
            None,
            &mut obj,
            "kubectl-client-side-apply",
            None,
            "example.com/v1",
            "2024-01-01T00:00:00Z",
            &AtomicLists,
        );
        assert_eq!(
            obj["metadata"]["managedFields"],
            json!([{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"example.com/v1",
                "time":"2024-01-01T00:00:00Z","fieldsType":"FieldsV1",
                "fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:size":{}}}}])
        );
    }

    #[test]
    fn record_update_moves_ownership_and_drops_empty_managers() {
        let mut obj = json!({"metadata":{"name":"w"},"spec":{"a":1,"b":1}});
        record_update(None, &mut obj, "one", None, "v1", "2024-01-01T00:00:00Z", &AtomicLists);
        let old = obj.clone();
        let mut next = old.clone();
        next["spec"]["a"] = json!(2);
        next["spec"]["b"] = json!(2);
        record_update(Some(&old), &mut next, "two", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
        let mf = next["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[0]["manager"], "one");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:spec":{}}));
        assert_eq!(mf[1]["manager"], "two");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:spec":{"f:a":{},"f:b":{}}}));

        // A write that changes nothing keeps the entries (and times) untouched.
        let same_old = next.clone();
        let mut same = next.clone();
        record_update(Some(&same_old), &mut same, "three", None, "v1", "2024-01-03T00:00:00Z", &AtomicLists);
        assert_eq!(same, same_old);

        // Removing everything "one" owned drops it.
        let mut gone = next.clone();
        gone.as_object_mut().unwrap().remove("spec");
        record_update(Some(&next), &mut gone, "two", None, "v1", "2024-01-04T00:00:00Z", &AtomicLists);
        assert!(gone["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn record_update_reset_and_empty_list() {
        let mut obj = json!({"metadata":{"name":"w"},"spec":{"a":1}});
        record_update(None, &mut obj, "one", None, "v1", "2024-01-01T00:00:00Z", &AtomicLists);
        let old = obj.clone();

        let mut keep = old.clone();
        keep["metadata"]["managedFields"] = json!([]);
        record_update(Some(&old), &mut keep, "two", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
        assert_eq!(keep["metadata"]["managedFields"], old["metadata"]["managedFields"]);

        let mut clear = old.clone();
        clear["metadata"]["managedFields"] = json!([{}]);
        record_update(Some(&old), &mut clear, "two", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
        assert!(clear["metadata"].get("managedFields").is_none());

        // A subresource write cannot rewrite ownership.
        let mut status = old.clone();
        status["metadata"]["managedFields"] = json!([{}]);
        status["status"] = json!({"ready":true});
        record_update(Some(&old), &mut status, "ctl", Some("status"), "v1", "2024-01-02T00:00:00Z", &AtomicLists);
        let mf = status["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[1]["subresource"], "status");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:status":{".":{},"f:ready":{}}}));
    }

    #[test]
    fn record_update_accepts_client_written_entries() {
        let mut obj = json!({"metadata":{"name":"w"},"spec":{"a":1}});
        record_update(None, &mut obj, "one", None, "v1", "2024-01-01T00:00:00Z", &AtomicLists);
        let old = obj.clone();
        let mut edited = old.clone();
        edited["metadata"]["managedFields"] = json!([{"manager":"renamed","operation":"Apply","apiVersion":"v1",
            "fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:a":{}}}}]);
        record_update(Some(&old), &mut edited, "x", None, "v1", "2024-01-02T00:00:00Z", &AtomicLists);
        assert_eq!(edited["metadata"]["managedFields"][0]["manager"], "renamed");
        assert_eq!(edited["metadata"]["managedFields"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn keyed_list_changes_are_per_item() {
        let old = json!({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"1"}]}});
        let new = json!({"spec":{"containers":[{"name":"b","image":"2"},{"name":"a","image":"1"}]}});
        let c = compare(&old, &new, &BuiltinLists);
        let key = |n: &str| PathElement::Key(vec![("name".into(), json!(n))]);
        assert_eq!(c.modified.paths(), vec![vec![f("spec"), f("containers"), key("b"), f("image")]]);
        assert!(c.added.is_empty() && c.removed.is_empty());
    }

    #[test]
    fn sorting_follows_kubernetes() {
        let e = |m: &str, op: Operation, t: Option<&str>| ManagedEntry {
            manager: m.into(),
            operation: op,
            api_version: "v1".into(),
            time: t.map(str::to_string),
            fields: FieldSet::from_fields_v1(&json!({"f:a":{}})).unwrap(),
            subresource: None,
        };
        let mut v = vec![
            e("b", Operation::Update, Some("2024-01-01T00:00:00Z")),
            e("a", Operation::Update, Some("2024-01-02T00:00:00+01:00")),
            e("z", Operation::Apply, Some("2025-01-01T00:00:00Z")),
            e("c", Operation::Update, None),
        ];
        sort_entries(&mut v);
        let names: Vec<&str> = v.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(names, ["z", "c", "b", "a"]);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00.5Z"), Some(1709208000));
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn identity_and_description() {
        assert_eq!(
            manager_identity("m", Operation::Update, "v1", Some("status")),
            r#"{"manager":"m","operation":"Update","apiVersion":"v1","subresource":"status"}"#
        );
        assert_eq!(manager_identity("m", Operation::Apply, "v1", None), r#"{"manager":"m","operation":"Apply"}"#);
        assert_eq!(describe_manager("m", Operation::Update, "apps/v1", None), r#""m" using apps/v1"#);
        assert_eq!(
            describe_manager("m", Operation::Apply, "apps/v1", Some("status")),
            r#""m" with subresource "status""#
        );
    }

    #[test]
    fn update_managers_are_capped_into_ancient_changes() {
        let mut obj = json!({"metadata":{"name":"w"},"spec":{}});
        for i in 0..12 {
            let old = obj.clone();
            obj["spec"][format!("f{i}")] = json!(i);
            let t = format!("2024-01-01T00:00:{i:02}Z");
            record_update(Some(&old), &mut obj, &format!("m{i:02}"), None, "v1", &t, &AtomicLists);
        }
        let mf = obj["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 10);
        let bucket = mf.iter().find(|e| e["manager"] == ANCIENT_CHANGES_MANAGER).unwrap();
        // m00, m01 and m02 went into the bucket, which carries the newest of their times.
        assert_eq!(bucket["time"], "2024-01-01T00:00:02Z");
        assert_eq!(bucket["fieldsV1"], json!({"f:spec":{"f:f0":{},"f:f1":{},"f:f2":{}}}));
        assert!(mf.iter().all(|e| e["manager"] != "m00" && e["manager"] != "m02"));
    }

    #[test]
    fn decode_rejects_invalid_entries() {
        let bad = |e: Value| decode_managed_fields(&json!({"metadata":{"managedFields":[e]}})).is_err();
        assert!(bad(json!({"manager":"m","operation":"Patch","apiVersion":"v1","fieldsType":"FieldsV1"})));
        assert!(bad(json!({"manager":"m","operation":"Apply","fieldsType":"FieldsV1"})));
        assert!(bad(json!({"manager":"m","operation":"Apply","apiVersion":"v1"})));
        assert!(bad(json!("x")));
        assert!(decode_managed_fields(&json!({"metadata":{"managedFields":3}})).is_err());
        assert!(decode_managed_fields(&json!({"metadata":{}})).unwrap().is_empty());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(|n| json!(n)),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c:.{}\"]{0,3}|f:[a-c]|k:\\{\"name\":\"a\"\\}|v:1|i:0", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn fields_v1_parse_never_panics_and_round_trips(v in arb_json()) {
            if let Ok(s) = FieldSet::from_fields_v1(&v) {
                let again = FieldSet::from_fields_v1(&s.to_fields_v1()).unwrap();
                prop_assert_eq!(again, s);
            }
        }

        #[test]
        fn record_update_never_panics(old in arb_json(), new in arb_json(), mf in arb_json()) {
            let mut new = new;
            if let Value::Object(m) = &mut new {
                m.insert("metadata".into(), json!({"managedFields": mf}));
            }
            record_update(Some(&old), &mut new, "m", None, "v1", "2024-01-01T00:00:00Z", &BuiltinLists);
            let mut again = new.clone();
            record_update(Some(&new), &mut again, "m", None, "v1", "2024-01-01T00:00:00Z", &BuiltinLists);
            // Recording a write that changes nothing is a no-op.
            prop_assert_eq!(again, new);
        }
    }
}
