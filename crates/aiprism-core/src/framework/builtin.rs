//! The frameworks shipped with aiprism, compiled into the binary from `frameworks/*.toml`.

use super::Framework;

/// The id and TOML of each built-in framework, in display order (the source is served back by the API).
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[
    (
        "investigation-writeup",
        include_str!("../../../../frameworks/investigation-writeup.toml"),
    ),
    (
        "incident-postmortem",
        include_str!("../../../../frameworks/incident-postmortem.toml"),
    ),
];

/// Parses the built-in frameworks (investigation write-up first: it is the default). They are checked by
/// this crate's tests, so none can fail to load; if one ever did, it would be left out rather than panic.
pub fn builtin_frameworks() -> Vec<Framework> {
    BUILTIN_SOURCES
        .iter()
        .filter_map(|(_, text)| Framework::from_toml(text).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::framework::RuleKind;

    #[test]
    fn every_builtin_framework_parses() {
        for (id, text) in BUILTIN_SOURCES {
            let fw = Framework::from_toml(text).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(fw.id, *id);
        }
        assert_eq!(builtin_frameworks().len(), BUILTIN_SOURCES.len());
    }

    #[test]
    fn the_investigation_framework_has_the_twenty_checkpoints_in_order() {
        let fw = builtin_frameworks()
            .into_iter()
            .find(|f| f.id == "investigation-writeup")
            .unwrap();
        let ids: Vec<&str> = fw.checkpoints.iter().map(|c| c.id.as_str()).collect();
        let expected: Vec<String> = (1..=20).map(|i| format!("C{i:02}")).collect();
        assert_eq!(ids, expected);
        let titles: Vec<&str> = fw.checkpoints.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles[0], "Initial assessment");
        assert_eq!(titles[10], "Root cause analysis");
        assert_eq!(titles[11], "Preventative actions");
        assert_eq!(titles[19], "New launch considerations");
        for c in &fw.checkpoints {
            let sentences = c.guidance.matches(['.', '?', '!']).count();
            assert!(sentences >= 3, "{}: guidance should have several sentences", c.id);
        }
        assert_eq!(
            fw.guidance_for("Timeline of Events").map(|g| g.name.as_str()),
            Some("timeline")
        );
        assert_eq!(
            fw.guidance_for("Root Cause and Preventative Actions")
                .map(|g| g.name.as_str()),
            Some("root-cause")
        );
        assert_eq!(
            fw.guidance_for("Resolving Actions").map(|g| g.name.as_str()),
            Some("resolution")
        );
        assert_eq!(
            fw.guidance_for("Executive Summary").map(|g| g.name.as_str()),
            Some("executive-summary")
        );
        assert_eq!(
            fw.guidance_for("Something else").map(|g| g.name.as_str()),
            Some("general")
        );
        let rc: Vec<&str> = fw
            .checkpoints_for("Root Causes (RC)")
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert!(
            rc.contains(&"C11") && rc.contains(&"C13") && !rc.contains(&"C08"),
            "{rc:?}"
        );
    }

    #[test]
    fn the_postmortem_framework_has_twelve_checkpoints() {
        let fw = builtin_frameworks()
            .into_iter()
            .find(|f| f.id == "incident-postmortem")
            .unwrap();
        assert_eq!(fw.checkpoints.len(), 12);
        assert_eq!(fw.checkpoints[7].title, "Action items with owners and dates");
        assert!(fw.outline().contains("P10 Blameless language"));
    }

    #[test]
    fn every_rule_kind_is_used_by_the_builtin_frameworks() {
        let used: HashSet<RuleKind> = builtin_frameworks()
            .iter()
            .flat_map(|f| f.rules.iter().map(|r| r.kind()))
            .collect();
        for kind in RuleKind::ALL {
            assert!(
                used.contains(kind),
                "{kind} is not used by any built-in framework"
            );
        }
    }

    #[test]
    fn builtin_rules_are_scoped_as_intended() {
        let fw = builtin_frameworks().into_iter().next().unwrap();
        let ids = |title: &str| {
            fw.rules_for(title)
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>()
        };
        assert!(ids("Timeline of Events").contains(&"timeline-dates".to_string()));
        assert!(!ids("Background").contains(&"timeline-dates".to_string()));
        assert!(ids("Preventative Actions").contains(&"action-owner-date".to_string()));
        assert!(ids("Root Cause").contains(&"root-cause-language".to_string()));
        assert!(ids("Executive Summary").contains(&"vague-quantifier".to_string()));
        assert!(ids("Anything").contains(&"placeholder-text".to_string()));
    }
}
