//! The deterministic rule engine: runs a framework's rules over one section and returns findings that
//! quote the exact text they are about.
//!
//! Rules are Vale-like: each has an id, a message, a level (finding type and risk), a scope (section
//! title patterns) and a built-in check kind with typed parameters (see [`crate::framework::RuleKind`]).
//! They run before the model because they are free, instant and explainable. Everything here is pure:
//! text in, values out, the same output for the same input.
//!
//! Quotes are always exact substrings of the section text (character offsets in [`RuleFinding::span`]),
//! so they can be anchored in the document without searching; only section-level findings (an empty
//! section) have an empty quote and no span.

mod acronyms;
mod actions;
mod dates;
mod empty;
mod long_sentence;
mod placeholder;
#[cfg(test)]
mod robustness;
mod root_cause;
mod text;
mod timeline;
mod vague;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::document::Section;
use crate::finding::{FindingType, Risk};
use crate::framework::{Framework, FrameworkError, RuleParams, RuleSpec, TitleScope};
use crate::quote::CharSpan;

/// One finding produced by a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFinding {
    /// The rule that produced it.
    pub rule_id: String,
    /// How it should be read (from the rule).
    pub finding_type: FindingType,
    /// The risk of leaving it (from the rule).
    pub risk: Risk,
    /// Category shown with it (from the rule).
    pub category: String,
    /// The rule's message with `{quote}`, `{detail}` and `{title}` filled in.
    pub description: String,
    /// The rule's suggestion, filled in the same way.
    pub suggestion: String,
    /// The exact text it is about, a substring of the section text; empty for section-level findings.
    pub quote: String,
    /// Where `quote` is in the section text, in characters; `None` for section-level findings.
    pub span: Option<CharSpan>,
    /// How sure the check is, 0 to 1: high for certain things (a literal `TODO`), lower for heuristics.
    pub confidence: f32,
    /// Checkpoint ids of the framework the finding relates to (from the rule).
    pub checkpoints: Vec<String>,
}

/// The section a rule runs on, borrowed from wherever the caller keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionInput<'a> {
    /// Position of the section in the document (its index in the [`DocumentContext`]).
    pub index: usize,
    /// Its heading text.
    pub title: &'a str,
    /// Its outline level (1 for top-level headings, 0 when it has no heading).
    pub level: u8,
    /// Its body text; quotes are substrings of this.
    pub text: &'a str,
}

impl<'a> SectionInput<'a> {
    /// Borrows a stored section.
    pub fn from_section(section: &'a Section) -> SectionInput<'a> {
        SectionInput {
            index: section.index as usize,
            title: &section.title,
            level: section.level,
            text: &section.text,
        }
    }
}

/// One section as seen by document-wide checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSection {
    /// Its heading text.
    pub title: String,
    /// Its outline level; a deeper section right after another is its sub-section.
    pub level: u8,
    /// Its body text.
    pub text: String,
}

/// The whole document, for checks that need more than one section: acronyms defined anywhere, and
/// sub-sections (a "Timeline" whose entries are sub-headings, a "Root cause" analysed in sub-sections).
///
/// Document-wide results (the acronym index) are computed once per rule and cached here, so running
/// every section of a document against the same context costs one scan of the document, not one per
/// section.
pub struct DocumentContext {
    sections: Vec<ContextSection>,
    acronyms: Mutex<HashMap<String, Arc<acronyms::AcronymIndex>>>,
}

impl DocumentContext {
    /// A document made of these sections, in order.
    pub fn new(sections: Vec<ContextSection>) -> DocumentContext {
        DocumentContext {
            sections,
            acronyms: Mutex::new(HashMap::new()),
        }
    }

    /// A document from `(title, text)` pairs, all at level 1 (no sub-sections).
    pub fn from_pairs<I, T, X>(pairs: I) -> DocumentContext
    where
        I: IntoIterator<Item = (T, X)>,
        T: Into<String>,
        X: Into<String>,
    {
        DocumentContext::new(
            pairs
                .into_iter()
                .map(|(t, x)| ContextSection {
                    title: t.into(),
                    level: 1,
                    text: x.into(),
                })
                .collect(),
        )
    }

    /// A document from stored sections (in the order given).
    pub fn from_sections(sections: &[Section]) -> DocumentContext {
        DocumentContext::new(
            sections
                .iter()
                .map(|s| ContextSection {
                    title: s.title.clone(),
                    level: s.level,
                    text: s.text.clone(),
                })
                .collect(),
        )
    }

    /// The sections, in document order.
    pub fn sections(&self) -> &[ContextSection] {
        &self.sections
    }

    /// The sub-sections of `section` (the deeper sections right after it), if it is in this document.
    pub(crate) fn children(&self, section: &SectionInput<'_>) -> &[ContextSection] {
        let Some(me) = self.sections.get(section.index) else {
            return &[];
        };
        if me.text != section.text || me.level == 0 {
            return &[];
        }
        let rest = self.sections.get(section.index + 1..).unwrap_or(&[]);
        let n = rest.iter().take_while(|s| s.level > me.level).count();
        &rest[..n]
    }

    fn acronym_index(
        &self,
        key: &str,
        build: impl FnOnce() -> acronyms::AcronymIndex,
    ) -> Arc<acronyms::AcronymIndex> {
        let mut map = self
            .acronyms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(map.entry(key.to_string()).or_insert_with(|| Arc::new(build())))
    }
}

impl Clone for DocumentContext {
    fn clone(&self) -> Self {
        DocumentContext::new(self.sections.clone())
    }
}

impl std::fmt::Debug for DocumentContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentContext")
            .field("sections", &self.sections)
            .finish_non_exhaustive()
    }
}

/// What a check produces before the rule's message is applied: a byte range of the section text (none
/// for a section-level finding), a confidence and a detail for the message.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub span: Option<(usize, usize)>,
    pub confidence: f32,
    pub detail: String,
}

/// A section being checked, with its masked text computed once for all rules.
pub(crate) struct SectionCtx<'a> {
    pub section: &'a SectionInput<'a>,
    pub masked: String,
    pub doc: &'a DocumentContext,
}

impl SectionCtx<'_> {
    pub(crate) fn text(&self) -> &str {
        self.section.text
    }

    pub(crate) fn children(&self) -> &[ContextSection] {
        self.doc.children(self.section)
    }
}

/// Why a rule's parameters did not compile.
pub(crate) struct ParamError {
    pub param: String,
    pub pattern: String,
    pub message: String,
}

enum Check {
    Placeholder(placeholder::PlaceholderCheck),
    Empty(empty::EmptyCheck),
    Timeline(timeline::TimelineCheck),
    Actions(actions::ActionCheck),
    RootCause(root_cause::RootCauseCheck),
    Vague(vague::VagueCheck),
    Long(long_sentence::LongSentenceCheck),
    Acronym(acronyms::AcronymCheck),
}

impl Check {
    fn new(params: &RuleParams) -> Result<Check, ParamError> {
        let simple = |(param, message): (String, String)| ParamError {
            param,
            pattern: String::new(),
            message,
        };
        Ok(match params {
            RuleParams::Placeholder(p) => Check::Placeholder(placeholder::PlaceholderCheck::new(p)?),
            RuleParams::EmptySection(p) => Check::Empty(empty::EmptyCheck::new(p)),
            RuleParams::TimelineDates(p) => Check::Timeline(timeline::TimelineCheck::new(p).map_err(simple)?),
            RuleParams::ActionOwnerDate(p) => Check::Actions(actions::ActionCheck::new(p)?),
            RuleParams::RootCauseLanguage(p) => {
                Check::RootCause(root_cause::RootCauseCheck::new(p).map_err(simple)?)
            }
            RuleParams::VagueQuantifier(p) => Check::Vague(vague::VagueCheck::new(p).map_err(simple)?),
            RuleParams::LongSentence(p) => Check::Long(long_sentence::LongSentenceCheck::new(p)),
            RuleParams::UndefinedAcronym(p) => Check::Acronym(acronyms::AcronymCheck::new(p)),
        })
    }

    fn run(&self, ctx: &SectionCtx<'_>, spec: &RuleSpec) -> Vec<Hit> {
        match self {
            Check::Placeholder(c) => c.run(ctx),
            Check::Empty(c) => c.run(ctx),
            Check::Timeline(c) => c.run(ctx),
            Check::Actions(c) => c.run(ctx),
            Check::RootCause(c) => c.run(ctx),
            Check::Vague(c) => c.run(ctx),
            Check::Long(c) => c.run(ctx),
            Check::Acronym(c) => {
                let key = format!("{}\u{1f}{:?}", spec.id, spec.params);
                let index = ctx.doc.acronym_index(&key, || c.index(ctx.doc));
                c.run(ctx, &index)
            }
        }
    }
}

struct CompiledRule {
    spec: RuleSpec,
    scope: TitleScope,
    /// `None` when the rule did not compile (only possible for frameworks that skipped validation).
    check: Option<Check>,
}

/// A framework's rules with every regular expression compiled, ready to run on any number of sections.
/// [`run_rules`] keeps one per framework; build one yourself to hold it explicitly.
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
}

impl CompiledRules {
    /// Compiles every rule of a framework; fails on the first rule that does not compile.
    pub fn new(framework: &Framework) -> Result<CompiledRules, FrameworkError> {
        let (rules, errors) = CompiledRules::build(framework);
        match errors.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(rules),
        }
    }

    /// Compiles leniently: a rule that does not compile is kept but never runs, and its error returned.
    pub(crate) fn build(framework: &Framework) -> (CompiledRules, Vec<FrameworkError>) {
        let mut errors = Vec::new();
        let rules = framework
            .rules
            .iter()
            .map(|spec| {
                let scope = TitleScope::new(&spec.applies_to).unwrap_or_else(|(pattern, message)| {
                    errors.push(FrameworkError::BadPattern {
                        path: format!("rules[{}].applies_to", spec.id),
                        pattern,
                        message,
                    });
                    TitleScope::nothing()
                });
                let check = Check::new(&spec.params)
                    .map_err(|e| {
                        errors.push(FrameworkError::BadPattern {
                            path: format!("rules[{}].params.{}", spec.id, e.param),
                            pattern: e.pattern,
                            message: e.message,
                        })
                    })
                    .ok();
                CompiledRule {
                    spec: spec.clone(),
                    scope,
                    check,
                }
            })
            .collect();
        (CompiledRules { rules }, errors)
    }

    /// Whether the `index`-th rule's scope covers a section with this title.
    pub(crate) fn scope_matches(&self, index: usize, title: &str) -> bool {
        self.rules.get(index).is_some_and(|r| r.scope.matches(title))
    }

    /// Runs every enabled rule whose scope covers the section. Findings come in a fixed order:
    /// section-level findings first, then by position in the text, then by rule order.
    pub fn run(&self, section: &SectionInput<'_>, document: &DocumentContext) -> Vec<RuleFinding> {
        let ctx = SectionCtx {
            section,
            masked: text::mask(section.text),
            doc: document,
        };
        let mut raw: Vec<(usize, &RuleSpec, Hit)> = Vec::new();
        for (order, rule) in self.rules.iter().enumerate() {
            if !rule.spec.enabled || !rule.scope.matches(section.title) {
                continue;
            }
            let Some(check) = &rule.check else { continue };
            for hit in check.run(&ctx, &rule.spec) {
                // Never let a bad range through: a hit whose range is not real text is dropped.
                let valid = match hit.span {
                    None => true,
                    Some((s, e)) => section.text.get(s..e).is_some_and(|q| !q.trim().is_empty()),
                };
                if valid {
                    raw.push((order, &rule.spec, hit));
                }
            }
        }
        let offsets: Vec<usize> = raw
            .iter()
            .filter_map(|(_, _, h)| h.span)
            .flat_map(|(s, e)| [s, e])
            .collect();
        let mut chars = text::char_offsets(section.text, &offsets).into_iter();
        let mut findings: Vec<(usize, RuleFinding)> = raw
            .into_iter()
            .map(|(order, spec, hit)| {
                let (quote, span) = match hit.span {
                    Some((s, e)) => {
                        let span = match (chars.next(), chars.next()) {
                            (Some(a), Some(b)) => Some(CharSpan { start: a, end: b }),
                            _ => None,
                        };
                        (section.text.get(s..e).unwrap_or("").to_string(), span)
                    }
                    None => (String::new(), None),
                };
                let finding = RuleFinding {
                    rule_id: spec.id.clone(),
                    finding_type: spec.finding_type,
                    risk: spec.risk,
                    category: spec.category.clone(),
                    description: render(&spec.message, &quote, &hit.detail, section.title),
                    suggestion: render(&spec.suggestion, &quote, &hit.detail, section.title),
                    quote,
                    span,
                    confidence: hit.confidence.clamp(0.0, 1.0),
                    checkpoints: spec.checkpoints.clone(),
                };
                (order, finding)
            })
            .collect();
        findings.sort_by_key(|(order, f)| (f.span.map(|s| (1, s.start, s.end)).unwrap_or((0, 0, 0)), *order));
        findings.into_iter().map(|(_, f)| f).collect()
    }
}

/// Runs a framework's rules over one section. The framework keeps its compiled rules, so calling this
/// for every section of a document compiles nothing after the first call.
pub fn run_rules(
    framework: &Framework,
    section: &SectionInput<'_>,
    document: &DocumentContext,
) -> Vec<RuleFinding> {
    framework.compiled().rules.run(section, document)
}

/// Fills `{quote}`, `{detail}` and `{title}` in a rule's message in one pass (a quote containing
/// "{detail}" stays as it is).
fn render(template: &str, quote: &str, detail: &str, title: &str) -> String {
    let mut out = String::with_capacity(template.len() + quote.len() + detail.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let (value, len) = if after.starts_with("{quote}") {
            (quote, 7)
        } else if after.starts_with("{detail}") {
            (detail, 8)
        } else if after.starts_with("{title}") {
            (title.trim(), 7)
        } else {
            ("{", 1)
        };
        out.push_str(value);
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

impl crate::dedupe::DedupeItem for RuleFinding {
    fn description(&self) -> &str {
        &self.description
    }

    fn quote_span(&self) -> Option<CharSpan> {
        self.span
    }

    fn confidence(&self) -> f32 {
        self.confidence
    }

    fn source_priority(&self) -> u8 {
        crate::dedupe::RULE_PRIORITY
    }

    fn absorb(&mut self, other: &Self) {
        for c in &other.checkpoints {
            if !self.checkpoints.contains(c) {
                self.checkpoints.push(c.clone());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one rule kind on a text, for the checks' data-driven tests.

    use super::*;
    use crate::framework::{Checkpoint, RuleKind};

    fn label(kind: RuleKind) -> &'static str {
        match kind {
            RuleKind::Placeholder => "Placeholder",
            RuleKind::EmptySection => "Empty",
            RuleKind::TimelineDates => "Timeline",
            RuleKind::ActionOwnerDate => "Action",
            RuleKind::RootCauseLanguage => "Root cause",
            RuleKind::VagueQuantifier => "Vague",
            RuleKind::LongSentence => "Long sentence",
            RuleKind::UndefinedAcronym => "Acronym",
        }
    }

    pub(crate) fn framework(params: RuleParams) -> Framework {
        let rule = RuleSpec {
            id: "test-rule".into(),
            message: format!("{} check: {{detail}}.", label(params.kind())),
            suggestion: "Fix \"{quote}\" in {title}.".into(),
            params,
            finding_type: FindingType::Important,
            risk: Risk::Medium,
            category: "Test".into(),
            applies_to: Vec::new(),
            checkpoints: vec!["C1".into()],
            enabled: true,
        };
        let checkpoint = Checkpoint {
            id: "C1".into(),
            title: "Test".into(),
            guidance: "Test.".into(),
            applies_to: Vec::new(),
        };
        match Framework::new(
            "test",
            "Test",
            "Test.",
            "1",
            vec![checkpoint],
            Vec::new(),
            vec![rule],
        ) {
            Ok(f) => f,
            Err(e) => panic!("test framework is invalid: {e}"),
        }
    }

    pub(crate) fn run_kind(params: RuleParams, title: &str, text: &str) -> Vec<RuleFinding> {
        let doc = DocumentContext::from_pairs([(title, text)]);
        let section = SectionInput {
            index: 0,
            title,
            level: 1,
            text,
        };
        run_kind_in(params, &section, &doc)
    }

    pub(crate) fn run_kind_in(
        params: RuleParams,
        section: &SectionInput<'_>,
        doc: &DocumentContext,
    ) -> Vec<RuleFinding> {
        let findings = run_rules(&framework(params), section, doc);
        for f in &findings {
            assert!(
                section.text.contains(&f.quote),
                "quote {:?} is not in the text",
                f.quote
            );
            if let Some(span) = f.span {
                let quoted: String = section
                    .text
                    .chars()
                    .skip(span.start as usize)
                    .take((span.end - span.start) as usize)
                    .collect();
                assert_eq!(quoted, f.quote, "span does not match the quote");
            }
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_fills_each_substitution_once() {
        assert_eq!(
            render("a {quote} b {detail} c {title} {other}", "{detail}", "D", " T "),
            "a {detail} b D c T {other}"
        );
    }

    #[test]
    fn findings_are_ordered_and_spans_are_characters() {
        let fw = testing::framework(RuleParams::Placeholder(Default::default()));
        let text = "Café owner: TBD. Date: XX-XX.";
        let doc = DocumentContext::from_pairs([("Actions", text)]);
        let findings = run_rules(
            &fw,
            &SectionInput {
                index: 0,
                title: "Actions",
                level: 1,
                text,
            },
            &doc,
        );
        let spans: Vec<(u32, u32, &str)> = findings
            .iter()
            .map(|f| {
                f.span
                    .map(|s| (s.start, s.end, f.quote.as_str()))
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(spans, vec![(12, 15, "TBD"), (23, 28, "XX-XX")]);
        assert_eq!(findings[0].suggestion, "Fix \"TBD\" in Actions.");
    }

    #[test]
    fn disabled_and_out_of_scope_rules_do_not_run() {
        let mut fw = testing::framework(RuleParams::Placeholder(Default::default()));
        let doc = DocumentContext::from_pairs([("Summary", "TODO")]);
        let section = SectionInput {
            index: 0,
            title: "Summary",
            level: 1,
            text: "TODO",
        };
        assert_eq!(run_rules(&fw, &section, &doc).len(), 1);
        fw.rules[0].applies_to = vec!["^actions$".into()];
        assert!(run_rules(&fw, &section, &doc).is_empty());
        fw.rules[0].applies_to.clear();
        fw.rules[0].enabled = false;
        assert!(run_rules(&fw, &section, &doc).is_empty());
    }
}
