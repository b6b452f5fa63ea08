//! Exports: what a reviewer takes away (the reviewed .docx, a findings file, or the whole review as a
//! package), downloaded or sent to S3.

use chrono::{DateTime, Utc};

use crate::ids::{DocumentId, ExportId, UserId};

crate::string_enum! {
    /// What is exported.
    pub enum ExportKind as "export kind" {
        /// The original document with findings as Word comments.
        Docx = "docx",
        /// Everything: original and reviewed documents, guidelines, findings by status, chat, activity,
        /// statistics and a readable report.
        Package = "package",
        /// Findings and decisions as JSON.
        Json = "json",
        /// Findings and decisions as CSV.
        Csv = "csv",
    }
}

crate::string_enum! {
    /// Where an export goes.
    pub enum ExportDestination as "export destination" {
        /// Kept for download.
        Download = "download",
        /// Uploaded to the configured S3 bucket (and kept for download).
        S3 = "s3",
    }
}

/// A produced export.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Stable id (downloads go by id, never by file name).
    pub id: ExportId,
    /// The document exported.
    pub document_id: DocumentId,
    /// The document's owner.
    pub owner: UserId,
    /// What was exported.
    pub kind: ExportKind,
    /// Where it went.
    pub destination: ExportDestination,
    /// `succeeded` or `failed`.
    pub status: String,
    /// The download's file name.
    pub filename: String,
    /// Where the file is kept in the object store.
    pub object_key: String,
    /// Its media type.
    pub media_type: String,
    /// Its size.
    pub size_bytes: u64,
    /// Lower-case hex sha256.
    pub sha256: String,
    /// `s3://bucket/prefix/` for S3 exports.
    pub location: Option<String>,
    /// Word comments written (docx and package).
    pub comments_written: Option<u32>,
    /// Whether pending findings were included, marked as such.
    pub include_pending: bool,
    /// Why it failed, for a person.
    pub error: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}
