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

    /// The log lines that tell of a request refused as forbidden (a 403).
    pub fn forbidden(&self) -> Vec<String> {
        self.log().lines().filter(|l| l.to_lowercase().contains("forbidden")).map(str::to_string).collect()
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

/// `leader_election_master_status` of the replica whose ops endpoint is on `port`.
pub fn master_status(port: u16) -> Option<f64> {
    sample(&scrape(port), "leader_election_master_status", &[("name", "eno-controller")])
}

/// Where the e2e suite's controllers run, from `ENO_E2E_CONTROLLERS`: embedded in `eno dev`
/// (unset, or `embedded`), or deployed by the chart (`chart`, see [`ChartDeployment`]).
pub fn chart_mode() -> bool {
    match std::env::var("ENO_E2E_CONTROLLERS").as_deref() {
        Ok("chart") => true,
        Ok("embedded") | Err(_) => false,
        Ok(other) => panic!("ENO_E2E_CONTROLLERS must be `embedded` or `chart`, not {other:?}"),
    }
}

/// The `eno dev` flags that, in chart mode, belong to `eno run` instead (each takes a value).
const CONTROLLER_FLAGS: &[&str] = &["--rollout-cooldown", "--self-healing-grace-period", "--watchdog-threshold"];

/// `flags` for `eno dev` split into the controllers' and the API server's.
pub fn split_flags<'a>(flags: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let (mut controllers, mut server) = (Vec::new(), Vec::new());
    let mut rest = flags.iter();
    while let Some(&flag) = rest.next() {
        match CONTROLLER_FLAGS.contains(&flag) {
            true => controllers.extend([Some(flag), rest.next().copied()].into_iter().flatten()),
            false => server.push(flag),
        }
    }
    (controllers, server)
}

/// Rules the e2e suite's compositions need (`managedResources.rules`): the kinds they emit,
/// and nothing more, so a missing grant shows as a 403.
const SUITE_VALUES: &str = r#"managedResources:
  clusterWide: false
  rules:
    - apiGroups: [""]
      resources: [configmaps, namespaces]
    - apiGroups: [apiextensions.k8s.io]
      resources: [customresourcedefinitions]
    - apiGroups: [example.com]
      resources: ["*"]
"#;

/// The controllers as the chart deploys them, against an `eno dev --authorization rbac
/// --no-controllers`: `helm install` into `eno-system`, then two `eno run` replicas with the
/// chart's controller ServiceAccount token, electing a leader over a 2 s lease. The first
/// leader is killed before the test starts, so every test runs on the replica that took over.
pub struct ChartDeployment {
    /// The replica that leads, once the first is gone.
    leader: Controller,
}

const LEADER_ELECTION: &[&str] = &[
    "--leader-election",
    "--leader-election-namespace",
    "eno-system",
    "--leader-election-lease-duration",
    "2s",
    "--leader-election-lease-renew-deadline",
    "1500ms",
    "--leader-election-lease-retry",
    "500ms",
];

impl ChartDeployment {
    /// Installs the chart into `dev` and starts the replicas with `flags` (`eno run` flags)
    /// and `eno dev`'s own defaults where `eno run`'s differ.
    pub fn install(dev: &EnoDev, flags: &[&str]) -> ChartDeployment {
        let values = dev.file("e2e-values.yaml", SUITE_VALUES);
        let chart = super::repo_path("deploy/chart").display().to_string();
        dev.helm_ok(&["install", "eno", &chart, "--namespace", "eno-system", "--create-namespace", "--values", &values.display().to_string()]);
        let kubeconfig = chart_controller_kubeconfig(dev);
        let dev_defaults = ["--self-healing-grace-period", "5s", "--qps", "0", "--input-qps", "0", "--ops-address", "127.0.0.1:0"];
        let all: Vec<&str> = dev_defaults.iter().chain(LEADER_ELECTION).chain(flags).copied().collect();
        let mut replicas = vec![Controller::start(&kubeconfig, &all), Controller::start(&kubeconfig, &all)];
        let ports: Vec<u16> = replicas.iter().map(Controller::ops_port).collect();
        let first = super::eventually(Duration::from_secs(30), "a leader", || (0..2).find(|&i| master_status(ports[i]) == Some(1.0)));
        replicas.remove(first).kill();
        let leader = replicas.pop().expect("the other replica");
        super::eventually(Duration::from_secs(10), "the standby taking over", || (master_status(ports[1 - first]) == Some(1.0)).then_some(()));
        ChartDeployment { leader }
    }

    /// Fails the test if the chart's identity was refused anything (the suite's compositions
    /// emit only kinds [`SUITE_VALUES`] grants).
    pub fn assert_nothing_forbidden(&self) {
        let refused = self.leader.forbidden();
        assert!(refused.is_empty(), "the chart's controller ServiceAccount was refused:\n{}", refused.join("\n"));
    }
}
