//! What the model must return for a section, as a JSON schema for tool use / structured output, and the
//! parser that turns the model's answer into typed candidate findings — or a precise complaint the
//! router sends back as a repair request.

use aiprism_core::{FindingType, Risk};
use serde_json::{Value, json};

/// Name of the tool the model is forced to call.
pub const TOOL_NAME: &str = "record_findings";

/// The most findings accepted from one call (the prompt asks for fewer).
pub const MAX_FINDINGS: usize = 20;

const MAX_CATEGORY: usize = 80;
const MAX_DESCRIPTION: usize = 1500;
const MAX_SUGGESTION: usize = 1000;
const MAX_EXAMPLE: usize = 600;
const MAX_QUOTE: usize = 600;
const MAX_QUESTION: usize = 300;
const MAX_QUESTIONS: usize = 5;

/// The tool's description, read by the model.
pub const TOOL_DESCRIPTION: &str = "Record the review findings for this section. Every finding must quote, \
    verbatim, the exact words of the section it is about (copy them character for character; at most two \
    sentences). Use an empty quote only for a finding about the section as a whole (e.g. something missing).";

/// The JSON schema of the tool's input.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "maxItems": MAX_FINDINGS,
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": ["critical", "important", "suggestion", "positive"]},
                        "category": {"type": "string", "description": "a short category such as Timeline, Root cause, Evidence, Ownership"},
                        "description": {"type": "string", "description": "what is wrong or missing (or done well), specifically"},
                        "suggestion": {"type": "string", "description": "what the author should do about it"},
                        "example": {"type": "string", "description": "optional example of better wording"},
                        "questions": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_QUESTIONS},
                        "checkpoints": {"type": "array", "items": {"type": "string"}, "description": "ids of the framework checkpoints this relates to"},
                        "risk": {"type": "string", "enum": ["high", "medium", "low"]},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "quote": {"type": "string", "description": "the exact words of the section this is about, copied verbatim"},
                        "replacement": {"type": "string", "description": "optional: a drop-in replacement for the quoted words"}
                    },
                    "required": ["type", "category", "description", "suggestion", "risk", "confidence", "quote"]
                }
            }
        },
        "required": ["findings"]
    })
}

/// A finding as the model stated it, validated but not yet checked against the section text.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// How to read it.
    pub finding_type: FindingType,
    /// Short category.
    pub category: String,
    /// What is wrong (or right).
    pub description: String,
    /// What to do.
    pub suggestion: String,
    /// Better wording, if given.
    pub example: String,
    /// Questions for the author.
    pub questions: Vec<String>,
    /// Checkpoint ids as the model gave them (filtered against the framework later).
    pub checkpoints: Vec<String>,
    /// Risk.
    pub risk: Risk,
    /// Confidence 0..=1.
    pub confidence: f32,
    /// The quote as the model gave it.
    pub quote: String,
    /// A replacement for the quote, if proposed.
    pub replacement: Option<String>,
}

/// Parses the tool input (or, for providers without tool use, the text) into candidates. Any
/// violation of the schema is an error whose text tells the model exactly what to fix.
pub fn parse(tool_input: Option<&Value>, text: &str) -> Result<Vec<Candidate>, String> {
    let value = match tool_input {
        Some(v) => v.clone(),
        None => extract_json(text).ok_or_else(|| {
            "The answer did not contain a JSON object. Call the record_findings tool with {\"findings\": [...]}."
                .to_string()
        })?,
    };
    let items = match &value {
        Value::Object(map) => match map.get("findings") {
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err("`findings` must be an array.".into()),
            None => return Err("The object has no `findings` array.".into()),
        },
        // Some models return the bare array.
        Value::Array(items) => items.clone(),
        _ => return Err("Expected an object with a `findings` array.".into()),
    };
    if items.len() > MAX_FINDINGS {
        return Err(format!(
            "Return at most {MAX_FINDINGS} findings; the {} most important.",
            MAX_FINDINGS
        ));
    }
    let mut problems = Vec::new();
    let mut candidates = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match candidate(item) {
            Ok(c) => candidates.push(c),
            Err(e) => problems.push(format!("findings[{i}]: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(candidates)
    } else {
        Err(problems.join("\n"))
    }
}

fn candidate(item: &Value) -> Result<Candidate, String> {
    let Value::Object(map) = item else {
        return Err("must be an object".into());
    };
    let text = |key: &str, max: usize, required: bool| -> Result<String, String> {
        match map.get(key) {
            Some(Value::String(s)) => {
                let s = s.trim().to_string();
                if s.chars().count() > max {
                    Err(format!("`{key}` is longer than {max} characters"))
                } else if required && s.is_empty() && key != "quote" {
                    Err(format!("`{key}` is empty"))
                } else {
                    Ok(s)
                }
            }
            Some(Value::Null) | None if !required => Ok(String::new()),
            None => Err(format!("`{key}` is missing")),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let enum_value = |key: &str| -> Result<String, String> {
        match map.get(key) {
            Some(Value::String(s)) => Ok(s.trim().to_ascii_lowercase()),
            None => Err(format!("`{key}` is missing")),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let finding_type: FindingType = enum_value("type")?
        .parse()
        .map_err(|_| "`type` must be one of critical, important, suggestion, positive".to_string())?;
    let risk: Risk = enum_value("risk")?
        .parse()
        .map_err(|_| "`risk` must be one of high, medium, low".to_string())?;
    let confidence = match map.get("confidence") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => s.trim().trim_end_matches('%').parse::<f64>().unwrap_or(f64::NAN),
        None => return Err("`confidence` is missing".into()),
        Some(_) => f64::NAN,
    };
    // Some models answer in percent; accept 1..=100 as such.
    let confidence = if (1.0..=100.0).contains(&confidence) && confidence.fract() == 0.0 && confidence > 1.0 {
        confidence / 100.0
    } else {
        confidence
    };
    if !(0.0..=1.0).contains(&confidence) {
        return Err("`confidence` must be a number between 0 and 1".into());
    }
    let list = |key: &str, max_items: usize| -> Result<Vec<String>, String> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items.iter().take(max_items) {
                    match item {
                        Value::String(s) if !s.trim().is_empty() => {
                            if s.chars().count() > MAX_QUESTION {
                                return Err(format!(
                                    "an entry of `{key}` is longer than {MAX_QUESTION} characters"
                                ));
                            }
                            out.push(s.trim().to_string());
                        }
                        Value::Number(n) => out.push(n.to_string()),
                        Value::String(_) => {}
                        _ => return Err(format!("`{key}` must be a list of strings")),
                    }
                }
                Ok(out)
            }
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(vec![s.trim().to_string()]),
            Some(_) => Err(format!("`{key}` must be a list of strings")),
        }
    };
    let replacement = text("replacement", MAX_QUOTE, false)?;
    #[allow(clippy::cast_possible_truncation)]
    Ok(Candidate {
        finding_type,
        category: text("category", MAX_CATEGORY, true)?,
        description: text("description", MAX_DESCRIPTION, true)?,
        suggestion: text("suggestion", MAX_SUGGESTION, false)?,
        example: text("example", MAX_EXAMPLE, false)?,
        questions: list("questions", MAX_QUESTIONS)?,
        checkpoints: list("checkpoints", 10)?,
        risk,
        confidence: confidence as f32,
        quote: strip_wrapping_quotes(&text("quote", MAX_QUOTE, true)?),
        replacement: (!replacement.is_empty()).then_some(replacement),
    })
}

/// Models sometimes wrap a quote in quotation marks; the section text does not have them.
fn strip_wrapping_quotes(quote: &str) -> String {
    let pairs = [
        ('"', '"'),
        ('\u{201C}', '\u{201D}'),
        ('\'', '\''),
        ('\u{2018}', '\u{2019}'),
    ];
    let trimmed = quote.trim();
    for (open, close) in pairs {
        if trimmed.len() >= 2 && trimmed.starts_with(open) && trimmed.ends_with(close) {
            let inner = &trimmed[open.len_utf8()..trimmed.len() - close.len_utf8()];
            return inner.trim().to_string();
        }
    }
    trimmed.to_string()
}

/// Finds a JSON value in free text: the whole text, a fenced code block, or the span from the first `{`
/// to the last `}`.
fn extract_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Some(v);
    }
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let after = after.strip_prefix("json").unwrap_or(after);
        if let Some(end) = after.find("```")
            && let Ok(v) = serde_json::from_str::<Value>(after[..end].trim())
        {
            return Some(v);
        }
    }
    let start = trimmed.find('{')?;
    let end = trimmed.rfind('}')?;
    if end <= start {
        return None;
    }
    serde_json::from_str::<Value>(&trimmed[start..=end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Value {
        json!({
            "type": "Important", "category": "Timeline", "description": "No times given.",
            "suggestion": "Add times.", "risk": "HIGH", "confidence": 0.85,
            "quote": "\u{201C}the service failed\u{201D}", "questions": ["When?", ""], "checkpoints": [2, "C13"]
        })
    }

    #[test]
    fn a_valid_tool_call_parses_into_typed_candidates() {
        let parsed = parse(Some(&json!({"findings": [item()]})), "").unwrap();
        assert_eq!(parsed.len(), 1);
        let c = &parsed[0];
        assert_eq!(c.finding_type, FindingType::Important);
        assert_eq!(c.risk, Risk::High);
        assert_eq!(c.quote, "the service failed");
        assert_eq!(c.questions, ["When?"]);
        assert_eq!(c.checkpoints, ["2", "C13"]);
    }

    #[test]
    fn json_in_a_code_fence_or_prose_is_found() {
        let text = format!("Here you go:\n```json\n{}\n```", json!({"findings": [item()]}));
        assert_eq!(parse(None, &text).unwrap().len(), 1);
        let text = format!("Sure! {} Hope this helps.", json!({"findings": []}));
        assert!(parse(None, &text).unwrap().is_empty());
    }

    #[test]
    fn schema_violations_are_reported_precisely_for_repair() {
        let mut bad = item();
        bad["risk"] = json!("catastrophic");
        bad["confidence"] = json!(7.5);
        let err = parse(Some(&json!({"findings": [item(), bad]})), "").unwrap_err();
        assert!(err.contains("findings[1]") && err.contains("`risk`"), "{err}");
        assert!(parse(None, "I cannot help with that.").is_err());
        assert!(parse(Some(&json!({"items": []})), "").is_err());
    }

    #[test]
    fn percent_confidences_are_read_as_fractions() {
        let mut v = item();
        v["confidence"] = json!(80);
        assert!((parse(Some(&json!({"findings": [v]})), "").unwrap()[0].confidence - 0.8).abs() < 1e-6);
    }

    #[test]
    fn an_empty_description_is_a_violation() {
        let mut v = item();
        v["description"] = json!("  ");
        assert!(parse(Some(&json!({"findings": [v]})), "").is_err());
    }
}
