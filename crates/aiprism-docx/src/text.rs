//! Plain text: decoding uploaded bytes and splitting blank-line separated blocks, with the
//! heading conventions people use in text files (ALL-CAPS lines, numbered title lines, lines
//! underlined with `===`/`---`, and `#` prefixes).

use crate::sections::{self, Hint};
use crate::{
    Container, MAX_PARAGRAPHS, Paragraph, ParagraphRole, ParsedDocument, SourceFormat, TRUNCATED_WARNING,
};

/// Longest single line taken as an ALL-CAPS heading.
const MAX_CAPS_HEADING: usize = 80;

/// Decodes uploaded text: UTF-8 (BOM optional), UTF-16 with BOM, or, for bytes that are not
/// UTF-8 but contain no NUL, Windows-1252 (with a warning). `None` for binary data.
pub(crate) fn decode(bytes: &[u8]) -> Option<(String, Option<String>)> {
    if let Some(rest) = bytes
        .strip_prefix(b"\xFF\xFE")
        .or_else(|| bytes.strip_prefix(b"\xFE\xFF"))
    {
        let le = bytes.starts_with(b"\xFF\xFE");
        let units = rest.chunks_exact(2).map(|c| {
            let pair = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
            if le {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        let s: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{FFFD}'))
            .collect();
        return (!looks_binary(&s)).then_some((s, None));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (!looks_binary(s)).then(|| (s.to_string(), None));
    }
    if bytes.contains(&0) {
        return None;
    }
    let s: String = bytes.iter().map(|&b| cp1252(b)).collect();
    if looks_binary(&s) {
        return None;
    }
    Some((
        s,
        Some("The file is not UTF-8; it was read as Windows-1252 text.".into()),
    ))
}

/// NUL bytes, or more than 1% control characters other than tab/newline/CR/form feed.
fn looks_binary(s: &str) -> bool {
    let mut controls = 0usize;
    let mut total = 0usize;
    for c in s.chars() {
        total += 1;
        if c == '\0' {
            return true;
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}') {
            controls += 1;
        }
    }
    controls > 0 && controls * 100 > total
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH.get(usize::from(b - 0x80)).copied().unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

pub(crate) fn read(src: &str) -> ParsedDocument {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let normalized;
    let src = if src.contains('\r') {
        normalized = src.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        src
    };
    let mut out = Out::default();
    let mut block: Vec<&str> = Vec::new();
    for line in src.split('\n') {
        if line.trim().is_empty() {
            out.block(&block);
            block.clear();
            continue;
        }
        if let Some(level) = underline_level(line)
            && let Some(last) = block.pop()
        {
            out.block(&block);
            block.clear();
            out.heading(last.trim(), level);
            continue;
        }
        block.push(line);
    }
    out.block(&block);
    let sections = sections::build(&out.paragraphs, &out.hints, None);
    ParsedDocument {
        format: SourceFormat::Text,
        paragraphs: out.paragraphs,
        sections,
        title: None,
        warnings: if out.truncated {
            vec![TRUNCATED_WARNING.to_string()]
        } else {
            Vec::new()
        },
    }
}

#[derive(Default)]
struct Out {
    paragraphs: Vec<Paragraph>,
    hints: Vec<Hint>,
    truncated: bool,
}

impl Out {
    fn block(&mut self, lines: &[&str]) {
        if lines.is_empty() {
            return;
        }
        // A block made only of rule characters ("----", "****") is decoration.
        if lines
            .iter()
            .all(|l| l.trim().chars().all(|c| matches!(c, '-' | '=' | '*' | '_' | ' ')))
        {
            return;
        }
        if let [line] = lines {
            let t = line.trim();
            if let Some((level, title)) = heading_line(t) {
                self.heading(title, level);
                return;
            }
        }
        let text = lines.join("\n");
        self.push(text, None);
    }

    fn heading(&mut self, text: &str, level: u8) {
        self.push(text.to_string(), Some(level));
    }

    fn push(&mut self, text: String, level: Option<u8>) {
        if self.paragraphs.len() >= MAX_PARAGRAPHS {
            self.truncated = true;
            return;
        }
        let locator = u32::try_from(self.paragraphs.len()).unwrap_or(u32::MAX);
        self.paragraphs.push(Paragraph {
            locator,
            text,
            style_id: None,
            heading_level: level,
            role: if level.is_some() {
                ParagraphRole::Heading
            } else {
                ParagraphRole::Body
            },
            container: Container::Body,
            in_reading_text: true,
            runs: Vec::new(),
        });
        self.hints.push(Hint {
            bold_line: false,
            lead_label: None,
            fallback_ok: true,
        });
    }
}

/// `===` under a line makes it a level-1 heading, `---` level 2.
fn underline_level(line: &str) -> Option<u8> {
    let t = line.trim();
    if t.chars().count() < 3 {
        return None;
    }
    if t.chars().all(|c| c == '=') {
        Some(1)
    } else if t.chars().all(|c| c == '-') {
        Some(2)
    } else {
        None
    }
}

/// A single-line block that is a heading: `# Title`, a numbered title line, or ALL CAPS.
fn heading_line(t: &str) -> Option<(u8, &str)> {
    let hashes = t.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) {
        let rest = t.get(hashes..)?;
        if rest.starts_with(' ') && !rest.trim().is_empty() {
            return Some((u8::try_from(hashes).ok()?, rest.trim()));
        }
    }
    if let Some(depth) = sections::numbered_title(t) {
        return Some((depth, t));
    }
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let all_caps = letters >= 2 && t.chars().filter(|c| c.is_alphabetic()).all(|c| !c.is_lowercase());
    let has_cased = t.chars().any(char::is_uppercase);
    if all_caps
        && has_cased
        && t.chars().count() <= MAX_CAPS_HEADING
        && !t.ends_with(['.', '!', '?', ',', ';'])
        && t.split_whitespace().count() <= 10
    {
        return Some((1, t));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SectionOrigin;

    #[test]
    fn text_blocks_and_heading_conventions() {
        let t = "Post-incident review\r\n\r\nSUMMARY\r\n\r\nThe cache\r\nfell over.\r\n\r\n\
                 2.1 Scope\r\n\r\nOnly prod.\r\n\r\nTimeline\r\n========\r\nAt 10:00 it broke.\r\n\r\n\
                 # Actions\r\n\r\nFix it.\r\n\r\n-----\r\n";
        let d = read(t);
        let texts: Vec<&str> = d.paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Post-incident review",
                "SUMMARY",
                "The cache\nfell over.",
                "2.1 Scope",
                "Only prod.",
                "Timeline",
                "At 10:00 it broke.",
                "Actions",
                "Fix it."
            ]
        );
        let heads: Vec<(&str, u8)> = d.sections.iter().map(|s| (s.title.as_str(), s.level)).collect();
        assert_eq!(
            heads,
            vec![
                ("Introduction", 0),
                ("SUMMARY", 1),
                ("2.1 Scope", 2),
                ("Timeline", 1),
                ("Actions", 1)
            ]
        );
        assert_eq!(d.sections[0].origin, SectionOrigin::Preamble);
        assert_eq!(d.sections[1].text, "The cache\nfell over.");
    }

    #[test]
    fn stops_at_the_paragraph_cap() {
        let many = "a\n\n".repeat(MAX_PARAGRAPHS + 3);
        let d = read(&many);
        assert_eq!(d.paragraphs.len(), MAX_PARAGRAPHS);
        assert_eq!(d.warnings, vec![TRUNCATED_WARNING.to_string()]);
        let e = crate::read(many.as_bytes(), "x.txt", &crate::Limits::default()).expect_err("capped");
        assert_eq!(e.class(), crate::ErrorClass::TooLarge);
    }

    #[test]
    fn decoding() {
        assert_eq!(decode(b"\xEF\xBB\xBFhi").map(|d| d.0), Some("hi".to_string()));
        let (s, w) = decode(b"caf\xE9 \x93quoted\x94").expect("cp1252");
        assert_eq!(s, "café “quoted”");
        assert!(w.is_some());
        assert!(decode(b"\x00\x01\x02binary").is_none());
        assert!(decode(&[0x01, 0x02, 0x03, 0x04, b'a']).is_none());
    }
}
