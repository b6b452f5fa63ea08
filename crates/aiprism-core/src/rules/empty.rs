//! Empty sections: no text at all, or nothing but whitespace and placeholders.
//!
//! The text before the first heading (level 0) is never reported. A heading immediately followed by its
//! own sub-sections ("Lessons learned" then "What went well") is
//! not empty: its content lives in the sub-sections. That needs the document, so it is only recognised
//! when the section is part of the [`super::DocumentContext`] it runs with.

use super::placeholder::find_builtin;
use super::text::word_count;
use super::{Hit, SectionCtx};
use crate::framework::EmptySectionParams;

/// The compiled empty-section check.
pub(crate) struct EmptyCheck {
    params: EmptySectionParams,
}

impl EmptyCheck {
    pub(crate) fn new(params: &EmptySectionParams) -> EmptyCheck {
        EmptyCheck {
            params: params.clone(),
        }
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        // A level-0 section is the text before the first heading: when there is none, there is nothing
        // to report (it is not a section the author wrote).
        if ctx.section.level == 0 || (self.params.skip_parents && !ctx.children().is_empty()) {
            return Vec::new();
        }
        let masked = ctx.masked.as_str();
        // Count the words left once every placeholder is blanked out.
        let mut blanked = masked.as_bytes().to_vec();
        let placeholders = find_builtin(masked);
        for (s, e, _) in &placeholders {
            for b in blanked.iter_mut().take(*e).skip(*s) {
                *b = b' ';
            }
        }
        let words = String::from_utf8(blanked).map_or(usize::MAX, |t| word_count(&t));
        if words >= self.params.min_words as usize {
            return Vec::new();
        }
        let (confidence, detail) = if ctx.text().trim().is_empty() {
            (0.97, "the section has no text".to_string())
        } else if !placeholders.is_empty() && words == 0 {
            (0.9, "the section holds only placeholder text".to_string())
        } else if words == 0 {
            (0.9, "the section holds no words".to_string())
        } else {
            (0.75, format!("the section has only {words} words"))
        };
        vec![Hit {
            span: None,
            confidence,
            detail,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_kind, run_kind_in};
    use super::super::{ContextSection, DocumentContext, SectionInput};
    use crate::framework::{EmptySectionParams, RuleParams};

    fn check_with(params: EmptySectionParams, text: &str, expect: Option<&str>) {
        let got = run_kind(RuleParams::EmptySection(params), "Background", text);
        match expect {
            None => assert!(got.is_empty(), "{text:?}: {got:?}"),
            Some(detail) => {
                assert_eq!(got.len(), 1, "{text:?}");
                assert!(got[0].description.contains(detail), "{}", got[0].description);
                assert!(got[0].quote.is_empty() && got[0].span.is_none());
            }
        }
    }

    fn check(text: &str, expect: Option<&str>) {
        check_with(EmptySectionParams::default(), text, expect);
    }

    #[test]
    fn reports_sections_without_content() {
        check("", Some("has no text"));
        check(" \n\t\u{a0}\n", Some("has no text"));
        check("TBD", Some("only placeholder text"));
        check("[Insert summary here] XX-XXX", Some("only placeholder text"));
        check("- \n- ", Some("holds no words"));
    }

    #[test]
    fn accepts_sections_with_words() {
        check("See the timeline below.", None);
        check("N/A", None);
        let strict = EmptySectionParams {
            min_words: 5,
            ..EmptySectionParams::default()
        };
        check_with(strict, "Too short here.", Some("only 3 words"));
    }

    #[test]
    fn a_heading_with_sub_sections_is_not_empty() {
        let doc = DocumentContext::new(vec![
            ContextSection {
                title: "Lessons learned".into(),
                level: 2,
                text: String::new(),
            },
            ContextSection {
                title: "What went well".into(),
                level: 3,
                text: "Quick rollback.".into(),
            },
            ContextSection {
                title: "Appendix".into(),
                level: 2,
                text: String::new(),
            },
        ]);
        let params = || RuleParams::EmptySection(EmptySectionParams::default());
        let parent = SectionInput {
            index: 0,
            title: "Lessons learned",
            level: 2,
            text: "",
        };
        assert!(run_kind_in(params(), &parent, &doc).is_empty());
        let last = SectionInput {
            index: 2,
            title: "Appendix",
            level: 2,
            text: "",
        };
        assert_eq!(run_kind_in(params(), &last, &doc).len(), 1);
        let preamble = SectionInput {
            index: 9,
            title: "",
            level: 0,
            text: "",
        };
        assert!(run_kind_in(params(), &preamble, &doc).is_empty());
    }
}
