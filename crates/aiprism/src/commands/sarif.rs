//! SARIF 2.1.0 output of `aiprism review`, so findings can be shown by code-scanning tools in CI.

use std::path::Path;

use aiprism_core::{Finding, Risk};
use serde_json::{Value, json};

/// The SARIF log for one reviewed file.
pub fn report(file: &Path, report: &Value, findings: &[Finding]) -> Value {
    let titles: std::collections::HashMap<&str, &str> = report["document"]["sections"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|s| Some((s["id"].as_str()?, s["title"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut rules: Vec<String> = findings.iter().map(rule_id).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let section = titles.get(f.section_id.as_str()).copied().unwrap_or("");
            let mut text = f.description.clone();
            if !f.suggestion.is_empty() {
                text.push_str(" Suggestion: ");
                text.push_str(&f.suggestion);
            }
            let mut location = json!({
                "physicalLocation": {"artifactLocation": {"uri": file.display().to_string()}},
                "logicalLocations": [{"name": section, "kind": "section"}],
            });
            if !f.quote.is_empty() {
                location["physicalLocation"]["region"] = json!({"snippet": {"text": f.quote}});
            }
            json!({
                "ruleId": rule_id(f),
                "level": level(f.risk),
                "message": {"text": text},
                "locations": [location],
                "properties": {
                    "source": f.source.as_str(),
                    "type": f.finding_type.as_str(),
                    "category": f.category,
                    "confidence": f.confidence,
                    "checkpoints": f.checkpoints,
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "aiprism",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

fn rule_id(f: &Finding) -> String {
    match (&f.rule_id, f.checkpoints.first()) {
        (Some(rule), _) => rule.clone(),
        (None, Some(checkpoint)) => format!("checkpoint/{checkpoint}"),
        (None, None) => format!("model/{}", f.category.to_lowercase().replace(' ', "-")),
    }
}

fn level(risk: Risk) -> &'static str {
    match risk {
        Risk::High => "error",
        Risk::Medium => "warning",
        Risk::Low => "note",
    }
}
