//! Who sent a request: bearer tokens (fixed ones from the configuration, and the ServiceAccount
//! tokens TokenRequest issues), anonymous requests, and impersonation headers; and the
//! authorization attributes of a request's route.

use super::query::{ResourcePath, Route};
use crate::auth::{self, Attributes, Request, User};
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How requests are authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authorization {
    /// Every authenticated or anonymous request is allowed (the kube-apiserver's AlwaysAllow).
    #[default]
    AlwaysAllow,
    /// Kubernetes RBAC over the Roles and bindings in the store; `system:masters` may do anything.
    Rbac,
}

/// A ServiceAccount token TokenRequest handed out.
#[derive(Debug, Clone)]
struct Issued {
    namespace: String,
    name: String,
    uid: String,
    expires: DateTime<Utc>,
}

/// The tokens the server accepts.
#[derive(Debug, Default)]
pub struct Tokens {
    fixed: BTreeMap<String, User>,
    issued: Mutex<BTreeMap<String, Issued>>,
}

/// How an issued token's ServiceAccount looks now: its UID if it still exists.
pub type ServiceAccountUid<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

impl Tokens {
    pub fn new(fixed: &[(String, User)]) -> Self {
        Tokens { fixed: fixed.iter().cloned().collect(), issued: Mutex::default() }
    }

    /// A fresh unguessable token for a ServiceAccount, valid until `expires`.
    pub fn issue(&self, namespace: &str, name: &str, uid: &str, expires: DateTime<Utc>) -> String {
        let token = random_token();
        let issued = Issued { namespace: namespace.into(), name: name.into(), uid: uid.into(), expires };
        self.issued.lock().expect("token table lock").insert(token.clone(), issued);
        token
    }

    /// The request's user: its bearer token's, or anonymous without one. A token that is
    /// unknown, expired, or whose ServiceAccount is gone (or was recreated) is a 401.
    pub fn authenticate(&self, headers: &HeaderMap, now: DateTime<Utc>, service_account_uid: ServiceAccountUid<'_>) -> ApiResult<User> {
        let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(User::anonymous()) };
        let Some((scheme, token)) = value.trim().split_once(' ') else { return Ok(User::anonymous()) };
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Ok(User::anonymous());
        }
        if let Some(user) = self.fixed.get(token) {
            return Ok(user.clone());
        }
        let issued = self.issued.lock().expect("token table lock").get(token).cloned();
        match issued {
            Some(t) if t.expires > now && service_account_uid(&t.namespace, &t.name).as_deref() == Some(t.uid.as_str()) => Ok(User::service_account(&t.namespace, &t.name, &t.uid)),
            _ => Err(ApiError::new(401, "Unauthorized", "Unauthorized")),
        }
    }
}

/// 32 bytes from the operating system's generator, hex-encoded.
pub fn random_token() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // No /dev/urandom: std's per-process random hash keys, mixed with the time.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Impersonate-*` headers: the user to act as, each part checked as the requester's
/// `impersonate` right (`authorize` answers for the requester). Without headers, `user` itself.
pub fn impersonate(user: User, headers: &HeaderMap, uri: &str, authorize: impl Fn(&Attributes) -> ApiResult<()>) -> ApiResult<User> {
    let values = |name: &str| -> Vec<String> { headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect() };
    let target = values("impersonate-user").into_iter().next();
    let groups = values("impersonate-group");
    let uid = values("impersonate-uid").into_iter().next();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix("impersonate-extra-") {
            let key = super::query::percent_decode(key, false).unwrap_or_else(|_| key.to_string());
            extra.entry(key).or_default().extend(value.to_str().ok().map(str::to_string));
        }
    }
    let Some(target) = target else {
        if groups.is_empty() && uid.is_none() && extra.is_empty() {
            return Ok(user);
        }
        let mut asked: Vec<String> = groups.iter().map(|g| format!("group {g:?}")).collect();
        asked.extend(uid.iter().map(|u| format!("uid {u:?}")));
        asked.extend(extra.keys().map(|k| format!("extra {k:?}")));
        return Err(ApiError::new(500, "InternalError", format!("Internal Server Error: {uri:?}: requested [{}] without impersonating a user", asked.join(" "))));
    };
    let check = |verb_target: Request| authorize(&Attributes { user: user.clone(), verb: "impersonate".into(), request: verb_target });
    let service_account = auth::split_service_account(&target).map(|(ns, n)| (ns.to_string(), n.to_string()));
    match &service_account {
        Some((namespace, name)) => check(Request::resource("", "serviceaccounts", namespace, name))?,
        None => check(Request::resource("", "users", "", &target))?,
    }
    for group in &groups {
        check(Request::resource("", "groups", "", group))?;
    }
    for (key, values) in &extra {
        for value in values {
            check(Request::Resource { api_group: "authentication.k8s.io".into(), resource: "userextras".into(), subresource: key.clone(), namespace: String::new(), name: value.clone() })?;
        }
    }
    if let Some(uid) = &uid {
        check(Request::resource("authentication.k8s.io", "uids", "", uid))?;
    }
    let mut acting = User { name: target.clone(), uid: uid.unwrap_or_default(), groups, extra };
    if let (Some((namespace, _)), true) = (&service_account, acting.groups.is_empty()) {
        acting.groups = vec![auth::SERVICE_ACCOUNTS.into(), format!("{}:{namespace}", auth::SERVICE_ACCOUNTS)];
    }
    let has = |g: &str| acting.groups.iter().any(|x| x == g);
    if target == auth::ANONYMOUS {
        if !has(auth::UNAUTHENTICATED) {
            acting.groups.push(auth::UNAUTHENTICATED.into());
        }
    } else if !has(auth::AUTHENTICATED) && !has(auth::UNAUTHENTICATED) {
        acting.groups.push(auth::AUTHENTICATED.into());
    }
    Ok(acting)
}

/// The verb and request the authorizer sees for a route (`RequestInfo`).
pub fn request_of(route: &Route, method: &Method, path: &str, watch: bool) -> (String, Request) {
    let Route::Resource(ResourcePath { group, namespace, plural, name, subresource, .. }) = route else {
        return (method.as_str().to_ascii_lowercase(), Request::NonResource { path: path.to_string() });
    };
    let verb = match (method, name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        (m, _) => return (m.as_str().to_ascii_lowercase(), Request::NonResource { path: path.to_string() }),
    };
    // A Namespace object's own requests are in that namespace.
    let namespace = match (group.as_str(), plural.as_str(), namespace) {
        ("", "namespaces", None) => name.clone().unwrap_or_default(),
        (_, _, ns) => ns.clone().unwrap_or_default(),
    };
    let request = Request::Resource {
        api_group: group.clone(),
        resource: plural.clone(),
        subresource: subresource.clone().unwrap_or_default(),
        namespace,
        name: name.clone().unwrap_or_default(),
    };
    (verb.to_string(), request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn tokens_are_checked_for_expiry_and_their_service_account() {
        let admin = User { name: "admin".into(), groups: vec![auth::MASTERS.into()], ..Default::default() };
        let tokens = Tokens::new(&[("fixed".into(), admin.clone())]);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let token = tokens.issue("team", "app", "uid-1", now + chrono::Duration::seconds(600));
        let same = |_: &str, _: &str| Some("uid-1".to_string());
        let unauthorized = |r: ApiResult<User>| r.is_err_and(|e| e.code == 401 && e.message == "Unauthorized");
        assert_eq!(tokens.authenticate(&bearer(&token), now, &same).unwrap(), User::service_account("team", "app", "uid-1"));
        assert!(unauthorized(tokens.authenticate(&bearer(&token), now + chrono::Duration::seconds(600), &same)), "expired");
        assert!(unauthorized(tokens.authenticate(&bearer(&token), now, &|_, _| Some("uid-2".into()))), "the account was recreated");
        assert!(unauthorized(tokens.authenticate(&bearer(&token), now, &|_, _| None)), "the account is gone");
        assert!(unauthorized(tokens.authenticate(&bearer("nope"), now, &same)), "unknown");
        assert_eq!(tokens.authenticate(&bearer("fixed"), now, &same).unwrap(), admin);
        assert_eq!(tokens.authenticate(&HeaderMap::new(), now, &same).unwrap(), User::anonymous(), "no token");
        let mut basic = HeaderMap::new();
        basic.insert(http::header::AUTHORIZATION, "Basic dTpw".parse().unwrap());
        assert_eq!(tokens.authenticate(&basic, now, &same).unwrap(), User::anonymous(), "not a bearer token");
    }

    #[test]
    fn impersonation_checks_each_part_and_adds_the_groups_a_real_server_adds() {
        let admin = User { name: "admin".into(), groups: vec![auth::MASTERS.into()], ..Default::default() };
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, v.parse().unwrap());
            }
            h
        };
        let allow_all = |_: &Attributes| Ok(());
        let sa = impersonate(admin.clone(), &headers(&[("impersonate-user", "system:serviceaccount:team:app")]), "/", allow_all).unwrap();
        assert_eq!(sa.groups, ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]);
        let jane = impersonate(admin.clone(), &headers(&[("impersonate-user", "jane"), ("impersonate-group", "devs")]), "/", allow_all).unwrap();
        assert_eq!((jane.name.as_str(), jane.groups.clone()), ("jane", vec!["devs".to_string(), "system:authenticated".to_string()]));
        let err = impersonate(admin.clone(), &headers(&[("impersonate-group", "devs")]), "/api", allow_all).unwrap_err();
        assert_eq!((err.code, err.message.as_str()), (500, r#"Internal Server Error: "/api": requested [group "devs"] without impersonating a user"#));
        // Each part is authorized: here groups are refused.
        let no_groups = |a: &Attributes| match &a.request {
            Request::Resource { resource, .. } if resource == "groups" => Err(auth::forbidden(a, "")),
            _ => Ok(()),
        };
        let err = impersonate(admin, &headers(&[("impersonate-user", "jane"), ("impersonate-group", "system:masters")]), "/", no_groups).unwrap_err();
        assert_eq!(err.message, r#"groups "system:masters" is forbidden: User "admin" cannot impersonate resource "groups" in API group "" at the cluster scope"#);
    }
}
