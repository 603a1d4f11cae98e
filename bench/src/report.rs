//! What a benchmark run prints and writes: the machine, the revision, Markdown tables, and `BENCHMARKS.md`.
//!
//! `BENCHMARKS.md` holds one section per benchmark between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`; a run
//! with `--write` replaces its own section (or adds it) and leaves the others alone, so each figure stays next to
//! the machine and revision it came from.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use clap::Args;

/// Where a run's report goes besides standard output.
#[derive(Args, Clone, Debug)]
pub struct WriteArgs {
    /// Also write the report into its section of BENCHMARKS.md.
    #[arg(long)]
    pub write: bool,

    /// The file `--write` updates (default: BENCHMARKS.md at the repository root).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

impl WriteArgs {
    /// Writes `body` as section `name` of the output file if `--write` was given; says where it went.
    pub fn apply(&self, name: &str, body: &str) -> Result<Option<PathBuf>, String> {
        if !self.write {
            return Ok(None);
        }
        let path = self.output.clone().unwrap_or_else(|| repository().join("BENCHMARKS.md"));
        write_section(&path, name, body).map(|()| Some(path))
    }
}

/// The machine a run happened on.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Processing units available to this process (`nproc`).
    pub cores: usize,
    /// Total memory in GiB (`/proc/meminfo`), if known.
    pub memory_gib: Option<f64>,
    /// The CPU model (`/proc/cpuinfo`), if known.
    pub cpu: Option<String>,
}

impl Machine {
    /// Looks at this machine.
    pub fn detect() -> Self {
        let nproc = Command::new("nproc").output().ok().and_then(|o| String::from_utf8(o.stdout).ok());
        let cores = nproc
            .and_then(|s| s.trim().parse().ok())
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Self { cores, memory_gib: mem_total_gib(&meminfo), cpu: cpu_model(&cpuinfo) }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} cores", self.cores)?;
        if let Some(gib) = self.memory_gib {
            write!(f, ", {gib:.1} GiB memory")?;
        }
        if let Some(cpu) = &self.cpu {
            write!(f, ", {cpu}")?;
        }
        Ok(())
    }
}

fn mem_total_gib(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    let line = cpuinfo.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// The repository's root (this crate's parent folder), where BENCHMARKS.md and RELIABILITY.md live.
pub fn repository() -> PathBuf {
    match Path::new(env!("CARGO_MANIFEST_DIR")).parent() {
        Some(root) => root.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf(),
    }
}

/// The short git revision of the working tree, marked `+changes` when it has uncommitted changes.
pub fn git_revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repository())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) if !rev.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{rev}+changes") } else { rev }
        }
        _ => "none (no commit yet)".to_string(),
    }
}

/// The line that says when, where and on what a run happened.
pub fn provenance(command: &str, machine: &Machine) -> String {
    format!("`{command}` · {} · git {} · {machine}", Utc::now().format("%Y-%m-%d %H:%M UTC"), git_revision())
}

/// A Markdown table: a header row and right-aligned cells (the first column left-aligned).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).chain([header[i].len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) })
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| if i == 0 { "-".repeat(*w) } else { format!("{}:", "-".repeat(w.saturating_sub(1))) })
        .collect();
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect()), format!("| {} |", rule.join(" | "))];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

/// A whole number with thousands separators (`12,345`).
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Replaces (or appends) the section `name` of the Markdown file at `path` with `body`.
pub fn write_section(path: &Path, name: &str, body: &str) -> Result<(), String> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    std::fs::write(path, with_section(&existing, name, body))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn with_section(existing: &str, name: &str, body: &str) -> String {
    let (open, close) = (format!("<!-- bench:{name} -->"), format!("<!-- /bench:{name} -->"));
    let section = format!("{open}\n{}\n{close}", body.trim_end());
    if let (Some(start), Some(end)) = (existing.find(&open), existing.find(&close))
        && start < end
    {
        return format!("{}{section}{}", &existing[..start], &existing[end + close.len()..]);
    }
    let head = if existing.trim().is_empty() {
        "# Benchmarks\n\nFigures from `cargo run --release --bin digisos-bench -- <benchmark> --write`. Absolute \
         figures depend on the machine and move between runs; the ratios are measured side by side in one run.\n"
            .to_string()
    } else {
        existing.trim_end().to_string() + "\n"
    };
    format!("{head}\n{section}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_added_then_replaced_and_others_are_kept() {
        let first = with_section("", "append", "## append\nold");
        assert!(first.starts_with("# Benchmarks"));
        let both = with_section(&first, "query", "## query\nq");
        let updated = with_section(&both, "append", "## append\nnew");
        assert!(updated.contains("new") && !updated.contains("old") && updated.contains("## query\nq"));
        assert_eq!(updated.matches("<!-- bench:append -->").count(), 1);
        assert!(updated.find("bench:append").unwrap_or(0) < updated.find("bench:query").unwrap_or(0), "order kept");
    }

    #[test]
    fn machine_facts_are_read_from_proc_files() {
        assert_eq!(mem_total_gib("MemFree: 1 kB\nMemTotal:       2097152 kB\n"), Some(2.0));
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: Some CPU @ 2.20GHz\n").as_deref(),
            Some("Some CPU @ 2.20GHz")
        );
        assert_eq!(mem_total_gib(""), None);
    }

    #[test]
    fn numbers_and_tables_render_for_humans() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        let t = table(&["writers", "events/s"], &[vec!["1".into(), "1,000".into()]]);
        assert_eq!(t, "| writers | events/s |\n| ------- | -------: |\n| 1       |    1,000 |");
    }
}
