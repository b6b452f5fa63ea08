//! The reviewer's decisions, edits and comments, each written with its audit-trail entry in one
//! transaction.

use aiprism_core::{ActivityAction, DocumentId, Finding, FindingId, FindingSource, FindingStatus, Scope};
use async_trait::async_trait;
use serde_json::json;

use crate::activity::bind_activity;
use crate::documents::owner_filter;
use crate::findings::{INSERT_FINDING, bind_finding, encode_lists};
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{Actor, DecisionStore, DeleteOutcome, FindingEdit, FindingStore, NewActivity, StoreResult};

/// `AND` clause limiting `findings` rows (alias-free) to the scope bound at `$n`.
macro_rules! in_scope {
    ($n:literal) => {
        concat!(
            " AND document_id IN (SELECT id FROM documents WHERE CAST($",
            $n,
            " AS TEXT) IS NULL OR owner_id = $",
            $n,
            ")"
        )
    };
}

fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(100).collect();
    if text.chars().count() > 100 {
        out.push('…');
    }
    out
}

fn entry(
    finding: &Finding,
    owner: &aiprism_core::UserId,
    actor: &Actor,
    action: ActivityAction,
    extra: serde_json::Value,
) -> NewActivity {
    let mut details = json!({
        "finding_id": finding.id.as_str(),
        "section_id": finding.section_id.as_str(),
        "source": finding.source.as_str(),
        "type": finding.finding_type.as_str(),
        "risk": finding.risk.as_str(),
        "confidence": finding.confidence,
        "preview": preview(&finding.description),
    });
    if let (Some(map), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra) {
        map.extend(extra);
    }
    NewActivity {
        document_id: Some(finding.document_id.clone()),
        owner: owner.clone(),
        actor: actor.clone(),
        action,
        details,
    }
}

impl SqlStore {
    async fn owner_of(&self, document: &DocumentId) -> StoreResult<Option<aiprism_core::UserId>> {
        let r: Result<Option<String>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar("SELECT owner_id FROM documents WHERE id = $1")
                .bind(document.as_str())
                .fetch_optional(p)
                .await
        });
        Ok(r.map_err(map_err)?.map(aiprism_core::UserId::new))
    }
}

#[async_trait]
impl DecisionStore for SqlStore {
    async fn decide(
        &self,
        scope: &Scope,
        id: &FindingId,
        status: FindingStatus,
        note: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Option<Finding>> {
        let Some(before) = self.finding(scope, id).await? else {
            return Ok(None);
        };
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let decided_at = (status != FindingStatus::Pending).then(aiprism_core::now);
        let owner = self
            .owner_of(&before.document_id)
            .await?
            .unwrap_or_else(|| actor.id.clone());
        let action = match status {
            FindingStatus::Accepted => ActivityAction::FindingAccepted,
            FindingStatus::Rejected => ActivityAction::FindingRejected,
            FindingStatus::Pending => ActivityAction::FindingReverted,
        };
        let activity = entry(
            &before,
            &owner,
            actor,
            action,
            json!({"status": status.as_str(), "note": note}),
        );
        let sql = concat!(
            "UPDATE findings SET status = $2, note = $3, decided_at = $4 WHERE id = $1 \
             AND (status <> $2 OR COALESCE(note, '') <> COALESCE(CAST($3 AS TEXT), ''))",
            in_scope!("5")
        );
        let scope_owner = owner_filter(scope);
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(sql)
                .bind(id.as_str())
                .bind(status.as_str())
                .bind(note)
                .bind(decided_at)
                .bind(scope_owner.as_deref())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Deciding what is already decided changes nothing, and so records nothing.
            if changed > 0 {
                bind_activity!(&activity).execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)?;
        self.finding(scope, id).await
    }

    async fn edit_finding(
        &self,
        scope: &Scope,
        id: &FindingId,
        edit: &FindingEdit,
        actor: &Actor,
    ) -> StoreResult<Option<Finding>> {
        let Some(before) = self.finding(scope, id).await? else {
            return Ok(None);
        };
        if edit.is_empty() {
            return Ok(Some(before));
        }
        let owner = self
            .owner_of(&before.document_id)
            .await?
            .unwrap_or_else(|| actor.id.clone());
        let fields: Vec<&str> = [
            edit.description.as_ref().map(|_| "description"),
            edit.suggestion.as_ref().map(|_| "suggestion"),
            edit.example.as_ref().map(|_| "example"),
            edit.category.as_ref().map(|_| "category"),
            edit.finding_type.map(|_| "type"),
            edit.risk.map(|_| "risk"),
            edit.questions.as_ref().map(|_| "questions"),
            edit.highlight_color.as_ref().map(|_| "highlight_color"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let activity = entry(
            &before,
            &owner,
            actor,
            ActivityAction::FindingEdited,
            json!({"fields": fields}),
        );
        let questions = match &edit.questions {
            Some(q) => Some(serde_json::to_string(q).map_err(|e| crate::StoreError::Other(e.to_string()))?),
            None => None,
        };
        let sql = concat!(
            "UPDATE findings SET description = COALESCE($2, description), suggestion = COALESCE($3, suggestion), \
             example = COALESCE($4, example), category = COALESCE($5, category), \
             finding_type = COALESCE($6, finding_type), risk = COALESCE($7, risk), \
             questions = COALESCE($8, questions), highlight_color = COALESCE($9, highlight_color), edited = $10 \
             WHERE id = $1",
            in_scope!("11")
        );
        let scope_owner = owner_filter(scope);
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(sql)
                .bind(id.as_str())
                .bind(edit.description.as_deref())
                .bind(edit.suggestion.as_deref())
                .bind(edit.example.as_deref())
                .bind(edit.category.as_deref())
                .bind(edit.finding_type.map(|t| t.as_str()))
                .bind(edit.risk.map(|r| r.as_str()))
                .bind(questions.as_deref())
                .bind(edit.highlight_color.as_deref())
                .bind(true)
                .bind(scope_owner.as_deref())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed > 0 {
                bind_activity!(&activity).execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)?;
        self.finding(scope, id).await
    }

    async fn add_reviewer_finding(&self, finding: &Finding, actor: &Actor) -> StoreResult<()> {
        let owner = self
            .owner_of(&finding.document_id)
            .await?
            .unwrap_or_else(|| actor.id.clone());
        let activity = entry(
            finding,
            &owner,
            actor,
            ActivityAction::CommentAdded,
            json!({"quote": preview(&finding.quote), "highlight_color": finding.highlight_color, "parent_id": finding.parent_id.as_ref().map(FindingId::as_str)}),
        );
        let lists = encode_lists(finding)?;
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            bind_finding!(
                sqlx::query(INSERT_FINDING),
                finding,
                0i32,
                (lists.0.as_str(), lists.1.as_str())
            )
            .execute(&mut *tx)
            .await?;
            bind_activity!(&activity).execute(&mut *tx).await?;
            tx.commit().await
        }
        .await);
        r.map_err(map_err)
    }

    async fn delete_reviewer_finding(
        &self,
        scope: &Scope,
        id: &FindingId,
        actor: &Actor,
    ) -> StoreResult<DeleteOutcome> {
        let Some(finding) = self.finding(scope, id).await? else {
            return Ok(DeleteOutcome::NotFound);
        };
        if finding.source != FindingSource::Reviewer {
            return Ok(DeleteOutcome::NotReviewers);
        }
        let owner = self
            .owner_of(&finding.document_id)
            .await?
            .unwrap_or_else(|| actor.id.clone());
        let activity = entry(&finding, &owner, actor, ActivityAction::CommentDeleted, json!({}));
        let r: Result<u64, sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            let deleted = sqlx::query("DELETE FROM findings WHERE id = $1 AND source = 'reviewer'")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                bind_activity!(&activity).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(deleted)
        }
        .await);
        Ok(if r.map_err(map_err)? > 0 {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::NotFound
        })
    }

    async fn reset_decisions(
        &self,
        scope: &Scope,
        document: &DocumentId,
        actor: &Actor,
    ) -> StoreResult<Option<u64>> {
        let scope_owner = owner_filter(scope);
        let Some(owner) = self.owner_of(document).await? else {
            return Ok(None);
        };
        if scope_owner.as_deref().is_some_and(|o| o != owner.as_str()) {
            return Ok(None);
        }
        let r: Result<u64, sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(
                "UPDATE findings SET status = 'pending', note = NULL, decided_at = NULL \
                 WHERE document_id = $1 AND source IN ('rule', 'model') AND status <> 'pending'",
            )
            .bind(document.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let activity = NewActivity {
                document_id: Some(document.clone()),
                owner: owner.clone(),
                actor: actor.clone(),
                action: ActivityAction::DecisionsReset,
                details: json!({"findings_reset": changed}),
            };
            bind_activity!(&activity).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(changed)
        }
        .await);
        Ok(Some(r.map_err(map_err)?))
    }
}
