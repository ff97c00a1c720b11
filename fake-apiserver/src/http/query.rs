//! URL path routing and query-string parsing for the Kubernetes REST layout.

use crate::error::{ApiError, ApiResult};
use std::collections::BTreeMap;

/// Decodes `%XX` escapes (and `+` as space in query strings).
pub fn percent_decode(s: &str, plus_is_space: bool) -> ApiResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or_else(|| ApiError::bad_request(format!("invalid URL escape in {s:?}")))?;
                let b = u8::from_str_radix(hex, 16).map_err(|_| ApiError::bad_request(format!("invalid URL escape in {s:?}")))?;
                out.push(b);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ApiError::bad_request(format!("invalid UTF-8 in {s:?}")))
}

/// Query parameters; a repeated key keeps its last value.
#[derive(Debug, Default)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let mut map = BTreeMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(percent_decode(k, true)?, percent_decode(v, true)?);
        }
        Ok(Query(map))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn flag(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some("true") | Some("1") | Some("") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!("invalid boolean value for {key}: {other:?}"))),
        }
    }

    pub fn number(&self, key: &str) -> ApiResult<Option<u64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(|n| Some(n.max(0) as u64)).map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
        }
    }
}

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Version,
    Health,
    /// `/api` (legacy core group versions).
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion { group: String, version: String },
    OpenApiV3Root,
    OpenApiV3 { group: String, version: String },
    OpenApiV2,
    Resource(ResourcePath),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

pub fn route(path: &str) -> ApiResult<Route> {
    let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(|s| percent_decode(s, false)).collect::<ApiResult<_>>()?;
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let not_found = || ApiError::new(404, "NotFound", "the server could not find the requested resource");
    Ok(match s.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["readyz"] | ["livez"] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["api", v] => Route::GroupVersion { group: String::new(), version: v.to_string() },
        ["apis", g, v] => Route::GroupVersion { group: g.to_string(), version: v.to_string() },
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", "api", v] => Route::OpenApiV3 { group: String::new(), version: v.to_string() },
        ["openapi", "v3", "apis", g, v] => Route::OpenApiV3 { group: g.to_string(), version: v.to_string() },
        ["openapi", "v2"] => Route::OpenApiV2,
        ["api", v, rest @ ..] => Route::Resource(resource_path("", v, rest).ok_or_else(not_found)?),
        ["apis", g, v, rest @ ..] => Route::Resource(resource_path(g, v, rest).ok_or_else(not_found)?),
        _ => return Err(not_found()),
    })
}

fn resource_path(group: &str, version: &str, rest: &[&str]) -> Option<ResourcePath> {
    let make = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace: namespace.map(str::to_string),
        plural: plural.to_string(),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    };
    Some(match rest {
        // `namespaces/<ns>` and its subresources address Namespace objects themselves.
        ["namespaces", name] if group.is_empty() => make(None, "namespaces", Some(name), None),
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => make(None, "namespaces", Some(name), Some(sub)),
        ["namespaces", ns, plural] => make(Some(ns), plural, None, None),
        ["namespaces", ns, plural, name] => make(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => make(Some(ns), plural, Some(name), Some(sub)),
        [plural] => make(None, plural, None, None),
        [plural, name] => make(None, plural, Some(name), None),
        [plural, name, sub] => make(None, plural, Some(name), Some(sub)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/api/v1/namespaces/default").unwrap(), Route::Resource(ResourcePath { group: "".into(), version: "v1".into(), namespace: None, plural: "namespaces".into(), name: Some("default".into()), subresource: None }));
        let Route::Resource(p) = route("/apis/eno.azure.io/v1/namespaces/default/compositions/x/status").unwrap() else { panic!() };
        assert_eq!((p.namespace.as_deref(), p.plural.as_str(), p.name.as_deref(), p.subresource.as_deref()), (Some("default"), "compositions", Some("x"), Some("status")));
        let Route::Resource(p) = route("/apis/eno.azure.io/v1/synthesizers").unwrap() else { panic!() };
        assert_eq!((p.namespace, p.name), (None, None));
        assert!(route("/nope").is_err());
        assert_eq!(route("/apis/eno.azure.io/v1").unwrap(), Route::GroupVersion { group: "eno.azure.io".into(), version: "v1".into() });
    }

    #[test]
    fn queries() {
        let q = Query::parse(Some("labelSelector=app%3Dx%2Cb+in+(c)&limit=5&watch=true&bad")).unwrap();
        assert_eq!(q.get("labelSelector"), Some("app=x,b in (c)"));
        assert_eq!(q.number("limit").unwrap(), Some(5));
        assert_eq!(q.flag("watch").unwrap(), Some(true));
        assert!(Query::parse(Some("a=%zz")).is_err());
        assert!(q.flag("labelSelector").is_err());
    }
}
