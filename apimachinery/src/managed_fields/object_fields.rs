//! The field sets of objects: which fields an object sets, and what changed between two
//! versions of one (structured-merge-diff's `ToFieldSet` and `Compare`).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use super::lists::{item_pe, item_pe_lenient, list_type_at, map_atomic_at};
use super::{path_to_string, FieldSet, ListSemantics, ListType, PathElement};

/// Paths Kubernetes never records in managedFields (`stripmeta.go`): identity and
/// server-owned metadata. Removal is by exact path.
pub fn strip_set() -> FieldSet {
    strip_set_ref().clone()
}

/// [`strip_set`], built once.
pub(crate) fn strip_set_ref() -> &'static FieldSet {
    static STRIP: std::sync::OnceLock<FieldSet> = std::sync::OnceLock::new();
    STRIP.get_or_init(build_strip_set)
}

fn build_strip_set() -> FieldSet {
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
    set.difference(strip_set_ref())
}

/// [`fields_of`] for an applied configuration: list items without their keys and duplicate
/// keys are errors, as they are for a real server.
pub fn try_fields_of(obj: &Value, lists: &dyn ListSemantics) -> Result<FieldSet, String> {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    walk_fields(obj, &mut path, lists, &mut set, true)?;
    Ok(set.difference(strip_set_ref()))
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
    compare_walk(old, new, lists, false)
}

/// [`compare`] of the two objects' content: `metadata.managedFields` is skipped, as if removed
/// from both (ownership is never part of the compared content). In place, so a write need not
/// copy both versions of its object to strip them.
pub(crate) fn compare_content(old: &Value, new: &Value, lists: &dyn ListSemantics) -> Comparison {
    compare_walk(old, new, lists, true)
}

fn compare_walk(old: &Value, new: &Value, lists: &dyn ListSemantics, skip_managed_fields: bool) -> Comparison {
    let mut walk = CompareWalk { lists, skip_managed_fields, out: Comparison::default() };
    let mut path = Vec::new();
    walk.walk(Some(old), Some(new), &mut path);
    walk.out
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

/// One comparison's walk over both objects.
struct CompareWalk<'a> {
    lists: &'a dyn ListSemantics,
    /// Skip `metadata.managedFields` ([`compare_content`]).
    skip_managed_fields: bool,
    out: Comparison,
}

impl CompareWalk<'_> {
    fn walk(&mut self, l: Option<&Value>, r: Option<&Value>, path: &mut Vec<PathElement>) {
        match (l, r) {
            (None, None) => {}
            (None, Some(_)) => self.out.added.insert(path),
            (Some(_), None) => self.out.removed.insert(path),
            (Some(a), Some(b)) if kind(a) != kind(b) => {
                // A type change: the leaf changed, the old children went, the new ones came.
                self.out.modified.insert(path);
                self.descend(Some(a), None, path);
                self.descend(None, Some(b), path);
                return;
            }
            _ => {}
        }
        self.descend(l, r, path);
    }

    /// Whether `key` under `path` is the skipped `metadata.managedFields`.
    fn skipped(&self, path: &[PathElement], key: &str) -> bool {
        self.skip_managed_fields && key == "managedFields" && matches!(path, [PathElement::Field(m)] if m == "metadata")
    }

    /// Compares the children of `l` and `r`, which are of the same kind or absent.
    fn descend(&mut self, l: Option<&Value>, r: Option<&Value>, path: &mut Vec<PathElement>) {
        let Some(k) = l.or(r).map(kind) else { return };
        let leaf = |out: &mut Comparison, path: &[PathElement]| {
            if let (Some(a), Some(b)) = (l, r) {
                if a != b {
                    out.modified.insert(path);
                }
            }
        };
        let lists = self.lists;
        match k {
            Kind::Scalar => leaf(&mut self.out, path),
            Kind::Map => {
                let lm = l.and_then(Value::as_object);
                let rm = r.and_then(Value::as_object);
                // Emptiness as if the skipped field were not there; two empty maps are equal.
                let empty = |m: Option<&serde_json::Map<String, Value>>| m.is_none_or(|m| m.keys().all(|k| self.skipped(path, k)));
                if empty(lm) && empty(rm) {
                    return;
                }
                if map_atomic_at(lists, path) {
                    leaf(&mut self.out, path);
                    return;
                }
                if let Some(lm) = lm {
                    for (key, lv) in lm {
                        if self.skipped(path, key) {
                            continue;
                        }
                        path.push(PathElement::Field(key.clone()));
                        self.walk(Some(lv), rm.and_then(|m| m.get(key)), path);
                        path.pop();
                    }
                }
                if let Some(rm) = rm {
                    for (key, rv) in rm {
                        if lm.is_some_and(|m| m.contains_key(key)) || self.skipped(path, key) {
                            continue;
                        }
                        path.push(PathElement::Field(key.clone()));
                        self.walk(None, Some(rv), path);
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
                    leaf(&mut self.out, path);
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
                    self.walk(get(la, *li), rv, path);
                    path.pop();
                }
                for (pe, ri) in &ridx {
                    if lset.contains(pe) {
                        continue;
                    }
                    path.push(pe.clone());
                    self.walk(None, get(ra, *ri), path);
                    path.pop();
                }
            }
        }
    }
}

/// Removes `metadata.managedFields` (ownership is never part of the compared content).
pub(crate) fn strip_managed_fields(obj: &mut Value) {
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.retain(|k, _| k != "managedFields");
    }
}
