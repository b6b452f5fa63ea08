//! Root-cause sections that only restate symptoms.
//!
//! A root cause explains *why*: "because", "due to", "caused by", "led to", "as a result", "the reason",
//! "never configured", "lack of"... A section titled like a root cause with none of that language anywhere
//! (sub-sections included, since the analysis often sits under sub-headings) most likely describes what
//! happened rather than why. The finding quotes the section's first sentence.

use regex::Regex;

use super::text::{self, mask};
use super::{Hit, SectionCtx};
use crate::framework::RootCauseParams;

const CAUSAL: &[&str] = &[
    "because",
    "due to",
    "cause",
    "as a result",
    "result of",
    "resulted",
    "resulting in",
    "led to",
    "leads to",
    "leading to",
    "lead to",
    "reason",
    "stem",
    "trigger",
    "attributab",
    "owing to",
    "therefore",
    "thus",
    "hence",
    "consequently",
    "which meant",
    "meaning that",
    "so that",
    "why",
    "contribut",
    "introduc",
    "originat",
    "lack",
    "absence of",
    "never",
    "failed to",
    "allowed",
    "broke",
    "so over time",
];

/// The compiled root-cause check.
pub(crate) struct RootCauseCheck {
    causal: Regex,
    include_subsections: bool,
}

impl RootCauseCheck {
    pub(crate) fn new(params: &RootCauseParams) -> Result<RootCauseCheck, (String, String)> {
        let phrases: Vec<String> = CAUSAL
            .iter()
            .map(|s| s.to_string())
            .chain(params.extra_phrases.iter().map(|s| s.trim().to_string()))
            .map(|p| regex::escape(&p))
            .collect();
        let causal = Regex::new(&format!(r"(?i)\b(?:{})", phrases.join("|")))
            .map_err(|e| ("extra_phrases".to_string(), e.to_string()))?;
        Ok(RootCauseCheck {
            causal,
            include_subsections: params.include_subsections,
        })
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        if self.causal.is_match(&ctx.masked) {
            return Vec::new();
        }
        if self.include_subsections
            && ctx
                .children()
                .iter()
                .any(|c| self.causal.is_match(&mask(&c.text)))
        {
            return Vec::new();
        }
        let Some((s, e)) = text::sentences(&ctx.masked).into_iter().next() else {
            return Vec::new();
        };
        let span = text::prefix(ctx.text(), s, e, 120);
        if span.1 <= span.0 {
            return Vec::new();
        }
        vec![Hit {
            span: Some(span),
            confidence: 0.6,
            detail: "nothing in it says why the problem happened (no \"because\", \"due to\", \"caused by\" or similar); it may only restate the symptoms".into(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_kind, run_kind_in};
    use super::super::{ContextSection, DocumentContext, SectionInput};
    use crate::framework::{RootCauseParams, RuleParams};

    fn check_with(params: RootCauseParams, text: &str, expect: Option<&str>) {
        let got = run_kind(RuleParams::RootCauseLanguage(params), "Root cause", text);
        match expect {
            None => assert!(got.is_empty(), "{text:?}: {got:?}"),
            Some(quote) => {
                assert_eq!(got.len(), 1, "{text:?}");
                assert_eq!(got[0].quote, quote);
            }
        }
    }

    fn check(text: &str, expect: Option<&str>) {
        check_with(RootCauseParams::default(), text, expect);
    }

    #[test]
    fn symptoms_only_are_reported_with_the_first_sentence() {
        check(
            "The website was down for three hours. Customers could not log in.",
            Some("The website was down for three hours."),
        );
        check("Human error.", Some("Human error."));
        check("- Disk full\n- Site down", Some("Disk full"));
    }

    #[test]
    fn causal_language_passes() {
        for text in [
            "The site went down because the disk filled up.",
            "Builds failed due to low disk space.",
            "A config change caused the crash loop.",
            "The purge job was never configured for that directory.",
            "Lack of alerting let the problem grow.",
            "The bad deploy led to a flood of requests.",
        ] {
            check(text, None);
        }
        check("", None);
        check(
            "Problems were attributed to the rollout.",
            Some("Problems were attributed to the rollout."),
        );
        let extra = RootCauseParams {
            extra_phrases: vec!["attributed to".into()],
            ..RootCauseParams::default()
        };
        check_with(extra, "Problems were attributed to the rollout.", None);
    }

    #[test]
    fn causal_language_in_sub_sections_counts() {
        let doc = DocumentContext::new(vec![
            ContextSection {
                title: "Root Cause Analysis".into(),
                level: 2,
                text: "The culprit PR.".into(),
            },
            ContextSection {
                title: "Why it failed".into(),
                level: 3,
                text: "It broke because old SDKs lack the function.".into(),
            },
        ]);
        let section = SectionInput {
            index: 0,
            title: "Root Cause Analysis",
            level: 2,
            text: "The culprit PR.",
        };
        let params = RootCauseParams::default();
        assert!(run_kind_in(RuleParams::RootCauseLanguage(params.clone()), &section, &doc).is_empty());
        let alone = RootCauseParams {
            include_subsections: false,
            ..params
        };
        assert_eq!(
            run_kind_in(RuleParams::RootCauseLanguage(alone), &section, &doc).len(),
            1
        );
    }
}
