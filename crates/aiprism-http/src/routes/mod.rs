//! One module per resource.

pub(crate) mod documents;
pub(crate) mod health;
pub(crate) mod pages;
