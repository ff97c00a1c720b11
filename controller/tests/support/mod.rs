//! Runs `eno dev` and the real kubectl against it: each test gets its own server, kubeconfig
//! and kubectl cache directory.

#![allow(dead_code)]

pub mod controller;
pub mod kubelet;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct EnoDev {
    child: Child,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    /// The controllers, when the chart deploys them (`ENO_E2E_CONTROLLERS=chart`).
    deployment: Option<controller::ChartDeployment>,
}

/// A path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The seed's example manifests (`deploy/examples/`, without its subfolders).
pub fn seeds() -> PathBuf {
    repo_path("deploy/examples")
}

/// Polls `check` until it returns Some, or fails after `within`.
pub fn eventually<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A synthesizer emitting the given ConfigMaps (JSON objects).
pub fn synthesizer(name: &str, items: &[&str]) -> String {
    let list = format!(r#"{{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{}]}}"#, items.join(","));
    format!("apiVersion: eno.azure.io/v1\nkind: Synthesizer\nmetadata:\n  name: {name}\nspec:\n  image: example\n  command:\n  - /bin/bash\n  - -c\n  - |\n    echo '{list}'\n")
}

impl EnoDev {
    pub fn start() -> EnoDev {
        Self::start_with(&[])
    }

    /// `eno dev` with more flags (e.g. `--authorization rbac`). With
    /// `ENO_E2E_CONTROLLERS=chart` the controllers are not embedded: the chart is installed into
    /// an `eno dev --authorization rbac` and deploys them ([`controller::ChartDeployment`]),
    /// unless the test runs its own (`--no-controllers`).
    pub fn start_with(flags: &[&str]) -> EnoDev {
        if !controller::chart_mode() || flags.contains(&"--no-controllers") {
            return Self::spawn(flags);
        }
        let (controller_flags, server_flags) = controller::split_flags(flags);
        let mut dev = Self::spawn(&[&["--authorization", "rbac", "--no-controllers"][..], &server_flags].concat());
        dev.deployment = Some(controller::ChartDeployment::install(&dev, &controller_flags));
        dev
    }

    fn spawn(flags: &[&str]) -> EnoDev {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        let child = Command::new(env!("CARGO_BIN_EXE_eno"))
            .args(["dev", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("eno dev starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !kubeconfig.exists() {
            assert!(Instant::now() < deadline, "eno dev wrote no kubeconfig within 30s");
            std::thread::sleep(Duration::from_millis(50));
        }
        EnoDev { child, dir, kubeconfig, deployment: None }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).arg("--cache-dir").arg(self.dir.path().join("cache")).args(args);
        cmd
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("kubectl runs")
    }

    /// Runs kubectl, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl, asserting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(!out.status.success(), "kubectl {args:?} should have failed; stdout:\n{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `kubectl apply -f -` (or any `-f -` command) with `manifest` on stdin.
    /// `kubectl get ARGS --watch --output-watch-events -o json`: each watch event as it
    /// arrives, with the time it arrived. Kill the child to stop.
    pub fn watch(&self, args: &[&str]) -> (Child, mpsc::Receiver<(Instant, serde_json::Value)>) {
        let mut get = vec!["get"];
        get.extend_from_slice(args);
        get.extend_from_slice(&["--watch", "--output-watch-events", "-o", "json"]);
        let mut child = self.command(&get).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("kubectl watch runs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for event in serde_json::Deserializer::from_reader(BufReader::new(stdout)).into_iter::<serde_json::Value>() {
                let Ok(event) = event else { return };
                if tx.send((Instant::now(), event)).is_err() {
                    return;
                }
            }
        });
        (child, rx)
    }

    pub fn with_stdin(&self, args: &[&str], manifest: &str) -> Output {
        let mut child = self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("kubectl runs");
        child.stdin.take().expect("stdin").write_all(manifest.as_bytes()).expect("write manifest");
        child.wait_with_output().expect("kubectl finishes")
    }

    pub fn apply(&self, manifest: &str) -> String {
        let out = self.with_stdin(&["apply", "-f", "-"], manifest);
        assert!(out.status.success(), "apply failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes `contents` at `name` (a path relative to this server's temp dir, folders made).
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("a file has a folder")).expect("make folders");
        std::fs::write(&p, contents).expect("write file");
        p
    }

    /// The real helm against this server, its caches and config in the temp dir.
    pub fn helm(&self, args: &[&str]) -> Output {
        let home = |d: &str| self.dir.path().join("helm").join(d);
        Command::new("helm")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HELM_CACHE_HOME", home("cache"))
            .env("HELM_CONFIG_HOME", home("config"))
            .env("HELM_DATA_HOME", home("data"))
            .output()
            .expect("helm runs")
    }

    /// Runs helm, asserting success; returns stdout.
    pub fn helm_ok(&self, args: &[&str]) -> String {
        let out = self.helm(args);
        assert!(out.status.success(), "helm {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl printed JSON")
    }
}

impl Drop for EnoDev {
    fn drop(&mut self) {
        let deployment = self.deployment.take();
        self.stop();
        // A test that passed must not have passed with a refused request.
        if let Some(deployment) = deployment.filter(|_| !std::thread::panicking()) {
            deployment.assert_nothing_forbidden();
        }
    }
}

impl EnoDev {
    /// SIGTERM, then SIGKILL if it has not exited within 5 s.
    fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A long-running kubectl (e.g. `get -w`) whose stdout lines arrive on a channel.
pub struct Streaming {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Streaming {
    pub fn start(mut cmd: Command) -> Streaming {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("kubectl runs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming { child, lines }
    }

    /// Waits for a line containing `needle`; returns it.
    pub fn expect_line(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => panic!("no line containing {needle:?} within {within:?}"),
            }
        }
    }

    /// The next line, if one arrives within `within`.
    pub fn next_line(&self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn wait(mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "kubectl did not finish within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
