//! Upload, read, list and delete documents.

use aiprism_core::{ActivityAction, DocumentId, DocumentMeta, GuidelinesMeta, Scope, Section, User};
use aiprism_store::DocumentSummary;
use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::ingest::{Ingested, ingest};
use crate::{App, AppError};

/// An upload as received: the document, and optionally a guidelines document for the model.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// The name the file was uploaded under.
    pub filename: String,
    /// The file's bytes, exactly as received.
    pub bytes: Bytes,
    /// The framework to review against (the default when absent).
    pub framework: Option<String>,
    /// A free-form document type.
    pub document_type: Option<String>,
    /// A guidelines document: name and bytes.
    pub guidelines: Option<(String, Bytes)>,
    /// Whether to start a review at once.
    pub start_review: bool,
}

/// A document with its sections, as the API shows it.
#[derive(Debug, Clone)]
pub struct DocumentView {
    /// Metadata.
    pub meta: DocumentMeta,
    /// Sections in document order.
    pub sections: Vec<Section>,
}

fn object_key(id: &DocumentId, part: &str) -> String {
    format!("documents/{id}/{part}")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl App {
    /// Reads, stores and records an upload. Either everything is stored (original, guidelines, document
    /// row and sections) or nothing is: a failure after the objects were written removes them again.
    pub async fn upload(&self, user: &User, upload: Upload) -> Result<DocumentView, AppError> {
        let framework = upload
            .framework
            .clone()
            .unwrap_or_else(|| self.settings.review.default_framework.clone());
        self.require_framework(&framework).await?;
        let id = DocumentId::generate();
        let max = self.settings.server.max_upload_bytes;

        let (document, guidelines) = {
            let doc_bytes = upload.bytes.clone();
            let doc_name = upload.filename.clone();
            let guide = upload.guidelines.clone();
            let doc_id = id.clone();
            tokio::task::spawn_blocking(move || {
                let document = ingest(&doc_bytes, &doc_name, max, &doc_id)?;
                let guidelines = match guide {
                    Some((name, bytes)) => {
                        Some((name.clone(), bytes.clone(), ingest(&bytes, &name, max, &doc_id)?))
                    }
                    None => None,
                };
                Ok::<_, AppError>((document, guidelines))
            })
            .await
            .map_err(|e| AppError::Internal(format!("ingest task failed: {e}")))??
        };
        let Ingested { format, sections, .. } = document;
        if sections.is_empty() {
            return Err(AppError::invalid(
                "empty_document",
                "This document has no text to review. Check that you uploaded the right file.",
            ));
        }

        let original_key = object_key(&id, "original");
        self.objects.put(&original_key, upload.bytes.clone()).await?;
        let guidelines_meta = match guidelines {
            Some((filename, bytes, read)) => {
                let key = object_key(&id, "guidelines");
                if let Err(e) = self.objects.put(&key, bytes).await {
                    self.remove_objects(&[original_key.as_str()]).await;
                    return Err(e);
                }
                Some(GuidelinesMeta {
                    filename,
                    object_key: key,
                    text: read.text,
                })
            }
            None => None,
        };

        let meta = DocumentMeta {
            id: id.clone(),
            owner: user.id.clone(),
            filename: clean_filename(&upload.filename),
            format,
            size_bytes: u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX),
            sha256: sha256_hex(&upload.bytes),
            object_key: original_key,
            framework,
            document_type: upload.document_type.filter(|t| !t.trim().is_empty()),
            guidelines: guidelines_meta,
            created_at: Utc::now(),
        };
        if let Err(e) = self.store.insert_document(&meta, &sections).await {
            let mut keys = vec![meta.object_key.as_str()];
            if let Some(g) = &meta.guidelines {
                keys.push(g.object_key.as_str());
            }
            self.remove_objects(&keys).await;
            return Err(e.into());
        }
        tracing::info!(document = %meta.id, sections = sections.len(), bytes = meta.size_bytes, "document uploaded");
        crate::metrics::document_uploaded(meta.format);
        self.record(
            user,
            &meta.owner,
            Some(&meta.id),
            ActivityAction::DocumentUploaded,
            serde_json::json!({
                "filename": meta.filename, "format": meta.format.as_str(), "size_bytes": meta.size_bytes,
                "sections": sections.len(), "framework": meta.framework,
                "guidelines": meta.guidelines.as_ref().map(|g| g.filename.clone()),
            }),
        )
        .await;
        Ok(DocumentView { meta, sections })
    }

    /// One document with its sections.
    pub async fn document(&self, user: &User, id: &DocumentId) -> Result<DocumentView, AppError> {
        let scope = Scope::of(user);
        let meta = self
            .store
            .document(&scope, id)
            .await?
            .ok_or(AppError::NotFound { what: "document" })?;
        let sections = self.store.sections(&scope, id).await?;
        Ok(DocumentView { meta, sections })
    }

    /// The user's documents, newest first.
    pub async fn documents(&self, user: &User) -> Result<Vec<DocumentSummary>, AppError> {
        Ok(self.store.documents(&Scope::of(user)).await?)
    }

    /// Deletes a document, its rows and its stored files.
    pub async fn delete_document(&self, user: &User, id: &DocumentId) -> Result<(), AppError> {
        let meta = self
            .store
            .delete_document(&Scope::of(user), id)
            .await?
            .ok_or(AppError::NotFound { what: "document" })?;
        let mut keys = vec![meta.object_key.as_str()];
        if let Some(g) = &meta.guidelines {
            keys.push(g.object_key.as_str());
        }
        self.remove_objects(&keys).await;
        self.record(
            user,
            &meta.owner,
            Some(id),
            ActivityAction::DocumentDeleted,
            serde_json::json!({"filename": meta.filename}),
        )
        .await;
        tracing::info!(document = %id, "document deleted");
        Ok(())
    }

    /// The original upload's bytes.
    pub async fn original(&self, user: &User, id: &DocumentId) -> Result<(DocumentMeta, Bytes), AppError> {
        let meta = self
            .store
            .document(&Scope::of(user), id)
            .await?
            .ok_or(AppError::NotFound { what: "document" })?;
        let bytes = self.objects.get(&meta.object_key).await?;
        Ok((meta, bytes))
    }

    /// Best-effort removal of objects whose rows are gone (or were never written); failures are logged
    /// because the rows, not the objects, are the source of truth.
    async fn remove_objects(&self, keys: &[&str]) {
        for key in keys {
            if let Err(e) = self.objects.delete(key).await {
                tracing::warn!(%key, error = %e, "could not remove stored file");
            }
        }
    }
}

/// Keeps only the last path component of an uploaded name and drops control characters; the name is
/// for display and downloads, never a path.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string();
    if cleaned.is_empty() {
        "document".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_directories_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\report.docx"), "report.docx");
        assert_eq!(clean_filename("a\u{0}b\n.docx"), "ab.docx");
        assert_eq!(clean_filename("   "), "document");
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
