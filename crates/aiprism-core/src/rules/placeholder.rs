//! Unfilled template text: `XX-XXX`, `[NAME ...]`, `[TBD]`, `TBD`, `TODO`, `FIXME`, `<insert ...>`,
//! `???`, `{{name}}`, lorem ipsum.
//!
//! Upper-case markers must be whole words (so "TODOS" or "Xbox" are not flagged); bracketed text counts
//! only when it reads like a fill-in ("[Name of owner]", "[CUSTOMER NAME]"), never as a Markdown link or
//! checkbox; angle brackets skip HTML tags, e-mail addresses and autolinks.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{Hit, ParamError, SectionCtx};
use crate::framework::PlaceholderParams;

struct Builtin {
    words: Regex,
    xrun: Regex,
    xrun_lower: Regex,
    bracket: Regex,
    bracket_keyword: Regex,
    caps_keyword: Regex,
    angle: Regex,
    angle_keyword: Regex,
    questions: Regex,
    lorem: Regex,
    braces: Regex,
}

static BUILTIN: LazyLock<Option<Builtin>> = LazyLock::new(|| {
    Some(Builtin {
        words: Regex::new(r"\b(?:TODO|FIXME|TBD|TBC|TBA)\b").ok()?,
        xrun: Regex::new(r"\bX[X0-9]*(?:[-/.:,][X0-9]+)*\b").ok()?,
        xrun_lower: Regex::new(r"\bx{2,}(?:[-/.:,]x+)+\b").ok()?,
        bracket: Regex::new(r"\[([^\[\]\n]{1,80})\]").ok()?,
        bracket_keyword: Regex::new(
            r"(?i)^\s*(?:(?:insert|add|enter|fill|your|tbd|tbc|tba|todo|placeholder|name|date|owner|link|xx+)\b|\?+)",
        )
        .ok()?,
        caps_keyword: Regex::new(
            r"\b(?:NAME|DATE|OWNER|TEAM|NUMBER|AMOUNT|LINK|URL|EMAIL|ID|TIME|DETAILS|CUSTOMER|SELLER|COMPANY|PLACEHOLDER|VALUE|TITLE|ADDRESS|PHONE|TICKET|CASE)S?\b",
        )
        .ok()?,
        angle: Regex::new(r"<([^<>\n]{1,80})>").ok()?,
        angle_keyword: Regex::new(
            r"(?i)^(?:insert|add|enter|your|name|date|tbd|todo|placeholder|fill|describe|link|owner|team|customer|ticket|number)\b",
        )
        .ok()?,
        questions: Regex::new(r"\?{3,}").ok()?,
        lorem: Regex::new(r"(?i)\blorem ipsum\b").ok()?,
        braces: Regex::new(r"\{\{[^{}\n]{1,40}\}\}").ok()?,
    })
});

/// Every built-in placeholder in `masked` as `(start, end, confidence)`, overlapping matches resolved in
/// favour of the earliest, longest one.
pub(crate) fn find_builtin(masked: &str) -> Vec<(usize, usize, f32)> {
    let Some(b) = BUILTIN.as_ref() else {
        return Vec::new();
    };
    let mut hits: Vec<(usize, usize, f32)> = Vec::new();
    hits.extend(b.words.find_iter(masked).map(|m| (m.start(), m.end(), 0.95)));
    for m in b.xrun.find_iter(masked) {
        let token = m.as_str();
        if !token.contains("XX") {
            continue;
        }
        let separated = token.contains(['-', '/', '.', ':', ',']);
        let confidence = if separated {
            0.95
        } else if token.len() >= 3 {
            0.9
        } else {
            0.8
        };
        hits.push((m.start(), m.end(), confidence));
    }
    hits.extend(b.xrun_lower.find_iter(masked).map(|m| (m.start(), m.end(), 0.9)));
    for c in b.bracket.captures_iter(masked) {
        let (Some(all), Some(inner)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let next = masked.get(all.end()..).and_then(|t| t.chars().next());
        let prev = masked.get(..all.start()).and_then(|t| t.chars().next_back());
        if matches!(next, Some('(' | '[' | ':')) || prev == Some(']') {
            continue; // a Markdown link, reference or footnote definition
        }
        let content = inner.as_str();
        let caps = content.chars().any(|c| c.is_ascii_uppercase())
            && content
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || " _/&'-".contains(c));
        if b.bracket_keyword.is_match(content) {
            hits.push((all.start(), all.end(), 0.92));
        } else if caps && b.caps_keyword.is_match(content) {
            hits.push((all.start(), all.end(), 0.85));
        }
    }
    for c in b.angle.captures_iter(masked) {
        let (Some(all), Some(inner)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let content = inner.as_str();
        let edge_space = content.starts_with(char::is_whitespace) || content.ends_with(char::is_whitespace);
        if edge_space
            || content.starts_with(['/', '!', '?'])
            || content.contains(['=', '"', '@'])
            || content.contains("://")
        {
            continue;
        }
        let confidence = if b.angle_keyword.is_match(content) {
            0.93
        } else if content.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && content
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || " _-".contains(c))
            && content.chars().filter(|c| c.is_ascii_uppercase()).count() >= 2
        {
            0.85
        } else if content.contains(' ')
            && content.chars().any(|c| c.is_lowercase())
            && content.split_whitespace().count() >= 2
        {
            0.7
        } else {
            continue; // an HTML tag such as <br> or <details>
        };
        hits.push((all.start(), all.end(), confidence));
    }
    hits.extend(b.questions.find_iter(masked).map(|m| (m.start(), m.end(), 0.85)));
    hits.extend(b.lorem.find_iter(masked).map(|m| (m.start(), m.end(), 0.98)));
    hits.extend(b.braces.find_iter(masked).map(|m| (m.start(), m.end(), 0.85)));
    resolve_overlaps(hits)
}

fn resolve_overlaps(mut hits: Vec<(usize, usize, f32)>) -> Vec<(usize, usize, f32)> {
    hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<(usize, usize, f32)> = Vec::with_capacity(hits.len());
    for h in hits {
        if out.last().is_none_or(|last| h.0 >= last.1) {
            out.push(h);
        }
    }
    out
}

/// The compiled placeholder check.
pub(crate) struct PlaceholderCheck {
    builtin: bool,
    extra: Vec<Regex>,
    ignore: Vec<String>,
}

impl PlaceholderCheck {
    pub(crate) fn new(params: &PlaceholderParams) -> Result<PlaceholderCheck, ParamError> {
        let extra = params
            .extra_patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| ParamError {
                    param: "extra_patterns".into(),
                    pattern: p.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PlaceholderCheck {
            builtin: params.builtin,
            extra,
            ignore: params.ignore.clone(),
        })
    }

    /// One finding per distinct placeholder, at its first occurrence, saying how often it appears.
    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        let masked = ctx.masked.as_str();
        let mut hits = if self.builtin {
            find_builtin(masked)
        } else {
            Vec::new()
        };
        for re in &self.extra {
            hits.extend(
                re.find_iter(masked)
                    .filter(|m| !m.as_str().trim().is_empty())
                    .map(|m| (m.start(), m.end(), 0.9)),
            );
        }
        let hits = resolve_overlaps(hits);
        let mut first: Vec<(usize, usize, f32, usize)> = Vec::new();
        let mut by_text: HashMap<&str, usize> = HashMap::new();
        for (s, e, confidence) in hits {
            let Some(found) = ctx.text().get(s..e) else {
                continue;
            };
            if self.ignore.iter().any(|i| i == found) {
                continue;
            }
            match by_text.get(found) {
                Some(&i) => first[i].3 += 1,
                None => {
                    by_text.insert(found, first.len());
                    first.push((s, e, confidence, 1));
                }
            }
        }
        first
            .into_iter()
            .map(|(s, e, confidence, count)| Hit {
                span: Some((s, e)),
                confidence,
                detail: if count == 1 {
                    "it appears once in this section".to_string()
                } else {
                    format!("it appears {count} times in this section")
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_kind;
    use crate::framework::{PlaceholderParams, RuleParams};

    fn check_with(params: PlaceholderParams, text: &str, expect: &[&str]) {
        let got: Vec<String> = run_kind(RuleParams::Placeholder(params), "Any", text)
            .into_iter()
            .map(|f| f.quote)
            .collect();
        assert_eq!(got, expect, "in {text:?}");
    }

    fn check(text: &str, expect: &[&str]) {
        check_with(PlaceholderParams::default(), text, expect);
    }

    #[test]
    fn flags_template_markers() {
        check("Call XX-XXX-XXXX for help.", &["XX-XXX-XXXX"]);
        check(
            "Signed, [NAME of owning director]",
            &["[NAME of owning director]"],
        );
        check("Owner: [TBD]", &["[TBD]"]);
        check("Owner: TBD, due TBC", &["TBD", "TBC"]);
        check("TODO: email the list", &["TODO"]);
        check("FIXME later", &["FIXME"]);
        check("Dear <insert customer name>,", &["<insert customer name>"]);
        check("Ticket <TICKET_ID> was opened", &["<TICKET_ID>"]);
        check("Root cause: ???", &["???"]);
        check("Lorem ipsum dolor sit amet", &["Lorem ipsum"]);
        check("Hello {{customer}}", &["{{customer}}"]);
        check("Cost was $XX,XXX", &["XX,XXX"]);
        check("[CUSTOMER NAME] said", &["[CUSTOMER NAME]"]);
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        check("TODOS and todo lists, an Xbox, XXL shirts and 5XX errors", &[]);
        check(
            "See [the runbook](https://example.com) and [ref][1] and [x] done",
            &[],
        );
        check(
            "Use <br> and <details> tags, mail <ops@example.com> or <https://example.com/TODO>",
            &[],
        );
        check("If a < b and c > d then", &[]);
        check("The `TODO` marker in code, and\n```\nTBD\n```\nblocks", &[]);
        check("Warnings [NOTE] and [EXTERNAL] banners", &[]);
        check("Why? Really?", &[]);
        check("PHOTODOCUMENT and ATBD are words", &[]);
    }

    #[test]
    fn reports_each_placeholder_once_with_a_count() {
        let findings = run_kind(
            RuleParams::Placeholder(PlaceholderParams::default()),
            "Any",
            "TBD then TBD then TBD",
        );
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].description.contains("3 times"),
            "{}",
            findings[0].description
        );
        assert!(findings[0].confidence >= 0.9);
    }

    #[test]
    fn extra_patterns_and_ignores_apply() {
        let params = PlaceholderParams {
            extra_patterns: vec![r"\bASIN-0+\b".into()],
            ignore: vec!["TBA".into()],
            ..PlaceholderParams::default()
        };
        check_with(params, "Product ASIN-0000, venue TBA", &["ASIN-0000"]);
        let off = PlaceholderParams {
            builtin: false,
            ..PlaceholderParams::default()
        };
        check_with(off, "TODO", &[]);
    }
}
