//! Users own documents. Until accounts exist a single local user owns everything, but every query is
//! already scoped by owner so that adding accounts changes who the owner is, not how data is read.

use crate::ids::UserId;

crate::string_enum! {
    /// What a user may do: admins see every user's documents, reviewers only their own.
    pub enum Role as "role" {
        /// Sees and manages everything.
        Admin = "admin",
        /// Works on their own documents.
        Reviewer = "reviewer",
    }
}

/// A person who owns documents and makes decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Display name, used as the author of their Word comments.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

impl User {
    /// The id of the single local user that owns everything before accounts exist.
    pub const LOCAL_ID: &'static str = "usr_local";

    /// The single local user of an installation without accounts.
    pub fn local() -> Self {
        Self {
            id: UserId::new(Self::LOCAL_ID),
            name: "Local reviewer".to_string(),
            role: Role::Reviewer,
        }
    }
}

/// Whose data a read or write may touch. Every storage query takes one, so that forgetting to scope a
/// query is a type error rather than a data leak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Only resources owned by this user.
    Owner(UserId),
    /// Every user's resources (admins, background workers).
    All,
}

impl Scope {
    /// The scope a user acts in: admins see everything, others their own.
    pub fn of(user: &User) -> Self {
        match user.role {
            Role::Admin => Scope::All,
            Role::Reviewer => Scope::Owner(user.id.clone()),
        }
    }

    /// The owner this scope is limited to, if any.
    pub fn owner(&self) -> Option<&UserId> {
        match self {
            Scope::Owner(id) => Some(id),
            Scope::All => None,
        }
    }
}
