//! The timeline of a failing run, rendered by a real browser: headless Chromium (which `.ci/run`
//! installs) must load the page, lay out its lanes and the violation, and paint a picture.
//!
//! `RUSTFLAGS="--cfg madsim" cargo test -p simulator --target-dir target-madsim --test timeline`

#![cfg(madsim)]

use simulator::scenario::Scenario;
use simulator::timeline;
use simulator::world::{check_seed, defects_named};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Seeds searched for a failing run of the defect.
const SEEDS: u64 = 100;
/// How long Chromium may take to load and paint a page.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
const WINDOW: (u32, u32) = (1500, 1400);

/// A fresh directory for this test's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("eno-timeline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium on `page` with `action` (`--dump-dom`, `--screenshot=…`) and a
/// profile of its own; returns its stdout.
fn chromium(scratch: &Path, page: &Path, action: &str) -> String {
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; `.ci/run` does)");
    let profile = scratch.join(format!("profile{}", action.len()));
    let mut child = Command::new(CHROMIUM)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(action)
        .arg(format!("file://{}", page.display()))
        .current_dir(scratch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    let started = Instant::now();
    while child.try_wait().expect("waiting for chromium").is_none() {
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            panic!("chromium did not finish {action} on {} within {BROWSER_TIMEOUT:?}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("chromium's output");
    assert!(out.status.success(), "chromium {action} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of `page`: a PNG of the window's size.
fn screenshot(scratch: &Path, page: &Path, name: &str) -> Vec<u8> {
    let png = scratch.join(name);
    chromium(scratch, page, &format!("--screenshot={}", png.display()));
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("chromium wrote no screenshot {}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    let dimension = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("an IHDR field"));
    assert_eq!((dimension(16), dimension(20)), WINDOW, "{name}: the screenshot is the window's size");
    bytes
}

#[test]
fn a_failing_runs_timeline_renders_in_chromium() {
    let (name, defect) = ("symphony-migration", "set-before-prune");
    let all = Scenario::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")).expect("scenarios load");
    let scenario = Arc::new(all.into_iter().find(|s| s.name == name).expect("the scenario"));
    let defects = defects_named(defect).expect("the defect");
    let failure = (0..SEEDS)
        .find_map(|seed| check_seed(&scenario, seed, defects, false).err())
        .unwrap_or_else(|| panic!("{defect} did not fail {name} within {SEEDS} seeds"));
    let violation = failure.violation().clone();
    let html = timeline::of_outcome(&scenario, failure.seed, Some(defect), &failure.plan, &failure.outcome);
    assert_eq!(html, timeline::of_outcome(&scenario, failure.seed, Some(defect), &failure.plan, &failure.outcome), "one run, one picture");

    let scratch = Scratch::new("chromium");
    let page = scratch.0.join("timeline.html");
    std::fs::write(&page, &html).expect("writing the timeline");

    let dom = chromium(&scratch.0, &page, "--dump-dom");
    assert!(dom.contains("<svg"), "the DOM has the picture:\n{dom:.2000}");
    let label = format!("✖ {} at {:.3}s", violation.invariant, violation.at.as_secs_f64());
    assert!(dom.contains(&label), "the DOM has the violation's label {label:?}");
    assert!(dom.contains(&format!("{name} — seed {}", failure.seed)), "the DOM names the run");
    for lane in ["user", "eno-0", "symphonies.eno.azure.io"] {
        assert!(dom.contains(&format!("</title>{lane}")), "the DOM has a lane {lane:?}");
    }

    // A page of one colour compresses to almost nothing; the timeline's lanes, marks and text
    // must not.
    let blank = scratch.0.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body style=\"background:#fff\"></body></html>").expect("writing a blank page");
    let plain = screenshot(&scratch.0, &blank, "blank.png").len();
    let drawn = screenshot(&scratch.0, &page, "timeline.png").len();
    assert!(drawn > 10 * plain, "the timeline's screenshot ({drawn} bytes) looks blank (a blank page's: {plain} bytes)");
}
