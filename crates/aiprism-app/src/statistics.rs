//! Statistics, computed from stored rows on every read: per document (counts by status, risk, type,
//! source, category and section; acceptance rate; coverage; usage; decisions over time) and across a
//! user's documents (recurring categories and checkpoints, trends). Nothing is kept in memory between
//! requests, so figures are right however many people work at once.

use std::collections::{BTreeMap, BTreeSet};

use aiprism_core::{DocumentId, Finding, FindingSource, FindingStatus, Scope, SectionRunStatus, User};
use aiprism_store::FindingFilter;
use serde::Serialize;

use crate::{App, AppError};

/// Findings counted by decision.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StatusCounts {
    /// Not decided.
    pub pending: u32,
    /// Accepted.
    pub accepted: u32,
    /// Rejected.
    pub rejected: u32,
}

impl StatusCounts {
    fn add(&mut self, status: FindingStatus) {
        match status {
            FindingStatus::Pending => self.pending += 1,
            FindingStatus::Accepted => self.accepted += 1,
            FindingStatus::Rejected => self.rejected += 1,
        }
    }

    fn total(&self) -> u32 {
        self.pending + self.accepted + self.rejected
    }
}

/// One category's counts.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryCounts {
    /// The category.
    pub category: String,
    /// All findings.
    pub total: u32,
    /// By decision.
    #[serde(flatten)]
    pub status: StatusCounts,
}

/// One section's counts.
#[derive(Debug, Clone, Serialize)]
pub struct SectionCounts {
    /// Section id.
    pub section_id: String,
    /// Position.
    pub index: u32,
    /// Title.
    pub title: String,
    /// All findings.
    pub total: u32,
    /// By decision.
    #[serde(flatten)]
    pub status: StatusCounts,
    /// High-risk findings.
    pub high: u32,
    /// Medium-risk findings.
    pub medium: u32,
    /// Low-risk findings.
    pub low: u32,
}

/// How much of the document has been reviewed and decided.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Coverage {
    /// Sections that can be reviewed.
    pub sections_total: u32,
    /// Of those, reviewed by the latest review.
    pub sections_reviewed: u32,
    /// Rule and model findings.
    pub findings_total: u32,
    /// Of those, accepted or rejected.
    pub findings_decided: u32,
}

/// Decisions on one day.
#[derive(Debug, Clone, Serialize)]
pub struct DayCounts {
    /// Date (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// Findings produced that day.
    pub findings: u32,
    /// Accepted that day.
    pub accepted: u32,
    /// Rejected that day.
    pub rejected: u32,
}

/// A document's statistics.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentStatistics {
    /// By decision (every source).
    pub by_status: StatusCounts,
    /// By risk.
    pub by_risk: BTreeMap<String, u32>,
    /// By type.
    pub by_type: BTreeMap<String, u32>,
    /// By source.
    pub by_source: BTreeMap<String, u32>,
    /// By category, largest first.
    pub by_category: Vec<CategoryCounts>,
    /// By section, in document order.
    pub by_section: Vec<SectionCounts>,
    /// Accepted / decided over rule and model findings; `None` when none is decided.
    pub acceptance_rate: Option<f64>,
    /// Review and decision coverage.
    pub coverage: Coverage,
    /// Reviewer comments and highlights.
    pub reviewer_comments: u32,
    /// What model calls about the document cost.
    pub usage: aiprism_core::Usage,
    /// Findings and decisions per day.
    pub timeline: Vec<DayCounts>,
}

fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn timeline<'a>(
    items: impl Iterator<
        Item = (
            chrono::DateTime<chrono::Utc>,
            Option<chrono::DateTime<chrono::Utc>>,
            FindingStatus,
        ),
    > + 'a,
) -> Vec<DayCounts> {
    let mut days: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for (created, decided, status) in items {
        days.entry(day(created)).or_default().0 += 1;
        if let Some(decided) = decided {
            let entry = days.entry(day(decided)).or_default();
            match status {
                FindingStatus::Accepted => entry.1 += 1,
                FindingStatus::Rejected => entry.2 += 1,
                FindingStatus::Pending => {}
            }
        }
    }
    days.into_iter()
        .map(|(date, (findings, accepted, rejected))| DayCounts {
            date,
            findings,
            accepted,
            rejected,
        })
        .collect()
}

/// Statistics across a user's documents.
#[derive(Debug, Clone, Serialize)]
pub struct OverallStatistics {
    /// Documents in scope.
    pub documents: u32,
    /// Findings in scope.
    pub findings: u32,
    /// By decision.
    pub by_status: StatusCounts,
    /// By risk.
    pub by_risk: BTreeMap<String, u32>,
    /// Categories seen in more than one document first, then by findings.
    pub recurring_categories: Vec<Recurring>,
    /// Checkpoints by findings.
    pub checkpoints: Vec<CheckpointCounts>,
    /// Findings and decisions per day.
    pub trend: Vec<DayCounts>,
    /// Accepted / decided over rule and model findings.
    pub acceptance_rate: Option<f64>,
}

/// A category across documents.
#[derive(Debug, Clone, Serialize)]
pub struct Recurring {
    /// The category.
    pub category: String,
    /// Documents it appears in.
    pub documents: u32,
    /// Findings.
    pub findings: u32,
    /// Accepted.
    pub accepted: u32,
    /// Rejected.
    pub rejected: u32,
}

/// A checkpoint across documents.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointCounts {
    /// Framework and checkpoint id, e.g. `investigation-writeup/C11`.
    pub checkpoint: String,
    /// Findings.
    pub findings: u32,
    /// Accepted.
    pub accepted: u32,
    /// Rejected.
    pub rejected: u32,
}

fn rate(findings: impl Iterator<Item = FindingStatus>) -> Option<f64> {
    let (mut accepted, mut decided) = (0u32, 0u32);
    for s in findings {
        match s {
            FindingStatus::Accepted => {
                accepted += 1;
                decided += 1;
            }
            FindingStatus::Rejected => decided += 1,
            FindingStatus::Pending => {}
        }
    }
    (decided > 0).then(|| f64::from(accepted) / f64::from(decided))
}

impl App {
    /// A document's statistics.
    pub async fn document_statistics(
        &self,
        user: &User,
        document: &DocumentId,
    ) -> Result<DocumentStatistics, AppError> {
        let scope = Scope::of(user);
        let view = self.document(user, document).await?;
        let findings: Vec<Finding> = self
            .store
            .findings(&scope, document, &FindingFilter::default())
            .await?;
        let usage = self.store.document_usage(&scope, document).await?;
        let reviewed: BTreeSet<String> = match self.store.latest_review(&scope, document).await? {
            Some(review) => self
                .store
                .section_runs(&review.id)
                .await?
                .into_iter()
                .filter(|r| matches!(r.status, SectionRunStatus::Done | SectionRunStatus::RulesOnly))
                .map(|r| r.section_id.into_string())
                .collect(),
            None => BTreeSet::new(),
        };

        let mut by_status = StatusCounts::default();
        let mut by_risk = BTreeMap::new();
        let mut by_type = BTreeMap::new();
        let mut by_source = BTreeMap::new();
        let mut by_category: BTreeMap<String, CategoryCounts> = BTreeMap::new();
        let mut by_section: Vec<SectionCounts> = view
            .sections
            .iter()
            .map(|s| SectionCounts {
                section_id: s.id.as_str().to_string(),
                index: s.index,
                title: s.title.clone(),
                total: 0,
                status: StatusCounts::default(),
                high: 0,
                medium: 0,
                low: 0,
            })
            .collect();
        let mut coverage = Coverage {
            sections_total: u32::try_from(view.sections.iter().filter(|s| s.is_reviewable()).count())
                .unwrap_or(u32::MAX),
            sections_reviewed: u32::try_from(reviewed.len()).unwrap_or(u32::MAX),
            ..Coverage::default()
        };
        let mut reviewer_comments = 0;
        for f in &findings {
            by_status.add(f.status);
            *by_risk.entry(f.risk.as_str().to_string()).or_insert(0) += 1;
            *by_type.entry(f.finding_type.as_str().to_string()).or_insert(0) += 1;
            *by_source.entry(f.source.as_str().to_string()).or_insert(0) += 1;
            let c = by_category
                .entry(f.category.clone())
                .or_insert_with(|| CategoryCounts {
                    category: f.category.clone(),
                    total: 0,
                    status: StatusCounts::default(),
                });
            c.total += 1;
            c.status.add(f.status);
            if let Some(s) = by_section
                .iter_mut()
                .find(|s| s.section_id == f.section_id.as_str())
            {
                s.total += 1;
                s.status.add(f.status);
                match f.risk {
                    aiprism_core::Risk::High => s.high += 1,
                    aiprism_core::Risk::Medium => s.medium += 1,
                    aiprism_core::Risk::Low => s.low += 1,
                }
            }
            if f.source == FindingSource::Reviewer {
                reviewer_comments += 1;
            } else {
                coverage.findings_total += 1;
                if f.status != FindingStatus::Pending {
                    coverage.findings_decided += 1;
                }
            }
        }
        let mut by_category: Vec<CategoryCounts> = by_category.into_values().collect();
        by_category.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.category.cmp(&b.category)));
        Ok(DocumentStatistics {
            by_status,
            by_risk,
            by_type,
            by_source,
            by_category,
            by_section,
            acceptance_rate: rate(
                findings
                    .iter()
                    .filter(|f| f.source != FindingSource::Reviewer)
                    .map(|f| f.status),
            ),
            coverage,
            reviewer_comments,
            usage,
            timeline: timeline(findings.iter().map(|f| (f.created_at, f.decided_at, f.status))),
        })
    }

    /// Statistics across the user's documents.
    pub async fn overall_statistics(&self, user: &User) -> Result<OverallStatistics, AppError> {
        let scope = Scope::of(user);
        let documents = u32::try_from(self.store.documents(&scope).await?.len()).unwrap_or(u32::MAX);
        let facts = self.store.finding_facts(&scope).await?;
        let mut by_status = StatusCounts::default();
        let mut by_risk = BTreeMap::new();
        let mut categories: BTreeMap<String, (BTreeSet<String>, u32, u32, u32)> = BTreeMap::new();
        let mut checkpoints: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
        for f in &facts {
            by_status.add(f.status);
            *by_risk.entry(f.risk.as_str().to_string()).or_insert(0) += 1;
            if f.source == FindingSource::Reviewer {
                continue;
            }
            let c = categories.entry(f.category.trim().to_string()).or_default();
            c.0.insert(f.document_id.as_str().to_string());
            c.1 += 1;
            if f.status == FindingStatus::Accepted {
                c.2 += 1;
            } else if f.status == FindingStatus::Rejected {
                c.3 += 1;
            }
            for checkpoint in &f.checkpoints {
                let k = checkpoints
                    .entry(format!("{}/{}", f.framework, checkpoint))
                    .or_default();
                k.0 += 1;
                if f.status == FindingStatus::Accepted {
                    k.1 += 1;
                } else if f.status == FindingStatus::Rejected {
                    k.2 += 1;
                }
            }
        }
        let mut recurring: Vec<Recurring> = categories
            .into_iter()
            .map(|(category, (docs, findings, accepted, rejected))| Recurring {
                category,
                documents: u32::try_from(docs.len()).unwrap_or(u32::MAX),
                findings,
                accepted,
                rejected,
            })
            .collect();
        recurring.sort_by(|a, b| {
            b.documents
                .cmp(&a.documents)
                .then(b.findings.cmp(&a.findings))
                .then(a.category.cmp(&b.category))
        });
        let mut checkpoints: Vec<CheckpointCounts> = checkpoints
            .into_iter()
            .map(|(checkpoint, (findings, accepted, rejected))| CheckpointCounts {
                checkpoint,
                findings,
                accepted,
                rejected,
            })
            .collect();
        checkpoints.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.checkpoint.cmp(&b.checkpoint)));
        Ok(OverallStatistics {
            documents,
            findings: by_status.total(),
            by_status,
            by_risk,
            recurring_categories: recurring,
            checkpoints,
            trend: timeline(facts.iter().map(|f| (f.created_at, f.decided_at, f.status))),
            acceptance_rate: rate(
                facts
                    .iter()
                    .filter(|f| f.source != FindingSource::Reviewer)
                    .map(|f| f.status),
            ),
        })
    }
}
