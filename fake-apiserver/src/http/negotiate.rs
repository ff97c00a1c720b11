//! Content negotiation as the real server does it: which encoding a response is written in
//! (`Accept`), and which a request body was sent in (`Content-Type`).

use super::protobuf::PROTOBUF;
use crate::error::{ApiError, ApiResult};

/// How a response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    /// A server-side printed `meta.k8s.io/v1` Table, in JSON.
    Table,
    Protobuf,
}

/// How a request body was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Json,
    Yaml,
    Protobuf,
}

/// The first `Accept` clause the server can answer, highest `q` first and in the client's order
/// among equals. Protobuf only for kinds that have a message: custom resources are JSON-only, so
/// `protobuf,json` falls back to JSON for them and `protobuf` alone is 406, as the real server
/// answers.
pub fn output(accept: &str, protobuf_capable: bool, watch: bool) -> ApiResult<Output> {
    if accept.trim().is_empty() {
        return Ok(Output::Json);
    }
    let mut clauses: Vec<(f32, usize, &str)> = accept
        .split(',')
        .enumerate()
        .map(|(i, clause)| {
            let q = params(clause).find(|(k, _)| *k == "q").and_then(|(_, v)| v.parse().ok()).unwrap_or(1.0);
            (q, i, clause)
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, clause) in clauses {
        let media = clause.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let table = params(clause).any(|(k, v)| k == "as" && v == "Table");
        let chosen = match media.as_str() {
            "application/json" | "application/yaml" | "application/*" | "*/*" if table => Some(Output::Table),
            "application/json" | "application/yaml" | "application/*" | "*/*" => Some(Output::Json),
            PROTOBUF if protobuf_capable && !table => Some(Output::Protobuf),
            _ => None,
        };
        if let Some(output) = chosen {
            return Ok(output);
        }
    }
    let accepted = if watch {
        "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"
    } else {
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    };
    Err(ApiError::not_acceptable(format!("only the following media types are accepted: {accepted}")))
}

pub fn input(content_type: &str) -> ApiResult<Input> {
    match content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "" | "application/json" | "*/*" => Ok(Input::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" => Ok(Input::Yaml),
        PROTOBUF => Ok(Input::Protobuf),
        _ => Err(ApiError::unsupported_media_type(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )),
    }
}

fn params(clause: &str) -> impl Iterator<Item = (&str, &str)> {
    clause.split(';').skip(1).filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_real_clients_send() {
        let typed = "application/vnd.kubernetes.protobuf,application/json";
        assert_eq!(output(typed, true, false).unwrap(), Output::Protobuf, "client-go's typed clients");
        assert_eq!(output(typed, false, false).unwrap(), Output::Json, "a custom resource falls back to JSON");
        let get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(output(get, true, false).unwrap(), Output::Table, "kubectl get");
        assert_eq!(output("application/json", true, false).unwrap(), Output::Json);
        assert_eq!(output("", true, false).unwrap(), Output::Json);
        assert_eq!(output("application/vnd.kubernetes.protobuf;q=0.5, application/json", true, false).unwrap(), Output::Json, "q orders clauses");
        assert_eq!(output("text/html,*/*;q=0.8", false, false).unwrap(), Output::Json, "a browser");
    }

    #[test]
    fn nothing_acceptable_is_406_naming_what_is() {
        let e = output(PROTOBUF, false, false).unwrap_err();
        assert_eq!(e.code, 406);
        assert_eq!(e.message, "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf");
        let e = output("text/plain", true, true).unwrap_err();
        assert!(e.message.ends_with("application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"), "{}", e.message);
        assert_eq!(output("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", true, false).unwrap_err().code, 406, "tables are JSON only");
    }

    #[test]
    fn body_types() {
        assert_eq!(input("application/vnd.kubernetes.protobuf").unwrap(), Input::Protobuf);
        assert_eq!(input("application/json; charset=utf-8").unwrap(), Input::Json);
        assert_eq!(input("application/yaml").unwrap(), Input::Yaml);
        assert_eq!(input("text/plain").unwrap_err().code, 415);
    }
}
