//! Reviewing one section: rules first (free, instant, explainable), then one model call per part of the
//! section through the router, every quote verified against the section text, near-duplicates merged.
//! When every model fails the section keeps its rule findings and the reason; nothing is ever invented.

use std::time::Duration;

use aiprism_core::dedupe::{DedupeItem, MODEL_PRIORITY, RULE_PRIORITY, merge_duplicates};
use aiprism_core::framework::Framework;
use aiprism_core::rules::{DocumentContext, RuleFinding, SectionInput, run_rules};
use aiprism_core::{
    CharSpan, DocumentId, Finding, FindingId, FindingSource, FindingStatus, ModelCall, ReviewId, Section,
    SectionRunStatus, char_slice, find_quote,
};
use aiprism_llm::{ModelResponse, Router, RouterError};

use super::output::{self, Candidate};
use super::prompt::{DocumentPrompt, SECTION_TOKEN_BUDGET, SectionPart, split};

/// How deep a part is split again when a model says the input is too long.
const MAX_SPLIT_DEPTH: u32 = 3;

/// Everything the review of one section reads.
pub struct SectionJob<'a> {
    /// The framework applied.
    pub framework: &'a Framework,
    /// The document's id.
    pub document_id: &'a DocumentId,
    /// The review this belongs to.
    pub review_id: &'a ReviewId,
    /// The section.
    pub section: &'a Section,
    /// How many sections the document has (for the prompt).
    pub sections_total: usize,
    /// The prompt prefix shared by the document's sections.
    pub prompt: &'a DocumentPrompt,
    /// The whole document, for document-wide rules.
    pub context: &'a DocumentContext,
}

/// What reviewing one section produced.
#[derive(Debug, Default)]
pub struct SectionResult {
    /// Rule and model findings, deduplicated, in section order.
    pub findings: Vec<Finding>,
    /// Model calls made (for cost accounting).
    pub calls: Vec<ModelCall>,
    /// How it ended.
    pub status: Option<SectionRunStatus>,
    /// The model that reviewed it.
    pub model: Option<String>,
    /// Why models failed for it.
    pub error: Option<String>,
    /// Model findings dropped because their quote is not in the section.
    pub unverified_quotes: usize,
}

/// A finding on its way to storage, with its quote's place in the section for deduplication.
struct Draft {
    finding: Finding,
    span: Option<CharSpan>,
}

impl DedupeItem for Draft {
    fn description(&self) -> &str {
        &self.finding.description
    }
    fn quote_span(&self) -> Option<CharSpan> {
        self.span
    }
    fn confidence(&self) -> f32 {
        self.finding.confidence
    }
    fn source_priority(&self) -> u8 {
        match self.finding.source {
            FindingSource::Rule => RULE_PRIORITY,
            _ => MODEL_PRIORITY,
        }
    }
    fn absorb(&mut self, duplicate: &Self) {
        for c in &duplicate.finding.checkpoints {
            if !self.finding.checkpoints.contains(c) {
                self.finding.checkpoints.push(c.clone());
            }
        }
    }
}

/// Reviews one section. `router` is `None` when no model is configured: the rules are then the review.
pub async fn review_section(
    job: &SectionJob<'_>,
    router: Option<&Router>,
    deadline: Duration,
) -> SectionResult {
    let section = job.section;
    let mut drafts: Vec<Draft> = run_rules(job.framework, &SectionInput::from_section(section), job.context)
        .into_iter()
        .map(|r| rule_draft(job, r))
        .collect();
    let mut result = SectionResult::default();

    let Some(router) = router.filter(|_| !section.text.trim().is_empty()) else {
        result.status = Some(SectionRunStatus::Done);
        result.findings = finish(drafts);
        return result;
    };

    let rule_findings: Vec<RuleFinding> = drafts
        .iter()
        .map(|d| RuleFinding {
            rule_id: d.finding.rule_id.clone().unwrap_or_default(),
            finding_type: d.finding.finding_type,
            risk: d.finding.risk,
            category: d.finding.category.clone(),
            description: d.finding.description.clone(),
            suggestion: String::new(),
            quote: d.finding.quote.clone(),
            span: d.span,
            confidence: d.finding.confidence,
            checkpoints: Vec::new(),
        })
        .collect();
    let deadline_at = tokio::time::Instant::now() + deadline;
    let mut errors: Vec<String> = Vec::new();
    let mut queue: Vec<(SectionPart<'_>, u32)> = split(&section.text, SECTION_TOKEN_BUDGET)
        .into_iter()
        .map(|p| (p, 0))
        .collect();
    let mut reviewed_parts = 0usize;
    while let Some((part, depth)) = queue.pop() {
        let request = job
            .prompt
            .request(job.framework, section, &part, job.sections_total, &rule_findings);
        let started = std::time::Instant::now();
        let text = section.text.as_str();
        let validate = |response: &ModelResponse| -> Result<Vec<Candidate>, String> {
            let json = response.json_output().ok();
            let candidates = output::parse(json.as_ref(), &response.output_text())?;
            let quoted: Vec<&Candidate> = candidates.iter().filter(|c| !c.quote.is_empty()).collect();
            if !quoted.is_empty() && quoted.iter().all(|c| find_quote(text, &c.quote).is_none()) {
                return Err(format!(
                    "None of the quotes appear in the section. Quote the section's words exactly, e.g. {:?} is not in it.",
                    quoted[0].quote
                ));
            }
            Ok(candidates)
        };
        match router.call(&request, deadline_at, validate).await {
            Ok(routed) => {
                reviewed_parts += 1;
                result.calls.push(ModelCall {
                    id: format!("call_{}", uuid_like()),
                    review_id: Some(job.review_id.clone()),
                    document_id: job.document_id.clone(),
                    section_id: Some(section.id.clone()),
                    purpose: "review".into(),
                    endpoint: routed.endpoint.clone(),
                    model: routed.model.clone(),
                    usage: routed.usage,
                    latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    outcome: "ok".into(),
                    created_at: aiprism_core::now(),
                });
                result.model = Some(routed.model.clone());
                for candidate in routed.value {
                    match model_draft(job, candidate, &routed.model) {
                        Some(draft) => drafts.push(draft),
                        None => result.unverified_quotes += 1,
                    }
                }
            }
            Err(RouterError::ContextTooLong { .. }) if depth < MAX_SPLIT_DEPTH && part.text.len() > 400 => {
                let halves = split(part.text, (part.text.len() / 4 / 2).max(100));
                for half in halves.into_iter().rev() {
                    queue.push((
                        SectionPart {
                            number: part.number,
                            count: part.count,
                            text: half.text,
                        },
                        depth + 1,
                    ));
                }
            }
            Err(e) => {
                // Unusable answers are billed all the same: count them in the review's usage.
                for (endpoint, usage) in e.spent() {
                    result.calls.push(ModelCall {
                        id: format!("call_{}", uuid_like()),
                        review_id: Some(job.review_id.clone()),
                        document_id: job.document_id.clone(),
                        section_id: Some(section.id.clone()),
                        purpose: "review".into(),
                        endpoint: endpoint.to_string(),
                        model: endpoint.to_string(),
                        usage,
                        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        outcome: "failed".into(),
                        created_at: aiprism_core::now(),
                    });
                }
                errors.push(e.to_string());
            }
        }
    }
    if errors.is_empty() {
        result.status = Some(SectionRunStatus::Done);
    } else {
        errors.sort();
        errors.dedup();
        let reason = if reviewed_parts == 0 {
            format!("AI review unavailable: {}", errors.join("; "))
        } else {
            format!(
                "AI review incomplete ({reviewed_parts} of the section's parts reviewed): {}",
                errors.join("; ")
            )
        };
        result.error = Some(reason);
        result.status = Some(SectionRunStatus::RulesOnly);
    }
    result.findings = finish(drafts);
    result
}

fn finish(drafts: Vec<Draft>) -> Vec<Finding> {
    let mut kept = merge_duplicates(drafts);
    kept.sort_by_key(|d| {
        (
            d.span.map_or(0, |s| s.start),
            d.finding.source != FindingSource::Rule,
        )
    });
    kept.into_iter().map(|d| d.finding).collect()
}

fn base_finding(job: &SectionJob<'_>) -> Finding {
    Finding {
        id: FindingId::generate(),
        document_id: job.document_id.clone(),
        review_id: Some(job.review_id.clone()),
        section_id: job.section.id.clone(),
        source: FindingSource::Rule,
        rule_id: None,
        model: None,
        finding_type: aiprism_core::FindingType::Suggestion,
        category: String::new(),
        description: String::new(),
        suggestion: String::new(),
        example: String::new(),
        questions: Vec::new(),
        checkpoints: Vec::new(),
        risk: aiprism_core::Risk::Low,
        confidence: 0.0,
        quote: String::new(),
        anchor: None,
        replacement: None,
        highlight_color: None,
        parent_id: None,
        status: FindingStatus::Pending,
        note: None,
        edited: false,
        created_at: aiprism_core::now(),
        decided_at: None,
    }
}

fn rule_draft(job: &SectionJob<'_>, r: RuleFinding) -> Draft {
    let anchor = r.span.and_then(|s| job.section.locate(s.start, s.end));
    let finding = Finding {
        source: FindingSource::Rule,
        rule_id: Some(r.rule_id),
        finding_type: r.finding_type,
        category: r.category,
        description: r.description,
        suggestion: r.suggestion,
        checkpoints: r.checkpoints,
        risk: r.risk,
        confidence: r.confidence,
        quote: r.quote,
        anchor,
        ..base_finding(job)
    };
    Draft {
        finding,
        span: r.span,
    }
}

/// Turns a model candidate into a finding whose quote is the section's own text, or `None` when the
/// quote cannot be found (such a finding is dropped, never anchored elsewhere).
fn model_draft(job: &SectionJob<'_>, c: Candidate, model: &str) -> Option<Draft> {
    let section = job.section;
    let (quote, span) = if c.quote.is_empty() {
        (String::new(), None)
    } else {
        let found = find_quote(&section.text, &c.quote)?;
        (
            char_slice(&section.text, found.start, found.end)?.to_string(),
            Some(found.span()),
        )
    };
    let anchor = span.and_then(|s| section.locate(s.start, s.end));
    let checkpoints = c
        .checkpoints
        .iter()
        .filter_map(|id| checkpoint_id(job.framework, id))
        .collect::<Vec<_>>();
    let finding = Finding {
        source: FindingSource::Model,
        model: Some(model.to_string()),
        finding_type: c.finding_type,
        category: c.category,
        description: c.description,
        suggestion: c.suggestion,
        example: c.example,
        questions: c.questions,
        checkpoints: dedup(checkpoints),
        risk: c.risk,
        confidence: c.confidence,
        quote,
        anchor,
        replacement: c.replacement,
        ..base_finding(job)
    };
    Some(Draft { finding, span })
}

/// The framework's id for what the model wrote: the id itself, case-insensitively, or a bare number
/// ("11", "#11") matched to the checkpoint whose id ends in that number.
fn checkpoint_id(framework: &Framework, given: &str) -> Option<String> {
    let given = given.trim().trim_start_matches('#');
    if let Some(c) = framework
        .checkpoints
        .iter()
        .find(|c| c.id.eq_ignore_ascii_case(given))
    {
        return Some(c.id.clone());
    }
    let number: u32 = given
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()?;
    framework
        .checkpoints
        .iter()
        .find(|c| {
            c.id.trim_start_matches(|ch: char| ch.is_ascii_alphabetic())
                .parse::<u32>()
                .ok()
                == Some(number)
        })
        .map(|c| c.id.clone())
}

fn dedup(mut ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    ids
}

fn uuid_like() -> String {
    FindingId::generate()
        .into_string()
        .trim_start_matches("fnd_")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_numbers_map_to_framework_ids() {
        let framework = aiprism_core::framework::builtin_frameworks().remove(0);
        assert_eq!(checkpoint_id(&framework, "C11").as_deref(), Some("C11"));
        assert_eq!(checkpoint_id(&framework, "c11").as_deref(), Some("C11"));
        assert_eq!(checkpoint_id(&framework, "11").as_deref(), Some("C11"));
        assert_eq!(checkpoint_id(&framework, "#2").as_deref(), Some("C02"));
        assert_eq!(checkpoint_id(&framework, "C99"), None);
        assert_eq!(checkpoint_id(&framework, "timeline"), None);
    }
}
