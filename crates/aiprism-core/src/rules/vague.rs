//! Vague quantifiers where a number is expected: "several", "many", "a few", "significant", "minimal
//! impact"...
//!
//! The quote is the clause the phrase sits in (bounded by punctuation, at most ~120 characters), so the
//! reader sees what is vague. A phrase with a number right next to it ("many (305) teams", "as many as
//! 40") already has its number and is let through; "how many" and "statistically significant" are not
//! quantifiers at all.

use regex::Regex;

use super::text;
use super::{Hit, SectionCtx};
use crate::framework::VagueParams;

/// The compiled vague-quantifier check.
pub(crate) struct VagueCheck {
    phrases: Regex,
    skip_when_number_nearby: bool,
}

impl VagueCheck {
    pub(crate) fn new(params: &VagueParams) -> Result<VagueCheck, (String, String)> {
        let mut phrases: Vec<String> = params.phrases.iter().map(|p| p.trim().to_lowercase()).collect();
        // Longest first, so "a lot of" wins over "lot".
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let alternation: Vec<String> = phrases
            .iter()
            .map(|p| {
                p.split_whitespace()
                    .map(regex::escape)
                    .collect::<Vec<_>>()
                    .join(r"\s+")
            })
            .collect();
        let phrases = Regex::new(&format!(r"(?i)\b(?:{})\b", alternation.join("|")))
            .map_err(|e| ("phrases".to_string(), e.to_string()))?;
        Ok(VagueCheck {
            phrases,
            skip_when_number_nearby: params.skip_when_number_nearby,
        })
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        let masked = ctx.masked.as_str();
        let mut hits: Vec<(usize, usize, Vec<String>)> = Vec::new();
        for m in self.phrases.find_iter(masked) {
            let near = masked
                .get(text::floor_char(masked, m.start().saturating_sub(16))..m.start())
                .unwrap_or("");
            let before = near.to_lowercase();
            let before = before.trim_end();
            if before.ends_with("how") || before.ends_with("statistically") {
                continue;
            }
            let (s, e) = text::fragment(masked, m.start(), m.end(), 120);
            if self.skip_when_number_nearby {
                // Look a little either side of the phrase (20 bytes before, 40 after), within its line.
                let lo = text::floor_char(masked, m.start().saturating_sub(20));
                let hi = text::floor_char(masked, m.end() + 40);
                let before = masked.get(lo..m.start()).unwrap_or("");
                let after = masked.get(m.end()..hi).unwrap_or("");
                let before = before.rsplit('\n').next().unwrap_or("");
                let after = after.split('\n').next().unwrap_or("");
                if before.chars().chain(after.chars()).any(|c| c.is_ascii_digit()) {
                    continue;
                }
            }
            let phrase = format!(
                "\"{}\"",
                m.as_str().split_whitespace().collect::<Vec<_>>().join(" ")
            );
            match hits.last_mut() {
                Some(last) if last.0 == s && last.1 == e => {
                    if !last.2.contains(&phrase) {
                        last.2.push(phrase);
                    }
                }
                _ => hits.push((s, e, vec![phrase])),
            }
        }
        hits.into_iter()
            .filter(|(s, e, _)| e > s)
            .map(|(s, e, phrases)| {
                let detail = match phrases.as_slice() {
                    [one] => format!("{one} stands where a number is expected"),
                    many => format!("{} stand where numbers are expected", many.join(" and ")),
                };
                Hit {
                    span: Some((s, e)),
                    confidence: 0.6,
                    detail,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_kind;
    use crate::framework::{RuleParams, VagueParams};

    fn check_with(params: VagueParams, text: &str, expect: &[&str]) {
        let got: Vec<String> = run_kind(RuleParams::VagueQuantifier(params), "Impact", text)
            .into_iter()
            .map(|f| f.quote)
            .collect();
        assert_eq!(got, expect, "in {text:?}");
    }

    fn check(text: &str, expect: &[&str]) {
        check_with(VagueParams::default(), text, expect);
    }

    #[test]
    fn vague_quantifiers_are_quoted_with_their_clause() {
        check(
            "Incoming report that many students can not access the hub, and it is frozen.",
            &["Incoming report that many students can not access the hub"],
        );
        check(
            "Several customers complained; impact was minimal impact overall.",
            &[
                "Several customers complained",
                "impact was minimal impact overall",
            ],
        );
        check(
            "There was a significant drop in orders.",
            &["There was a significant drop in orders"],
        );
        check("- Some customers saw errors", &["Some customers saw errors"]);
    }

    #[test]
    fn numbers_questions_and_statistics_are_let_through() {
        check("Many (305) teams were affected.", &[]);
        check("As many as 40 sellers were affected.", &[]);
        check("We do not know how many users saw it.", &[]);
        check("The change was statistically significant.", &[]);
        check("Somebody handled some of it.", &[]);
        let strict = VagueParams {
            skip_when_number_nearby: false,
            ..VagueParams::default()
        };
        check_with(strict, "Many (305) teams were affected.", &["Many"]);
    }

    #[test]
    fn two_phrases_in_one_clause_make_one_finding() {
        let got = run_kind(
            RuleParams::VagueQuantifier(VagueParams::default()),
            "Impact",
            "Many users hit various errors.",
        );
        assert_eq!(got.len(), 1);
        assert!(
            got[0].description.contains("\"Many\" and \"various\""),
            "{}",
            got[0].description
        );
    }

    #[test]
    fn long_clauses_are_cut_around_the_phrase() {
        let text = format!(
            "{} several {}",
            "word ".repeat(40).trim(),
            "more ".repeat(40).trim()
        );
        let got = run_kind(
            RuleParams::VagueQuantifier(VagueParams::default()),
            "Impact",
            &text,
        );
        assert_eq!(got.len(), 1);
        assert!(
            got[0].quote.contains("several") && got[0].quote.chars().count() <= 120,
            "{}",
            got[0].quote
        );
    }

    #[test]
    fn a_framework_can_list_its_own_phrases() {
        let own = VagueParams {
            phrases: vec!["a bunch of".into()],
            ..VagueParams::default()
        };
        check_with(
            own,
            "A bunch of  orders failed, many others did not.",
            &["A bunch of  orders failed"],
        );
    }
}
