//! Merging near-duplicate findings (rule vs model, model vs model) so a reviewer sees each issue once.
//!
//! Policy, in one place:
//! - Two findings are duplicates when their quotes overlap and their descriptions are similar
//!   (≥ [`DedupeOptions::overlapping_quote_similarity`], 0.85 by default), or when at least one of them is
//!   about the whole section (no quote) and their descriptions are near-identical (≥
//!   [`DedupeOptions::near_identical_similarity`], 0.92). Findings anchored on *different* text are never
//!   merged: the same remark on two action items is two findings.
//! - Of a group of duplicates the kept one is the most confident; on a tie (within 0.01) the one with a
//!   quote (more specific), then the higher source priority (reviewer > model > rule: a model's wording
//!   is specific to the text, a rule's is a template), then the earlier one in the input.
//! - The kept finding absorbs the others ([`DedupeItem::absorb`], e.g. to union checkpoints), and
//!   [`merge_duplicates_with`] reports which input was merged into which, so callers can record it.
//! - Output keeps the input order of the kept findings, so results are deterministic.

use std::collections::HashMap;

use crate::quote::CharSpan;

/// Source priority of rule findings (lowest: their text is a template).
pub const RULE_PRIORITY: u8 = 1;
/// Source priority of model findings.
pub const MODEL_PRIORITY: u8 = 2;
/// Source priority of the reviewer's own findings (never dropped in favour of a machine's).
pub const REVIEWER_PRIORITY: u8 = 3;

/// What dedupe needs to know about a finding.
pub trait DedupeItem {
    /// The text compared for similarity.
    fn description(&self) -> &str;
    /// Where its quote is in the section text; `None` for a finding about the whole section.
    fn quote_span(&self) -> Option<CharSpan>;
    /// How sure its producer is, 0 to 1.
    fn confidence(&self) -> f32;
    /// Which source wins a tie: see [`RULE_PRIORITY`], [`MODEL_PRIORITY`], [`REVIEWER_PRIORITY`].
    fn source_priority(&self) -> u8;
    /// Takes over what is worth keeping from a duplicate that is dropped in its favour.
    fn absorb(&mut self, _duplicate: &Self) {}
}

/// Thresholds of the duplicate test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DedupeOptions {
    /// Similarity needed when the two quotes overlap.
    pub overlapping_quote_similarity: f64,
    /// Similarity needed when at least one finding has no quote.
    pub near_identical_similarity: f64,
}

impl Default for DedupeOptions {
    fn default() -> Self {
        DedupeOptions {
            overlapping_quote_similarity: 0.85,
            near_identical_similarity: 0.92,
        }
    }
}

/// One merge: the input at index `dropped` was merged into the input at index `kept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    /// Index (in the input) of the finding that was kept.
    pub kept: usize,
    /// Index (in the input) of the duplicate that was merged into it.
    pub dropped: usize,
}

/// The result of merging: the kept findings in input order, and what was merged into what.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome<T> {
    /// Kept findings, in input order.
    pub items: Vec<T>,
    /// Every merge performed.
    pub merges: Vec<Merge>,
}

fn tokens(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for token in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        *out.entry(token.to_lowercase()).or_insert(0) += 1;
    }
    out
}

/// How alike two descriptions are, 0 to 1: the Dice coefficient of their lower-cased word multisets
/// (order-insensitive, so a reworded sentence with the same words still matches). Two empty texts are
/// identical; an empty and a non-empty one share nothing.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (ta, tb) = (tokens(a), tokens(b));
    let (na, nb): (usize, usize) = (ta.values().sum(), tb.values().sum());
    if na == 0 && nb == 0 {
        return 1.0;
    }
    if na == 0 || nb == 0 {
        return 0.0;
    }
    let common: usize = ta
        .iter()
        .map(|(t, n)| (*n).min(tb.get(t).copied().unwrap_or(0)))
        .sum();
    2.0 * common as f64 / (na + nb) as f64
}

fn duplicates<T: DedupeItem>(a: &T, b: &T, options: &DedupeOptions) -> bool {
    let sim = || similarity(a.description(), b.description());
    match (a.quote_span(), b.quote_span()) {
        (Some(x), Some(y)) => x.overlaps(&y) && sim() >= options.overlapping_quote_similarity,
        _ => sim() >= options.near_identical_similarity,
    }
}

fn confidence<T: DedupeItem>(item: &T) -> f32 {
    let c = item.confidence();
    if c.is_nan() { 0.0 } else { c }
}

/// Merges near-duplicates with the default options; see the module documentation for the policy.
pub fn merge_duplicates<T: DedupeItem>(items: Vec<T>) -> Vec<T> {
    merge_duplicates_with(items, &DedupeOptions::default()).items
}

/// Merges near-duplicates and reports every merge.
pub fn merge_duplicates_with<T: DedupeItem>(items: Vec<T>, options: &DedupeOptions) -> MergeOutcome<T> {
    // Visit the strongest findings first, so each group is kept by its best member.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&items[i], &items[j]);
        let (ca, cb) = (confidence(a), confidence(b));
        let by_confidence = if (ca - cb).abs() < 0.01 {
            std::cmp::Ordering::Equal
        } else {
            cb.total_cmp(&ca)
        };
        by_confidence
            .then(b.quote_span().is_some().cmp(&a.quote_span().is_some()))
            .then(b.source_priority().cmp(&a.source_priority()))
            .then(i.cmp(&j))
    });
    let mut kept: Vec<usize> = Vec::new();
    let mut merged_into: Vec<Option<usize>> = vec![None; items.len()];
    for &i in &order {
        match kept.iter().find(|&&k| duplicates(&items[k], &items[i], options)) {
            Some(&k) => merged_into[i] = Some(k),
            None => kept.push(i),
        }
    }
    let mut merges: Vec<Merge> = merged_into
        .iter()
        .enumerate()
        .filter_map(|(dropped, k)| k.map(|kept| Merge { kept, dropped }))
        .collect();
    merges.sort_by_key(|m| (m.kept, m.dropped));
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    for m in &merges {
        if let Some(dup) = slots[m.dropped].take()
            && let Some(keeper) = slots[m.kept].as_mut()
        {
            keeper.absorb(&dup);
        }
    }
    MergeOutcome {
        items: slots.into_iter().flatten().collect(),
        merges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Item {
        id: &'static str,
        description: &'static str,
        span: Option<(u32, u32)>,
        confidence: f32,
        priority: u8,
        absorbed: Vec<&'static str>,
    }

    impl DedupeItem for Item {
        fn description(&self) -> &str {
            self.description
        }
        fn quote_span(&self) -> Option<CharSpan> {
            self.span.map(|(start, end)| CharSpan { start, end })
        }
        fn confidence(&self) -> f32 {
            self.confidence
        }
        fn source_priority(&self) -> u8 {
            self.priority
        }
        fn absorb(&mut self, other: &Self) {
            self.absorbed.push(other.id);
        }
    }

    fn item(
        id: &'static str,
        description: &'static str,
        span: Option<(u32, u32)>,
        confidence: f32,
        priority: u8,
    ) -> Item {
        Item {
            id,
            description,
            span,
            confidence,
            priority,
            absorbed: Vec::new(),
        }
    }

    fn kept(items: Vec<Item>) -> Vec<&'static str> {
        merge_duplicates(items).into_iter().map(|i| i.id).collect()
    }

    #[test]
    fn similarity_is_token_based_and_symmetric() {
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("a", ""), 0.0);
        assert_eq!(similarity("The owner is missing", "the OWNER is missing!"), 1.0);
        assert_eq!(similarity("owner missing here", "missing owner here"), 1.0);
        let s = similarity("The timeline has no dates", "The root cause has no evidence");
        assert!(
            s < 0.7
                && (s - similarity("The root cause has no evidence", "The timeline has no dates")).abs()
                    < 1e-12
        );
    }

    #[test]
    fn overlapping_similar_findings_merge_into_the_most_confident() {
        let items = vec![
            item(
                "rule",
                "This action item has no owner and no due date",
                Some((10, 40)),
                0.7,
                RULE_PRIORITY,
            ),
            item(
                "model",
                "This action item has no owner and no due date.",
                Some((12, 30)),
                0.9,
                MODEL_PRIORITY,
            ),
        ];
        let out = merge_duplicates(items);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].id, out[0].absorbed.clone()), ("model", vec!["rule"]));
    }

    #[test]
    fn ties_prefer_a_quote_then_the_model_then_input_order() {
        let d = "Unfilled placeholder in the owner field";
        assert_eq!(
            kept(vec![
                item("rule", d, Some((0, 3)), 0.8, RULE_PRIORITY),
                item("model", d, Some((0, 3)), 0.805, MODEL_PRIORITY)
            ]),
            vec!["model"]
        );
        assert_eq!(
            kept(vec![
                item("section", d, None, 0.8, MODEL_PRIORITY),
                item("quoted", d, Some((0, 3)), 0.8, RULE_PRIORITY)
            ]),
            vec!["quoted"]
        );
        assert_eq!(
            kept(vec![
                item("first", d, Some((0, 3)), 0.8, MODEL_PRIORITY),
                item("second", d, Some((0, 3)), 0.8, MODEL_PRIORITY)
            ]),
            vec!["first"]
        );
    }

    #[test]
    fn same_remark_on_different_text_is_kept_twice() {
        let d = "This action item has no owner";
        assert_eq!(
            kept(vec![
                item("a", d, Some((0, 10)), 0.7, RULE_PRIORITY),
                item("b", d, Some((20, 30)), 0.7, RULE_PRIORITY)
            ]),
            vec!["a", "b"]
        );
    }

    #[test]
    fn overlapping_but_different_findings_are_kept() {
        let items = vec![
            item(
                "a",
                "The timeline has an unexplained gap of three days",
                Some((0, 10)),
                0.6,
                RULE_PRIORITY,
            ),
            item(
                "b",
                "The date format differs from the rest of the document",
                Some((0, 10)),
                0.8,
                MODEL_PRIORITY,
            ),
        ];
        assert_eq!(kept(items), vec!["a", "b"]);
    }

    #[test]
    fn section_level_duplicates_need_near_identical_text() {
        let items = vec![
            item(
                "a",
                "The executive summary does not quantify the impact",
                None,
                0.8,
                MODEL_PRIORITY,
            ),
            item(
                "b",
                "The executive summary does not quantify the impact.",
                Some((5, 9)),
                0.7,
                MODEL_PRIORITY,
            ),
            item(
                "c",
                "The executive summary does not name an owner",
                None,
                0.9,
                MODEL_PRIORITY,
            ),
        ];
        let outcome = merge_duplicates_with(items, &DedupeOptions::default());
        let ids: Vec<&str> = outcome.items.iter().map(|i| i.id).collect();
        assert_eq!(ids, vec!["a", "c"]);
        assert_eq!(outcome.merges, vec![Merge { kept: 0, dropped: 1 }]);
    }

    #[test]
    fn nan_confidence_is_treated_as_zero() {
        let d = "Same text";
        assert_eq!(
            kept(vec![
                item("nan", d, None, f32::NAN, MODEL_PRIORITY),
                item("ok", d, None, 0.1, RULE_PRIORITY)
            ]),
            vec!["ok"]
        );
    }
}
