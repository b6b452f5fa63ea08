//! The domain of aiprism: documents, sections, findings and reviews, and the pure logic that works on them.
//!
//! This crate does no I/O: no files, no network, no database, no async runtime. Every other crate may
//! depend on it; it depends on no other aiprism crate. Keeping it pure keeps the review logic testable with
//! plain values and lets the same rules run in the server, the worker and the CLI.

// Tests may unwrap: a panic there is a failed test, which is the point. Library code may not.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod activity;
pub mod dedupe;
pub mod document;
pub mod export;
pub mod finding;
pub mod framework;
pub mod ids;
pub mod quote;
pub mod review;
pub mod rules;
pub mod user;

pub use activity::{Activity, ActivityAction};
pub use dedupe::{
    DedupeItem, DedupeOptions, Merge, MergeOutcome, merge_duplicates, merge_duplicates_with, similarity,
};
pub use document::{DocumentFormat, DocumentMeta, GuidelinesMeta, ParagraphSpan, Section};
pub use export::{Export, ExportDestination, ExportKind};
pub use finding::{Anchor, Finding, FindingSource, FindingStatus, FindingType, Risk};
pub use framework::{
    Checkpoint, Framework, FrameworkError, RuleKind, RuleParams, RuleSpec, SectionGuidance,
    builtin_frameworks,
};
pub use ids::{DocumentId, ExportId, FindingId, ReviewId, SectionId, UserId};
pub use quote::{CharSpan, MatchMethod, QuoteMatch, char_slice, find_quote};
pub use review::{
    ChatMessage, ChatRole, ModelCall, Review, ReviewEvent, ReviewEventKind, ReviewProgress, ReviewStatus,
    SectionRun, SectionRunStatus, Usage,
};
pub use rules::{CompiledRules, ContextSection, DocumentContext, RuleFinding, SectionInput, run_rules};
pub use user::{Role, Scope, User};

/// The current time at the precision every database keeps (microseconds), so a value written and read
/// back compares equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// A value that did not parse into one of the domain's closed sets (a status, a risk, a format...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}; expected one of: {expected}")]
pub struct ParseEnumError {
    /// What was being parsed, e.g. "risk".
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted spellings, comma separated.
    pub expected: &'static str,
}

/// Declares a closed string enum with `as_str`, `FromStr`, `Display` and serde in one place, so the
/// spelling used in the database, the API and the prompts can never drift apart.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident as $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling (database, API, prompts).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                match lower.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ParseEnumError {
                        kind: $kind,
                        value: s.to_string(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
