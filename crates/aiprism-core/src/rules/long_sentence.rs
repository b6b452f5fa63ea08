//! Very long sentences, which hide what happened and are hard to act on.
//!
//! Words are whitespace-separated tokens with a letter or digit (code and links, masked out, do not
//! count). A sentence of exactly the limit is fine. The quote is the sentence, or its first ~120
//! characters cut at a word boundary when it is longer: still an exact substring.

use super::text::{self, word_count};
use super::{Hit, SectionCtx};
use crate::framework::LongSentenceParams;

/// The compiled long-sentence check.
pub(crate) struct LongSentenceCheck {
    max_words: usize,
}

impl LongSentenceCheck {
    pub(crate) fn new(params: &LongSentenceParams) -> LongSentenceCheck {
        LongSentenceCheck {
            max_words: params.max_words as usize,
        }
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        let masked = ctx.masked.as_str();
        text::sentences(masked)
            .into_iter()
            .filter_map(|(s, e)| {
                let words = word_count(masked.get(s..e)?);
                if words <= self.max_words {
                    return None;
                }
                let span = text::prefix(ctx.text(), s, e, 120);
                // Borderline sentences are less certainly a problem than ones twice the limit.
                let over = words as f32 / self.max_words as f32 - 1.0;
                Some(Hit {
                    span: (span.1 > span.0).then_some(span),
                    confidence: (0.75 + over * 0.4).min(0.95),
                    detail: format!("{words} words, more than {}", self.max_words),
                })
                .filter(|h| h.span.is_some())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_kind;
    use crate::framework::{LongSentenceParams, RuleParams};

    fn words(n: usize) -> String {
        (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")
    }

    fn run(max: u32, text: &str) -> Vec<crate::rules::RuleFinding> {
        run_kind(
            RuleParams::LongSentence(LongSentenceParams { max_words: max }),
            "Summary",
            text,
        )
    }

    #[test]
    fn a_sentence_at_the_limit_passes_and_one_word_more_does_not() {
        assert!(run(40, &format!("{}.", words(40))).is_empty());
        let long = format!("{}. Short one.", words(41));
        let got = run(40, &long);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].description.contains("41 words, more than 40"),
            "{}",
            got[0].description
        );
        assert!(got[0].confidence < 0.8);
        assert!(got[0].quote.len() <= 130 && long.starts_with(&got[0].quote));
    }

    #[test]
    fn short_sentences_links_and_code_do_not_count() {
        assert!(run(10, "One two three. Four five six! Seven?").is_empty());
        assert!(run(10, "See `a b c d e f g h i j k l` and https://x.io/a and done.").is_empty());
    }

    #[test]
    fn very_long_sentences_are_more_certain() {
        let got = run(10, &format!("{}.", words(25)));
        assert_eq!(got.len(), 1);
        assert!(got[0].confidence >= 0.95 - f32::EPSILON);
    }

    #[test]
    fn list_items_are_sentences_of_their_own() {
        let text = format!("- {}\n- {}", words(8), words(8));
        assert!(run(10, &text).is_empty());
    }
}
