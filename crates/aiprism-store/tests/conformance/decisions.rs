//! Decisions, reviewer comments, edits and the audit trail.

use super::*;

fn actor(user: &User) -> Actor {
    Actor::from(user)
}

/// A document with one reviewed section holding a model finding and a rule finding.
async fn decided_document(store: &SqlStore) -> (DocumentMeta, Section, Finding, Finding) {
    let (doc, secs) = document_with_sections(store, &alice(), 1).await;
    let review = new_review(&doc);
    store
        .create_review(&review, &[secs[0].id.clone()], &[])
        .await
        .unwrap();
    let model = finding(&review, &secs[0], FindingSource::Model, 0.9, "model says");
    let rule = finding(&review, &secs[0], FindingSource::Rule, 0.95, "rule says");
    store
        .finish_section(finish(
            &review,
            &secs[0],
            SectionRunStatus::Done,
            vec![model.clone(), rule.clone()],
        ))
        .await
        .unwrap();
    (doc, secs[0].clone(), model, rule)
}

fn reviewer_comment(doc: &DocumentMeta, section: &Section) -> Finding {
    Finding {
        id: FindingId::generate(),
        document_id: doc.id.clone(),
        review_id: None,
        section_id: section.id.clone(),
        source: FindingSource::Reviewer,
        rule_id: None,
        model: None,
        finding_type: FindingType::Suggestion,
        category: "Reviewer comment".into(),
        description: "Please give the exact time & the owner.".into(),
        suggestion: String::new(),
        example: String::new(),
        questions: vec![],
        checkpoints: vec![],
        risk: Risk::Low,
        confidence: 1.0,
        quote: "Body of".into(),
        anchor: Some(Anchor {
            paragraph: 1,
            start: 0,
            end: 7,
        }),
        replacement: None,
        highlight_color: Some("yellow".into()),
        parent_id: None,
        status: FindingStatus::Accepted,
        note: None,
        edited: false,
        created_at: aiprism_core::now(),
        decided_at: Some(aiprism_core::now()),
    }
}

pub async fn accepting_twice_changes_nothing_and_is_recorded_once(store: SqlStore) {
    let (doc, _, model, _) = decided_document(&store).await;
    let first = store
        .decide(
            &scope(&alice()),
            &model.id,
            FindingStatus::Accepted,
            None,
            &actor(&alice()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, FindingStatus::Accepted);
    let decided_at = first.decided_at.expect("decided_at is set");
    let second = store
        .decide(
            &scope(&alice()),
            &model.id,
            FindingStatus::Accepted,
            None,
            &actor(&alice()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        second.decided_at,
        Some(decided_at),
        "a repeated accept changes nothing"
    );
    let trail = store.activity(&scope(&alice()), &doc.id).await.unwrap();
    let accepts = trail
        .iter()
        .filter(|a| a.action == aiprism_core::ActivityAction::FindingAccepted)
        .count();
    assert_eq!(accepts, 1);
    assert_eq!(trail.last().unwrap().actor_name, "Alice");
    assert_eq!(trail.last().unwrap().details["finding_id"], model.id.as_str());
}

pub async fn a_finding_has_exactly_one_status(store: SqlStore) {
    let (_, _, model, _) = decided_document(&store).await;
    let s = scope(&alice());
    store
        .decide(&s, &model.id, FindingStatus::Accepted, None, &actor(&alice()))
        .await
        .unwrap();
    let rejected = store
        .decide(
            &s,
            &model.id,
            FindingStatus::Rejected,
            Some("not relevant"),
            &actor(&alice()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rejected.status, FindingStatus::Rejected);
    assert_eq!(rejected.note.as_deref(), Some("not relevant"));
    let pending = store
        .decide(&s, &model.id, FindingStatus::Pending, None, &actor(&alice()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, FindingStatus::Pending);
    assert!(pending.decided_at.is_none() && pending.note.is_none());
}

pub async fn an_edit_marks_the_finding_edited_and_keeps_the_rest(store: SqlStore) {
    let (_, _, model, _) = decided_document(&store).await;
    let edit = FindingEdit {
        description: Some("Sharper wording".into()),
        risk: Some(Risk::High),
        questions: Some(vec!["Who owns it?".into()]),
        ..FindingEdit::default()
    };
    let edited = store
        .edit_finding(&scope(&alice()), &model.id, &edit, &actor(&alice()))
        .await
        .unwrap()
        .unwrap();
    assert!(edited.edited);
    assert_eq!(edited.description, "Sharper wording");
    assert_eq!(edited.risk, Risk::High);
    assert_eq!(edited.questions, ["Who owns it?"]);
    assert_eq!(edited.suggestion, model.suggestion, "untouched fields stay");
    assert_eq!(edited.quote, model.quote);
}

pub async fn reviewer_comments_can_be_deleted_but_rule_and_model_findings_cannot(store: SqlStore) {
    let (doc, section, model, _) = decided_document(&store).await;
    let comment = reviewer_comment(&doc, &section);
    store
        .add_reviewer_finding(&comment, &actor(&alice()))
        .await
        .unwrap();
    let read = store
        .finding(&scope(&alice()), &comment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, comment);
    assert_eq!(
        store
            .delete_reviewer_finding(&scope(&alice()), &model.id, &actor(&alice()))
            .await
            .unwrap(),
        DeleteOutcome::NotReviewers
    );
    assert_eq!(
        store
            .delete_reviewer_finding(&scope(&bob()), &comment.id, &actor(&bob()))
            .await
            .unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        store
            .delete_reviewer_finding(&scope(&alice()), &comment.id, &actor(&alice()))
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(
        store
            .finding(&scope(&alice()), &comment.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn resetting_decisions_keeps_reviewer_comments(store: SqlStore) {
    let (doc, section, model, rule) = decided_document(&store).await;
    let s = scope(&alice());
    store
        .decide(&s, &model.id, FindingStatus::Accepted, None, &actor(&alice()))
        .await
        .unwrap();
    store
        .decide(&s, &rule.id, FindingStatus::Rejected, None, &actor(&alice()))
        .await
        .unwrap();
    let comment = reviewer_comment(&doc, &section);
    store
        .add_reviewer_finding(&comment, &actor(&alice()))
        .await
        .unwrap();
    assert_eq!(
        store
            .reset_decisions(&s, &doc.id, &actor(&alice()))
            .await
            .unwrap(),
        Some(2)
    );
    let all = store
        .findings(&s, &doc.id, &FindingFilter::default())
        .await
        .unwrap();
    for f in &all {
        let expected = if f.source == FindingSource::Reviewer {
            FindingStatus::Accepted
        } else {
            FindingStatus::Pending
        };
        assert_eq!(f.status, expected, "{f:?}");
    }
    assert_eq!(all.len(), 3);
}

pub async fn another_owner_cannot_decide_edit_or_reset(store: SqlStore) {
    let (doc, _, model, _) = decided_document(&store).await;
    let b = scope(&bob());
    assert!(
        store
            .decide(&b, &model.id, FindingStatus::Accepted, None, &actor(&bob()))
            .await
            .unwrap()
            .is_none()
    );
    let edit = FindingEdit {
        description: Some("hijacked".into()),
        ..FindingEdit::default()
    };
    assert!(
        store
            .edit_finding(&b, &model.id, &edit, &actor(&bob()))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.reset_decisions(&b, &doc.id, &actor(&bob())).await.unwrap(),
        None
    );
    let read = store.finding(&scope(&alice()), &model.id).await.unwrap().unwrap();
    assert_eq!(read.status, FindingStatus::Pending);
    assert_eq!(read.description, model.description);
    assert!(store.activity(&b, &doc.id).await.unwrap().is_empty());
}

pub async fn the_audit_trail_outlives_the_document(store: SqlStore) {
    let (doc, _, model, _) = decided_document(&store).await;
    let s = scope(&alice());
    store
        .decide(&s, &model.id, FindingStatus::Accepted, None, &actor(&alice()))
        .await
        .unwrap();
    store.delete_document(&s, &doc.id).await.unwrap();
    store
        .record_activity(&NewActivity {
            document_id: Some(doc.id.clone()),
            owner: alice().id,
            actor: actor(&alice()),
            action: aiprism_core::ActivityAction::DocumentDeleted,
            details: serde_json::json!({"filename": doc.filename}),
        })
        .await
        .unwrap();
    let trail = store.activity(&s, &doc.id).await.unwrap();
    let actions: Vec<_> = trail.iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        [
            aiprism_core::ActivityAction::FindingAccepted,
            aiprism_core::ActivityAction::DocumentDeleted
        ]
    );
}

pub async fn recent_activity_is_newest_first_across_documents_and_scoped_by_owner(store: SqlStore) {
    let entry = |owner: &User, document: &str, n: u32| NewActivity {
        document_id: Some(DocumentId::new(document)),
        owner: owner.id.clone(),
        actor: actor(owner),
        action: aiprism_core::ActivityAction::CommentAdded,
        details: serde_json::json!({ "n": n }),
    };
    for n in 0..5 {
        let document = if n % 2 == 0 { "doc_a1" } else { "doc_a2" };
        store
            .record_activity(&entry(&alice(), document, n))
            .await
            .unwrap();
        store.record_activity(&entry(&bob(), "doc_b1", n)).await.unwrap();
    }
    let recent = store.recent_activity(&scope(&alice()), 3).await.unwrap();
    let seen: Vec<(String, u64)> = recent
        .iter()
        .map(|a| {
            (
                a.document_id.as_ref().unwrap().as_str().to_string(),
                a.details["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("doc_a1".to_string(), 4),
            ("doc_a2".to_string(), 3),
            ("doc_a1".to_string(), 2)
        ],
        "newest first, across alice's documents, limited"
    );
    assert!(recent.iter().all(|a| a.owner == alice().id), "never bob's");
    assert_eq!(store.recent_activity(&Scope::All, 100).await.unwrap().len(), 10);
}
