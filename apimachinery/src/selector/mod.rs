//! Label and field selectors, parsed and matched the way the apiserver does.
//!
//! Ports of k8s.io/apimachinery `pkg/labels/selector.go` (the lexer/parser, `NewRequirement`
//! validation and `Matches`), `pkg/apis/meta/v1/helpers.go` (`LabelSelectorAsSelector`) and
//! `pkg/fields/selector.go` (term splitting, escaping). Error texts are the Go ones verbatim,
//! because kubectl prints them to users unchanged.

mod digest;
mod field;
mod label;
mod label_parser;
mod names;

pub use digest::LabelDigest;
pub use field::{field_value, FieldOperator, FieldSelector};
pub use label::{labels_of, LabelSelector, Operator, Requirement};
pub use names::{label_value_errors, qualified_name_errors};

/// A selector that failed to parse or validate; `message` is the apiserver's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    pub message: String,
}

impl SelectorError {
    fn new(message: impl Into<String>) -> Self {
        SelectorError { message: message.into() }
    }
}
