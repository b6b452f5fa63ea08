//! The prompt for one section: a prefix shared by every section of a document (instructions, the
//! framework, the guidelines and the document outline) marked cacheable, then the section itself with the
//! guidance and checkpoints that apply to it, and what the rules already found.
//!
//! Sections longer than the token budget are split at paragraph boundaries into parts reviewed one call
//! each; nothing is ever cut off silently.

use std::fmt::Write as _;

use aiprism_core::Section;
use aiprism_core::framework::Framework;
use aiprism_core::rules::RuleFinding;
use aiprism_llm::{ChatMessage, ModelRequest, SystemBlock, ToolSpec};

use super::output;

/// Characters per token, the usual estimate for English prose.
const CHARS_PER_TOKEN: usize = 4;

/// Section text per call, in estimated tokens; a longer section is split into parts.
pub const SECTION_TOKEN_BUDGET: usize = 12_000;

/// Guidelines text kept in the prompt, in estimated tokens (the prompt says when it was shortened).
pub const GUIDELINES_TOKEN_BUDGET: usize = 20_000;

const INSTRUCTIONS: &str = "You review investigation and incident write-ups for analysts, one section at a time, \
against the review framework below. Your findings are shown to a reviewer who accepts or rejects each one, and \
accepted findings become Word comments anchored on the words you quote.

How to review:
- Judge the section against the framework's checkpoints that apply to it and against the section guidance.
- Be specific to this document: name the missing date, the unexplained gap, the action without an owner. \
Never give generic advice that would fit any document, and never invent facts that are not in the text.
- Quote the section's own words, verbatim and character for character, at most two sentences, for every \
finding about particular words. Use an empty quote only for something missing from the section as a whole.
- Risk: high when leaving it would mislead readers or hide a control failure; medium when it weakens the \
write-up; low for polish. Type: critical (must fix), important (should fix), suggestion, positive (done well).
- Confidence: how sure you are that a careful reviewer would agree, from 0 to 1. Report every finding you \
believe in, with an honest confidence; the reviewer filters.
- Do not repeat what the automatic rule checks already reported (listed with the section).
- A good section may deserve no findings, or one positive finding. Usually 0 to 8 findings.
- Answer only by calling the record_findings tool.";

/// Everything that is the same for every section of one document.
pub struct DocumentPrompt {
    prefix: String,
}

impl DocumentPrompt {
    /// Builds the shared prefix.
    pub fn new(
        framework: &Framework,
        filename: &str,
        document_type: Option<&str>,
        sections: &[Section],
        guidelines: Option<&str>,
        examples: &[aiprism_core::Finding],
    ) -> Self {
        let mut prefix = String::with_capacity(8 * 1024);
        prefix.push_str(INSTRUCTIONS);
        prefix.push_str("\n\n");
        prefix.push_str(&framework.outline());
        if !framework.section_guidance.is_empty() {
            prefix.push_str("\nSection guidance (applies to sections whose titles match):\n");
            for g in &framework.section_guidance {
                let _ = writeln!(prefix, "- {}: {}", g.name, one_line(&g.guidance));
            }
        }
        if let Some(text) = guidelines.map(str::trim).filter(|t| !t.is_empty()) {
            let budget = GUIDELINES_TOKEN_BUDGET * CHARS_PER_TOKEN;
            let total = text.chars().count();
            prefix.push_str(
                "\nThe reviewer's organisation gave these guidelines; apply them too:\n<guidelines>\n",
            );
            if total > budget {
                prefix.extend(text.chars().take(budget));
                let _ = write!(
                    prefix,
                    "\n[guidelines shortened: the first {budget} of {total} characters]"
                );
            } else {
                prefix.push_str(text);
            }
            prefix.push_str("\n</guidelines>\n");
        }
        if !examples.is_empty() {
            prefix.push_str(
                "\nFindings this reviewer accepted in other write-ups (examples of the feedback they find useful):\n",
            );
            for e in examples {
                let description: String = e.description.chars().take(300).collect();
                let quote: String = e.quote.chars().take(160).collect();
                let _ = writeln!(
                    prefix,
                    "- [{}, {} risk] {} (quote: \"{}\")",
                    e.category,
                    e.risk.as_str(),
                    one_line(&description),
                    one_line(&quote)
                );
            }
        }
        let _ = write!(prefix, "\nThe document under review: {filename}");
        if let Some(kind) = document_type {
            let _ = write!(prefix, " ({kind})");
        }
        prefix.push_str("\nIts outline:\n");
        for s in sections {
            let indent = "  ".repeat(usize::from(s.level.saturating_sub(1)));
            let excluded = if s.is_reviewable() { "" } else { " [not reviewed]" };
            let _ = writeln!(prefix, "{indent}{}. {}{excluded}", s.index + 1, s.title);
        }
        Self { prefix }
    }

    /// The shared prefix, as sent.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The request for one part of one section.
    pub fn request(
        &self,
        framework: &Framework,
        section: &Section,
        part: &SectionPart<'_>,
        sections_total: usize,
        rule_findings: &[RuleFinding],
    ) -> ModelRequest {
        let mut user = String::with_capacity(part.text.len() + 2048);
        let _ = write!(
            user,
            "Section {} of {sections_total}: \"{}\"",
            section.index + 1,
            section.title
        );
        if part.count > 1 {
            let _ = write!(
                user,
                " — part {} of {} (the section is long; review this part, the others are reviewed separately)",
                part.number, part.count
            );
        }
        user.push_str("\n\n");
        if let Some(guidance) = framework.guidance_for(&section.title) {
            let _ = writeln!(
                user,
                "Guidance for this kind of section ({}): {}",
                guidance.name,
                one_line(&guidance.guidance)
            );
        }
        let checkpoints = framework.checkpoints_for(&section.title);
        if !checkpoints.is_empty() {
            let ids: Vec<&str> = checkpoints.iter().map(|c| c.id.as_str()).collect();
            let _ = writeln!(user, "Checkpoints that apply most: {}", ids.join(", "));
        }
        if !rule_findings.is_empty() {
            user.push_str("Automatic rule checks already reported (do not repeat them):\n");
            for f in rule_findings.iter().take(30) {
                let _ = writeln!(user, "- {}", one_line(&f.description));
            }
        }
        let _ = write!(user, "\n<section>\n{}\n</section>", part.text);
        ModelRequest {
            system: vec![SystemBlock::cached(self.prefix.clone())],
            messages: vec![ChatMessage::user(user)],
            tool: Some(ToolSpec {
                name: output::TOOL_NAME.to_string(),
                description: output::TOOL_DESCRIPTION.to_string(),
                input_schema: output::schema(),
            }),
            max_tokens: None,
            temperature: None,
            thinking_budget: None,
        }
    }
}

/// One part of a section's text (the whole text when it fits the budget).
#[derive(Debug, Clone, PartialEq)]
pub struct SectionPart<'a> {
    /// 1-based part number.
    pub number: usize,
    /// How many parts the section has.
    pub count: usize,
    /// The part's text: whole paragraphs of the section.
    pub text: &'a str,
}

/// Splits a section's text at paragraph boundaries into parts of at most `budget_tokens` (estimated). A
/// single paragraph longer than the budget is split at sentence ends, then at spaces, never mid-word.
pub fn split(text: &str, budget_tokens: usize) -> Vec<SectionPart<'_>> {
    let budget = budget_tokens.max(1) * CHARS_PER_TOKEN;
    let mut pieces: Vec<&str> = Vec::new();
    let mut start = 0;
    let bytes_len = text.len();
    while start < bytes_len {
        let rest = &text[start..];
        if rest.len() <= budget {
            pieces.push(rest);
            break;
        }
        let window_end = floor_char_boundary(rest, budget);
        let window = &rest[..window_end];
        let cut = window
            .rfind('\n')
            .or_else(|| window.rfind(". ").map(|i| i + 1))
            .or_else(|| window.rfind(' '))
            .filter(|&i| i > 0)
            .unwrap_or(window_end);
        pieces.push(&rest[..cut]);
        start += cut;
        // Skip the separator so the next part starts with text.
        while start < bytes_len && text[start..].starts_with(['\n', ' ']) {
            start += 1;
        }
    }
    if pieces.is_empty() {
        pieces.push(text);
    }
    let count = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, text)| SectionPart {
            number: i + 1,
            count,
            text,
        })
        .collect()
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    while index > 0 && !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_section_is_one_part() {
        let parts = split("one\ntwo", 100);
        assert_eq!(
            parts,
            [SectionPart {
                number: 1,
                count: 1,
                text: "one\ntwo"
            }]
        );
    }

    #[test]
    fn a_long_section_splits_at_paragraphs_and_loses_nothing() {
        let paragraph = "word ".repeat(30).trim().to_string();
        let text = vec![paragraph; 40].join("\n");
        let parts = split(&text, 100);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.text.len() <= 400));
        let rejoined: Vec<&str> = parts.iter().map(|p| p.text).collect();
        assert_eq!(rejoined.join("\n").replace('\n', " "), text.replace('\n', " "));
        assert!(parts.iter().all(|p| p.count == parts.len()));
    }

    #[test]
    fn a_huge_paragraph_splits_between_words_even_with_multibyte_text() {
        let text = "é".repeat(10) + &" ünïcödé".repeat(500);
        let parts = split(&text, 50);
        assert!(parts.len() > 1);
        let total: usize = parts.iter().map(|p| p.text.split_whitespace().count()).sum();
        assert_eq!(total, text.split_whitespace().count());
    }
}
