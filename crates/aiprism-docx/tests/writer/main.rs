//! The comment writer: XML surgery on built packages, the round trip over the whole corpus, and
//! LibreOffice as an independent oracle for where the comments land.

#[path = "../support/mod.rs"]
mod support;

mod common;
mod corpus;
mod fixtures;
mod libreoffice;
mod odt;
mod surgery;
