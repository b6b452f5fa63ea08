//! Quoted e-mail threads pasted into documents ("-----Original Message-----", or a "From:" line
//! followed by "Sent:"/"To:"/"Subject:" lines). Reviewing someone else's old e-mails is noise, so
//! the thread is split into its own section and excluded from review (its text is kept).

use crate::Paragraph;

/// Header lines looked at after a "From:" line.
const HEADER_WINDOW_LINES: usize = 8;
/// Paragraphs looked at after a "From:" paragraph (headers are often one paragraph each).
const HEADER_WINDOW_PARAS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    From,
    Sent,
    To,
    Cc,
    Subject,
}

/// A thread start: position in the reading-paragraph list, and its subject when one is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ThreadStart {
    pub(crate) pos: usize,
    pub(crate) subject: Option<String>,
}

/// Finds every thread start among `reading` (indices into `paragraphs` of the non-empty reading
/// paragraphs, in order). Callers decide where each thread ends.
pub(crate) fn thread_starts(paragraphs: &[Paragraph], reading: &[usize]) -> Vec<ThreadStart> {
    let mut out = Vec::new();
    for (pos, &pi) in reading.iter().enumerate() {
        let Some(p) = paragraphs.get(pi) else { continue };
        let first = p.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if is_separator(first) || is_reply_intro(first) {
            let lines = following_lines(paragraphs, reading, pos);
            out.push(ThreadStart {
                pos,
                subject: subject(&lines),
            });
            continue;
        }
        if header(first).map(|(k, _)| k) != Some(Key::From) {
            continue;
        }
        let lines = following_lines(paragraphs, reading, pos);
        let mut seen = [false; 4];
        for l in lines.iter().skip(1) {
            match header(l).map(|(k, _)| k) {
                Some(Key::Sent) => seen[0] = true,
                Some(Key::To) => seen[1] = true,
                Some(Key::Cc) => seen[2] = true,
                Some(Key::Subject) => seen[3] = true,
                _ => {}
            }
        }
        if seen.iter().filter(|s| **s).count() >= 2 {
            out.push(ThreadStart {
                pos,
                subject: subject(&lines),
            });
        }
    }
    out
}

/// Up to [`HEADER_WINDOW_LINES`] non-empty lines starting at reading position `pos`.
fn following_lines<'p>(paragraphs: &'p [Paragraph], reading: &[usize], pos: usize) -> Vec<&'p str> {
    reading
        .iter()
        .skip(pos)
        .take(HEADER_WINDOW_PARAS)
        .filter_map(|&i| paragraphs.get(i))
        .flat_map(|p| p.text.lines())
        .filter(|l| !l.trim().is_empty())
        .take(HEADER_WINDOW_LINES)
        .collect()
}

fn subject(lines: &[&str]) -> Option<String> {
    lines.iter().find_map(|l| match header(l) {
        Some((Key::Subject, v)) if !v.is_empty() => Some(v.to_string()),
        _ => None,
    })
}

/// "-----Original Message-----" and its usual variants.
fn is_separator(line: &str) -> bool {
    let t = line.trim();
    if !t.starts_with("--") {
        return false;
    }
    let l = t
        .trim_matches(|c: char| c == '-' || c.is_whitespace())
        .to_lowercase();
    matches!(
        l.as_str(),
        "original message" | "forwarded message" | "ursprüngliche nachricht" | "message d'origine"
    )
}

/// "On Mon, 3 Jun 2024 at 10:00, Jane <jane@example.com> wrote:".
fn is_reply_intro(line: &str) -> bool {
    let t = line.trim();
    t.len() < 300 && t.starts_with("On ") && t.ends_with("wrote:") && t.contains('@')
}

/// Recognises a header line ("From: x", "**Sent:** y", "> To: z") in English, German and French.
fn header(line: &str) -> Option<(Key, &str)> {
    let t = line.trim_start_matches(|c: char| c == '>' || c == '*' || c.is_whitespace());
    let (name, value) = t.split_once(':')?;
    let name = name.trim().trim_matches('*');
    if name.len() > 10 {
        return None; // longer than any header name we know ("gesendet", "betreff", ...)
    }
    let name = name.to_lowercase();
    let key = match name.as_str() {
        "from" | "von" | "de" => Key::From,
        "sent" | "date" | "gesendet" | "datum" | "envoyé" => Key::Sent,
        "to" | "an" | "à" => Key::To,
        "cc" => Key::Cc,
        "subject" | "betreff" | "objet" => Key::Subject,
        _ => return None,
    };
    Some((key, value.trim().trim_matches('*').trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Container, ParagraphRole};

    fn paras(texts: &[&str]) -> Vec<Paragraph> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Paragraph {
                locator: u32::try_from(i).unwrap_or(0),
                text: (*t).to_string(),
                style_id: None,
                heading_level: None,
                role: ParagraphRole::Body,
                container: Container::Body,
                in_reading_text: true,
                runs: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn outlook_headers_one_per_paragraph() {
        let p = paras(&[
            "Hello",
            "From: Ann",
            "Sent: Monday",
            "To: Bob",
            "Subject: Outage",
            "Body",
        ]);
        let reading: Vec<usize> = (0..p.len()).collect();
        let t = thread_starts(&p, &reading);
        assert_eq!(
            t,
            vec![ThreadStart {
                pos: 1,
                subject: Some("Outage".into())
            }]
        );
    }

    #[test]
    fn headers_in_one_paragraph_and_separator() {
        let p = paras(&[
            "From: Ann\nTo: Bob\nDate: today",
            "x",
            "-----Original Message-----",
            "y",
        ]);
        let reading: Vec<usize> = (0..p.len()).collect();
        let t = thread_starts(&p, &reading);
        assert_eq!(t.iter().map(|s| s.pos).collect::<Vec<_>>(), vec![0, 2]);
    }

    #[test]
    fn a_from_line_alone_is_not_a_thread() {
        let p = paras(&[
            "From: the start of the project we knew",
            "To: be continued",
            "Other text",
        ]);
        let reading: Vec<usize> = (0..p.len()).collect();
        assert!(
            thread_starts(&p, &reading).is_empty(),
            "needs two header lines besides From"
        );
    }
}
