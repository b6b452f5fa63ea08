//! The storage conformance suite: every scenario runs on SQLite and, when `AIPRISM_TEST_PG_URL` is set
//! (always in CI), on PostgreSQL, each in a database of its own.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use aiprism_core::{
    Anchor, DocumentFormat, DocumentId, DocumentMeta, Finding, FindingId, FindingSource, FindingStatus,
    FindingType, GuidelinesMeta, ModelCall, ParagraphSpan, Review, ReviewEventKind, ReviewId, ReviewProgress,
    ReviewStatus, Risk, Role, Scope, Section, SectionId, SectionRunStatus, Usage, User, UserId,
};
use aiprism_store::testing::{self, TestDatabase};
use aiprism_store::{
    ActivityStore, Actor, DecisionStore, DeleteOutcome, DocumentStore, FindingEdit, FindingFilter,
    FindingStore, NewActivity, ReviewStore, SectionFinish, SectionStart, SqlStore, StoreError,
};
use chrono::{Duration, Utc};

/// Generates one test per scenario and backend, so a run shows `postgres::...` tests by name.
macro_rules! conformance {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let db = aiprism_store::testing::TestDatabase::sqlite();
                    super::$scenario(super::open(&db).await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    if !super::postgres_configured() {
                        return;
                    }
                    let db = aiprism_store::testing::TestDatabase::postgres().await;
                    super::$scenario(super::open(&db).await).await;
                }
            )+
        }
    };
}

conformance!(
    stores_a_document_with_its_sections_and_reads_them_back,
    lists_documents_newest_first_with_section_counts,
    another_owner_can_neither_see_nor_delete_a_document,
    deleting_a_document_removes_its_sections,
    a_failed_insert_leaves_nothing_behind,
    upserting_a_user_updates_name_and_role,
    migrating_again_applies_nothing,
    a_review_runs_section_by_section_and_finishes_once,
    a_redelivered_section_replaces_its_findings_instead_of_duplicating_them,
    a_review_with_a_degraded_section_is_partial,
    cancelling_a_review_stops_its_queued_sections,
    findings_are_filtered_and_scoped,
    events_are_read_back_in_order_after_an_id,
    a_reader_following_event_ids_misses_none_while_sections_finish_concurrently,
    usage_is_summed_per_review_and_per_document,
    accepting_twice_changes_nothing_and_is_recorded_once,
    a_finding_has_exactly_one_status,
    an_edit_marks_the_finding_edited_and_keeps_the_rest,
    reviewer_comments_can_be_deleted_but_rule_and_model_findings_cannot,
    resetting_decisions_keeps_reviewer_comments,
    another_owner_cannot_decide_edit_or_reset,
    the_audit_trail_outlives_the_document,
    recent_activity_is_newest_first_across_documents_and_scoped_by_owner,
    an_account_is_found_by_login_and_logins_are_unique,
    users_without_a_login_are_not_accounts,
    a_password_hash_can_be_replaced,
    an_api_token_resolves_to_its_owner_by_hash,
    a_signin_link_works_once_and_creates_the_account,
    an_expired_or_unknown_signin_link_creates_nothing,
    a_session_is_read_touched_and_deleted,
    expired_and_idle_sessions_are_pruned_and_a_user_can_be_signed_out_everywhere,
);

#[path = "conformance/accounts.rs"]
mod accounts;
use accounts::*;

#[path = "conformance/decisions.rs"]
mod decisions;
use decisions::*;

fn postgres_configured() -> bool {
    if std::env::var(testing::PG_URL_VAR).is_ok() {
        return true;
    }
    assert!(
        !testing::is_ci(),
        "CI=true but {} is not set: the PostgreSQL conformance suite must run in CI",
        testing::PG_URL_VAR
    );
    eprintln!(
        "note: {} not set; PostgreSQL scenario not run here",
        testing::PG_URL_VAR
    );
    false
}

async fn open(db: &TestDatabase) -> SqlStore {
    let store = db.store().await.expect("migrating a fresh test database");
    store.upsert_user(&alice()).await.expect("creating alice");
    store.upsert_user(&bob()).await.expect("creating bob");
    store
}

fn alice() -> User {
    User {
        id: UserId::new("usr_alice"),
        name: "Alice".into(),
        role: Role::Reviewer,
    }
}

fn bob() -> User {
    User {
        id: UserId::new("usr_bob"),
        name: "Bob".into(),
        role: Role::Reviewer,
    }
}

fn document(owner: &User, filename: &str, age_minutes: i64) -> DocumentMeta {
    let id = DocumentId::generate();
    DocumentMeta {
        object_key: format!("documents/{id}/original"),
        id,
        owner: owner.id.clone(),
        filename: filename.into(),
        format: DocumentFormat::Docx,
        size_bytes: 1234,
        sha256: "ab".repeat(32),
        framework: "incident-writeup".into(),
        document_type: Some("incident write-up".into()),
        guidelines: Some(GuidelinesMeta {
            filename: "guide.docx".into(),
            object_key: "documents/x/guidelines".into(),
            text: "Always give dates.".into(),
        }),
        created_at: Utc::now() - Duration::minutes(age_minutes),
    }
}

fn sections(doc: &DocumentMeta, titles: &[&str]) -> Vec<Section> {
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let i = u32::try_from(i).unwrap();
            Section {
                id: SectionId::generate(),
                document_id: doc.id.clone(),
                index: i,
                title: (*title).into(),
                level: if i == 0 { 0 } else { 1 },
                text: format!("Body of {title}.\nSecond line ü ✓."),
                paragraph_start: i * 3,
                paragraph_end: i * 3 + 2,
                heading_paragraph: (i > 0).then_some(i * 3),
                excluded_reason: (*title == "Quoted e-mail").then(|| "quoted e-mail thread".to_string()),
                paragraphs: vec![
                    ParagraphSpan {
                        paragraph: i * 3 + 1,
                        start: 0,
                        end: 10,
                    },
                    ParagraphSpan {
                        paragraph: i * 3 + 2,
                        start: 11,
                        end: 30,
                    },
                ],
            }
        })
        .collect()
}

fn scope(user: &User) -> Scope {
    Scope::Owner(user.id.clone())
}

async fn stores_a_document_with_its_sections_and_reads_them_back(store: SqlStore) {
    store.ping().await.unwrap();
    let doc = document(&alice(), "report.docx", 0);
    let secs = sections(&doc, &["Preamble", "Timeline", "Timeline", "Quoted e-mail"]);
    store.insert_document(&doc, &secs).await.unwrap();

    let read = store.document(&scope(&alice()), &doc.id).await.unwrap().unwrap();
    assert_eq!(read.id, doc.id);
    assert_eq!(read.filename, "report.docx");
    assert_eq!(read.guidelines, doc.guidelines);
    assert_eq!(read.sha256, doc.sha256);
    assert!((read.created_at - doc.created_at).num_milliseconds().abs() < 2);

    let read_sections = store.sections(&scope(&alice()), &doc.id).await.unwrap();
    assert_eq!(
        read_sections, secs,
        "sections must round-trip exactly, duplicate titles included"
    );
}

async fn lists_documents_newest_first_with_section_counts(store: SqlStore) {
    let old = document(&alice(), "old.docx", 30);
    let new = document(&alice(), "new.docx", 1);
    let other = document(&bob(), "bobs.docx", 0);
    store
        .insert_document(&old, &sections(&old, &["A"]))
        .await
        .unwrap();
    store
        .insert_document(&new, &sections(&new, &["A", "B", "C"]))
        .await
        .unwrap();
    store
        .insert_document(&other, &sections(&other, &["A"]))
        .await
        .unwrap();

    let listed = store.documents(&scope(&alice())).await.unwrap();
    let names: Vec<_> = listed.iter().map(|d| d.meta.filename.as_str()).collect();
    assert_eq!(names, ["new.docx", "old.docx"]);
    assert_eq!(listed[0].section_count, 3);
    assert_eq!(store.documents(&Scope::All).await.unwrap().len(), 3);
}

async fn another_owner_can_neither_see_nor_delete_a_document(store: SqlStore) {
    let doc = document(&alice(), "private.docx", 0);
    store
        .insert_document(&doc, &sections(&doc, &["A", "B"]))
        .await
        .unwrap();

    assert!(store.document(&scope(&bob()), &doc.id).await.unwrap().is_none());
    assert!(store.sections(&scope(&bob()), &doc.id).await.unwrap().is_empty());
    assert!(store.documents(&scope(&bob())).await.unwrap().is_empty());
    assert!(
        store
            .delete_document(&scope(&bob()), &doc.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.document(&scope(&alice()), &doc.id).await.unwrap().is_some());
}

async fn deleting_a_document_removes_its_sections(store: SqlStore) {
    let doc = document(&alice(), "gone.docx", 0);
    store
        .insert_document(&doc, &sections(&doc, &["A", "B"]))
        .await
        .unwrap();
    let deleted = store.delete_document(&scope(&alice()), &doc.id).await.unwrap();
    assert_eq!(deleted.map(|d| d.object_key), Some(doc.object_key.clone()));
    assert!(store.document(&Scope::All, &doc.id).await.unwrap().is_none());
    assert!(store.sections(&Scope::All, &doc.id).await.unwrap().is_empty());
    assert!(
        store
            .delete_document(&scope(&alice()), &doc.id)
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_failed_insert_leaves_nothing_behind(store: SqlStore) {
    let doc = document(&alice(), "half.docx", 0);
    let mut secs = sections(&doc, &["A", "B"]);
    secs[1].index = 0; // violates UNIQUE (document_id, idx) after the document row was written
    let err = store.insert_document(&doc, &secs).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "got {err:?}");
    assert!(store.document(&Scope::All, &doc.id).await.unwrap().is_none());
    assert!(store.sections(&Scope::All, &doc.id).await.unwrap().is_empty());
}

async fn upserting_a_user_updates_name_and_role(store: SqlStore) {
    let mut carol = User {
        id: UserId::new("usr_carol"),
        name: "Carol".into(),
        role: Role::Reviewer,
    };
    store.upsert_user(&carol).await.unwrap();
    carol.name = "Carol B.".into();
    carol.role = Role::Admin;
    store.upsert_user(&carol).await.unwrap();
    let doc = document(&carol, "c.docx", 0);
    store.insert_document(&doc, &[]).await.unwrap();
    assert_eq!(store.documents(&scope(&carol)).await.unwrap().len(), 1);
}

async fn migrating_again_applies_nothing(store: SqlStore) {
    assert_eq!(store.migrate().await.unwrap(), 0);
}

async fn document_with_sections(store: &SqlStore, owner: &User, n: usize) -> (DocumentMeta, Vec<Section>) {
    let doc = document(owner, "reviewed.docx", 0);
    let titles: Vec<String> = (0..n).map(|i| format!("Section {i}")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    let secs = sections(&doc, &titles);
    store.insert_document(&doc, &secs).await.unwrap();
    (doc, secs)
}

fn new_review(doc: &DocumentMeta) -> Review {
    Review {
        id: ReviewId::generate(),
        document_id: doc.id.clone(),
        owner: doc.owner.clone(),
        framework: "investigation-writeup".into(),
        status: ReviewStatus::Queued,
        progress: ReviewProgress::default(),
        models_used: vec![],
        usage: Usage::default(),
        error: None,
        notice: None,
        created_at: Utc::now(),
        finished_at: None,
    }
}

fn finding(
    review: &Review,
    section: &Section,
    source: FindingSource,
    confidence: f32,
    text: &str,
) -> Finding {
    Finding {
        id: FindingId::generate(),
        document_id: review.document_id.clone(),
        review_id: Some(review.id.clone()),
        section_id: section.id.clone(),
        source,
        rule_id: (source == FindingSource::Rule).then(|| "placeholder".to_string()),
        model: (source == FindingSource::Model).then(|| "model-a".to_string()),
        finding_type: FindingType::Important,
        category: "Timeline".into(),
        description: text.into(),
        suggestion: "Add dates & owners <now>.".into(),
        example: String::new(),
        questions: vec!["When?".into(), "Who — exactly?".into()],
        checkpoints: vec!["C2".into()],
        risk: Risk::Medium,
        confidence,
        quote: "Body of".into(),
        anchor: Some(Anchor {
            paragraph: 1,
            start: 0,
            end: 7,
        }),
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

fn call(review: &Review, section: &Section, input: u64, cost: f64) -> ModelCall {
    ModelCall {
        id: format!("call_{}", uuid_like()),
        review_id: Some(review.id.clone()),
        document_id: review.document_id.clone(),
        section_id: Some(section.id.clone()),
        purpose: "review".into(),
        endpoint: "primary".into(),
        model: "model-a".into(),
        usage: Usage {
            input_tokens: input,
            output_tokens: 10,
            cached_tokens: 5,
            cost_usd: cost,
        },
        latency_ms: 120,
        outcome: "ok".into(),
        created_at: Utc::now(),
    }
}

fn uuid_like() -> String {
    aiprism_core::FindingId::generate().into_string()
}

fn finish(
    review: &Review,
    section: &Section,
    status: SectionRunStatus,
    findings: Vec<Finding>,
) -> SectionFinish {
    SectionFinish {
        review_id: review.id.clone(),
        section_id: section.id.clone(),
        status,
        model: (status == SectionRunStatus::Done).then(|| "model-a".to_string()),
        error: (status == SectionRunStatus::RulesOnly).then(|| "every model was throttled".to_string()),
        findings,
        calls: vec![],
        events: vec![],
    }
}

async fn a_review_runs_section_by_section_and_finishes_once(store: SqlStore) {
    let (doc, secs) = document_with_sections(&store, &alice(), 3).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store
        .create_review(&review, &ids, &[ids[2].clone()])
        .await
        .unwrap();

    let read = store.review(&scope(&alice()), &review.id).await.unwrap().unwrap();
    assert_eq!(read.status, ReviewStatus::Queued);
    assert_eq!(
        read.progress,
        ReviewProgress {
            sections_done: 1,
            sections_total: 3
        },
        "skipped counts as done"
    );
    assert!(store.review(&scope(&bob()), &review.id).await.unwrap().is_none());

    assert_eq!(
        store.start_section(&review.id, &ids[0]).await.unwrap(),
        SectionStart::Started
    );
    assert_eq!(
        store
            .review(&Scope::All, &review.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ReviewStatus::Running
    );
    let first = store
        .finish_section(finish(
            &review,
            &secs[0],
            SectionRunStatus::Done,
            vec![finding(&review, &secs[0], FindingSource::Model, 0.9, "a")],
        ))
        .await
        .unwrap();
    assert!(!first.review_finished);
    assert_eq!(first.review.progress.sections_done, 2);
    assert_eq!(
        store.start_section(&review.id, &ids[0]).await.unwrap(),
        SectionStart::AlreadyFinished
    );

    assert_eq!(
        store.start_section(&review.id, &ids[1]).await.unwrap(),
        SectionStart::Started
    );
    let last = store
        .finish_section(finish(&review, &secs[1], SectionRunStatus::Done, vec![]))
        .await
        .unwrap();
    assert!(last.review_finished);
    assert_eq!(last.review.status, ReviewStatus::Succeeded);
    assert_eq!(last.review.models_used, ["model-a"]);
    assert!(last.review.finished_at.is_some());
    let latest = store
        .latest_review(&scope(&alice()), &doc.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, review.id);

    let runs = store.section_runs(&review.id).await.unwrap();
    let statuses: Vec<_> = runs.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            SectionRunStatus::Done,
            SectionRunStatus::Done,
            SectionRunStatus::Skipped
        ]
    );
    let events = store.events_after(&review.id, 0, 100).await.unwrap();
    let done: Vec<_> = events
        .iter()
        .filter(|e| e.kind == ReviewEventKind::ReviewDone)
        .collect();
    assert_eq!(done.len(), 1, "review_done is emitted exactly once");
}

async fn a_redelivered_section_replaces_its_findings_instead_of_duplicating_them(store: SqlStore) {
    let (doc, secs) = document_with_sections(&store, &alice(), 2).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store.create_review(&review, &ids, &[]).await.unwrap();
    // A worker wrote its results and died before completing its job: the job runs again.
    for _ in 0..2 {
        store.start_section(&review.id, &ids[0]).await.unwrap();
        let findings = vec![
            finding(&review, &secs[0], FindingSource::Rule, 0.95, "rule"),
            finding(&review, &secs[0], FindingSource::Model, 0.7, "model"),
        ];
        let mut f = finish(&review, &secs[0], SectionRunStatus::Running, findings);
        f.status = SectionRunStatus::Running;
        store.finish_section(f).await.unwrap();
    }
    let all = store
        .findings(&Scope::All, &doc.id, &FindingFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.len(),
        2,
        "findings of a section are replaced, never duplicated"
    );
    assert_eq!(all[0].questions, ["When?", "Who — exactly?"]);
    assert_eq!(
        all[0].anchor,
        Some(Anchor {
            paragraph: 1,
            start: 0,
            end: 7
        })
    );
}

async fn a_review_with_a_degraded_section_is_partial(store: SqlStore) {
    let (doc, secs) = document_with_sections(&store, &alice(), 2).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store.create_review(&review, &ids, &[]).await.unwrap();
    store
        .finish_section(finish(&review, &secs[0], SectionRunStatus::Done, vec![]))
        .await
        .unwrap();
    let done = store
        .finish_section(finish(&review, &secs[1], SectionRunStatus::RulesOnly, vec![]))
        .await
        .unwrap();
    assert_eq!(done.review.status, ReviewStatus::Partial);
    assert_eq!(done.review.error.as_deref(), Some("every model was throttled"));
}

async fn cancelling_a_review_stops_its_queued_sections(store: SqlStore) {
    let (doc, secs) = document_with_sections(&store, &alice(), 3).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store.create_review(&review, &ids, &[]).await.unwrap();
    store.start_section(&review.id, &ids[0]).await.unwrap();
    assert!(
        store
            .cancel_review(&scope(&bob()), &review.id)
            .await
            .unwrap()
            .is_none()
    );
    let cancelled = store
        .cancel_review(&scope(&alice()), &review.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, ReviewStatus::Cancelled);
    assert_eq!(
        store.start_section(&review.id, &ids[1]).await.unwrap(),
        SectionStart::Cancelled
    );
    // The running section may still finish and keep its results; the review stays cancelled.
    let after = store
        .finish_section(finish(
            &review,
            &secs[0],
            SectionRunStatus::Done,
            vec![finding(&review, &secs[0], FindingSource::Model, 0.9, "x")],
        ))
        .await
        .unwrap();
    assert_eq!(after.review.status, ReviewStatus::Cancelled);
    assert!(!after.review_finished);
    let again = store
        .cancel_review(&scope(&alice()), &review.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, ReviewStatus::Cancelled);
}

async fn findings_are_filtered_and_scoped(store: SqlStore) {
    let (doc, secs) = document_with_sections(&store, &alice(), 2).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store.create_review(&review, &ids, &[]).await.unwrap();
    let low = finding(&review, &secs[1], FindingSource::Model, 0.5, "low");
    let high = finding(&review, &secs[0], FindingSource::Rule, 0.8, "high");
    store
        .finish_section(finish(
            &review,
            &secs[0],
            SectionRunStatus::Done,
            vec![high.clone()],
        ))
        .await
        .unwrap();
    store
        .finish_section(finish(
            &review,
            &secs[1],
            SectionRunStatus::Done,
            vec![low.clone()],
        ))
        .await
        .unwrap();

    let all = store
        .findings(&scope(&alice()), &doc.id, &FindingFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|f| f.id.clone()).collect::<Vec<_>>(),
        [high.id.clone(), low.id.clone()],
        "section order"
    );
    let confident = FindingFilter {
        min_confidence: Some(0.8),
        ..FindingFilter::default()
    };
    assert_eq!(
        store
            .findings(&scope(&alice()), &doc.id, &confident)
            .await
            .unwrap()
            .len(),
        1,
        "0.8 passes 0.8"
    );
    let in_section = FindingFilter {
        section: Some(ids[1].clone()),
        ..FindingFilter::default()
    };
    assert_eq!(
        store
            .findings(&scope(&alice()), &doc.id, &in_section)
            .await
            .unwrap()[0]
            .id,
        low.id
    );
    let rules = FindingFilter {
        source: Some(FindingSource::Rule),
        ..FindingFilter::default()
    };
    assert_eq!(
        store
            .findings(&scope(&alice()), &doc.id, &rules)
            .await
            .unwrap()
            .len(),
        1
    );
    let accepted = FindingFilter {
        status: Some(FindingStatus::Accepted),
        ..FindingFilter::default()
    };
    assert!(
        store
            .findings(&scope(&alice()), &doc.id, &accepted)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .findings(&scope(&bob()), &doc.id, &FindingFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.finding(&scope(&bob()), &low.id).await.unwrap().is_none());
    let read = store.finding(&scope(&alice()), &low.id).await.unwrap().unwrap();
    assert_eq!(read, low);
}

async fn events_are_read_back_in_order_after_an_id(store: SqlStore) {
    let (doc, _) = document_with_sections(&store, &alice(), 1).await;
    let review = new_review(&doc);
    store.create_review(&review, &[], &[]).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .append_event(
                    &review.id,
                    ReviewEventKind::Finding,
                    &serde_json::json!({ "n": i }),
                )
                .await
                .unwrap(),
        );
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let after = store.events_after(&review.id, ids[1], 2).await.unwrap();
    assert_eq!(
        after
            .iter()
            .map(|e| e.data["n"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );
}

/// The event stream follows a review by id ("everything after the last id I saw"), so ids must become
/// visible in order: an event committed after a higher id was already read would never be streamed.
/// Workers in several processes start and finish sections of one review at once; a reader polling like
/// the stream must still see every event.
async fn a_reader_following_event_ids_misses_none_while_sections_finish_concurrently(store: SqlStore) {
    const SECTIONS: usize = 48;
    const WRITERS: usize = 4;
    let (doc, secs) = document_with_sections(&store, &alice(), SECTIONS).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store.create_review(&review, &ids, &[]).await.unwrap();
    let writers: Vec<_> = secs
        .chunks(SECTIONS / WRITERS)
        .map(|chunk| {
            let (store, review, chunk) = (store.clone(), review.clone(), chunk.to_vec());
            tokio::spawn(async move {
                for section in &chunk {
                    let data = serde_json::json!({ "section_id": section.id.as_str() });
                    store
                        .append_event(&review.id, ReviewEventKind::SectionStarted, &data)
                        .await
                        .unwrap();
                    let mut done = finish(&review, section, SectionRunStatus::Done, vec![]);
                    done.events = vec![(ReviewEventKind::Finding, data)];
                    store.finish_section(done).await.unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut last = 0;
    loop {
        let batch = store.events_after(&review.id, last, 200).await.unwrap();
        let ended = batch.iter().any(|e| e.kind == ReviewEventKind::ReviewDone);
        if let Some(event) = batch.last() {
            last = event.id;
        }
        seen.extend(batch.into_iter().map(|e| e.id));
        if ended {
            break;
        }
        tokio::task::yield_now().await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let stored: Vec<i64> = store
        .events_after(&review.id, 0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        stored.len(),
        SECTIONS * 3 + 1,
        "started, finding and done per section, then review_done"
    );
    let missed: Vec<&i64> = stored.iter().filter(|id| !seen.contains(id)).collect();
    assert!(missed.is_empty(), "the reader never saw events {missed:?}");
}

async fn usage_is_summed_per_review_and_per_document(store: SqlStore) {
    let (doc, secs) = document_with_sections(&store, &alice(), 2).await;
    let review = new_review(&doc);
    let ids: Vec<SectionId> = secs.iter().map(|s| s.id.clone()).collect();
    store.create_review(&review, &ids, &[]).await.unwrap();
    let mut f = finish(&review, &secs[0], SectionRunStatus::Done, vec![]);
    f.calls = vec![
        call(&review, &secs[0], 1000, 0.25),
        call(&review, &secs[0], 500, 0.125),
    ];
    store.finish_section(f).await.unwrap();
    let mut chat = call(&review, &secs[1], 100, 0.5);
    chat.review_id = None;
    chat.purpose = "chat".into();
    store.record_model_calls(&[chat]).await.unwrap();
    let read = store.review(&Scope::All, &review.id).await.unwrap().unwrap();
    assert_eq!(read.usage.input_tokens, 1500);
    assert_eq!(read.usage.cached_tokens, 10);
    assert!((read.usage.cost_usd - 0.375).abs() < 1e-9);
    let total = store.document_usage(&scope(&alice()), &doc.id).await.unwrap();
    assert_eq!(total.input_tokens, 1600);
    assert_eq!(
        store
            .document_usage(&scope(&bob()), &doc.id)
            .await
            .unwrap()
            .input_tokens,
        0
    );
}
