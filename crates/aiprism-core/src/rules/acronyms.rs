//! Acronyms that are never spelled out anywhere in the document.
//!
//! An acronym is an all-capitals token of 2–6 letters (digits and `&` allowed: `EC2`, `S&O`; a plural
//! `s` or `'s` is ignored). It counts as defined when the document anywhere has "Customer Experience
//! (CX)", "CX (Customer Experience)", a glossary line "CX: ..." / "CX - ..." / "| CX | ... |", or "CX
//! stands for ...". Defined *after* first use still counts (the reader can find it). Universal acronyms
//! (a configurable allow-list), placeholders (TBD, TODO...), Roman numerals made of I, V and X, shouted
//! English words (NOT, NOTE) and all-capitals lines are ignored. Each undefined acronym is reported once
//! per document, at its first use in a section's text.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::text::{lines, mask};
use super::{DocumentContext, Hit, SectionCtx};
use crate::framework::AcronymParams;

/// Acronyms every reader knows.
const DEFAULT_ALLOW: &[&str] = &[
    "US", "USA", "UK", "EU", "UN", "API", "URL", "URI", "HTTP", "HTTPS", "PDF", "ID", "OK", "AM", "PM",
    "UTC", "GMT", "CEO", "CTO", "CFO", "COO", "CIO", "VP", "FAQ", "IT", "HR", "FY", "TV", "PC", "AI", "ASAP",
    "FYI", "ETA", "CPU", "GPU", "RAM", "SSD", "HDD", "GB", "MB", "KB", "TB", "DNS", "IP", "TCP", "UDP",
    "SQL", "JSON", "XML", "HTML", "CSS", "CSV", "YAML", "SSH", "SSL", "TLS", "VPN", "USB", "OS", "UI", "SMS",
    "PIN", "ATM", "VAT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "CET", "CEST", "BST", "IST",
    "JST", "AEST", "NB", "PS", "AD", "BC", "DIY",
];

/// Capitalised English words used for emphasis or as labels, and template markers.
const NOT_ACRONYMS: &[&str] = &[
    "NOT", "AND", "OR", "NO", "YES", "ALL", "ANY", "THE", "TO", "OF", "IN", "ON", "IS", "ARE", "BE", "DO",
    "MUST", "NEVER", "ONLY", "NOW", "NEW", "OUT", "OFF", "UP", "FOR", "WITH", "BUT", "IF", "AT", "AS", "BY",
    "WE", "VERY", "NOTE", "WARNING", "CAUTION", "URGENT", "ACTION", "DONE", "STOP", "HIGH", "LOW", "MEDIUM",
    "INFO", "ERROR", "DEBUG", "WARN", "FATAL", "TRUE", "FALSE", "NULL", "NONE", "ALSO", "NEED", "WILL",
    "CAN", "MAY", "FIXED", "OPEN", "CLOSED", "YOU", "YOUR", "OUR", "AN", "SO", "TBD", "TBC", "TBA", "TODO",
    "FIXME", "XX", "XXX", "XXXX", "XXXXX", "XXXXXX", "NA",
];

struct Patterns {
    token: Regex,
    after_paren: Regex,
    in_paren: Regex,
    glossary: Regex,
    glossary_row: Regex,
    stands_for: Regex,
    roman: Regex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        token: Regex::new(r"\b[A-Z][A-Z0-9&]*[A-Z0-9](?:s|'s|’s)?\b").ok()?,
        after_paren: Regex::new(r"\b([A-Z][A-Z0-9&]*[A-Z0-9])s?\s*\(([^()\n]{2,100})\)").ok()?,
        in_paren: Regex::new(r#"\(\s*["“']?([A-Z][A-Z0-9&]*[A-Z0-9])s?["”']?\s*[),;]"#).ok()?,
        glossary: Regex::new(r"(?m)^\s*(?:[-*•]\s*)?[*_]*([A-Z][A-Z0-9&]*[A-Z0-9])[*_]*\s*(?::|-|–|—|=)\s*[A-Za-z]").ok()?,
        glossary_row: Regex::new(r"(?m)^\s*\|\s*[*_]*([A-Z][A-Z0-9&]*[A-Z0-9])[*_]*\s*\|\s*[A-Za-z]").ok()?,
        stands_for: Regex::new(
            r"\b([A-Z][A-Z0-9&]*[A-Z0-9])\s+(?:stands for|means|refers to|is short for|is an abbreviation for|is an acronym for)\b",
        )
        .ok()?,
        roman: Regex::new(r"^(?:X{0,3})(?:IX|IV|V?I{0,3})$").ok()?,
    })
});

/// Where each undefined acronym is first used: section index -> (byte range in its text, acronym).
#[derive(Debug, Default)]
pub(crate) struct AcronymIndex {
    first_uses: HashMap<usize, Vec<(usize, usize, String)>>,
}

/// The compiled acronym check.
pub(crate) struct AcronymCheck {
    allow: HashSet<String>,
    min_letters: usize,
    max_letters: usize,
}

/// Whether the acronym's letters appear in order in `words`, starting with its first letter.
fn spells(acronym: &str, words: &str) -> bool {
    let letters: Vec<char> = acronym
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let words = words.to_lowercase();
    if letters.is_empty() || !words.starts_with(letters[0]) {
        return false;
    }
    let mut chars = words.chars();
    letters.iter().all(|l| chars.any(|c| c == *l))
}

/// The acronyms a text defines.
fn definitions(p: &Patterns, text: &str, into: &mut HashSet<String>) {
    for c in p.after_paren.captures_iter(text) {
        let (Some(acr), Some(inner)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let inner = inner.as_str().trim_matches(|ch: char| "\"“”' ".contains(ch));
        if inner.chars().any(|ch| ch.is_lowercase()) && spells(acr.as_str(), inner) {
            into.insert(acr.as_str().to_string());
        }
    }
    for c in p.in_paren.captures_iter(text) {
        let (Some(all), Some(acr)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let before = text.get(..all.start()).unwrap_or("");
        let window: Vec<&str> = before.split_whitespace().rev().take(12).collect();
        let letters = acr.as_str().chars().filter(|c| c.is_ascii_alphabetic()).count();
        let defined = (1..=window.len().min(letters + 3)).any(|k| {
            let words: Vec<&str> = window[..k].iter().rev().copied().collect();
            spells(acr.as_str(), &words.join(" "))
        });
        if defined {
            into.insert(acr.as_str().to_string());
        }
    }
    for re in [&p.glossary, &p.glossary_row, &p.stands_for] {
        for c in re.captures_iter(text) {
            if let Some(acr) = c.get(1) {
                into.insert(acr.as_str().to_string());
            }
        }
    }
}

impl AcronymCheck {
    pub(crate) fn new(params: &AcronymParams) -> AcronymCheck {
        let mut allow: HashSet<String> = params.allow.iter().map(|a| a.trim().to_uppercase()).collect();
        if params.use_default_allow {
            allow.extend(DEFAULT_ALLOW.iter().map(|a| a.to_string()));
        }
        AcronymCheck {
            allow,
            min_letters: params.min_letters as usize,
            max_letters: params.max_letters as usize,
        }
    }

    /// Strips a plural ending; `None` when the token is not an acronym this check cares about.
    fn acronym<'t>(&self, p: &Patterns, token: &'t str) -> Option<&'t str> {
        let core = token
            .strip_suffix("'s")
            .or_else(|| token.strip_suffix("’s"))
            .or_else(|| token.strip_suffix('s'))
            .unwrap_or(token);
        let letters = core.chars().filter(|c| c.is_ascii_uppercase()).count();
        if letters < self.min_letters || letters > self.max_letters || core.len() > self.max_letters + 4 {
            return None;
        }
        let alpha: String = core.chars().take_while(|c| c.is_ascii_uppercase()).collect();
        if self.allow.contains(core) || self.allow.contains(&alpha) || NOT_ACRONYMS.contains(&core) {
            return None;
        }
        if core.chars().all(|c| "IVX".contains(c)) && p.roman.is_match(core) {
            return None;
        }
        if core.chars().all(|c| c == 'X') {
            return None;
        }
        Some(core)
    }

    /// Scans the whole document once: which acronyms are defined, and where undefined ones are first used.
    pub(crate) fn index(&self, doc: &DocumentContext) -> AcronymIndex {
        let Some(p) = PATTERNS.as_ref() else {
            return AcronymIndex::default();
        };
        let masked: Vec<(String, String)> = doc
            .sections()
            .iter()
            .map(|s| (mask(&s.title), mask(&s.text)))
            .collect();
        let mut defined = HashSet::new();
        for (title, text) in &masked {
            definitions(p, title, &mut defined);
            definitions(p, text, &mut defined);
        }
        let mut reported = HashSet::new();
        let mut first_uses: HashMap<usize, Vec<(usize, usize, String)>> = HashMap::new();
        for (index, (_, text)) in masked.iter().enumerate() {
            for (line_start, line) in lines(text) {
                if shouted(line) {
                    continue;
                }
                for m in p.token.find_iter(line) {
                    if is_identifier_part(line, m.start(), m.end()) {
                        continue;
                    }
                    let Some(core) = self.acronym(p, m.as_str()) else {
                        continue;
                    };
                    let alpha: String = core.chars().take_while(|c| c.is_ascii_uppercase()).collect();
                    if defined.contains(core)
                        || defined.contains(&alpha)
                        || !reported.insert(core.to_string())
                    {
                        continue;
                    }
                    let start = line_start + m.start();
                    first_uses
                        .entry(index)
                        .or_default()
                        .push((start, start + core.len(), core.to_string()));
                }
            }
        }
        AcronymIndex { first_uses }
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>, index: &AcronymIndex) -> Vec<Hit> {
        let in_document = ctx
            .doc
            .sections()
            .get(ctx.section.index)
            .is_some_and(|s| s.text == ctx.text());
        let local;
        let (index, position) = if in_document {
            (index, ctx.section.index)
        } else {
            // The section is not part of the document given: judge it on its own.
            local = self.index(&DocumentContext::from_pairs([(ctx.section.title, ctx.text())]));
            (&local, 0)
        };
        index
            .first_uses
            .get(&position)
            .map(|uses| {
                uses.iter()
                    .map(|(s, e, acronym)| Hit {
                        span: Some((*s, *e)),
                        confidence: 0.55,
                        detail: format!("{acronym} is used but never spelled out anywhere in the document"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether a line is mostly capitals (a shouted heading or banner), where capitals are not acronyms.
fn shouted(line: &str) -> bool {
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    let upper = line.chars().filter(|c| c.is_uppercase()).count();
    line.split_whitespace().count() >= 3 && letters > 0 && upper * 10 >= letters * 6
}

/// Whether a token is glued to an identifier (`CVE-2021-44228`, `IT-Security`, `foo_BAR`, `a.B`).
fn is_identifier_part(line: &str, start: usize, end: usize) -> bool {
    let glue = |c: char| matches!(c, '-' | '_' | '.' | '/');
    let before = line.get(..start).map(|t| {
        let mut rev = t.chars().rev();
        (rev.next(), rev.next())
    });
    if let Some((Some(g), Some(a))) = before
        && glue(g)
        && a.is_alphanumeric()
    {
        return true;
    }
    let mut after = line.get(end..).unwrap_or("").chars();
    matches!((after.next(), after.next()), (Some(g), Some(a)) if glue(g) && a.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_kind_in;
    use super::super::{DocumentContext, SectionInput};
    use crate::framework::{AcronymParams, RuleParams};

    fn run_doc(params: AcronymParams, sections: &[(&str, &str)]) -> Vec<(usize, String)> {
        let doc = DocumentContext::from_pairs(sections.iter().copied());
        let mut out = Vec::new();
        for (i, (title, text)) in sections.iter().enumerate() {
            let section = SectionInput {
                index: i,
                title,
                level: 1,
                text,
            };
            for f in run_kind_in(RuleParams::UndefinedAcronym(params.clone()), &section, &doc) {
                out.push((i, f.quote));
            }
        }
        out
    }

    fn check(sections: &[(&str, &str)], expect: &[(usize, &str)]) {
        let got = run_doc(AcronymParams::default(), sections);
        let expect: Vec<(usize, String)> = expect.iter().map(|(i, q)| (*i, q.to_string())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn undefined_acronyms_are_reported_once_at_first_use() {
        check(
            &[
                ("Summary", "The WER hub failed. WER users left."),
                ("Timeline", "WER again, and the SOP was ignored."),
            ],
            &[(0, "WER"), (1, "SOP")],
        );
    }

    #[test]
    fn definitions_anywhere_count_even_after_first_use() {
        check(
            &[
                ("Summary", "CX fell."),
                ("Background", "Customer Experience (CX) is our metric."),
            ],
            &[],
        );
        check(
            &[
                ("Summary", "The CX team."),
                ("Glossary", "- CX: customer experience"),
            ],
            &[],
        );
        check(&[("Summary", "CX (Customer Experience) fell.")], &[]);
        check(
            &[
                ("Summary", "The SOP matters."),
                ("Terms", "| SOP | Standard operating procedure |"),
            ],
            &[],
        );
        check(&[("Summary", "RCA stands for root cause analysis.")], &[]);
        check(&[("Root Causes (RC)", "RC1 was a missing check.")], &[]);
    }

    #[test]
    fn a_parenthesis_that_does_not_spell_the_acronym_is_not_a_definition() {
        check(&[("Summary", "The CX (see below) fell.")], &[(0, "CX")]);
    }

    #[test]
    fn common_words_numerals_identifiers_and_shouting_are_ignored() {
        check(
            &[(
                "Summary",
                "The API and URL are OK in the US. Do NOT retry. Phase II and IV. CVE-2021-44228 hit IT-Security. TBD.\nEXECUTIVE SUMMARY OF THE INCIDENT",
            )],
            &[],
        );
    }

    #[test]
    fn plurals_digits_and_ampersands_are_handled() {
        check(
            &[("Summary", "Two PRs by the PO's team on EC2 with S&O.")],
            &[(0, "PR"), (0, "PO"), (0, "EC2"), (0, "S&O")],
        );
    }

    #[test]
    fn the_allow_list_and_letter_limits_are_configurable() {
        let params = AcronymParams {
            allow: vec!["WER".into()],
            min_letters: 3,
            ..AcronymParams::default()
        };
        assert!(
            run_doc(params, &[("Summary", "WER and SO and GDPRX.")])
                .iter()
                .all(|(_, q)| q == "GDPRX")
        );
        let params = AcronymParams {
            use_default_allow: false,
            ..AcronymParams::default()
        };
        assert_eq!(
            run_doc(params, &[("Summary", "The API.")]),
            vec![(0, "API".to_string())]
        );
    }

    #[test]
    fn a_section_outside_the_document_is_judged_alone() {
        let doc = DocumentContext::from_pairs([("Other", "Nothing here.")]);
        let section = SectionInput {
            index: 5,
            title: "Summary",
            level: 1,
            text: "The WER hub.",
        };
        let got = run_kind_in(
            RuleParams::UndefinedAcronym(AcronymParams::default()),
            &section,
            &doc,
        );
        assert_eq!(got.len(), 1);
    }
}
