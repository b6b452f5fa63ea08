//! How a finding reads as a Word comment, and where it is anchored.

use aiprism_core::{Finding, FindingSource, FindingStatus, Section};
use aiprism_docx::{CommentAnchor, CommentSpec};

/// Who a comment is from: model and rule findings under the product's name, reviewer comments under the
/// reviewer's.
pub(crate) struct Authors<'a> {
    /// Name for model and rule findings.
    pub product: &'a str,
    /// The reviewer's name.
    pub reviewer: &'a str,
}

/// Initials Word shows in the comment balloon.
fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(3)
        .collect();
    if letters.is_empty() {
        "AI".into()
    } else {
        letters.to_uppercase()
    }
}

/// The comment's lines: a header with type, risk and category, the description, the suggestion, the
/// questions, the checkpoints and where it came from; one Word paragraph per line.
pub(crate) fn lines(finding: &Finding, checkpoint_titles: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut lines = Vec::new();
    let pending = if finding.status == FindingStatus::Pending {
        "[PENDING — not yet accepted] "
    } else {
        ""
    };
    if finding.source == FindingSource::Reviewer {
        if !pending.is_empty() {
            lines.push(pending.trim_end().to_string());
        }
        lines.extend(finding.description.lines().map(str::to_string));
        return lines;
    }
    lines.push(format!(
        "{pending}[{} · {} risk] {}",
        finding.finding_type.as_str().to_uppercase(),
        capitalise(finding.risk.as_str()),
        finding.category
    ));
    lines.extend(finding.description.lines().map(str::to_string));
    if !finding.suggestion.trim().is_empty() {
        lines.push(String::new());
        let mut suggestion = finding.suggestion.lines();
        if let Some(first) = suggestion.next() {
            lines.push(format!("Suggestion: {first}"));
        }
        lines.extend(suggestion.map(str::to_string));
    }
    if !finding.example.trim().is_empty() {
        lines.push(format!("Example: {}", finding.example.trim()));
    }
    if let Some(replacement) = &finding.replacement {
        lines.push(format!("Proposed wording: {replacement}"));
    }
    if !finding.questions.is_empty() {
        lines.push(String::new());
        lines.push("Questions:".into());
        for (i, q) in finding.questions.iter().enumerate() {
            lines.push(format!("{}. {q}", i + 1));
        }
    }
    if !finding.checkpoints.is_empty() {
        lines.push(String::new());
        let named: Vec<String> = finding
            .checkpoints
            .iter()
            .map(|c| match checkpoint_titles(c) {
                Some(title) => format!("{c} {title}"),
                None => c.clone(),
            })
            .collect();
        lines.push(format!("Checkpoints: {}", named.join(", ")));
    }
    let origin = match (&finding.rule_id, &finding.model) {
        (Some(rule), _) => format!("Rule check: {rule}"),
        (None, Some(model)) => format!("AI review ({model})"),
        _ => "AI review".into(),
    };
    lines.push(format!(
        "{origin} · confidence {:.0}%",
        finding.confidence * 100.0
    ));
    if let Some(note) = finding.note.as_deref().filter(|n| !n.trim().is_empty()) {
        lines.push(format!("Reviewer note: {note}"));
    }
    lines
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Where a finding goes: its quote's exact range, else its section's heading paragraph, else the
/// section's first paragraph.
pub(crate) fn anchor(finding: &Finding, section: Option<&Section>) -> Option<CommentAnchor> {
    if let Some(a) = finding.anchor
        && a.end > a.start
    {
        return Some(CommentAnchor::Range {
            paragraph: a.paragraph,
            start: a.start,
            end: a.end,
        });
    }
    let section = section?;
    let paragraph = section
        .heading_paragraph
        .or_else(|| section.paragraphs.first().map(|p| p.paragraph))
        .unwrap_or(section.paragraph_start);
    Some(CommentAnchor::Paragraph(paragraph))
}

/// The comment spec of one finding.
pub(crate) fn spec(
    finding: &Finding,
    section: Option<&Section>,
    authors: &Authors<'_>,
    checkpoint_titles: &dyn Fn(&str) -> Option<String>,
) -> Option<CommentSpec> {
    let author = if finding.source == FindingSource::Reviewer {
        authors.reviewer
    } else {
        authors.product
    };
    let date = finding
        .decided_at
        .unwrap_or(finding.created_at)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    Some(CommentSpec {
        anchor: anchor(finding, section)?,
        author: author.to_string(),
        initials: initials(author),
        date,
        lines: lines(finding, checkpoint_titles),
        replacement: finding
            .replacement
            .clone()
            .filter(|_| finding.source != FindingSource::Reviewer),
    })
}
