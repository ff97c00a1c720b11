//! Throughput and memory of the fake API server. `cargo bench -p fake-apiserver` prints the
//! figures recorded in BENCHMARKS.md; under `cargo test` it runs a small smoke pass.

use fake_apiserver::clock::SystemClock;
use fake_apiserver::server::{ApiServer, Config, ListOptions, PatchType, Target, WriteOptions};
use fake_apiserver::SharedApiServer;
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts live heap bytes, so memory per object is measured rather than estimated.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn server(log: usize) -> ApiServer {
    ApiServer::new(Config { event_log_capacity: log, ..Config::default() }, Arc::new(SystemClock))
}

fn configmap(i: usize) -> serde_json::Value {
    json!({"metadata": {"name": format!("cm-{i:06}"), "labels": {"app": "bench", "shard": (i % 10).to_string()}}, "data": {"key": "value", "index": i.to_string()}})
}

fn report(what: &str, n: usize, elapsed: Duration) {
    println!("{what:<40} {n:>8} ops  {:>10.0} ops/s", n as f64 / elapsed.as_secs_f64());
}

fn in_process(n: usize) {
    let mut s = server(10_000);
    let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
    let named = |i: usize| Target { name: Some(format!("cm-{i:06}")), ..t.clone() };
    let opts = WriteOptions::default();

    let start = Instant::now();
    for i in 0..n {
        s.create(&t, configmap(i), &opts).unwrap();
    }
    report("create", n, start.elapsed());

    let start = Instant::now();
    for i in 0..n {
        s.get(&named(i), None).unwrap();
    }
    report("get", n, start.elapsed());

    let start = Instant::now();
    for i in 0..n {
        let patch = json!({"data": {"key": format!("v{i}")}}).to_string();
        s.patch(&named(i), PatchType::Merge, patch.as_bytes(), &opts).unwrap();
    }
    report("update (merge patch)", n, start.elapsed());

    let lists = 50;
    let start = Instant::now();
    for _ in 0..lists {
        let l = s.list(&t, &ListOptions { label_selector: Some("shard=3".into()), ..Default::default() }).unwrap();
        assert_eq!(l.items.len(), n / 10);
    }
    let elapsed = start.elapsed();
    report(&format!("list ({} of {n} match)", n / 10), lists, elapsed);

    // Watch fan-out: W watchers, each polling every committed change.
    let watchers = 100;
    let writes = (n / 10).max(10);
    let from = s.revision().to_string();
    let mut open: Vec<_> = (0..watchers).map(|_| s.watch(&t, &ListOptions { resource_version: Some(from.clone()), ..Default::default() }).unwrap()).collect();
    for i in 0..writes {
        let patch = json!({"data": {"key": format!("w{i}")}}).to_string();
        s.patch(&named(i), PatchType::Merge, patch.as_bytes(), &opts).unwrap();
    }
    let start = Instant::now();
    let mut delivered = 0;
    for w in &mut open {
        delivered += s.poll_watch(w).events.len();
    }
    assert_eq!(delivered, watchers * writes);
    report(&format!("watch fan-out ({watchers} watchers), events"), delivered, start.elapsed());
}

fn memory(n: usize) {
    let before = LIVE.load(Ordering::Relaxed);
    // Event log sized like a real watch cache, not proportional to the object count.
    let mut s = server(1_000);
    let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
    for i in 0..n {
        s.create(&t, configmap(i), &WriteOptions::default()).unwrap();
    }
    let used = LIVE.load(Ordering::Relaxed) - before;
    println!("memory for {n} ConfigMaps: {:.1} MiB ({} bytes/object)", used as f64 / (1 << 20) as f64, used / n);
    drop(s);
}

/// How the HTTP benchmark's requests are encoded.
#[derive(Clone, Copy)]
enum Wire {
    Json,
    Protobuf,
}

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::Json => "JSON",
            Wire::Protobuf => "protobuf",
        }
    }

    fn media(self) -> &'static str {
        match self {
            Wire::Json => "application/json",
            Wire::Protobuf => fake_apiserver::http::protobuf::PROTOBUF,
        }
    }
}

/// What the HTTP benchmark's clients ask for.
#[derive(Clone, Copy, PartialEq)]
enum Request {
    /// GET of one ConfigMap.
    Get,
    /// POST of a new ConfigMap.
    Create,
    /// GET of the ConfigMaps labelled `shard=3`: a tenth of those stored.
    List,
}

impl Request {
    fn name(self) -> &'static str {
        match self {
            Request::Get => "GET",
            Request::Create => "create",
            Request::List => "list",
        }
    }
}

/// Reads one HTTP/1.1 response (headers, then Content-Length bytes of body) into `buf`, which
/// grows to fit; returns the lower-cased head.
async fn read_response(conn: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = 0;
    loop {
        if got == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        got += conn.read(&mut buf[got..]).await.unwrap();
        let text = &buf[..got];
        if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&text[..end]).unwrap().to_ascii_lowercase();
            let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().trim().parse().unwrap();
            if got >= end + 4 + len {
                return head;
            }
        }
    }
}

/// HTTP/1.1 keep-alive requests from `connections` concurrent clients over `stored` ConfigMaps,
/// with bodies and answers in `wire`.
async fn http(requests_per_connection: usize, connections: usize, stored: usize, request: Request, wire: Wire) {
    use tokio::io::AsyncWriteExt;
    let shared = SharedApiServer::new(server(10_000));
    shared.with(|s| {
        let t = s.target_for("v1", "ConfigMap", Some("default"), None).unwrap();
        for i in 0..stored.max(1) {
            s.create(&t, configmap(i), &WriteOptions::default()).unwrap();
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(fake_apiserver::http::serve(shared, listener, Default::default(), async {
        let _ = stopped.await;
    }));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        tasks.push(tokio::spawn(async move {
            let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            for r in 0..requests_per_connection {
                let head = match request {
                    Request::Create => {
                        let mut object = configmap(stored + c * requests_per_connection + r);
                        object["apiVersion"] = json!("v1");
                        object["kind"] = json!("ConfigMap");
                        let body = match wire {
                            Wire::Json => serde_json::to_vec(&object).unwrap(),
                            Wire::Protobuf => fake_apiserver::http::protobuf::Codec::get().encode(&object).unwrap(),
                        };
                        let mut head = format!(
                            "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: bench\r\nContent-Type: {0}\r\nAccept: {0}\r\nContent-Length: {1}\r\n\r\n",
                            wire.media(),
                            body.len()
                        )
                        .into_bytes();
                        head.extend_from_slice(&body);
                        head
                    }
                    Request::Get => format!("GET /api/v1/namespaces/default/configmaps/cm-000000 HTTP/1.1\r\nHost: bench\r\nAccept: {}\r\n\r\n", wire.media()).into_bytes(),
                    Request::List => format!("GET /api/v1/namespaces/default/configmaps?labelSelector=shard%3D3 HTTP/1.1\r\nHost: bench\r\nAccept: {}\r\n\r\n", wire.media()).into_bytes(),
                };
                conn.write_all(&head).await.unwrap();
                let head = read_response(&mut conn, &mut buf).await;
                assert!(head.starts_with(if request == Request::Create { "http/1.1 201" } else { "http/1.1 200" }), "{head}");
                assert!(head.contains(&format!("content-type: {}", wire.media())), "{head}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let of = if request == Request::List { format!(", {} of {stored} match", stored / 10) } else { String::new() };
    let what = format!("HTTP {} {} ({connections} connections{of})", request.name(), wire.name());
    report(&what, requests_per_connection * connections, start.elapsed());
    let _ = stop.send(());
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs this as a quick smoke pass.
    let full = std::env::args().any(|a| a == "--bench");
    let (n, mem, http_requests, http_lists) = if full { (20_000, 100_000, 20_000, 200) } else { (200, 1_000, 100, 8) };
    println!("fake-apiserver benchmark ({} run)", if full { "full" } else { "smoke" });
    in_process(n);
    memory(mem);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for request in [Request::Get, Request::Create] {
        for wire in [Wire::Json, Wire::Protobuf] {
            rt.block_on(http(http_requests / 4, 4, 1, request, wire));
        }
    }
    for wire in [Wire::Json, Wire::Protobuf] {
        rt.block_on(http(http_lists / 4, 4, n, Request::List, wire));
    }
}
