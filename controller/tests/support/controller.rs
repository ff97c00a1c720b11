//! `eno run` processes against an [`EnoDev`] server, as the chart's controller ServiceAccount,
//! with their logs kept and their ops endpoint scraped.

use super::EnoDev;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A kubeconfig for `dev` with the token `kubectl create token` hands the chart's controller
/// ServiceAccount (installed by `helm install ... --namespace eno-system`).
pub fn chart_controller_kubeconfig(dev: &EnoDev) -> PathBuf {
    let token = dev.ok(&["create", "token", "eno-controller", "-n", "eno-system"]).trim().to_string();
    let mut config: serde_json::Value = dev.json(&["config", "view", "--raw"]);
    config["users"][0]["user"] = serde_json::json!({"token": token});
    dev.file("controller.kubeconfig", &serde_json::to_string(&config).expect("JSON"))
}

/// One `eno run` process; killed when dropped.
pub struct Controller {
    child: Child,
    log: tempfile::NamedTempFile,
}

impl Controller {
    /// `eno run --executor local --synthesis-namespace eno-system --kubeconfig KUBECONFIG` plus
    /// `flags`, logging JSON lines at info into a file of its own.
    pub fn start(kubeconfig: &std::path::Path, flags: &[&str]) -> Controller {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_eno"))
            .args(["--log-format", "json", "run", "--executor", "local", "--synthesis-namespace", "eno-system", "--kubeconfig"])
            .arg(kubeconfig)
            .args(flags)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("log"))
            .spawn()
            .expect("eno run starts");
        Controller { child, log }
    }

    pub fn log(&self) -> String {
        let mut text = String::new();
        let _ = self.log.reopen().and_then(|mut f| f.read_to_string(&mut text));
        text
    }

    /// The fields of each log line (`message` among them).
    pub fn log_events(&self) -> Vec<serde_json::Value> {
        self.log().lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).map(|mut line| line["fields"].take()).collect()
    }

    /// The fields of the first log line whose message starts with `message`.
    pub fn logged(&self, message: &str) -> Option<serde_json::Value> {
        self.log_events().into_iter().find(|e| e["message"].as_str().is_some_and(|m| m.starts_with(message)))
    }

    /// The port its ops endpoint listens on (started with `--ops-address 127.0.0.1:0`), from
    /// its log.
    pub fn ops_port(&self) -> u16 {
        super::eventually(Duration::from_secs(30), "the ops endpoint's address in the log", || {
            let address = self.logged("serving /metrics")?["address"].as_str()?.to_string();
            address.rsplit(':').next()?.parse().ok()
        })
    }

    /// SIGKILL: gone at once, nothing released.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for it to exit (at most `within`).
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "eno run did not exit within {within:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `GET path` over plain HTTP/1.0: the status code and the body.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// `/metrics` of the ops endpoint on `port`, parsed as a Prometheus scraper does.
pub fn scrape(port: u16) -> prometheus_parse::Scrape {
    let (status, body) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200);
    let lines = body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("/metrics parses as the Prometheus text format")
}

/// The value of the sample `name` whose labels include `labels`.
pub fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}
