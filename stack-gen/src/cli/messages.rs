//! What `obs-gen` prints once it has written a stack (or, in a dry run, would write one) or
//! exported the dashboards: the summary, the notes, and what to do next.

use std::path::Path;

use crate::model::{Config, Target};
use crate::write::Plan;

/// The diff of a dry run and its summary.
pub(super) fn dry_run(plan: &Plan, out: &mut dyn std::io::Write) {
    let _ = write!(out, "{}", plan.diff());
    let _ = writeln!(out, "dry run, nothing written: {}", plan.summary());
}

/// The notes of a written plan, its summary, and the next step for `cfg`'s target.
pub(super) fn written(plan: &Plan, cfg: &Config, dir: &Path, out: &mut dyn std::io::Write) {
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let dir = dir.display();
    let _ = writeln!(out, "wrote {dir}: {}", plan.summary());
    if cfg.target == Target::Kubernetes {
        let _ = writeln!(
            out,
            "next: install the charts and create the Secrets as {dir}/README.md shows, then kubectl apply --server-side -k {dir}"
        );
    } else if cfg.local.is_some() {
        let _ = writeln!(
            out,
            "next: start Prometheus and Alertmanager as {dir}/README.md (\"Local mode\") shows"
        );
    } else {
        let _ = writeln!(
            out,
            "next: cd {dir} && docker compose up -d   (Grafana: see {dir}/README.md)"
        );
    }
}

/// What `dashboards export` wrote to `dir`: `count` dashboards and the recording rules file
/// `rules_file`, which `on_rules` (one "N of TITLE" per dashboard) need.
pub(super) fn exported(
    count: usize,
    rules_file: &str,
    dir: &Path,
    on_rules: &[String],
    out: &mut dyn std::io::Write,
) {
    let _ = writeln!(
        out,
        "exported {count} dashboards and {rules_file} (the recording rules they read) to {}",
        dir.display()
    );
    let _ = writeln!(
        out,
        "note: add {rules_file} to the rule_files of the Prometheus the dashboards query; imported alone, the \
         panels built on its recording rules ({}) show no data",
        on_rules.join(", ")
    );
    // The SLO rules depend on the user's objectives, so no fixed file can travel with them.
    let _ = writeln!(
        out,
        "note: obs / SLOs reads the rules obs-gen writes for the [[slo]] tables of obs.toml \
         (prometheus/rules/obs-slo-<name>.yaml); without them it shows no SLO"
    );
}
