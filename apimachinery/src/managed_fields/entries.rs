//! `metadata.managedFields` entries: one per manager, decoded and validated as Kubernetes
//! does, named, sorted and written back.

use serde_json::{Map, Value};

use super::{FieldSet, FieldsError};
use crate::gofmt::go_json_string;

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
    decode_managed_fields_list(obj.get("metadata").and_then(|m| m.get("managedFields")))
}

/// [`decode_managed_fields`] of the `metadata.managedFields` value itself (`None`: absent).
pub fn decode_managed_fields_list(mf: Option<&Value>) -> Result<Vec<ManagedEntry>, FieldsError> {
    let Some(mf) = mf else {
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
    set_managed_fields_kept(obj, &mut entries);
}

/// [`set_managed_fields`] leaving the entries as written (sorted, empty sets dropped) in
/// `entries`.
pub fn set_managed_fields_kept(obj: &mut Value, entries: &mut Vec<ManagedEntry>) {
    let Value::Object(root) = obj else { return };
    entries.retain(|e| !e.fields.is_empty());
    sort_entries(entries);
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
pub(super) fn time_seconds(t: Option<&str>) -> i64 {
    t.and_then(parse_rfc3339).unwrap_or(0)
}

pub(super) fn parse_rfc3339(s: &str) -> Option<i64> {
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
