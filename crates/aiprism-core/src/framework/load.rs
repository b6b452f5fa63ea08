//! Loading a framework from TOML and validating it, with errors that name the offending key and id.

use std::collections::HashSet;

use serde::Deserialize;

use super::{
    Checkpoint, Compiled, CompiledCache, Framework, RuleKind, RuleParams, RuleSpec, SectionGuidance,
};
use crate::finding::{FindingType, Risk};

/// Why a framework was refused. Every variant names where the problem is (`path`, e.g.
/// `rules[long-sentence].params.max_words`), so the author of a framework file can fix it directly.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameworkError {
    /// The text is not TOML, has an unknown key, or a value of the wrong type (the parser's message names
    /// the key and line).
    #[error("framework is not valid TOML for this schema: {0}")]
    Syntax(String),
    /// A required text is empty or a value is malformed.
    #[error("{path}: {message}")]
    Invalid {
        /// Where the problem is.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Two items share an id (or name).
    #[error("{path}: duplicate id {id:?}")]
    DuplicateId {
        /// The list the duplicate is in.
        path: String,
        /// The repeated id.
        id: String,
    },
    /// A regular expression does not compile.
    #[error("{path}: pattern {pattern:?} does not compile: {message}")]
    BadPattern {
        /// Where the pattern is.
        path: String,
        /// The pattern.
        pattern: String,
        /// The regex engine's explanation.
        message: String,
    },
    /// A rule names a check kind that does not exist.
    #[error("{path}: unknown rule kind {kind:?}; expected one of: {expected}")]
    UnknownRuleKind {
        /// Where the kind is.
        path: String,
        /// The unknown kind.
        kind: String,
        /// The kinds that exist.
        expected: String,
    },
    /// A parameter is outside its allowed range.
    #[error("{path}: {value} is out of range ({expected})")]
    OutOfRange {
        /// Where the parameter is.
        path: String,
        /// The rejected value.
        value: String,
        /// The allowed range.
        expected: String,
    },
    /// A rule refers to a checkpoint the framework does not define.
    #[error("{path}: checkpoint {id:?} is not defined in this framework")]
    UnknownCheckpoint {
        /// Where the reference is.
        path: String,
        /// The undefined checkpoint id.
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFramework {
    id: String,
    name: String,
    description: String,
    version: String,
    #[serde(default)]
    checkpoints: Vec<RawCheckpoint>,
    #[serde(default)]
    section_guidance: Vec<RawGuidance>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckpoint {
    id: String,
    title: String,
    guidance: String,
    #[serde(default)]
    applies_to: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuidance {
    name: String,
    #[serde(default)]
    applies_to: Vec<String>,
    guidance: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    kind: String,
    message: String,
    suggestion: String,
    #[serde(rename = "type")]
    finding_type: String,
    risk: String,
    category: String,
    #[serde(default)]
    applies_to: Vec<String>,
    #[serde(default)]
    checkpoints: Vec<String>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default)]
    params: toml::Table,
}

fn enabled_by_default() -> bool {
    true
}

/// Parses TOML text into a validated framework.
pub(super) fn parse(text: &str) -> Result<Framework, FrameworkError> {
    let raw: RawFramework = toml::from_str(text).map_err(|e| FrameworkError::Syntax(e.to_string()))?;
    let rules = raw
        .rules
        .into_iter()
        .map(convert_rule)
        .collect::<Result<Vec<_>, _>>()?;
    let framework = Framework {
        id: raw.id,
        name: raw.name,
        description: raw.description,
        version: raw.version,
        checkpoints: raw
            .checkpoints
            .into_iter()
            .map(|c| Checkpoint {
                id: c.id,
                title: c.title,
                guidance: c.guidance,
                applies_to: c.applies_to,
            })
            .collect(),
        section_guidance: raw
            .section_guidance
            .into_iter()
            .map(|g| SectionGuidance {
                name: g.name,
                applies_to: g.applies_to,
                guidance: g.guidance,
            })
            .collect(),
        rules,
        cache: CompiledCache::default(),
    };
    validate(&framework)?;
    Ok(framework)
}

fn convert_rule(raw: RawRule) -> Result<RuleSpec, FrameworkError> {
    let path = format!("rules[{}]", raw.id);
    let kind: RuleKind =
        raw.kind
            .parse()
            .map_err(|e: crate::ParseEnumError| FrameworkError::UnknownRuleKind {
                path: format!("{path}.kind"),
                kind: raw.kind.clone(),
                expected: e.expected.trim().replace(' ', ", "),
            })?;
    let params = RuleParams::from_table(kind, raw.params).map_err(|message| FrameworkError::Invalid {
        path: format!("{path}.params"),
        message,
    })?;
    let finding_type: FindingType = raw
        .finding_type
        .parse()
        .map_err(|e: crate::ParseEnumError| invalid(format!("{path}.type"), e.to_string()))?;
    let risk: Risk = raw
        .risk
        .parse()
        .map_err(|e: crate::ParseEnumError| invalid(format!("{path}.risk"), e.to_string()))?;
    Ok(RuleSpec {
        id: raw.id,
        params,
        message: raw.message,
        suggestion: raw.suggestion,
        finding_type,
        risk,
        category: raw.category,
        applies_to: raw.applies_to,
        checkpoints: raw.checkpoints,
        enabled: raw.enabled,
    })
}

fn invalid(path: String, message: impl Into<String>) -> FrameworkError {
    FrameworkError::Invalid {
        path,
        message: message.into(),
    }
}

fn require_text(path: &str, value: &str) -> Result<(), FrameworkError> {
    if value.trim().is_empty() {
        Err(invalid(path.to_string(), "must not be empty"))
    } else {
        Ok(())
    }
}

/// Whether `id` is lower-case letters and digits in dash-separated groups (`investigation-writeup`).
fn is_slug(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.split('-').all(|part| !part.is_empty())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `id` is a short checkpoint id: a letter or digit, then letters, digits, `_` or `-`.
fn is_checkpoint_id(id: &str) -> bool {
    id.len() <= 32
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Rejects `{...}` substitutions other than the three the rule engine fills in.
fn check_template(path: &str, template: &str) -> Result<(), FrameworkError> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(invalid(path.to_string(), "has a '{' without a matching '}'"));
        };
        let name = &after[..close];
        if !matches!(name, "quote" | "detail" | "title") {
            return Err(invalid(
                path.to_string(),
                format!("unknown substitution {{{name}}}; use {{quote}}, {{detail}} or {{title}}"),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Checks a framework's structure, then compiles it strictly.
pub(super) fn validate(fw: &Framework) -> Result<(), FrameworkError> {
    if !is_slug(&fw.id) {
        return Err(invalid(
            "id".into(),
            format!(
                "{:?} must be lower-case letters, digits and single dashes ([a-z0-9-])",
                fw.id
            ),
        ));
    }
    require_text("name", &fw.name)?;
    require_text("description", &fw.description)?;
    require_text("version", &fw.version)?;
    if fw.checkpoints.is_empty() {
        return Err(invalid(
            "checkpoints".into(),
            "a framework needs at least one checkpoint",
        ));
    }
    let mut seen = HashSet::new();
    for (i, c) in fw.checkpoints.iter().enumerate() {
        if !is_checkpoint_id(&c.id) {
            return Err(invalid(
                format!("checkpoints[{i}].id"),
                format!("{:?} must be letters, digits, '_' or '-' (at most 32)", c.id),
            ));
        }
        if !seen.insert(c.id.to_ascii_lowercase()) {
            return Err(FrameworkError::DuplicateId {
                path: "checkpoints".into(),
                id: c.id.clone(),
            });
        }
        require_text(&format!("checkpoints[{}].title", c.id), &c.title)?;
        require_text(&format!("checkpoints[{}].guidance", c.id), &c.guidance)?;
    }
    let mut names = HashSet::new();
    let mut catch_all: Option<&str> = None;
    for (i, g) in fw.section_guidance.iter().enumerate() {
        require_text(&format!("section_guidance[{i}].name"), &g.name)?;
        if !names.insert(g.name.trim().to_lowercase()) {
            return Err(FrameworkError::DuplicateId {
                path: "section_guidance".into(),
                id: g.name.clone(),
            });
        }
        require_text(&format!("section_guidance[{}].guidance", g.name), &g.guidance)?;
        if let Some(first) = catch_all {
            return Err(invalid(
                format!("section_guidance[{}]", g.name),
                format!("is never used: {first:?} before it has no applies_to and matches every title"),
            ));
        }
        if g.applies_to.is_empty() {
            catch_all = Some(&g.name);
        }
    }
    let mut rule_ids = HashSet::new();
    for (i, r) in fw.rules.iter().enumerate() {
        if !is_slug(&r.id) {
            return Err(invalid(
                format!("rules[{i}].id"),
                format!(
                    "{:?} must be lower-case letters, digits and single dashes ([a-z0-9-])",
                    r.id
                ),
            ));
        }
        if !rule_ids.insert(r.id.as_str()) {
            return Err(FrameworkError::DuplicateId {
                path: "rules".into(),
                id: r.id.clone(),
            });
        }
        let path = format!("rules[{}]", r.id);
        require_text(&format!("{path}.message"), &r.message)?;
        require_text(&format!("{path}.suggestion"), &r.suggestion)?;
        require_text(&format!("{path}.category"), &r.category)?;
        check_template(&format!("{path}.message"), &r.message)?;
        check_template(&format!("{path}.suggestion"), &r.suggestion)?;
        for id in &r.checkpoints {
            if fw.checkpoint(id).is_none() {
                return Err(FrameworkError::UnknownCheckpoint {
                    path: format!("{path}.checkpoints"),
                    id: id.clone(),
                });
            }
        }
        if let Err((name, value, expected)) = r.params.check_ranges() {
            return Err(FrameworkError::OutOfRange {
                path: format!("{path}.params.{name}"),
                value,
                expected,
            });
        }
    }
    let (compiled, errors) = Compiled::build(fw);
    match errors.into_iter().next() {
        Some(error) => Err(error),
        None => {
            // Keep what was just compiled, so the first review does not compile it again.
            fw.cache.prime(compiled);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = "tiny"
name = "Tiny"
description = "A framework for tests."
version = "1"

[[checkpoints]]
id = "C1"
title = "Timeline"
guidance = "Check the dates."
applies_to = ["timeline"]

[[section_guidance]]
name = "timeline"
applies_to = ["timeline"]
guidance = "Look at gaps."

[[rules]]
id = "long"
kind = "long-sentence"
message = "Sentence of {detail}."
suggestion = "Split it."
type = "suggestion"
risk = "low"
category = "Clarity"
checkpoints = ["C1"]
params = { max_words = 30 }
"#;

    fn error_for(toml: &str) -> String {
        match Framework::from_toml(toml) {
            Ok(_) => "accepted".to_string(),
            Err(e) => e.to_string(),
        }
    }

    fn check(find: &str, replace: &str, expect: &str) {
        assert!(MINIMAL.contains(find), "test setup: {find:?} not in the fixture");
        let message = error_for(&MINIMAL.replacen(find, replace, 1));
        assert!(message.contains(expect), "expected {expect:?} in {message:?}");
    }

    #[test]
    fn a_minimal_framework_loads() {
        let fw = Framework::from_toml(MINIMAL).unwrap();
        assert_eq!(fw.rules[0].kind(), RuleKind::LongSentence);
        assert_eq!(
            fw.rules[0].params,
            RuleParams::LongSentence(super::super::LongSentenceParams { max_words: 30 })
        );
        assert!(fw.rules[0].enabled);
    }

    #[test]
    fn refuses_bad_input_with_errors_naming_the_key() {
        check(
            "version = \"1\"",
            "version = \"1\"\ncolour = \"red\"",
            "unknown field `colour`",
        );
        check(
            "params = { max_words = 30 }",
            "params = { max_words = 30, maxwords = 3 }",
            "rules[long].params",
        );
        check(
            "params = { max_words = 30 }",
            "params = { max_words = 3 }",
            "rules[long].params.max_words",
        );
        check(
            "kind = \"long-sentence\"",
            "kind = \"spelling\"",
            "rules[long].kind: unknown rule kind \"spelling\"",
        );
        check(
            "id = \"tiny\"",
            "id = \"Tiny Framework\"",
            "id: \"Tiny Framework\" must be",
        );
        check(
            "title = \"Timeline\"",
            "title = \"  \"",
            "checkpoints[C1].title: must not be empty",
        );
        check(
            "applies_to = [\"timeline\"]\n\n[[section",
            "applies_to = [\"(time\"]\n\n[[section",
            "checkpoints[C1].applies_to",
        );
        check(
            "checkpoints = [\"C1\"]",
            "checkpoints = [\"C9\"]",
            "checkpoint \"C9\" is not defined",
        );
        check("risk = \"low\"", "risk = \"extreme\"", "rules[long].risk");
        check("type = \"suggestion\"", "type = \"nit\"", "rules[long].type");
        check(
            "message = \"Sentence of {detail}.\"",
            "message = \"Sentence {words}\"",
            "unknown substitution {words}",
        );
        check("id = \"long\"", "id = \"Long_Rule\"", "rules[0].id");
    }

    #[test]
    fn refuses_duplicate_ids() {
        let doubled =
            format!("{MINIMAL}\n[[checkpoints]]\nid = \"c1\"\ntitle = \"Again\"\nguidance = \"Again.\"\n");
        assert!(error_for(&doubled).contains("duplicate id \"c1\""));
        let rule = MINIMAL.split("[[rules]]").nth(1).unwrap();
        let doubled = format!("{MINIMAL}\n[[rules]]{rule}");
        assert!(error_for(&doubled).contains("rules: duplicate id \"long\""));
    }

    #[test]
    fn refuses_section_guidance_hidden_behind_a_catch_all() {
        let text = MINIMAL.replace(
            "[[section_guidance]]\nname = \"timeline\"\napplies_to = [\"timeline\"]",
            "[[section_guidance]]\nname = \"general\"\nguidance = \"Anything.\"\n\n[[section_guidance]]\nname = \"timeline\"\napplies_to = [\"timeline\"]",
        );
        assert!(error_for(&text).contains("section_guidance[timeline]: is never used"));
    }

    #[test]
    fn refuses_placeholder_patterns_that_do_not_compile() {
        let text = MINIMAL.replace(
            "[[rules]]",
            "[[rules]]\nid = \"ph\"\nkind = \"placeholder\"\nmessage = \"m\"\nsuggestion = \"s\"\ntype = \"critical\"\nrisk = \"high\"\ncategory = \"c\"\nparams = { extra_patterns = [\"[unclosed\"] }\n\n[[rules]]",
        );
        assert!(
            error_for(&text).contains("rules[ph].params.extra_patterns"),
            "{}",
            error_for(&text)
        );
    }

    #[test]
    fn helpers_pick_checkpoints_guidance_and_rules_by_title() {
        let fw = Framework::from_toml(MINIMAL).unwrap();
        assert_eq!(fw.checkpoints_for("3. Timeline of events").len(), 1);
        assert!(fw.checkpoints_for("Background").is_empty());
        assert_eq!(
            fw.guidance_for("TIMELINE").map(|g| g.name.as_str()),
            Some("timeline")
        );
        assert!(fw.guidance_for("Summary").is_none());
        assert_eq!(fw.rules_for("Anything").len(), 1);
        assert!(fw.outline().contains("- C1 Timeline: Check the dates."));
    }

    #[test]
    fn a_changed_framework_is_recompiled() {
        let mut fw = Framework::from_toml(MINIMAL).unwrap();
        assert_eq!(fw.rules_for("Summary").len(), 1);
        fw.rules[0].applies_to = vec!["timeline".into()];
        assert!(fw.rules_for("Summary").is_empty());
        fw.rules[0].enabled = false;
        assert!(fw.rules_for("Timeline").is_empty());
    }
}
