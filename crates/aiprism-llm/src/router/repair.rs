//! The repair turn: what a model sees after its output was rejected.

use crate::types::{ChatMessage, ModelRequest};

/// The request for a repair attempt: the original conversation, the rejected output as the model's turn,
/// and a user turn with the reason and what to send instead.
pub(super) fn repair_request(original: &ModelRequest, output: &str, reason: &str) -> ModelRequest {
    let mut request = original.clone();
    let output = if output.trim().is_empty() {
        "(no output)"
    } else {
        output
    };
    request.messages.push(ChatMessage::assistant(output));
    let instruction = match &original.tool {
        Some(tool) => format!(
            "Call the `{}` tool again with corrected input that satisfies its schema.",
            tool.name
        ),
        None => "Answer again with corrected JSON only.".to_string(),
    };
    request.messages.push(ChatMessage::user(format!(
        "Your previous answer could not be used: {}\n{instruction}",
        crate::error::summarize(reason)
    )));
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ToolSpec;

    #[test]
    fn a_repair_request_shows_the_output_and_the_reason() {
        let original = ModelRequest {
            messages: vec![ChatMessage::user("<section>Text.</section>")],
            tool: Some(ToolSpec {
                name: "report".into(),
                description: String::new(),
                input_schema: serde_json::json!({}),
            }),
            ..ModelRequest::default()
        };
        let repaired = repair_request(&original, "{\"findings\": 3}", "findings must be an array");
        assert_eq!(repaired.messages.len(), 3);
        assert_eq!(repaired.messages[1], ChatMessage::assistant("{\"findings\": 3}"));
        assert!(repaired.messages[2].content.contains("findings must be an array"));
        assert!(repaired.messages[2].content.contains("`report`"));
    }
}
