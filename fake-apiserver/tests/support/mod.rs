//! A server on a loopback port and a raw HTTP/1.1 client: requests exactly as written, so
//! malformed ones reach the server unchanged.

#![allow(dead_code)]

use fake_apiserver::clock::SystemClock;
use fake_apiserver::http::{serve, HttpConfig};
use fake_apiserver::server::{ApiServer, Config};
use fake_apiserver::SharedApiServer;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Server {
    pub shared: SharedApiServer,
    pub addr: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn start() -> Server {
    let shared = SharedApiServer::new(ApiServer::new(Config::default(), Arc::new(SystemClock)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(shared.clone(), listener, HttpConfig::default(), async {
        let _ = stopped.await;
    }));
    Server { shared, addr, _stop: stop }
}

pub struct Reply {
    pub code: u16,
    pub content_type: String,
    /// `Warning` header values, in order.
    pub warnings: Vec<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One raw request (`Connection: close`) with the given headers.
pub async fn send(addr: std::net::SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading a huge body; a failed write is fine then.
    let _ = conn.write_all(body).await;
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw).await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_default();
    let warnings = head
        .lines()
        .filter_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("warning")).map(|(_, v)| v.trim().to_string()))
        .collect();
    let mut body = raw[split..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Reply { code, content_type, warnings, body }
}

/// A request with a Content-Type; returns the status code and the JSON body.
pub async fn request(addr: std::net::SocketAddr, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let reply = send(addr, method, path, &[("Content-Type", content_type)], body).await;
    (reply.code, reply.json())
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
