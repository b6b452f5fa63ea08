//! Turns paragraphs into review sections, the same way for every format.
//!
//! Rules, in order:
//! 1. Heading paragraphs (role `Heading`, non-empty, in reading text) start sections. Title,
//!    Subtitle and TOC Heading paragraphs never do.
//! 2. Quoted e-mail threads start a section that runs to the next heading paragraph (or the end),
//!    excluded from review.
//! 3. If the document has no heading paragraph, or its only heading is its first paragraph (a
//!    title written as a heading), formatting stands in for headings outside e-mail threads, in
//!    the body only (never table cells or text boxes): numbered title lines ("3. Root Cause",
//!    "2.1 Scope"), short bold lines, and Markdown bold lead-in labels ("**Impact**: ...").
//!    Bold lines are ignored when more than half of the candidate paragraphs are bold. The same
//!    fallback applies inside any stretch without section starts longer than [`LONG_STRETCH`],
//!    nested one level under the heading the stretch belongs to.
//! 4. Text before the first section start is a level-0 preamble (if it has text other than
//!    Title / Subtitle paragraphs: a title alone is no section); a document with no section start
//!    at all is one level-0 section.

use crate::email;
use crate::{Paragraph, ParagraphRole, ParsedSection, SectionOrigin, Span};

/// Longest line (chars) taken as a bold-line heading.
const MAX_BOLD_HEADING: usize = 100;
/// Longest line (chars) taken as a numbered title line.
const MAX_NUMBERED_HEADING: usize = 80;
/// A stretch without section starts longer than this (bytes of text) gets fallback headings even
/// when the document has real ones: about 5,000 tokens, more than one review prompt should hold.
const LONG_STRETCH: usize = 20_000;
/// Longest Markdown lead-in label.
pub(crate) const MAX_LEAD_LABEL: usize = 60;

/// Per-paragraph formatting facts the readers pass to the section builder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hint {
    /// Every run with visible text is bold (docx), or the whole block is strong (Markdown).
    pub(crate) bold_line: bool,
    /// A Markdown block starting with a strong label followed by a colon ("**Impact**: ...").
    pub(crate) lead_label: Option<String>,
    /// May act as a heading in the fallback (body paragraph, not a table cell / text box / code).
    pub(crate) fallback_ok: bool,
}

#[derive(Debug, Clone)]
enum Start {
    Heading(u8),
    Inferred { level: u8, title: String, lead: bool },
    Email { subject: Option<String> },
}

/// Collapses runs of whitespace to single spaces and trims: heading text as a title.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Builds the sections of a document; `paragraphs[i].locator == i` is assumed and `hints` runs in
/// parallel (missing hints count as default).
pub(crate) fn build(paragraphs: &[Paragraph], hints: &[Hint], doc_title: Option<&str>) -> Vec<ParsedSection> {
    let reading: Vec<usize> = paragraphs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.in_reading_text && p.text.chars().any(|c| !c.is_whitespace()))
        .map(|(i, _)| i)
        .collect();
    if reading.is_empty() {
        return Vec::new();
    }
    let para = |pos: usize| reading.get(pos).and_then(|&i| paragraphs.get(i));

    let mut starts: Vec<Option<Start>> = vec![None; reading.len()];
    let mut explicit = Vec::new();
    for (pos, slot) in starts.iter_mut().enumerate() {
        if let Some(p) = para(pos)
            && p.role == ParagraphRole::Heading
        {
            *slot = Some(Start::Heading(p.heading_level.unwrap_or(1).clamp(1, 9)));
            explicit.push(pos);
        }
    }

    // Quoted e-mail threads run to the next heading paragraph.
    let mut in_thread = vec![false; reading.len()];
    let mut covered_to = 0usize;
    for t in email::thread_starts(paragraphs, &reading) {
        if t.pos < covered_to || starts.get(t.pos).is_some_and(Option::is_some) {
            continue;
        }
        let next = explicit.partition_point(|&h| h <= t.pos);
        let end = explicit.get(next).copied().unwrap_or(reading.len());
        for flag in in_thread.iter_mut().take(end).skip(t.pos) {
            *flag = true;
        }
        covered_to = end;
        if let Some(slot) = starts.get_mut(t.pos) {
            *slot = Some(Start::Email { subject: t.subject });
        }
    }

    // Formatting stands in for headings in the whole document when it has no real heading (or
    // only a leading title), and inside any stretch between section starts that is too long to
    // review as one section (e.g. a second manual pasted after the first without heading styles).
    let whole = match explicit.as_slice() {
        [] => true,
        [only] => *only == 0,
        _ => false,
    };
    let mut stretch_start = 0usize;
    let mut stretch_level = 0u8;
    for pos in 0..=reading.len() {
        let boundary = match starts.get(pos) {
            None => true,
            Some(s) => s.is_some(),
        };
        if !boundary {
            continue;
        }
        let range = stretch_start..pos;
        let chars: usize = range.clone().filter_map(para).map(|p| p.text.len()).sum();
        if whole || chars > LONG_STRETCH {
            let offset = if whole { 0 } else { stretch_level };
            infer_headings(
                range,
                &reading,
                paragraphs,
                hints,
                &in_thread,
                offset,
                &mut starts,
            );
        }
        stretch_start = pos + 1;
        stretch_level = match starts.get(pos) {
            Some(Some(Start::Heading(l))) => *l,
            _ => stretch_level,
        };
    }

    let mut sections = Vec::new();
    let total = u32::try_from(paragraphs.len()).unwrap_or(u32::MAX);
    let locator_at = |pos: usize| para(pos).map_or(total, |p| p.locator);
    let first_start = starts.iter().position(Option::is_some);
    match first_start {
        None => {
            sections.push(section(
                paragraphs,
                &reading,
                0..reading.len(),
                Meta {
                    title: doc_title.unwrap_or("Document").to_string(),
                    level: 0,
                    heading: None,
                    start_loc: 0,
                    end_loc: total,
                    origin: SectionOrigin::WholeDocument,
                    excluded: None,
                },
            ));
            return sections;
        }
        // A preamble of nothing but the document's Title / Subtitle is the title, not a section.
        Some(first)
            if first > 0
                && !(0..first)
                    .filter_map(para)
                    .all(|p| matches!(p.role, ParagraphRole::Title | ParagraphRole::Subtitle)) =>
        {
            sections.push(section(
                paragraphs,
                &reading,
                0..first,
                Meta {
                    title: doc_title.unwrap_or("Introduction").to_string(),
                    level: 0,
                    heading: None,
                    start_loc: 0,
                    end_loc: locator_at(first),
                    origin: SectionOrigin::Preamble,
                    excluded: None,
                },
            ))
        }
        Some(_) => {}
    }
    let positions: Vec<usize> = starts
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .map(|(i, _)| i)
        .collect();
    let mut last_level = 1u8;
    for (n, &pos) in positions.iter().enumerate() {
        let next = positions.get(n + 1).copied().unwrap_or(reading.len());
        let Some(Some(start)) = starts.get(pos) else {
            continue;
        };
        let Some(p) = para(pos) else { continue };
        let end_loc = if next < reading.len() {
            locator_at(next)
        } else {
            total
        };
        let (title, level, body_from, heading, origin, excluded) = match start {
            Start::Heading(level) => (
                collapse_ws(&p.text),
                *level,
                pos + 1,
                Some(p.locator),
                SectionOrigin::Heading,
                None,
            ),
            Start::Inferred { level, title, lead } => {
                let from = if *lead { pos } else { pos + 1 };
                (
                    title.clone(),
                    *level,
                    from,
                    Some(p.locator),
                    SectionOrigin::Inferred,
                    None,
                )
            }
            Start::Email { subject } => {
                let title = match subject {
                    Some(s) => format!("Quoted e-mail: {}", collapse_ws(s)),
                    None => "Quoted e-mail".to_string(),
                };
                let excluded = Some("quoted e-mail thread".to_string());
                (
                    title,
                    last_level.max(1),
                    pos,
                    None,
                    SectionOrigin::QuotedEmail,
                    excluded,
                )
            }
        };
        if origin != SectionOrigin::QuotedEmail {
            last_level = level;
        }
        sections.push(section(
            paragraphs,
            &reading,
            body_from..next,
            Meta {
                title,
                level,
                heading,
                start_loc: p.locator,
                end_loc,
                origin,
                excluded,
            },
        ));
    }
    sections
}

struct Meta {
    title: String,
    level: u8,
    heading: Option<u32>,
    start_loc: u32,
    end_loc: u32,
    origin: SectionOrigin,
    excluded: Option<String>,
}

fn section(
    paragraphs: &[Paragraph],
    reading: &[usize],
    body: std::ops::Range<usize>,
    meta: Meta,
) -> ParsedSection {
    let mut text = String::new();
    let mut spans = Vec::new();
    let mut pos: u32 = 0;
    for &i in reading.get(body).unwrap_or(&[]) {
        let Some(p) = paragraphs.get(i) else { continue };
        if !text.is_empty() {
            text.push('\n');
            pos = pos.saturating_add(1);
        }
        let len = u32::try_from(p.text.chars().count()).unwrap_or(u32::MAX);
        text.push_str(&p.text);
        spans.push(Span {
            paragraph: p.locator,
            start: pos,
            end: pos.saturating_add(len),
        });
        pos = pos.saturating_add(len);
    }
    ParsedSection {
        title: meta.title,
        level: meta.level,
        heading_paragraph: meta.heading,
        paragraph_start: meta.start_loc,
        paragraph_end: meta.end_loc,
        text,
        spans,
        excluded_reason: meta.excluded,
        origin: meta.origin,
    }
}

fn infer_headings(
    range: std::ops::Range<usize>,
    reading: &[usize],
    paragraphs: &[Paragraph],
    hints: &[Hint],
    in_thread: &[bool],
    level_offset: u8,
    starts: &mut [Option<Start>],
) {
    let mut eligible = 0usize;
    let mut found: Vec<(usize, u8, String, bool, bool)> = Vec::new();
    for pos in range {
        let Some(&i) = reading.get(pos) else { continue };
        let (Some(p), Some(h)) = (paragraphs.get(i), hints.get(i)) else {
            continue;
        };
        if !h.fallback_ok || in_thread.get(pos).copied().unwrap_or(true) {
            continue;
        }
        if starts.get(pos).is_some_and(Option::is_some) {
            continue;
        }
        eligible += 1;
        if let Some(label) = &h.lead_label {
            found.push((pos, 1, label.clone(), true, false));
            continue;
        }
        let t = p.text.trim();
        if t.contains('\n') || !t.chars().any(char::is_alphabetic) {
            continue;
        }
        if let Some(depth) = numbered_title(t) {
            found.push((pos, depth, collapse_ws(t), false, false));
        } else if h.bold_line && t.chars().count() <= MAX_BOLD_HEADING && !ends_sentence(t) {
            found.push((pos, 1, collapse_ws(t), false, true));
        }
    }
    let bold = found.iter().filter(|f| f.4).count();
    let bold_is_noise = bold >= 3 && bold * 2 > eligible;
    // Three or more candidates in a row with nothing between them are a list or a hand-made
    // table of contents, not headings.
    let mut listed = vec![false; found.len()];
    let mut i = 0;
    while i < found.len() {
        let mut j = i;
        while found
            .get(j + 1)
            .is_some_and(|n| found.get(j).is_some_and(|c| !c.3 && !n.3 && n.0 == c.0 + 1))
        {
            j += 1;
        }
        if j >= i + 2 {
            listed.iter_mut().take(j + 1).skip(i).for_each(|l| *l = true);
        }
        i = j + 1;
    }
    for ((pos, level, title, lead, is_bold), listed) in found.into_iter().zip(listed) {
        if (is_bold && bold_is_noise) || listed {
            continue;
        }
        if let Some(slot) = starts.get_mut(pos) {
            let level = level.saturating_add(level_offset).min(9);
            *slot = Some(Start::Inferred { level, title, lead });
        }
    }
}

fn ends_sentence(t: &str) -> bool {
    t.ends_with(['.', '!', '?', ',', ';', '。', '！', '？', '…'])
}

/// "3. Root Cause", "2.1 Scope", "4.2.1. Details" -> Some(depth); short, capitalised, no
/// terminal sentence punctuation.
pub(crate) fn numbered_title(t: &str) -> Option<u8> {
    if t.chars().count() > MAX_NUMBERED_HEADING || ends_sentence(t) {
        return None;
    }
    let bytes = t.as_bytes();
    let mut i = 0usize;
    let mut depth = 0u8;
    let mut trailing_dot;
    loop {
        let digits = bytes.iter().skip(i).take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        i += digits;
        depth = depth.saturating_add(1);
        trailing_dot = false;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            trailing_dot = true;
            if bytes.get(i).is_some_and(u8::is_ascii_digit) {
                continue;
            }
        }
        break;
    }
    if depth > 5 {
        return None;
    }
    let rest = t.get(i..)?;
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let first = rest.chars().next()?;
    if !first.is_alphabetic() || first.is_lowercase() {
        return None;
    }
    // "3 apples" is a sentence; "3. Root Cause" and "2.1 Scope" are titles.
    if depth == 1 && !trailing_dot && rest.split_whitespace().count() > 6 {
        return None;
    }
    if rest.split_whitespace().count() > 12 {
        return None;
    }
    Some(depth.min(9))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Container;

    fn p(i: usize, text: &str, role: ParagraphRole, level: Option<u8>) -> Paragraph {
        Paragraph {
            locator: u32::try_from(i).unwrap_or(0),
            text: text.to_string(),
            style_id: None,
            heading_level: level,
            role,
            container: Container::Body,
            in_reading_text: true,
            runs: Vec::new(),
        }
    }

    fn body(i: usize, t: &str) -> Paragraph {
        p(i, t, ParagraphRole::Body, None)
    }

    fn hint(bold: bool) -> Hint {
        Hint {
            bold_line: bold,
            lead_label: None,
            fallback_ok: true,
        }
    }

    #[test]
    fn numbered_titles() {
        assert_eq!(numbered_title("3. Root Cause"), Some(1));
        assert_eq!(numbered_title("2.1 Scope"), Some(2));
        assert_eq!(numbered_title("4.2.1. Details of the fix"), Some(3));
        assert_eq!(numbered_title("3. The server crashed."), None);
        assert_eq!(numbered_title("3 apples were eaten by the team yesterday"), None);
        assert_eq!(numbered_title("2023 Review"), None);
        assert_eq!(numbered_title("1. lowercase start"), None);
        assert_eq!(numbered_title("12:30 meeting"), None);
    }

    #[test]
    fn preamble_headings_duplicates_and_spans() {
        let paras = vec![
            p(0, "My Report", ParagraphRole::Title, None),
            body(1, "Intro text"),
            p(2, "Scope", ParagraphRole::Heading, Some(1)),
            body(3, "a"),
            body(4, "   "),
            body(5, "bc"),
            p(6, "Scope", ParagraphRole::Heading, Some(2)),
            p(7, "", ParagraphRole::Heading, Some(2)),
            body(8, "d"),
        ];
        let hints = vec![Hint::default(); paras.len()];
        let s = build(&paras, &hints, Some("My Report"));
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].origin, SectionOrigin::Preamble);
        assert_eq!(s[0].title, "My Report");
        assert_eq!(s[0].text, "My Report\nIntro text");
        assert_eq!((s[0].paragraph_start, s[0].paragraph_end), (0, 2));
        assert_eq!(s[1].title, "Scope");
        assert_eq!(s[1].text, "a\nbc");
        assert_eq!(
            s[1].spans,
            vec![
                Span {
                    paragraph: 3,
                    start: 0,
                    end: 1
                },
                Span {
                    paragraph: 5,
                    start: 2,
                    end: 4
                }
            ]
        );
        assert_eq!((s[1].paragraph_start, s[1].paragraph_end), (2, 6));
        assert_eq!(s[2].title, "Scope", "duplicate titles stay separate sections");
        assert_eq!(s[2].level, 2);
        assert_eq!(s[2].text, "d", "an empty heading paragraph starts nothing");
        assert_eq!(s[2].paragraph_end, 9);
    }

    #[test]
    fn bold_fallback_only_without_headings_and_not_when_everything_is_bold() {
        let paras = vec![
            body(0, "Summary"),
            body(1, "Text here."),
            body(2, "Impact "),
            body(3, "More."),
        ];
        let hints = vec![hint(true), hint(false), hint(true), hint(false)];
        let s = build(&paras, &hints, None);
        assert_eq!(
            s.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(),
            vec!["Summary", "Impact"]
        );
        assert!(s.iter().all(|s| s.origin == SectionOrigin::Inferred));

        let all_bold = vec![hint(true); 4];
        let paras = vec![body(0, "One"), body(1, "Two"), body(2, "Three"), body(3, "Four")];
        let s = build(&paras, &all_bold, None);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].origin, SectionOrigin::WholeDocument);
    }

    #[test]
    fn table_cells_do_not_become_fallback_headings() {
        let mut cell = body(1, "Owner");
        cell.container = Container::TableCell;
        let paras = vec![body(0, "Intro."), cell, body(2, "Text.")];
        let hints = vec![
            hint(false),
            Hint {
                fallback_ok: false,
                ..hint(true)
            },
            hint(false),
        ];
        let s = build(&paras, &hints, None);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].text, "Intro.\nOwner\nText.");
    }

    #[test]
    fn email_thread_is_split_off_and_excluded() {
        let paras = vec![
            p(0, "Findings", ParagraphRole::Heading, Some(1)),
            body(1, "Our analysis."),
            body(2, "From: Ann Smith"),
            body(3, "Sent: Monday"),
            body(4, "To: Bob"),
            body(5, "Subject: Re: outage"),
            body(6, "Please look."),
            p(7, "Next", ParagraphRole::Heading, Some(1)),
            body(8, "After."),
        ];
        let hints = vec![Hint::default(); paras.len()];
        let s = build(&paras, &hints, None);
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, vec!["Findings", "Quoted e-mail: Re: outage", "Next"]);
        assert_eq!(s[0].text, "Our analysis.");
        assert_eq!(s[1].excluded_reason.as_deref(), Some("quoted e-mail thread"));
        assert!(s[1].text.starts_with("From: Ann Smith\nSent: Monday"));
        assert_eq!((s[1].paragraph_start, s[1].paragraph_end), (2, 7));
        assert_eq!(s[2].excluded_reason, None);
    }

    #[test]
    fn a_preamble_of_only_title_and_subtitle_is_not_a_section() {
        let paras = vec![
            p(0, "Test Investigation Report", ParagraphRole::Title, None),
            p(1, "Draft", ParagraphRole::Subtitle, None),
            body(2, "  "),
            p(3, "Summary", ParagraphRole::Heading, Some(1)),
            body(4, "Text."),
        ];
        let hints = vec![Hint::default(); paras.len()];
        let s = build(&paras, &hints, Some("Test Investigation Report"));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].title, "Summary");
        assert_eq!(s[0].origin, SectionOrigin::Heading);
        // A title followed by body text still makes a preamble (covered above as well).
        let paras = vec![
            p(0, "Report", ParagraphRole::Title, None),
            body(1, "Intro."),
            p(2, "Summary", ParagraphRole::Heading, Some(1)),
        ];
        let s = build(&paras, &vec![Hint::default(); 3], Some("Report"));
        assert_eq!(s[0].origin, SectionOrigin::Preamble);
        assert_eq!(s[0].text, "Report\nIntro.");
    }

    #[test]
    fn empty_document_has_no_sections() {
        let paras = vec![body(0, ""), body(1, " \t")];
        assert!(build(&paras, &[], None).is_empty());
    }
}
