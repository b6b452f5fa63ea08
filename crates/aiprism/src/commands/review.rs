//! `aiprism review FILE...`: reviews documents from the command line through the same code path as the
//! server (upload, queued section jobs, in-process workers), in a private temporary data directory, and
//! writes a report per file. Exit status: 0, 1 when a finding at or above `--fail-on` was found, 2 on an
//! error (unreadable file, bad configuration).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use aiprism_app::exports::ReviewedOptions;
use aiprism_app::settings::QueueBackend;
use aiprism_app::{App, ReviewRequest, Settings, Upload};
use aiprism_core::{Finding, Risk, Scope};
use aiprism_http::dto::{DocumentDto, FindingDto, ReviewDto};
use aiprism_store::FindingFilter;
use anyhow::Context;
use bytes::Bytes;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};

/// What the command was asked to do.
pub struct ReviewArgs {
    /// The documents.
    pub files: Vec<PathBuf>,
    /// Where outputs go (default: next to each input).
    pub out: Option<PathBuf>,
    /// Framework id.
    pub framework: Option<String>,
    /// Report format: json, sarif or text.
    pub format: ReportFormat,
    /// Exit 1 when a finding at or above this risk is found.
    pub fail_on: Option<Risk>,
}

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// `<name>.review.json`: the document, its findings and usage in the API's shapes.
    Json,
    /// `<name>.review.sarif` (SARIF 2.1.0) beside the JSON report, for code-scanning tools.
    Sarif,
    /// The findings printed as text (the JSON report is written too).
    Text,
}

/// One file's outcome.
struct FileOutcome {
    file: PathBuf,
    result: Result<Reviewed, String>,
}

struct Reviewed {
    report: Value,
    findings: Vec<Finding>,
    status: String,
    written: Vec<PathBuf>,
}

/// Runs the command.
pub async fn run(mut settings: Settings, args: ReviewArgs) -> ExitCode {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("aiprism: cannot create a temporary directory: {e}");
            return ExitCode::from(2);
        }
    };
    // The review runs on embedded defaults in a private directory; models come from the configuration.
    settings.server.data_dir = dir.path().to_path_buf();
    settings.database.url = None;
    settings.storage.s3_bucket = None;
    settings.queue.backend = QueueBackend::Database;
    let min_confidence = settings.review.min_confidence;
    let app = match super::build_app(settings, true).await {
        Ok(wired) => wired.app,
        Err(e) => {
            eprintln!("aiprism: {e:#}");
            return ExitCode::from(2);
        }
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let runner = super::runner(&app);
    let workers = tokio::spawn(runner.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    if app.router.is_none() {
        eprintln!("note: {}", aiprism_app::review::service::RULES_ONLY_NOTICE);
    }

    let bars = MultiProgress::new();
    let mut outcomes = Vec::new();
    for file in &args.files {
        let bar = bars.add(ProgressBar::new(1));
        bar.set_style(
            ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} sections {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(
            file.file_name()
                .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into()),
        );
        let result = review_file(&app, file, &args, &bar)
            .await
            .map_err(|e| format!("{e:#}"));
        match &result {
            Ok(r) => bar.finish_with_message(r.status.clone()),
            Err(e) => bar.abandon_with_message(format!("error: {e}")),
        }
        outcomes.push(FileOutcome {
            file: file.clone(),
            result,
        });
    }
    let _ = stop_tx.send(true);
    let _ = workers.await;

    print_summary(&outcomes, args.format, min_confidence);
    let errors = outcomes.iter().filter(|o| o.result.is_err()).count();
    let failing = args.fail_on.is_some_and(|threshold| {
        outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .flat_map(|r| &r.findings)
            .any(|f| f.confidence >= min_confidence && f.risk.rank() >= threshold.rank())
    });
    if errors > 0 {
        ExitCode::from(2)
    } else if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

async fn review_file(
    app: &App,
    file: &Path,
    args: &ReviewArgs,
    bar: &ProgressBar,
) -> anyhow::Result<Reviewed> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let filename = file
        .file_name()
        .map_or_else(|| "document".into(), |n| n.to_string_lossy().into_owned());
    let user = app.local_user();
    let upload = Upload {
        filename: filename.clone(),
        bytes: Bytes::from(bytes),
        framework: args.framework.clone(),
        start_review: true,
        ..Upload::default()
    };
    let view = app
        .upload(&user, upload)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let review = app
        .start_review(&user, &view.meta.id, ReviewRequest::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.set_length(u64::from(review.progress.sections_total.max(1)));
    let review = loop {
        let current = app
            .review(&user, &review.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        bar.set_position(u64::from(current.progress.sections_done));
        if current.status.is_terminal() {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let findings = app
        .store
        .findings(&Scope::of(&user), &view.meta.id, &FindingFilter::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let status = review.status.as_str().to_string();
    let reviewed_docx = if view.meta.format == aiprism_core::DocumentFormat::Docx {
        // No reviewer here: every finding at or above the confidence the view shows goes in.
        let options = ReviewedOptions {
            include_pending: true,
            mark_pending: false,
            min_confidence: Some(app.settings.review.min_confidence),
            tracked_changes: false,
        };
        Some(
            app.reviewed_document(&user, &view, &findings, options)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )
    } else {
        None
    };
    let report = json!({
        "file": file.display().to_string(),
        "document": DocumentDto::new(view, Some(review.clone())),
        "review": ReviewDto::from(review.clone()),
        "findings": findings.iter().cloned().map(FindingDto::from).collect::<Vec<_>>(),
        "usage": aiprism_http::dto::UsageDto::from(review.usage),
    });
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => file.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let stem = file
        .file_stem()
        .map_or_else(|| "document".into(), |s| s.to_string_lossy().into_owned());
    let mut written = Vec::new();
    if let Some(reviewed) = reviewed_docx {
        let path = out_dir.join(&reviewed.filename);
        std::fs::write(&path, &reviewed.bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let json_path = out_dir.join(format!("{stem}.review.json"));
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    written.push(json_path);
    if args.format == ReportFormat::Sarif {
        let sarif_path = out_dir.join(format!("{stem}.review.sarif"));
        let sarif = super::sarif::report(file, &report, &findings);
        std::fs::write(&sarif_path, serde_json::to_vec_pretty(&sarif)?)
            .with_context(|| format!("writing {}", sarif_path.display()))?;
        written.push(sarif_path);
    }
    Ok(Reviewed {
        report,
        findings,
        status,
        written,
    })
}

fn print_summary(outcomes: &[FileOutcome], format: ReportFormat, min_confidence: f32) {
    println!();
    println!(
        "{:<40} {:>9} {:>5} {:>7} {:>5} {:>9}",
        "file", "status", "high", "medium", "low", "findings"
    );
    for o in outcomes {
        let name = o.file.display().to_string();
        match &o.result {
            Ok(r) => {
                let shown: Vec<&Finding> = r
                    .findings
                    .iter()
                    .filter(|f| f.confidence >= min_confidence)
                    .collect();
                let count = |risk: Risk| shown.iter().filter(|f| f.risk == risk).count();
                println!(
                    "{:<40} {:>9} {:>5} {:>7} {:>5} {:>9}",
                    truncate(&name, 40),
                    r.status,
                    count(Risk::High),
                    count(Risk::Medium),
                    count(Risk::Low),
                    r.findings.len()
                );
            }
            Err(e) => println!("{:<40} {:>9}  {e}", truncate(&name, 40), "error"),
        }
    }
    for o in outcomes {
        let Ok(r) = &o.result else { continue };
        if let Some(notice) = r.report["review"]["notice"].as_str() {
            println!("{}: {notice}", o.file.display());
        }
        if let Some(error) = r.report["review"]["error"].as_str() {
            println!("{}: {error}", o.file.display());
        }
        for path in &r.written {
            println!("wrote {}", path.display());
        }
        if format == ReportFormat::Text {
            print_findings(&r.report, &r.findings);
        }
    }
}

fn print_findings(report: &Value, findings: &[Finding]) {
    let titles: std::collections::HashMap<&str, &str> = report["document"]["sections"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|s| Some((s["id"].as_str()?, s["title"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    for f in findings {
        let title = titles.get(f.section_id.as_str()).copied().unwrap_or("?");
        let source = match &f.rule_id {
            Some(rule) => format!("rule {rule}"),
            None => f.source.as_str().to_string(),
        };
        println!(
            "  [{}] {} › {} ({}, {:.0}%): {}",
            f.risk.as_str().to_uppercase(),
            title,
            f.category,
            source,
            f.confidence * 100.0,
            f.description
        );
        if !f.quote.is_empty() {
            println!("      “{}”", truncate(&f.quote, 160));
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
