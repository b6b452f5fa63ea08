//! Learning from decisions: per framework × category × checkpoint acceptance rates calibrate the
//! confidence shown, categories a reviewer keeps rejecting are ranked down, and accepted findings of the
//! same framework become few-shot examples in later prompts. Computed from stored decisions on read.

use std::collections::BTreeMap;

use aiprism_core::{Finding, FindingSource, FindingStatus, Scope, User};
use aiprism_store::FindingFact;
use serde::Serialize;

use crate::{App, AppError};

/// Decisions needed before a tally changes what is shown.
pub const MIN_DECISIONS: u32 = 3;
/// Decisions at which observed acceptance and the producer's confidence weigh the same.
const PRIOR_WEIGHT: f64 = 10.0;
/// A category rejected this consistently (acceptance at or below, with enough decisions) is ranked down.
const DOWNRANK_RATE: f64 = 0.2;
/// Decisions needed before a category can be ranked down.
const DOWNRANK_MIN: u32 = 5;
/// Few-shot examples per prompt.
pub const MAX_EXAMPLES: u32 = 3;

/// Accepted and rejected counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Accepted.
    pub accepted: u32,
    /// Rejected.
    pub rejected: u32,
}

impl Tally {
    fn decided(self) -> u32 {
        self.accepted + self.rejected
    }

    /// Acceptance rate with Laplace smoothing (never exactly 0 or 1 from a few decisions).
    fn smoothed_rate(self) -> f64 {
        (f64::from(self.accepted) + 1.0) / (f64::from(self.decided()) + 2.0)
    }

    /// Plain acceptance rate, or `None` before any decision.
    pub fn rate(self) -> Option<f64> {
        (self.decided() > 0).then(|| f64::from(self.accepted) / f64::from(self.decided()))
    }

    fn add(&mut self, status: FindingStatus) {
        match status {
            FindingStatus::Accepted => self.accepted += 1,
            FindingStatus::Rejected => self.rejected += 1,
            FindingStatus::Pending => {}
        }
    }
}

/// What learning says about one finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// The confidence to show.
    pub confidence: f32,
    /// Whether its category is one the reviewer keeps rejecting.
    pub downranked: bool,
    /// How many past decisions the calibration rests on (0 = none: the raw confidence is shown).
    pub basis: u32,
}

/// Tallies of one user's (or everyone's, for admins) decisions.
#[derive(Debug, Clone, Default)]
pub struct Learning {
    by_checkpoint: BTreeMap<(String, String, String), Tally>,
    by_category: BTreeMap<(String, String), Tally>,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Learning {
    /// Tallies decided rule and model findings (reviewer comments are the reviewer's own words).
    pub fn from_facts(facts: &[FindingFact]) -> Self {
        let mut learning = Learning::default();
        for f in facts
            .iter()
            .filter(|f| f.source != FindingSource::Reviewer && f.status != FindingStatus::Pending)
        {
            learning
                .by_category
                .entry((f.framework.clone(), key(&f.category)))
                .or_default()
                .add(f.status);
            for c in &f.checkpoints {
                learning
                    .by_checkpoint
                    .entry((f.framework.clone(), key(&f.category), c.clone()))
                    .or_default()
                    .add(f.status);
            }
        }
        learning
    }

    /// The confidence to show for a finding of a document reviewed against `framework`.
    pub fn calibrate(&self, framework: &str, finding: &Finding) -> Calibration {
        let raw = finding.confidence;
        if finding.source == FindingSource::Reviewer {
            return Calibration {
                confidence: raw,
                downranked: false,
                basis: 0,
            };
        }
        let category = key(&finding.category);
        let category_tally = self
            .by_category
            .get(&(framework.to_string(), category.clone()))
            .copied()
            .unwrap_or_default();
        let checkpoint_tally = finding
            .checkpoints
            .iter()
            .filter_map(|c| {
                self.by_checkpoint
                    .get(&(framework.to_string(), category.clone(), c.clone()))
                    .copied()
            })
            .max_by_key(|t| t.decided());
        let tally = match checkpoint_tally {
            Some(t) if t.decided() >= MIN_DECISIONS => t,
            _ => category_tally,
        };
        let downranked = category_tally.decided() >= DOWNRANK_MIN
            && category_tally.rate().is_some_and(|r| r <= DOWNRANK_RATE);
        if tally.decided() < MIN_DECISIONS {
            return Calibration {
                confidence: raw,
                downranked,
                basis: 0,
            };
        }
        let n = f64::from(tally.decided());
        let weight = n / (n + PRIOR_WEIGHT);
        let calibrated = f64::from(raw) * (1.0 - weight) + tally.smoothed_rate() * weight;
        #[allow(clippy::cast_possible_truncation)]
        Calibration {
            confidence: calibrated.clamp(0.0, 1.0) as f32,
            downranked,
            basis: tally.decided(),
        }
    }

    /// The tallies for `GET /api/v1/learning`.
    pub fn report(&self) -> LearningReport {
        let mut frameworks: BTreeMap<String, Vec<LearningEntry>> = BTreeMap::new();
        for ((framework, category, checkpoint), tally) in &self.by_checkpoint {
            frameworks
                .entry(framework.clone())
                .or_default()
                .push(LearningEntry {
                    category: category.clone(),
                    checkpoint: Some(checkpoint.clone()),
                    tally: *tally,
                    acceptance_rate: tally.rate(),
                    downranked: false,
                });
        }
        for ((framework, category), tally) in &self.by_category {
            let downranked =
                tally.decided() >= DOWNRANK_MIN && tally.rate().is_some_and(|r| r <= DOWNRANK_RATE);
            frameworks
                .entry(framework.clone())
                .or_default()
                .push(LearningEntry {
                    category: category.clone(),
                    checkpoint: None,
                    tally: *tally,
                    acceptance_rate: tally.rate(),
                    downranked,
                });
        }
        LearningReport {
            frameworks: frameworks
                .into_iter()
                .map(|(framework, entries)| FrameworkLearning { framework, entries })
                .collect(),
        }
    }
}

/// Learning as shown to the reviewer.
#[derive(Debug, Clone, Serialize)]
pub struct LearningReport {
    /// Per framework.
    pub frameworks: Vec<FrameworkLearning>,
}

/// One framework's tallies.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkLearning {
    /// Framework id.
    pub framework: String,
    /// Category (and category × checkpoint) tallies.
    pub entries: Vec<LearningEntry>,
}

/// One tally.
#[derive(Debug, Clone, Serialize)]
pub struct LearningEntry {
    /// Category (lower-cased).
    pub category: String,
    /// Checkpoint, or `None` for the category as a whole.
    pub checkpoint: Option<String>,
    /// Counts.
    #[serde(flatten)]
    pub tally: Tally,
    /// Accepted / decided.
    pub acceptance_rate: Option<f64>,
    /// Whether findings of this category are ranked down.
    pub downranked: bool,
}

impl App {
    /// The learning tallies of the user's scope.
    pub async fn learning(&self, user: &User) -> Result<Learning, AppError> {
        Ok(Learning::from_facts(
            &self.store.finding_facts(&Scope::of(user)).await?,
        ))
    }

    /// Accepted findings of the same framework from the owner's other documents, for the prompt.
    pub async fn few_shot_examples(
        &self,
        owner: &aiprism_core::UserId,
        framework: &str,
        document: &aiprism_core::DocumentId,
    ) -> Vec<Finding> {
        match self
            .store
            .accepted_examples(&Scope::Owner(owner.clone()), framework, document, MAX_EXAMPLES)
            .await
        {
            Ok(examples) => examples,
            Err(e) => {
                tracing::warn!(error = %e, "could not read few-shot examples; reviewing without them");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiprism_core::{DocumentId, FindingType, Risk, SectionId};

    fn fact(category: &str, checkpoint: &str, status: FindingStatus) -> FindingFact {
        FindingFact {
            document_id: DocumentId::new("d"),
            framework: "fw".into(),
            section_id: SectionId::new("s"),
            source: FindingSource::Model,
            category: category.into(),
            checkpoints: vec![checkpoint.into()],
            status,
            risk: Risk::Low,
            created_at: aiprism_core::now(),
            decided_at: None,
        }
    }

    fn finding(category: &str, checkpoint: &str, confidence: f32) -> Finding {
        Finding {
            id: aiprism_core::FindingId::new("f"),
            document_id: DocumentId::new("d"),
            review_id: None,
            section_id: SectionId::new("s"),
            source: FindingSource::Model,
            rule_id: None,
            model: None,
            finding_type: FindingType::Suggestion,
            category: category.into(),
            description: String::new(),
            suggestion: String::new(),
            example: String::new(),
            questions: vec![],
            checkpoints: vec![checkpoint.into()],
            risk: Risk::Low,
            confidence,
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

    #[test]
    fn without_history_the_raw_confidence_is_shown() {
        let learning = Learning::from_facts(&[]);
        let c = learning.calibrate("fw", &finding("Timeline", "C02", 0.9));
        assert_eq!((c.confidence, c.downranked, c.basis), (0.9, false, 0));
    }

    #[test]
    fn consistently_rejected_categories_lose_confidence_and_are_ranked_down() {
        let facts: Vec<_> = (0..10)
            .map(|_| fact("Style", "C17", FindingStatus::Rejected))
            .collect();
        let learning = Learning::from_facts(&facts);
        let c = learning.calibrate("fw", &finding("style", "C17", 0.9));
        assert!(c.confidence < 0.6, "{c:?}");
        assert!(c.downranked);
        assert_eq!(c.basis, 10);
        // Another framework learns nothing from these decisions.
        assert_eq!(
            learning.calibrate("other", &finding("style", "C17", 0.9)).basis,
            0
        );
    }

    #[test]
    fn consistently_accepted_checkpoints_gain_confidence() {
        let facts: Vec<_> = (0..20)
            .map(|_| fact("Root cause", "C11", FindingStatus::Accepted))
            .collect();
        let learning = Learning::from_facts(&facts);
        let c = learning.calibrate("fw", &finding("Root cause", "C11", 0.6));
        assert!(c.confidence > 0.75, "{c:?}");
        assert!(!c.downranked);
    }
}

/// A finding as the reviewer sees it: with the confidence learning calibrated.
#[derive(Debug, Clone)]
pub struct ShownFinding {
    /// The stored finding (its `confidence` is what its producer said).
    pub finding: Finding,
    /// What learning makes of it.
    pub calibration: Calibration,
}

/// Moves findings of categories the reviewer keeps rejecting to the end, keeping the order otherwise.
fn rank_down(mut shown: Vec<ShownFinding>) -> Vec<ShownFinding> {
    shown.sort_by_key(|s| s.calibration.downranked);
    shown
}

impl App {
    /// A document's findings with calibrated confidence, filtered on the calibrated value; ranked-down
    /// categories are marked and listed last (otherwise in stored order).
    pub async fn shown_findings(
        &self,
        user: &User,
        document: &aiprism_core::DocumentId,
        mut filter: aiprism_store::FindingFilter,
    ) -> Result<Vec<ShownFinding>, AppError> {
        let view = self.document(user, document).await?;
        let min_confidence = filter.min_confidence.take();
        let findings = self.store.findings(&Scope::of(user), document, &filter).await?;
        let learning = self.learning(user).await?;
        Ok(rank_down(
            findings
                .into_iter()
                .map(|finding| {
                    let calibration = learning.calibrate(&view.meta.framework, &finding);
                    ShownFinding { finding, calibration }
                })
                // Compare in f32 as stored: 0.8 must pass a 0.8 threshold.
                .filter(|s| min_confidence.is_none_or(|min| s.calibration.confidence + 1e-6 >= min))
                .collect(),
        ))
    }
}
