//! Opaque identifiers. Each kind of resource has its own newtype so a finding id can never be passed
//! where a document id is expected; the string form carries a short prefix that makes logs readable.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every generated id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-ordered, globally unique id.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Wraps an id read back from storage or from a request path. Ids are opaque: any string is
            /// accepted, and a lookup with a foreign string simply finds nothing.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the id into its text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// Identifies an uploaded document.
    DocumentId, "doc"
);
id_type!(
    /// Identifies one section of a document.
    SectionId, "sec"
);
id_type!(
    /// Identifies one review run over a document.
    ReviewId, "rev"
);
id_type!(
    /// Identifies a finding (rule, model or reviewer comment).
    FindingId, "fnd"
);
id_type!(
    /// Identifies a user (the owner of documents).
    UserId, "usr"
);
id_type!(
    /// Identifies an export (a reviewed document, a package, a findings file).
    ExportId, "exp"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_prefixed_and_unique() {
        let a = DocumentId::generate();
        let b = DocumentId::generate();
        assert!(a.as_str().starts_with("doc_"));
        assert_ne!(a, b);
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = FindingId::new("fnd_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"fnd_1\"");
    }
}
