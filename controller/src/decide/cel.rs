//! CEL evaluation for readiness checks, override conditions and a shard's resource filter.
//!
//! Expressions see two variables, as in Eno (overrides a third, see [`eval_for_path`]): `self`, the live object (`{}` when it does not
//! exist, so `has(self.status)` is simply false), and `composition`, the owning composition's
//! metadata (`name`, `namespace`, `labels`, `annotations`, `deletionTimestamp`). Missing
//! label/annotation maps are empty maps, so `'k' in composition.metadata.annotations` works on
//! any composition.
//!
//! Compiled programs are cached by expression text: the same few expressions are evaluated on
//! every pass of every resource. The cache only memoizes a pure function (its contents never
//! change a result), and error messages never print CEL map values, whose iteration order is
//! a hash order. (An expression that itself turns a map into a list, `m.map(k, ...)`, gets
//! CEL's unspecified key order, as in every CEL implementation.)

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use kube_cel::cel::{self, Context, ExecutionError, Program};
use kube_cel::KubeCelExt;
use serde_json::{Map, Number, Value};

use super::memo::Memo;
use crate::api::Composition;

/// Why an expression produced no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CelError {
    #[error("invalid CEL expression {expression:?}: {message}")]
    Compile { expression: String, message: String },
    #[error("evaluating {expression:?}: {message}")]
    Eval { expression: String, message: String },
    #[error("{expression:?} evaluated to a {kind}, which has no JSON form")]
    Unrepresentable { expression: String, kind: String },
}

thread_local! {
    static PROGRAMS: Memo<Result<Compiled, String>> = const { Memo::new() };
}

/// A compiled expression, and which of the variables it reads: the others are not handed to
/// it, since CEL copies each variable's whole tree in (the live object can be large).
struct Compiled {
    program: Program,
    reads_self: bool,
    reads_composition: bool,
}

impl Compiled {
    fn new(program: Program) -> Self {
        let references = program.references();
        let (reads_self, reads_composition) = (references.has_variable("self"), references.has_variable("composition"));
        Compiled { program, reads_self, reads_composition }
    }
}

fn compiled(expression: &str) -> Rc<Result<Compiled, String>> {
    PROGRAMS.with(|programs| programs.get(expression, |e| Program::compile(e).map(Compiled::new).map_err(|e| e.to_string())))
}

/// Whether `expression` compiles (e.g. a filter given on the command line, checked at start).
pub fn check(expression: &str) -> Result<(), CelError> {
    match compiled(expression).as_ref() {
        Ok(_) => Ok(()),
        Err(message) => Err(CelError::Compile { expression: expression.to_owned(), message: message.clone() }),
    }
}

/// The variables an expression is evaluated with.
#[derive(Clone, Debug, PartialEq)]
pub struct Vars<'a> {
    /// The live object, `None` when it does not exist.
    pub live: Option<&'a Value>,
    /// The composition view, see [`composition_view`].
    pub composition: &'a Value,
}

/// Evaluates `expression` and returns its result as JSON.
pub fn eval(expression: &str, vars: &Vars<'_>) -> Result<Value, CelError> {
    eval_inner(expression, vars, None)
}

/// As [`eval`] for an override's expressions, which see one more variable, as in Eno:
/// `pathManagedByEno`, whether Eno owns the field the override targets.
pub fn eval_for_path(expression: &str, vars: &Vars<'_>, path_managed_by_eno: bool) -> Result<Value, CelError> {
    eval_inner(expression, vars, Some(path_managed_by_eno))
}

fn eval_inner(expression: &str, vars: &Vars<'_>, path_managed_by_eno: Option<bool>) -> Result<Value, CelError> {
    let program = compiled(expression);
    let compiled = program
        .as_ref()
        .as_ref()
        .map_err(|message| CelError::Compile { expression: expression.to_owned(), message: message.clone() })?;
    let empty = Value::Object(Map::new());
    let result = FUNCTIONS.with(|functions| {
        let mut ctx = functions.new_inner_scope();
        if compiled.reads_self {
            ctx.add_variable_from_value("self", to_cel(vars.live.unwrap_or(&empty)));
        }
        if compiled.reads_composition {
            ctx.add_variable_from_value("composition", to_cel(vars.composition));
        }
        if let Some(managed) = path_managed_by_eno {
            ctx.add_variable_from_value("pathManagedByEno", cel::Value::Bool(managed));
        }
        compiled.program.execute(&ctx)
    });
    let result = result.map_err(|e| CelError::Eval { expression: expression.to_owned(), message: describe(&e) })?;
    to_json(&result).ok_or_else(|| CelError::Unrepresentable {
        expression: expression.to_owned(),
        kind: result.type_of().to_string(),
    })
}

thread_local! {
    // Registering the functions costs more than most evaluations; each evaluation's variables
    // live in a scope of its own over this one.
    static FUNCTIONS: Context<'static> = context();
}

/// A context with Eno's functions: CEL's standard ones, the Kubernetes extensions enabled in
/// `Cargo.toml`, and `compareResourceQuantities`.
fn context() -> Context<'static> {
    let mut ctx = Context::default();
    ctx.register_all();
    ctx.add_function("compareResourceQuantities", compare_resource_quantities);
    ctx
}

/// Eno's `compareResourceQuantities(a, b)`: -1, 0 or 1 as quantity `a` (e.g. `"500Mi"`) is
/// less than, equal to or greater than `b`, by Kubernetes' own quantity library.
fn compare_resource_quantities(a: Arc<String>, b: Arc<String>) -> cel::ResolveResult {
    const COMPARE: &str = "quantity(a).compareTo(quantity(b))";
    let program = compiled(COMPARE);
    let program = program
        .as_ref()
        .as_ref()
        .map_err(|e| ExecutionError::function_error("compareResourceQuantities", e))?;
    FUNCTIONS.with(|functions| {
        let mut ctx = functions.new_inner_scope();
        ctx.add_variable_from_value("a", cel::Value::String(a));
        ctx.add_variable_from_value("b", cel::Value::String(b));
        program.program.execute(&ctx)
    })
}

/// The `composition` variable: Eno exposes the composition's metadata only.
pub fn composition_view(comp: &Composition) -> Value {
    let meta = &comp.metadata;
    let map = |m: &Option<BTreeMap<String, String>>| {
        Value::Object(m.iter().flatten().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    };
    let deletion_timestamp =
        meta.deletion_timestamp.as_ref().and_then(|t| serde_json::to_value(t).ok()).unwrap_or(Value::Null);
    serde_json::json!({"metadata": {
        "name": meta.name.clone().unwrap_or_default(),
        "namespace": meta.namespace.clone().unwrap_or_default(),
        "labels": map(&meta.labels),
        "annotations": map(&meta.annotations),
        "deletionTimestamp": deletion_timestamp,
    }})
}

/// JSON → CEL. Integers stay integers (so `self.spec.replicas == 3` holds), other numbers are
/// doubles.
pub fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(fields) => {
            let map: HashMap<cel::objects::Key, cel::Value> = fields
                .iter()
                .map(|(k, v)| (cel::objects::Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            cel::Value::Map(cel::objects::Map { map: Arc::new(map) })
        }
    }
}

/// CEL → JSON; `None` for values JSON cannot carry (functions, opaque values, non-finite
/// doubles). Timestamps become RFC 3339 strings and durations Go-style seconds (`"90s"`), the
/// forms Kubernetes objects use. Object keys come out sorted, whatever the CEL map's order.
pub fn to_json(value: &cel::Value) -> Option<Value> {
    Some(match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => Value::Bool(*b),
        cel::Value::Int(i) => Value::from(*i),
        cel::Value::UInt(u) => Value::from(*u),
        cel::Value::Float(f) => Value::Number(Number::from_f64(*f)?),
        cel::Value::String(s) => Value::String(s.to_string()),
        cel::Value::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        cel::Value::List(items) => Value::Array(items.iter().map(to_json).collect::<Option<_>>()?),
        cel::Value::Map(map) => {
            let mut fields = BTreeMap::new();
            for (key, value) in map.map.iter() {
                let key = match key {
                    cel::objects::Key::String(s) => s.to_string(),
                    cel::objects::Key::Int(i) => i.to_string(),
                    cel::objects::Key::Uint(u) => u.to_string(),
                    cel::objects::Key::Bool(b) => b.to_string(),
                };
                fields.insert(key, to_json(value)?);
            }
            Value::Object(fields.into_iter().collect())
        }
        cel::Value::Timestamp(t) => Value::String(t.to_rfc3339()),
        cel::Value::Duration(d) => Value::String(format!("{}s", d.num_milliseconds() as f64 / 1000.0)),
        cel::Value::Function(..) | cel::Value::Opaque(_) => return None,
    })
}

/// An execution error as text that names types, never values: a value's debug form would
/// print CEL maps in hash order.
fn describe(error: &ExecutionError) -> String {
    use ExecutionError as E;
    match error {
        E::UnsupportedTargetType { target } => format!("invalid argument type {}", target.type_of()),
        E::NotSupportedAsMethod { method, target } => {
            format!("method {method:?} is not supported on {}", target.type_of())
        }
        E::UnsupportedKeyType(v) => format!("a {} cannot be a map key", v.type_of()),
        E::ValuesNotComparable(a, b) => format!("a {} cannot be compared to a {}", a.type_of(), b.type_of()),
        E::UnsupportedUnaryOperator(op, v) => format!("operator {op:?} does not apply to a {}", v.type_of()),
        E::UnsupportedBinaryOperator(op, a, b) | E::Overflow(op, a, b) => {
            format!("operator {op:?} fails on a {} and a {}", a.type_of(), b.type_of())
        }
        E::UnsupportedMapIndex(v) | E::UnsupportedListIndex(v) | E::UnsupportedIndex(v, _) => {
            format!("cannot index with a {}", v.type_of())
        }
        E::DivisionByZero(_) | E::RemainderByZero(_) => "division by zero".to_owned(),
        E::IndexOutOfBounds(v) => format!("index out of bounds: {}", to_json(v).map_or_else(String::new, |j| j.to_string())),
        E::UnsupportedFunctionCallIdentifierType(_) => "unsupported function call".to_owned(),
        E::UnsupportedFieldsConstruction(_) => "message construction is not supported".to_owned(),
        // The remaining variants carry names and counts only.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
