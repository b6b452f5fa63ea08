//! Review frameworks as data: the checklist a document is reviewed against.
//!
//! A framework is written in TOML (see `frameworks/*.toml` at the repository root) and holds checkpoints
//! (what the model checks, with guidance in full sentences), section guidance (extra instructions for
//! kinds of sections, chosen by title), and deterministic rules (Vale-like: id, message, level, scope and a
//! built-in check kind with typed parameters). Frameworks are validated when loaded, so a bad file is
//! refused with an error naming the offending key instead of misbehaving during a review.

mod builtin;
mod load;
mod params;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use regex::{RegexSet, RegexSetBuilder};

pub use builtin::{BUILTIN_SOURCES, builtin_frameworks};
pub use load::FrameworkError;
pub use params::{
    AcronymParams, ActionParams, DEFAULT_VAGUE_PHRASES, DateOrder, EmptySectionParams, LongSentenceParams,
    PlaceholderParams, RootCauseParams, RuleKind, RuleParams, TimelineParams, VagueParams,
};

use crate::finding::{FindingType, Risk};
use crate::rules::CompiledRules;

/// A review framework: checkpoints for the model, guidance per kind of section, and deterministic rules.
///
/// Fields are public for reading. Build one with [`Framework::from_toml`] or [`Framework::new`], which
/// validate it; if you change fields afterwards, call [`Framework::validate`] again before relying on them
/// (the rule engine compiles what it can and skips anything invalid).
#[derive(Debug, Clone, PartialEq)]
pub struct Framework {
    /// Stable identifier (`[a-z0-9-]`), stored with every document reviewed against it.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the framework is for, shown to reviewers and given to the model.
    pub description: String,
    /// Version of the framework text, so stored reviews can say which wording they were made with.
    pub version: String,
    /// The checklist, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// Extra instructions for kinds of sections; the first entry whose pattern matches a title applies.
    pub section_guidance: Vec<SectionGuidance>,
    /// Deterministic checks run before the model.
    pub rules: Vec<RuleSpec>,
    cache: CompiledCache,
}

/// One checklist item the model reviews a section against.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Short stable id findings refer to (e.g. `C11`).
    pub id: String,
    /// Display title.
    pub title: String,
    /// What the model should check, in several sentences.
    pub guidance: String,
    /// Case-insensitive regular expressions on section titles this checkpoint mainly concerns; empty
    /// means every section.
    pub applies_to: Vec<String>,
}

/// Instructions for one kind of section (timeline, root cause, ...), chosen by its title.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionGuidance {
    /// Name of the kind of section (unique within the framework).
    pub name: String,
    /// Case-insensitive regular expressions on section titles; empty matches every title (a fallback).
    pub applies_to: Vec<String>,
    /// What the model should pay particular attention to in such a section.
    pub guidance: String,
}

/// One deterministic rule: a built-in check kind with its parameters, message and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Stable id (`[a-z0-9-]`), recorded on every finding it produces.
    pub id: String,
    /// The check and its typed parameters; [`RuleSpec::kind`] reads the kind from it.
    pub params: RuleParams,
    /// The finding's description. `{quote}`, `{detail}` and `{title}` are replaced by the quoted text,
    /// the check's detail (e.g. "52 words") and the section title.
    pub message: String,
    /// What the author should do, with the same substitutions as `message`.
    pub suggestion: String,
    /// How the finding should be read.
    pub finding_type: FindingType,
    /// The risk of leaving it.
    pub risk: Risk,
    /// Category shown with the finding.
    pub category: String,
    /// Case-insensitive regular expressions on section titles; empty means every section.
    pub applies_to: Vec<String>,
    /// Checkpoint ids the findings relate to.
    pub checkpoints: Vec<String>,
    /// Disabled rules are kept (and validated) but never run.
    pub enabled: bool,
}

impl RuleSpec {
    /// The check kind, read from the parameters so the two cannot disagree.
    pub fn kind(&self) -> RuleKind {
        self.params.kind()
    }
}

impl Framework {
    /// Builds and validates a framework from its parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        version: impl Into<String>,
        checkpoints: Vec<Checkpoint>,
        section_guidance: Vec<SectionGuidance>,
        rules: Vec<RuleSpec>,
    ) -> Result<Framework, FrameworkError> {
        let framework = Framework {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            version: version.into(),
            checkpoints,
            section_guidance,
            rules,
            cache: CompiledCache::default(),
        };
        framework.validate()?;
        Ok(framework)
    }

    /// Parses and validates a framework written in TOML. Unknown keys, duplicate ids, empty titles,
    /// patterns that do not compile, unknown rule kinds and out-of-range parameters are refused with an
    /// error naming the offending key and id.
    pub fn from_toml(text: &str) -> Result<Framework, FrameworkError> {
        load::parse(text)
    }

    /// Checks everything [`Framework::from_toml`] checks, on a framework built or changed in code.
    pub fn validate(&self) -> Result<(), FrameworkError> {
        load::validate(self)
    }

    /// Looks a checkpoint up by id (case-insensitive, as models are not careful about case).
    pub fn checkpoint(&self, id: &str) -> Option<&Checkpoint> {
        self.checkpoints
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(id.trim()))
    }

    /// The checkpoints that concern a section with this title (those scoped to every section included),
    /// in framework order.
    pub fn checkpoints_for(&self, title: &str) -> Vec<&Checkpoint> {
        let compiled = self.compiled();
        self.checkpoints
            .iter()
            .zip(&compiled.checkpoint_scopes)
            .filter(|(_, scope)| scope.matches(title))
            .map(|(c, _)| c)
            .collect()
    }

    /// The section guidance for a title: the first entry whose pattern matches.
    pub fn guidance_for(&self, title: &str) -> Option<&SectionGuidance> {
        let compiled = self.compiled();
        self.section_guidance
            .iter()
            .zip(&compiled.guidance_scopes)
            .find(|(_, scope)| scope.matches(title))
            .map(|(g, _)| g)
    }

    /// The enabled rules whose scope covers a section with this title, in framework order.
    pub fn rules_for(&self, title: &str) -> Vec<&RuleSpec> {
        let compiled = self.compiled();
        self.rules
            .iter()
            .enumerate()
            .filter(|(i, r)| r.enabled && compiled.rules.scope_matches(*i, title))
            .map(|(_, r)| r)
            .collect()
    }

    /// The framework as text for a prompt: name, description and every checkpoint with its guidance.
    /// It is the same for every section of a document, so it can be a cached prompt prefix.
    pub fn outline(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Framework: {} ({} v{})",
            self.name.trim(),
            self.id,
            self.version.trim()
        );
        let description = self.description.trim();
        if !description.is_empty() {
            let _ = writeln!(out, "{description}");
        }
        let _ = writeln!(out, "\nCheckpoints:");
        for c in &self.checkpoints {
            let guidance = c.guidance.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = writeln!(out, "- {} {}: {}", c.id, c.title.trim(), guidance);
        }
        out
    }

    /// The compiled form (title scopes and rules), built on first use and rebuilt if the fields changed.
    pub(crate) fn compiled(&self) -> Arc<Compiled> {
        self.cache.get(self)
    }
}

/// A set of case-insensitive title patterns; an empty set matches every title.
#[derive(Debug, Clone)]
pub(crate) struct TitleScope(Option<RegexSet>);

impl TitleScope {
    /// Compiles the patterns; the error names the first one that does not compile.
    pub(crate) fn new(patterns: &[String]) -> Result<TitleScope, (String, String)> {
        if patterns.is_empty() {
            return Ok(TitleScope(None));
        }
        for p in patterns {
            if let Err(e) = regex::RegexBuilder::new(p).case_insensitive(true).build() {
                return Err((p.clone(), e.to_string()));
            }
        }
        RegexSetBuilder::new(patterns)
            .case_insensitive(true)
            .build()
            .map(|set| TitleScope(Some(set)))
            .map_err(|e| (patterns.join(", "), e.to_string()))
    }

    /// A scope that matches nothing, used in place of one that did not compile.
    pub(crate) fn nothing() -> TitleScope {
        TitleScope(Some(RegexSet::empty()))
    }

    /// Whether the scope covers a section with this title.
    pub(crate) fn matches(&self, title: &str) -> bool {
        match &self.0 {
            None => true,
            Some(set) => set.is_match(title),
        }
    }
}

/// What a framework compiles to: its title scopes and its rules, plus a snapshot of the fields they
/// were compiled from so a changed framework is recompiled instead of served stale.
pub(crate) struct Compiled {
    snapshot: (Vec<Checkpoint>, Vec<SectionGuidance>, Vec<RuleSpec>),
    pub(crate) checkpoint_scopes: Vec<TitleScope>,
    pub(crate) guidance_scopes: Vec<TitleScope>,
    pub(crate) rules: CompiledRules,
}

impl Compiled {
    /// Compiles leniently: anything invalid is replaced by something inert and reported in the errors.
    pub(crate) fn build(framework: &Framework) -> (Compiled, Vec<FrameworkError>) {
        let mut errors = Vec::new();
        let mut scope = |path: String, patterns: &[String]| match TitleScope::new(patterns) {
            Ok(s) => s,
            Err((pattern, message)) => {
                errors.push(FrameworkError::BadPattern {
                    path,
                    pattern,
                    message,
                });
                TitleScope::nothing()
            }
        };
        let checkpoint_scopes = framework
            .checkpoints
            .iter()
            .map(|c| scope(format!("checkpoints[{}].applies_to", c.id), &c.applies_to))
            .collect();
        let guidance_scopes = framework
            .section_guidance
            .iter()
            .map(|g| scope(format!("section_guidance[{}].applies_to", g.name), &g.applies_to))
            .collect();
        let (rules, rule_errors) = CompiledRules::build(framework);
        errors.extend(rule_errors);
        let snapshot = (
            framework.checkpoints.clone(),
            framework.section_guidance.clone(),
            framework.rules.clone(),
        );
        (
            Compiled {
                snapshot,
                checkpoint_scopes,
                guidance_scopes,
                rules,
            },
            errors,
        )
    }

    fn is_current(&self, framework: &Framework) -> bool {
        self.snapshot.0 == framework.checkpoints
            && self.snapshot.1 == framework.section_guidance
            && self.snapshot.2 == framework.rules
    }
}

/// Holds a framework's compiled form. Clones start empty (they compile on first use) and it never
/// takes part in equality, so it is invisible in everything but speed.
#[derive(Default)]
struct CompiledCache(Mutex<Option<Arc<Compiled>>>);

impl CompiledCache {
    fn prime(&self, compiled: Compiled) {
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(Arc::new(compiled));
    }

    fn get(&self, framework: &Framework) -> Arc<Compiled> {
        // A poisoned lock only means another thread panicked while compiling; the slot is still usable.
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(compiled) = slot.as_ref().filter(|c| c.is_current(framework)) {
            return Arc::clone(compiled);
        }
        let compiled = Arc::new(Compiled::build(framework).0);
        *slot = Some(Arc::clone(&compiled));
        compiled
    }
}

impl Clone for CompiledCache {
    fn clone(&self) -> Self {
        CompiledCache::default()
    }
}

impl PartialEq for CompiledCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for CompiledCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompiledCache")
    }
}
