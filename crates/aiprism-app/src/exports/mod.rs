//! Exports: the reviewed .docx (the user's own document with findings as Word comments), findings as
//! JSON or CSV, and the whole review as a package — downloaded, or sent to S3 with its location returned.

mod comments;
mod files;

use aiprism_core::{
    ActivityAction, DocumentFormat, DocumentId, Export, ExportDestination, ExportId, ExportKind, Finding,
    FindingSource, FindingStatus, Scope, User,
};
use aiprism_docx::{Limits, WriteOptions};
use aiprism_store::FindingFilter;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::objects::Objects;
use crate::{App, AppError, DocumentView};

pub use files::{csv as findings_csv, report as readable_report};

/// What to export.
#[derive(Debug, Clone, Copy)]
pub struct ExportRequest {
    /// What.
    pub kind: ExportKind,
    /// Where.
    pub destination: ExportDestination,
    /// Put pending findings in the reviewed document too, marked as pending.
    pub include_pending: bool,
    /// Write findings that propose a replacement as tracked changes.
    pub tracked_changes: bool,
}

/// Which findings go into a reviewed document, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewedOptions {
    /// Include pending findings too.
    pub include_pending: bool,
    /// Mark included pending findings as not yet accepted (the web workflow); the CLI, which has no
    /// decisions, leaves them unmarked.
    pub mark_pending: bool,
    /// Only findings at or above this confidence.
    pub min_confidence: Option<f32>,
    /// Write proposed replacements as tracked changes.
    pub tracked_changes: bool,
}

impl ExportRequest {
    fn reviewed_options(&self) -> ReviewedOptions {
        ReviewedOptions {
            include_pending: self.include_pending,
            mark_pending: true,
            min_confidence: None,
            tracked_changes: self.tracked_changes,
        }
    }
}

/// The reviewed document and how many comments it holds.
pub struct ReviewedDocument {
    /// The .docx bytes.
    pub bytes: Vec<u8>,
    /// Its file name.
    pub filename: String,
    /// Comments written.
    pub comments_written: u32,
    /// Findings that could not be anchored, with the reason.
    pub skipped: Vec<(String, String)>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The file name without its extension, made safe for archive and object keys.
pub(crate) fn stem(filename: &str) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(s, _)| s);
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim().to_string();
    if safe.is_empty() { "document".into() } else { safe }
}

impl App {
    /// Which findings go into the reviewed document: accepted ones (reviewer comments are accepted from
    /// the start), plus pending ones when asked, never rejected ones.
    fn exported(findings: &[Finding], options: &ReviewedOptions) -> Vec<Finding> {
        findings
            .iter()
            .filter(|f| match f.status {
                FindingStatus::Accepted => true,
                FindingStatus::Pending => options.include_pending,
                FindingStatus::Rejected => false,
            })
            .filter(|f| {
                options
                    .min_confidence
                    .is_none_or(|min| f.confidence + 1e-6 >= min)
            })
            .map(|f| {
                let mut f = f.clone();
                if !options.mark_pending && f.status == FindingStatus::Pending {
                    // Written as they are, without the "not yet accepted" marker.
                    f.status = FindingStatus::Accepted;
                }
                f
            })
            .collect()
    }

    /// Writes the reviewed .docx for a document: the original package patched with comments (Markdown and
    /// text documents get a .docx built from their paragraphs, with the same comments).
    pub async fn reviewed_document(
        &self,
        user: &User,
        view: &DocumentView,
        findings: &[Finding],
        options: ReviewedOptions,
    ) -> Result<ReviewedDocument, AppError> {
        let tracked_changes = options.tracked_changes;
        let original = self.objects.get(&view.meta.object_key).await?;
        let framework = self.require_framework(&view.meta.framework).await.ok();
        let titles = move |id: &str| -> Option<String> {
            framework
                .as_ref()?
                .checkpoints
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.title.clone())
        };
        let authors = comments::Authors {
            product: &self.settings.review.comment_author,
            reviewer: &user.name,
        };
        let chosen = Self::exported(findings, &options);
        let mut specs = Vec::with_capacity(chosen.len());
        let mut spec_findings = Vec::with_capacity(chosen.len());
        let mut skipped = Vec::new();
        for f in &chosen {
            let section = view.sections.iter().find(|s| s.id == f.section_id);
            match comments::spec(f, section, &authors, &titles) {
                Some(spec) => {
                    specs.push(spec);
                    spec_findings.push(f.id.as_str().to_string());
                }
                None => skipped.push((
                    f.id.as_str().to_string(),
                    "its section no longer exists".to_string(),
                )),
            }
        }
        let format = view.meta.format;
        let filename = view.meta.filename.clone();
        let max = self.settings.server.max_upload_bytes;
        let report = tokio::task::spawn_blocking(move || {
            let limits = Limits {
                max_bytes: max.max(original.len() as u64),
                ..Limits::default()
            };
            let package = match format {
                DocumentFormat::Docx => original.to_vec(),
                _ => {
                    let parsed =
                        aiprism_docx::read(&original, &filename, &limits).map_err(|e| e.to_string())?;
                    aiprism_docx::build_docx(&parsed)
                }
            };
            let limits = Limits {
                max_bytes: (package.len() as u64).max(limits.max_bytes),
                ..limits
            };
            aiprism_docx::write_comments(&package, &specs, &WriteOptions { tracked_changes }, &limits)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| AppError::Internal(format!("writer task failed: {e}")))?
        .map_err(|e| AppError::Internal(format!("the reviewed document could not be written: {e}")))?;
        for (index, reason) in &report.skipped {
            if let Some(id) = spec_findings.get(*index) {
                skipped.push((id.clone(), reason.clone()));
            }
        }
        if !skipped.is_empty() {
            tracing::warn!(document = %view.meta.id, skipped = skipped.len(), "some findings could not be anchored");
        }
        Ok(ReviewedDocument {
            bytes: report.bytes,
            filename: format!("{}.reviewed.docx", stem(&view.meta.filename)),
            comments_written: u32::try_from(report.comments_written).unwrap_or(u32::MAX),
            skipped,
        })
    }

    /// Produces an export, stores it for download (and uploads it to S3 when asked), and records it.
    pub async fn export(
        &self,
        user: &User,
        document: &DocumentId,
        request: ExportRequest,
    ) -> Result<Export, AppError> {
        let view = self.document(user, document).await?;
        let s3 = match request.destination {
            ExportDestination::S3 => Some(Objects::s3_export(&self.settings)?.ok_or_else(|| {
                AppError::invalid(
                    "s3_export_disabled",
                    "Export to S3 is not enabled here (set S3_BUCKET_NAME and ENABLE_S3_EXPORT=true).",
                )
            })?),
            ExportDestination::Download => None,
        };
        let findings = self
            .store
            .findings(&Scope::of(user), document, &FindingFilter::default())
            .await?;
        let id = ExportId::generate();
        let base = stem(&view.meta.filename);
        let (files, comments_written): (Vec<(String, Vec<u8>)>, Option<u32>) = match request.kind {
            ExportKind::Docx => {
                let reviewed = self
                    .reviewed_document(user, &view, &findings, request.reviewed_options())
                    .await?;
                (
                    vec![(reviewed.filename, reviewed.bytes)],
                    Some(reviewed.comments_written),
                )
            }
            ExportKind::Json => {
                let json = files::findings_json(&view, &findings);
                (vec![(format!("{base}.findings.json"), json)], None)
            }
            ExportKind::Csv => (
                vec![(
                    format!("{base}.findings.csv"),
                    files::csv(&view, &findings).into_bytes(),
                )],
                None,
            ),
            ExportKind::Package => {
                let package = self.package_files(user, &view, &findings, request).await?;
                (package.files, Some(package.comments_written))
            }
        };
        // The download: the file itself, or the package's files in one zip.
        let (filename, body, media_type) = match (request.kind, files.as_slice()) {
            (ExportKind::Package, _) => {
                let zip = files::zip(&files)
                    .map_err(|e| AppError::Internal(format!("building the package: {e}")))?;
                (format!("{base}.review-package.zip"), zip, "application/zip")
            }
            (kind, [(name, bytes)]) => {
                let media = match kind {
                    ExportKind::Docx => DocumentFormat::Docx.media_type(),
                    ExportKind::Json => "application/json",
                    _ => "text/csv; charset=utf-8",
                };
                (name.clone(), bytes.clone(), media)
            }
            _ => return Err(AppError::Internal("an export produced no file".into())),
        };
        let object_key = format!("exports/{id}/{filename}");
        self.objects.put(&object_key, Bytes::from(body.clone())).await?;

        let location = match &s3 {
            Some(s3) => Some(self.upload_to_s3(s3, &view, &id, &files).await?),
            None => None,
        };
        let export = Export {
            id,
            document_id: view.meta.id.clone(),
            owner: view.meta.owner.clone(),
            kind: request.kind,
            destination: request.destination,
            status: "succeeded".into(),
            filename,
            object_key,
            media_type: media_type.into(),
            size_bytes: body.len() as u64,
            sha256: sha256_hex(&body),
            location,
            comments_written,
            include_pending: request.include_pending,
            error: None,
            created_at: aiprism_core::now(),
        };
        self.store.insert_export(&export).await?;
        self.record(
            user,
            &view.meta.owner,
            Some(&view.meta.id),
            ActivityAction::ExportCreated,
            serde_json::json!({
                "export_id": export.id.as_str(), "kind": export.kind.as_str(),
                "destination": export.destination.as_str(), "location": export.location,
                "comments_written": export.comments_written, "include_pending": export.include_pending,
            }),
        )
        .await;
        Ok(export)
    }

    /// Uploads every file under `<base>/exports/<time>_<name>_<id>/` and returns the prefix's location.
    async fn upload_to_s3(
        &self,
        s3: &Objects,
        view: &DocumentView,
        id: &ExportId,
        files: &[(String, Vec<u8>)],
    ) -> Result<String, AppError> {
        let folder = format!(
            "exports/{}_{}_{}",
            aiprism_core::now().format("%Y%m%d_%H%M%S"),
            stem(&view.meta.filename).replace(' ', "_"),
            id.as_str()
        );
        for (name, bytes) in files {
            s3.put(&format!("{folder}/{name}"), Bytes::from(bytes.clone()))
                .await?;
        }
        Ok(format!("{}/{folder}/", s3.description().trim_end_matches('/')))
    }

    /// One export.
    pub async fn export_record(&self, user: &User, id: &ExportId) -> Result<Export, AppError> {
        self.store
            .export(&Scope::of(user), id)
            .await?
            .ok_or(AppError::NotFound { what: "export" })
    }

    /// A document's exports, newest first.
    pub async fn exports(&self, user: &User, document: &DocumentId) -> Result<Vec<Export>, AppError> {
        self.document(user, document).await?;
        Ok(self.store.exports(&Scope::of(user), document).await?)
    }

    /// An export's file.
    pub async fn export_file(&self, user: &User, id: &ExportId) -> Result<(Export, Bytes), AppError> {
        let export = self.export_record(user, id).await?;
        let bytes = self.objects.get(&export.object_key).await?;
        Ok((export, bytes))
    }

    async fn package_files(
        &self,
        user: &User,
        view: &DocumentView,
        findings: &[Finding],
        request: ExportRequest,
    ) -> Result<files::Package, AppError> {
        let scope = Scope::of(user);
        let original = self.objects.get(&view.meta.object_key).await?;
        let reviewed = self
            .reviewed_document(user, view, findings, request.reviewed_options())
            .await?;
        let guidelines = match &view.meta.guidelines {
            Some(g) => Some((
                g.filename.clone(),
                self.objects.get(&g.object_key).await?.to_vec(),
            )),
            None => None,
        };
        let chat = self.store.chat_messages(&scope, &view.meta.id).await?;
        let activity = self.store.activity(&scope, &view.meta.id).await?;
        let statistics = self.document_statistics(user, &view.meta.id).await?;
        let review = self.store.latest_review(&scope, &view.meta.id).await?;
        Ok(files::package(files::PackageInput {
            view,
            findings,
            original: original.to_vec(),
            reviewed,
            guidelines,
            chat: &chat,
            activity: &activity,
            statistics: &statistics,
            review: review.as_ref(),
        }))
    }
}

/// Counts for the pre-export summary.
pub fn summary(findings: &[Finding]) -> serde_json::Value {
    let count = |pred: &dyn Fn(&Finding) -> bool| findings.iter().filter(|f| pred(f)).count();
    serde_json::json!({
        "accepted": count(&|f| f.source != FindingSource::Reviewer && f.status == FindingStatus::Accepted),
        "rejected": count(&|f| f.status == FindingStatus::Rejected),
        "pending": count(&|f| f.status == FindingStatus::Pending),
        "reviewer_comments": count(&|f| f.source == FindingSource::Reviewer),
    })
}
