//! A picture of one run for a person debugging it: a self-contained HTML page with an inline SVG
//! (no scripts, fonts or network), time in virtual seconds across, one lane per actor (the
//! scenario's user, each controller replica, the API server) and one per object. Every committed
//! write is a mark on its actor's lane and its object's lane, coloured by actor, with its diff
//! on hover (an SVG `<title>`); the plan's faults are bands, replicas' downtimes are hatched, and
//! each violated invariant is a red line at the time it broke.
//!
//! Rendering is pure: the same run gives the same bytes (lanes sorted, no clock, no hashing).

use crate::invariants::Violation;
use crate::plan::{Fault, FaultPlan};
use crate::trace::{Change, Trace, Write};
use fake_apiserver::store::EventType;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

/// What the picture shows: one run and what it was run with.
pub struct Run<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    /// The deliberate controller defect switched on, if any.
    pub defect: Option<&'a str>,
    pub plan: &'a FaultPlan,
    /// When the plan's faults stop (the scenario's `faultsUntil`).
    pub fault_window: Duration,
    /// Virtual time the run lasted.
    pub end: Duration,
    pub trace: &'a Trace,
    pub violations: &'a [Violation],
}

/// The picture of a world's run of `scenario` with `plan` (the simulation build).
#[cfg(madsim)]
pub fn of_outcome(scenario: &crate::scenario::Scenario, seed: u64, defect: Option<&str>, plan: &FaultPlan, outcome: &crate::world::Outcome) -> String {
    render(&Run {
        scenario: &scenario.name,
        seed,
        defect,
        plan,
        fault_window: scenario.faults_until.0,
        end: outcome.virtual_time,
        trace: &outcome.trace,
        violations: &outcome.violations,
    })
}

/// Where the time axis starts, right of the lane labels.
const LABEL_WIDTH: f64 = 330.0;
/// The time axis' length.
const PLOT_WIDTH: f64 = 1100.0;
const LANE_HEIGHT: f64 = 22.0;
/// Room above the lanes for the axis and the violations' labels.
const TOP: f64 = 46.0;
/// Longest lane label drawn (the full name is in its hover text).
const MAX_LABEL: usize = 48;
/// Pixels between writes committed at the same virtual instant (without request latency a
/// whole burst shares one time): they stand side by side in commit order instead of on top of
/// each other.
const BURST_STEP: f64 = 3.0;
/// Diff lines shown in a mark's hover text before "… n more".
const MAX_DIFF_LINES: usize = 30;
/// Actor colours, in lane order (colour-blind-safe, Okabe–Ito).
const PALETTE: &[&str] = &["#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#E69F00", "#000000"];

/// The run as an HTML page.
pub fn render(run: &Run) -> String {
    let lanes = Lanes::of(run);
    let whole = Scale::whole(run);
    let mut html = String::new();
    let title = format!("{} seed {}", run.scenario, run.seed);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>timeline: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    header(&mut html, run);
    legend(&mut html, &lanes);
    html.push_str("<h2>the whole run</h2>\n");
    svg(&mut html, run, &lanes, &whole, 0);
    if let Some(zoom) = run.violations.first().and_then(|v| whole.around(v.at)) {
        let _ = writeln!(html, "<h2>around the violation: {} – {}</h2>", seconds(zoom.start), seconds(zoom.end));
        svg(&mut html, run, &lanes, &zoom, 1);
    }
    html.push_str("</body>\n</html>\n");
    html
}

const STYLE: &str = "body{font-family:monospace;font-size:13px;margin:16px;color:#222}\
h1{font-size:18px;margin:0 0 8px}h2{font-size:14px;margin:14px 0 0}\
.meta td:first-child{white-space:nowrap}\
.meta td{padding:1px 10px 1px 0;vertical-align:top}\
.violation{background:#fde8e8;border-left:4px solid #d00;padding:6px 10px;margin:8px 0;white-space:pre-wrap}\
.ok{background:#e8f5e8;border-left:4px solid #2a2;padding:6px 10px;margin:8px 0}\
.legend span{display:inline-block;margin-right:14px}\
.swatch{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px;border:1px solid #666}\
svg text{font-family:monospace;font-size:11px}\
svg .mark:hover{stroke:#000;stroke-width:2}";

/// The run's scenario, seed, defect, plan and violations, above the picture.
fn header(html: &mut String, run: &Run) {
    let _ = writeln!(html, "<h1>{} — seed {}</h1>", escape(run.scenario), run.seed);
    html.push_str("<table class=\"meta\">\n");
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(html, "<tr><td>{k}</td><td>{}</td></tr>", escape(v));
    };
    row("defect", run.defect.unwrap_or("none"));
    row("fault plan", &run.plan.to_string());
    row("fault window", &format!("0 – {}", seconds(run.fault_window)));
    row("run", &format!("{} virtual, {} writes", seconds(run.end), run.trace.writes.len()));
    html.push_str("</table>\n");
    if run.violations.is_empty() {
        html.push_str("<div class=\"ok\">no invariant violated</div>\n");
    }
    for v in run.violations {
        let _ = writeln!(html, "<div class=\"violation\">VIOLATED: {}</div>", escape(&v.to_string()));
    }
}

/// What the colours, shapes and bands mean.
fn legend(html: &mut String, lanes: &Lanes) {
    html.push_str("<p class=\"legend\">");
    for (actor, colour) in &lanes.actor_colours {
        let _ = write!(html, "<span><i class=\"swatch\" style=\"background:{colour}\"></i>{}</span>", escape(actor));
    }
    html.push_str("</p>\n<p class=\"legend\"><span>▲ create</span><span>● update/patch</span><span>✖ delete</span>\
<span><i class=\"swatch\" style=\"background:#fff3c4\"></i>fault window</span>\
<span><i class=\"swatch\" style=\"background:#f5b97a\"></i>fault active / watch lag</span>\
<span><i class=\"swatch\" style=\"background:#bbb\"></i>replica down</span>\
<span><i class=\"swatch\" style=\"background:#d00\"></i>invariant violated</span>\
<span>hover a mark for its diff (+ added, ~ changed, - removed); writes at one instant stand side by side in commit order</span></p>\n");
}

/// The lanes, top to bottom: the plan's faults, watch lag, the actors, the objects.
struct Lanes {
    faults: Vec<(String, Vec<(Duration, Duration)>)>,
    /// Actors in lane order with their colours.
    actor_colours: Vec<(String, &'static str)>,
    objects: Vec<String>,
}

impl Lanes {
    fn of(run: &Run) -> Self {
        let mut actors: BTreeSet<(u8, &str)> = run.trace.writes.iter().map(|w| actor_order(&w.actor)).collect();
        actors.extend(run.trace.downtimes.iter().map(|d| actor_order(&d.actor)));
        let actor_colours = actors.into_iter().enumerate().map(|(i, (_, a))| (a.to_string(), PALETTE[i.min(PALETTE.len() - 1)])).collect();
        let objects: BTreeSet<&str> = run.trace.writes.iter().map(|w| w.object.as_str()).collect();
        Lanes { faults: fault_bands(run.plan, run.fault_window), actor_colours, objects: objects.into_iter().map(str::to_string).collect() }
    }

    fn colour(&self, actor: &str) -> &'static str {
        self.actor_colours.iter().find(|(a, _)| a == actor).map_or("#777", |(_, c)| c)
    }

    /// The row of the watch-lag lane (right after the faults).
    fn watch_lag_row(&self) -> usize {
        self.faults.len()
    }

    fn actor_row(&self, actor: &str) -> Option<usize> {
        self.actor_colours.iter().position(|(a, _)| a == actor).map(|i| self.watch_lag_row() + 1 + i)
    }

    fn object_row(&self, object: &str) -> Option<usize> {
        self.objects.binary_search_by(|o| o.as_str().cmp(object)).ok().map(|i| self.watch_lag_row() + 1 + self.actor_colours.len() + i)
    }

    fn count(&self) -> usize {
        self.watch_lag_row() + 1 + self.actor_colours.len() + self.objects.len()
    }
}

/// The user first, then the replicas by name, the API server last.
fn actor_order(actor: &str) -> (u8, &str) {
    let rank = match actor {
        "user" => 0,
        "api-server" => 2,
        _ => 1,
    };
    (rank, actor)
}

/// When each of the plan's faults acts: server-side faults over the whole window, a crash
/// while replica 0 is meant to be down, the second replica from its start to the window's end.
fn fault_bands(plan: &FaultPlan, window: Duration) -> Vec<(String, Vec<(Duration, Duration)>)> {
    plan.faults
        .iter()
        .map(|fault| {
            let band = match fault {
                Fault::Crash { at, down } => ((*at).min(window), (*at + *down).min(window)),
                Fault::SecondReplica { at } => ((*at).min(window), window),
                Fault::Partition { at, duration, .. } => ((*at).min(window), (*at + *duration).min(window)),
                // Armed for the whole window; the crash or stall itself shows as the replica's
                // downtime.
                Fault::CrashAfterWrite { .. }
                | Fault::StallAfterWrite { .. }
                | Fault::TimeTravel { .. }
                | Fault::DuplicateDelivery { .. }
                | Fault::ClockSkew { .. }
                | Fault::DelayedWatchEvents { .. }
                | Fault::DroppedWatchEvents { .. }
                | Fault::Errors { .. }
                | Fault::TimeoutsAfterCommit { .. }
                | Fault::WatchCloses { .. }
                | Fault::Compactions { .. }
                | Fault::PausedGc
                | Fault::Latency { .. } => (Duration::ZERO, window),
            };
            (fault.to_string(), vec![band])
        })
        .collect()
}

/// The stretch of virtual time a chart shows, and its x pixels.
struct Scale {
    start: Duration,
    end: Duration,
}

/// The close-up around a violation: what led to it, and a moment after.
const ZOOM_BEFORE: Duration = Duration::from_secs(2);
const ZOOM_AFTER: Duration = Duration::from_millis(500);

impl Scale {
    /// The whole run (not the fault window: a run that breaks early would be a sliver).
    fn whole(run: &Run) -> Self {
        let last_write = run.trace.writes.last().map_or(Duration::ZERO, |w| w.at);
        let last_violation = run.violations.iter().map(|v| v.at).max().unwrap_or_default();
        Scale { start: Duration::ZERO, end: run.end.max(last_write).max(last_violation).max(Duration::from_secs(1)) }
    }

    /// A close-up around `at`, unless it would show most of this scale anyway.
    fn around(&self, at: Duration) -> Option<Scale> {
        let zoom = Scale { start: at.saturating_sub(ZOOM_BEFORE).max(self.start), end: (at + ZOOM_AFTER).min(self.end) };
        (zoom.span() * 3.0 < self.span()).then_some(zoom)
    }

    fn span(&self) -> f64 {
        (self.end - self.start).as_secs_f64().max(1e-3)
    }

    fn shows(&self, t: Duration) -> bool {
        self.start <= t && t <= self.end
    }

    fn x(&self, t: Duration) -> f64 {
        LABEL_WIDTH + PLOT_WIDTH * (t.clamp(self.start, self.end) - self.start).as_secs_f64() / self.span()
    }

    /// Seconds between axis ticks: a round step giving at most about 12 ticks.
    fn tick(&self) -> f64 {
        [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0].into_iter().find(|step| self.span() / step <= 12.0).unwrap_or(600.0)
    }
}

fn lane_y(row: usize) -> f64 {
    TOP + row as f64 * LANE_HEIGHT
}

/// One chart of `run` over `scale`'s stretch of time; `chart` numbers the page's charts (their
/// SVG ids must differ).
fn svg(html: &mut String, run: &Run, lanes: &Lanes, scale: &Scale, chart: usize) {
    let height = lane_y(lanes.count()) + 10.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + 20.0;
    let _ = writeln!(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">");
    let _ = write!(html, "<defs><pattern id=\"down{chart}\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#ddd\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#999\" stroke-width=\"3\"/></pattern></defs>\n");
    let bottom = lane_y(lanes.count());
    // The fault window behind everything.
    if !run.plan.faults.is_empty() && run.fault_window > scale.start {
        rect(html, scale.x(Duration::ZERO), TOP, scale.x(run.fault_window) - scale.x(Duration::ZERO), bottom - TOP, "#fff3c4", &format!("fault window 0 – {}", seconds(run.fault_window)));
    }
    axis(html, scale, bottom);
    for (row, (label, bands)) in lanes.faults.iter().enumerate() {
        lane_label(html, row, &format!("fault: {label}"), "#8a5a00");
        for &(from, to) in bands {
            band(html, scale, row, from, to, "#f5b97a", &format!("{label}: {} – {}", seconds(from), seconds(to)));
        }
    }
    watch_lag(html, run.trace, lanes, scale);
    for (actor, colour) in &lanes.actor_colours {
        let row = lanes.actor_row(actor).unwrap_or(0);
        lane_label(html, row, actor, colour);
    }
    for d in &run.trace.downtimes {
        let Some(row) = lanes.actor_row(&d.actor) else { continue };
        let to = d.to.unwrap_or(scale.end);
        let until = d.to.map_or("the end".to_string(), seconds);
        band(html, scale, row, d.from, to, &format!("url(#down{chart})"), &format!("{} down {} – {until}", d.actor, seconds(d.from)));
    }
    for object in &lanes.objects {
        let row = lanes.object_row(object).unwrap_or(0);
        lane_label(html, row, object, "#222");
    }
    let xs = write_xs(&run.trace.writes, scale);
    for (w, &x) in run.trace.writes.iter().zip(&xs).filter(|(w, _)| scale.shows(w.at)) {
        let text = hover(w);
        let colour = lanes.colour(&w.actor);
        for row in [lanes.actor_row(&w.actor), lanes.object_row(&w.object)].into_iter().flatten() {
            mark(html, x, lane_y(row) + LANE_HEIGHT / 2.0, w.event_type, colour, &text);
        }
    }
    for v in run.violations.iter().filter(|v| scale.shows(v.at)) {
        // At the mark of the write that broke it, if one did.
        let at_write = v.revision.and_then(|rev| run.trace.writes.iter().position(|w| w.revision == rev)).map(|i| xs[i]);
        let x = at_write.unwrap_or_else(|| scale.x(v.at));
        let _ = writeln!(
            html,
            "<g class=\"violation\"><title>{}</title><line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#d00\" stroke-width=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#d00\" text-anchor=\"end\" font-weight=\"bold\">✖ {} at {}</text></g>",
            escape(&v.to_string()),
            TOP - 30.0,
            x - 3.0,
            TOP - 20.0,
            escape(&v.invariant.to_string()),
            seconds(v.at)
        );
    }
    html.push_str("</svg>\n");
}

/// Each write's x: its time, plus [`BURST_STEP`] per earlier write at the same instant.
fn write_xs(writes: &[Write], scale: &Scale) -> Vec<f64> {
    let mut burst = 0.0;
    writes
        .iter()
        .enumerate()
        .map(|(i, w)| {
            burst = if i > 0 && writes[i - 1].at == w.at { burst + BURST_STEP } else { 0.0 };
            (scale.x(w.at) + burst).min(LABEL_WIDTH + PLOT_WIDTH + 10.0)
        })
        .collect()
}

/// Time ticks and gridlines across every lane.
fn axis(html: &mut String, scale: &Scale, bottom: f64) {
    let step = scale.tick();
    let (start, end) = (scale.start.as_secs_f64(), scale.end.as_secs_f64());
    let mut i = (start / step - 1e-9).ceil() as u32;
    loop {
        let t = step * f64::from(i);
        if t > end + 1e-9 {
            break;
        }
        let x = scale.x(Duration::from_secs_f64(t));
        let _ = writeln!(html, "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>", TOP - 4.0, TOP - 6.0, format_seconds(t));
        i += 1;
    }
    let _ = writeln!(html, "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">virtual time →</text>", 4.0, TOP - 6.0);
}

/// Spells of watch lag as seen at commits: from a write under lag to the next write without.
fn watch_lag(html: &mut String, trace: &Trace, lanes: &Lanes, scale: &Scale) {
    let row = lanes.watch_lag_row();
    lane_label(html, row, "watch lag (at commits)", "#8a5a00");
    let mut open: Option<(Duration, u64)> = None;
    let ends = trace.writes.iter().map(|w| (w.at, w.watch_lag)).chain([(scale.end, 0)]);
    for (at, lag) in ends {
        match open {
            Some((from, lagged)) if lag != lagged => {
                band(html, scale, row, from, at, "#f5b97a", &format!("watch events delayed {lagged} revisions, {} – {}", seconds(from), seconds(at)));
                open = (lag > 0).then_some((at, lag));
            }
            None if lag > 0 => open = Some((at, lag)),
            _ => {}
        }
    }
}

fn lane_label(html: &mut String, row: usize, label: &str, colour: &str) {
    let y = lane_y(row);
    let fill = if row % 2 == 0 { "#f7f7f7" } else { "#ffffff" };
    let _ = writeln!(html, "<rect x=\"0\" y=\"{y:.1}\" width=\"{LABEL_WIDTH}\" height=\"{LANE_HEIGHT}\" fill=\"{fill}\"/><line x1=\"{LABEL_WIDTH}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>", y + LANE_HEIGHT, LABEL_WIDTH + PLOT_WIDTH, y + LANE_HEIGHT);
    let shown: String = if label.chars().count() > MAX_LABEL { format!("{}…", label.chars().take(MAX_LABEL - 1).collect::<String>()) } else { label.to_string() };
    let _ = writeln!(html, "<text class=\"lane\" x=\"4\" y=\"{:.1}\" fill=\"{colour}\"><title>{}</title>{}</text>", y + 15.0, escape(label), escape(&shown));
}

fn band(html: &mut String, scale: &Scale, row: usize, from: Duration, to: Duration, fill: &str, title: &str) {
    if to < scale.start || from > scale.end {
        return;
    }
    let (x0, x1) = (scale.x(from), scale.x(to));
    rect(html, x0, lane_y(row) + 3.0, (x1 - x0).max(1.5), LANE_HEIGHT - 6.0, fill, title);
}

fn rect(html: &mut String, x: f64, y: f64, width: f64, height: f64, fill: &str, title: &str) {
    let _ = writeln!(html, "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"{fill}\"><title>{}</title></rect>", escape(title));
}

/// A write's mark: a triangle for a create, a dot for an update, a cross for a delete.
fn mark(html: &mut String, x: f64, y: f64, kind: EventType, colour: &str, title: &str) {
    let shape = match kind {
        EventType::Added => format!("<path d=\"M{x:.1},{:.1} l5,9 h-10 z\" fill=\"{colour}\"/>", y - 5.0),
        EventType::Modified => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{colour}\"/>"),
        EventType::Deleted => format!("<path d=\"M{:.1},{:.1} l9,9 m0,-9 l-9,9\" stroke=\"{colour}\" stroke-width=\"2.5\"/>", x - 4.5, y - 4.5),
    };
    let _ = writeln!(html, "<g class=\"mark\"><title>{}</title>{shape}</g>", escape(title));
}

/// A write's hover text: when, what, who, and its diff.
fn hover(w: &Write) -> String {
    let mut text = format!("{} rev {} {} {}\nby {}", seconds(w.at), w.revision, w.event_type.as_str(), w.object, w.actor);
    if w.watch_lag > 0 {
        let _ = write!(text, " (watch lag {} revisions)", w.watch_lag);
    }
    for change in w.diff.iter().take(MAX_DIFF_LINES) {
        text.push('\n');
        match change {
            Change::Added { path, value } => { let _ = write!(text, "+ {path} = {value}"); }
            Change::Changed { path, from, to } => { let _ = write!(text, "~ {path}: {from} → {to}"); }
            Change::Removed { path, value } => { let _ = write!(text, "- {path} (was {value})"); }
        }
    }
    if w.diff.len() > MAX_DIFF_LINES {
        let _ = write!(text, "\n… {} more", w.diff.len() - MAX_DIFF_LINES);
    }
    text
}

fn seconds(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

fn format_seconds(t: f64) -> String {
    if t.fract().abs() < 1e-9 { format!("{t:.0}s") } else { format!("{t:.1}s") }
}

/// Text safe inside HTML and SVG elements and attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
