//! The files an export is made of: findings as JSON and CSV, the readable report, the package layout with
//! its manifest, and the zip that carries a package as one download.

use std::io::Write as _;

use aiprism_core::{Activity, ChatMessage, ChatRole, Finding, FindingSource, FindingStatus, Review};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ReviewedDocument, stem};
use crate::DocumentView;
use crate::statistics::DocumentStatistics;

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn finding_json(f: &Finding, title: &str) -> Value {
    json!({
        "id": f.id.as_str(), "section_id": f.section_id.as_str(), "section": title, "source": f.source.as_str(),
        "rule_id": f.rule_id, "model": f.model, "type": f.finding_type.as_str(), "category": f.category,
        "description": f.description, "suggestion": f.suggestion, "example": f.example, "questions": f.questions,
        "checkpoints": f.checkpoints, "risk": f.risk.as_str(), "confidence": f.confidence, "quote": f.quote,
        "anchor": f.anchor.map(|a| json!({"paragraph": a.paragraph, "start": a.start, "end": a.end})),
        "replacement": f.replacement, "highlight_color": f.highlight_color,
        "parent_id": f.parent_id.as_ref().map(|p| p.as_str()), "status": f.status.as_str(), "note": f.note,
        "edited": f.edited, "created_at": time(f.created_at), "decided_at": f.decided_at.map(time),
    })
}

fn section_title<'a>(view: &'a DocumentView, f: &Finding) -> &'a str {
    view.sections
        .iter()
        .find(|s| s.id == f.section_id)
        .map_or("", |s| s.title.as_str())
}

fn findings_value(view: &DocumentView, findings: &[&Finding]) -> Value {
    Value::Array(
        findings
            .iter()
            .map(|f| finding_json(f, section_title(view, f)))
            .collect(),
    )
}

/// Findings and decisions as JSON.
pub(crate) fn findings_json(view: &DocumentView, findings: &[Finding]) -> Vec<u8> {
    let all: Vec<&Finding> = findings.iter().collect();
    let value = json!({
        "document": {
            "id": view.meta.id.as_str(), "filename": view.meta.filename, "format": view.meta.format.as_str(),
            "sha256": view.meta.sha256, "framework": view.meta.framework,
        },
        "sections": view.sections.iter().map(|s| json!({"id": s.id.as_str(), "index": s.index, "title": s.title})).collect::<Vec<_>>(),
        "findings": findings_value(view, &all),
        "exported_at": time(aiprism_core::now()),
    });
    serde_json::to_vec_pretty(&value).unwrap_or_default()
}

/// One CSV field, quoted as RFC 4180 wants, spreadsheet formulas neutralised.
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// Findings and decisions as CSV, one row per finding.
pub fn csv(view: &DocumentView, findings: &[Finding]) -> String {
    let mut out = String::from(
        "id,section,source,rule_or_model,type,risk,confidence,category,description,suggestion,quote,status,note,decided_at\r\n",
    );
    for f in findings {
        let origin = f.rule_id.clone().or_else(|| f.model.clone()).unwrap_or_default();
        let row = [
            f.id.as_str().to_string(),
            section_title(view, f).to_string(),
            f.source.as_str().to_string(),
            origin,
            f.finding_type.as_str().to_string(),
            f.risk.as_str().to_string(),
            format!("{:.2}", f.confidence),
            f.category.clone(),
            f.description.clone(),
            f.suggestion.clone(),
            f.quote.clone(),
            f.status.as_str().to_string(),
            f.note.clone().unwrap_or_default(),
            f.decided_at.map(time).unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A readable report of the review, in Markdown.
pub fn report(
    view: &DocumentView,
    findings: &[Finding],
    statistics: &DocumentStatistics,
    review: Option<&Review>,
) -> String {
    let mut out = format!("# Review of {}\n\n", view.meta.filename);
    out.push_str(&format!("- Framework: {}\n", view.meta.framework));
    if let Some(r) = review {
        out.push_str(&format!(
            "- Review: {} ({} of {} sections)\n",
            r.status.as_str(),
            r.progress.sections_done,
            r.progress.sections_total
        ));
        if !r.models_used.is_empty() {
            out.push_str(&format!("- Models: {}\n", r.models_used.join(", ")));
        }
        if let Some(e) = &r.error {
            out.push_str(&format!("- Note: {e}\n"));
        }
    }
    let s = &statistics.by_status;
    out.push_str(&format!(
        "- Findings: {} accepted, {} rejected, {} pending; {} reviewer comments\n",
        s.accepted, s.rejected, s.pending, statistics.reviewer_comments
    ));
    if let Some(rate) = statistics.acceptance_rate {
        out.push_str(&format!("- Acceptance rate: {:.0}%\n", rate * 100.0));
    }
    out.push_str(&format!(
        "- Cost: {} input, {} output, {} cached tokens; ${:.4}\n\n",
        statistics.usage.input_tokens,
        statistics.usage.output_tokens,
        statistics.usage.cached_tokens,
        statistics.usage.cost_usd
    ));
    for section in &view.sections {
        let in_section: Vec<&Finding> = findings.iter().filter(|f| f.section_id == section.id).collect();
        if in_section.is_empty() {
            continue;
        }
        out.push_str(&format!("## {}\n\n", section.title));
        for f in in_section {
            let who = match f.source {
                FindingSource::Reviewer => "Reviewer".to_string(),
                FindingSource::Rule => format!("Rule {}", f.rule_id.as_deref().unwrap_or("")),
                FindingSource::Model => "AI".to_string(),
            };
            out.push_str(&format!(
                "- **{}** [{} · {} risk · {}] {}: {}\n",
                f.status.as_str(),
                f.finding_type.as_str(),
                f.risk.as_str(),
                who,
                f.category,
                f.description.replace('\n', " ")
            ));
            if !f.quote.is_empty() {
                out.push_str(&format!("  > {}\n", f.quote.replace('\n', " ")));
            }
            if !f.suggestion.is_empty() {
                out.push_str(&format!("  Suggestion: {}\n", f.suggestion.replace('\n', " ")));
            }
        }
        out.push('\n');
    }
    out
}

fn chat_markdown(filename: &str, messages: &[ChatMessage]) -> String {
    let mut out = format!("# Chat about {filename}\n\n");
    for m in messages {
        let who = match m.role {
            ChatRole::User => "Reviewer".to_string(),
            ChatRole::Assistant => format!(
                "aiprism{}",
                m.model.as_ref().map(|x| format!(" ({x})")).unwrap_or_default()
            ),
        };
        out.push_str(&format!(
            "**{who}** — {}\n\n{}\n\n",
            time(m.created_at),
            m.content.trim()
        ));
    }
    out
}

/// What a package is built from.
pub(crate) struct PackageInput<'a> {
    pub view: &'a DocumentView,
    pub findings: &'a [Finding],
    pub original: Vec<u8>,
    pub reviewed: ReviewedDocument,
    pub guidelines: Option<(String, Vec<u8>)>,
    pub chat: &'a [ChatMessage],
    pub activity: &'a [Activity],
    pub statistics: &'a DocumentStatistics,
    pub review: Option<&'a Review>,
}

/// A package's files (path, bytes), `manifest.json` last.
pub(crate) struct Package {
    pub files: Vec<(String, Vec<u8>)>,
    pub comments_written: u32,
}

/// Lays out a package: documents, findings by status, chat, logs, statistics, a readable report, and a
/// manifest with every file's size and sha256 (so a copy can be checked file by file).
pub(crate) fn package(input: PackageInput<'_>) -> Package {
    let view = input.view;
    let by = |status: FindingStatus| -> Vec<&Finding> {
        input
            .findings
            .iter()
            .filter(|f| f.source != FindingSource::Reviewer && f.status == status)
            .collect()
    };
    let reviewer: Vec<&Finding> = input
        .findings
        .iter()
        .filter(|f| f.source == FindingSource::Reviewer)
        .collect();
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    let activity_json = json!(input.activity.iter().map(|a| json!({
        "id": a.id, "at": time(a.at), "actor": a.actor_name, "action": a.action.as_str(), "details": a.details,
    })).collect::<Vec<_>>());
    let mut activity_csv = String::from("id,at,actor,action,details\r\n");
    for a in input.activity {
        let row = [
            a.id.to_string(),
            time(a.at),
            a.actor_name.clone(),
            a.action.as_str().to_string(),
            a.details.to_string(),
        ];
        activity_csv.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
        activity_csv.push_str("\r\n");
    }
    let chat_json = json!(input.chat.iter().map(|m| json!({
        "id": m.id, "role": m.role.as_str(), "content": m.content,
        "section_id": m.section_id.as_ref().map(|s| s.as_str()), "model": m.model, "created_at": time(m.created_at),
        "citations": m.citations.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    })).collect::<Vec<_>>());

    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            format!("documents/original/{}", view.meta.filename),
            input.original,
        ),
        (
            format!("documents/reviewed/{}", input.reviewed.filename),
            input.reviewed.bytes,
        ),
    ];
    if let Some((name, bytes)) = input.guidelines {
        files.push((format!("documents/guidelines/{name}"), bytes));
    }
    files.extend([
        (
            "findings/accepted.json".to_string(),
            pretty(&findings_value(view, &by(FindingStatus::Accepted))),
        ),
        (
            "findings/rejected.json".to_string(),
            pretty(&findings_value(view, &by(FindingStatus::Rejected))),
        ),
        (
            "findings/pending.json".to_string(),
            pretty(&findings_value(view, &by(FindingStatus::Pending))),
        ),
        (
            "findings/reviewer_comments.json".to_string(),
            pretty(&findings_value(view, &reviewer)),
        ),
        (
            "findings/all.csv".to_string(),
            csv(view, input.findings).into_bytes(),
        ),
        ("chat/chat.json".to_string(), pretty(&chat_json)),
        (
            "chat/chat.md".to_string(),
            chat_markdown(&view.meta.filename, input.chat).into_bytes(),
        ),
        ("logs/activity.json".to_string(), pretty(&activity_json)),
        ("logs/activity.csv".to_string(), activity_csv.into_bytes()),
        (
            "statistics.json".to_string(),
            serde_json::to_vec_pretty(input.statistics).unwrap_or_default(),
        ),
        (
            "report.md".to_string(),
            report(view, input.findings, input.statistics, input.review).into_bytes(),
        ),
    ]);
    let manifest = json!({
        "document": {"id": view.meta.id.as_str(), "filename": view.meta.filename, "sha256": view.meta.sha256},
        "name": stem(&view.meta.filename),
        "created_at": time(aiprism_core::now()),
        "comments_written": input.reviewed.comments_written,
        "files": files.iter().map(|(path, bytes)| json!({
            "path": path, "size_bytes": bytes.len(), "sha256": hex::encode(Sha256::digest(bytes)),
        })).collect::<Vec<_>>(),
    });
    files.push(("manifest.json".to_string(), pretty(&manifest)));
    Package {
        files,
        comments_written: input.reviewed.comments_written,
    }
}

/// Zips files (deflated) for download.
pub(crate) fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (path, bytes) in files {
            zip.start_file(path.as_str(), options)?;
            zip.write_all(bytes)?;
        }
        zip.finish()?;
    }
    Ok(out.into_inner())
}
