//! Text helpers shared by the checks: masking code and links, lines, sentences, clause fragments, words.
//!
//! Checks run their patterns on a *masked* copy of the section text: code spans, fenced blocks, URLs,
//! link targets and HTML comments are replaced by spaces byte for byte. The copy has exactly the same
//! byte offsets as the original, so a match found in it is cut out of the original text as an exact quote.

use std::sync::LazyLock;

use regex::Regex;

static MASKED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?s)<!--.*?-->",
        r"`[^`\n]+`",
        r"\]\([^)\s]*\)",
        r"(?m)^[ \t]*\[[^\]\n]+\]:[ \t]*\S.*$",
        r#"(?i)\b(?:https?|ftp)://[^\s<>")\]]+"#,
        r#"(?i)\bwww\.[a-z0-9-]+\.[^\s<>")\]]+"#,
        r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Replaces code, links, e-mail addresses and comments with spaces, keeping newlines and byte offsets.
pub(crate) fn mask(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut blank = |start: usize, end: usize| {
        for b in bytes.iter_mut().take(end).skip(start) {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    // Fenced code blocks, fence lines included.
    let mut fence: Option<usize> = None;
    for (start, line) in lines(text) {
        let trimmed = line.trim_start();
        let is_fence = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        match (fence, is_fence) {
            (None, true) => fence = Some(start),
            (Some(open), true) => {
                blank(open, start + line.len());
                fence = None;
            }
            _ => {}
        }
    }
    if let Some(open) = fence {
        blank(open, text.len());
    }
    for re in MASKED.iter() {
        for m in re.find_iter(text) {
            blank(m.start(), m.end());
        }
    }
    // Every replaced byte was part of a whole character, so this cannot fail; fall back to the text.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// Lines of `text` with the byte offset where each starts; the newline (and a `\r` before it) excluded.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split('\n').map(move |raw| {
        let start = offset;
        offset += raw.len() + 1;
        (start, raw.strip_suffix('\r').unwrap_or(raw))
    })
}

/// Number of words: whitespace-separated tokens with at least one letter or digit.
pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .count()
}

/// Trims whitespace from both ends of `start..end` in `text`.
pub(crate) fn trim_range(text: &str, start: usize, end: usize) -> (usize, usize) {
    let Some(slice) = text.get(start..end) else {
        return (start, start);
    };
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead + trail >= slice.len() {
        (start, start)
    } else {
        (start + lead, end - trail)
    }
}

/// The length of a list marker, table pipe, heading or quote marker at the start of `line` (after its
/// indentation), including the spaces after it; 0 when there is none. Capital letters count as markers
/// only with a parenthesis ("A) ..."), so an initial ("J. Smith") does not.
pub(crate) fn marker_len(line: &str) -> usize {
    static MARKER: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r"^(?:[-*+•·▪◦‣–][ \t]+(?:\[[ xX]\][ \t]+)?|\(?(?:\d{1,3}|[a-z])[.)][ \t]+|\(?[A-Z]\)[ \t]+|#{1,6}[ \t]+|>[ \t]*|\|[ \t]*)",
        )
        .ok()
    });
    MARKER
        .as_ref()
        .and_then(|re| re.find(line))
        .map_or(0, |m| m.end())
}

/// Whether a line starts a new block (list item, heading, table row, quote) rather than continuing prose.
pub(crate) fn starts_block(line: &str) -> bool {
    let trimmed = line.trim_start();
    marker_len(trimmed) > 0 || trimmed.starts_with('|')
}

const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "no", "approx", "incl", "st", "inc", "ltd", "fig",
    "cf", "al", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "est",
    "min", "max", "co", "corp", "dept", "ref", "resp",
];

const CONNECTORS: &[&str] = &[
    "the", "a", "an", "to", "of", "and", "or", "in", "on", "for", "with", "by", "from", "at", "as", "that",
    "which", "but", "is", "are", "was", "were", "be", "into", "our", "their", "its", "this", "these",
];

/// Whether the `.` at byte `dot` ends an abbreviation or an initial rather than a sentence.
fn is_abbreviation(text: &str, dot: usize) -> bool {
    let before = text.get(..dot).unwrap_or("");
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // A single capital letter ("J. Smith") is an initial.
    let mut chars = word.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase())
}

/// Sentences of `masked` as trimmed byte ranges. Hard-wrapped prose is joined across lines (the next line
/// starts in lower case, or the line ends with a connecting word); list items, headings, table cells and
/// blank lines always end a sentence.
pub(crate) fn sentences(masked: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    let push = |out: &mut Vec<(usize, usize)>, start: usize, end: usize| {
        let (s, e) = trim_range(masked, start, end);
        if e > s && masked.get(s..e).is_some_and(|t| word_count(t) > 0) {
            out.push((s, e));
        }
    };
    let mut prev_end = 0usize;
    let mut prev_joinable = false;
    for (line_start, line) in lines(masked) {
        let indent = line.len() - line.trim_start().len();
        let content = &line[indent..];
        if content.trim().is_empty() {
            if let Some(s) = open.take() {
                push(&mut out, s, prev_end);
            }
            prev_joinable = false;
            continue;
        }
        let block = starts_block(content);
        let first = content.chars().next().unwrap_or(' ');
        let continues = !block && prev_joinable && (first.is_lowercase() || "(`\"'“‘".contains(first));
        if !continues && let Some(s) = open.take() {
            push(&mut out, s, prev_end);
        }
        let body_start = line_start + indent + if block { marker_len(content) } else { 0 };
        if open.is_none() {
            open = Some(body_start);
        }
        let line_end = line_start + line.len();
        // Markdown tables keep their pipes; table rows read from other formats come as cells joined by " | ".
        let is_table = content.starts_with('|') || content.contains(" | ");
        let heading = content.starts_with('#');
        // Scan for sentence ends within the line.
        let body = masked.get(body_start..line_end).unwrap_or("");
        let mut iter = body.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            let at = body_start + i;
            if is_table && c == '|' {
                if let Some(s) = open.take() {
                    push(&mut out, s, at);
                }
                open = Some(at + 1);
                continue;
            }
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            let mut end = at + c.len_utf8();
            while let Some(&(j, n)) = iter.peek() {
                if matches!(
                    n,
                    '.' | '!' | '?' | ')' | ']' | '"' | '\'' | '’' | '”' | '*' | '_'
                ) {
                    end = body_start + j + n.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            let next_is_space = masked
                .get(end..)
                .is_none_or(|r| r.is_empty() || r.starts_with(char::is_whitespace));
            if !next_is_space || (c == '.' && is_abbreviation(masked, at)) {
                continue;
            }
            if let Some(s) = open.take() {
                push(&mut out, s, end);
            }
            open = Some(end);
        }
        prev_end = line_end;
        let tail = content.trim_end();
        let last_word = tail
            .rsplit(|ch: char| !ch.is_alphanumeric())
            .next()
            .unwrap_or("")
            .to_lowercase();
        let ends_clean = tail.ends_with(|ch: char| ch.is_alphanumeric() || ch == ',');
        prev_joinable = !is_table
            && !heading
            && !tail.ends_with(':')
            && ends_clean
            && (tail.chars().count() >= 50 || CONNECTORS.contains(&last_word.as_str()));
        if (is_table || heading)
            && let Some(s) = open.take()
        {
            push(&mut out, s, line_end);
        }
    }
    if let Some(s) = open.take() {
        push(&mut out, s, prev_end);
    }
    out
}

/// The clause around byte `at`: bounded by sentence and clause punctuation, brackets, dashes and line
/// ends; trimmed; at most about `max_chars` characters (a window around `at..at_end`, cut on word
/// boundaries, when the clause is longer).
pub(crate) fn fragment(masked: &str, at: usize, at_end: usize, max_chars: usize) -> (usize, usize) {
    let is_stop = |s: &str, i: usize, c: char| -> bool {
        match c {
            '\n' | ';' | '(' | ')' | '[' | ']' | '|' | '—' | '–' | '!' | '?' => true,
            '.' | ',' | ':' => s
                .get(i + c.len_utf8()..)
                .is_none_or(|r| r.is_empty() || r.starts_with(char::is_whitespace)),
            _ => false,
        }
    };
    // Look at most this far either way: the quote is cut to `max_chars` anyway, and a bounded scan keeps
    // a text with thousands of matches and no punctuation linear.
    const REACH: usize = 600;
    let mut start = floor_char(masked, at.saturating_sub(REACH));
    for (i, c) in masked.get(start..at).unwrap_or("").char_indices().rev() {
        if is_stop(masked, start + i, c) {
            start += i + c.len_utf8();
            break;
        }
    }
    let limit = floor_char(masked, (at_end + REACH).min(masked.len()));
    let mut end = limit;
    if let Some(rest) = masked.get(at_end..limit) {
        for (i, c) in rest.char_indices() {
            if is_stop(masked, at_end + i, c) {
                end = at_end + i;
                break;
            }
        }
    }
    let (mut s, mut e) = trim_range(masked, start, end);
    // Strip emphasis markers the clause may start or end with.
    while masked.get(s..e).is_some_and(|t| t.starts_with(['*', '_'])) && s < at {
        s += 1;
    }
    while masked.get(s..e).is_some_and(|t| t.ends_with(['*', '_'])) && e > at_end {
        e -= 1;
    }
    let (mut s, e) = trim_range(masked, s, e);
    // A clause that starts its line (only blanks before it) does not include the line's list marker.
    let blanks = masked.get(..s).map_or("", |t| t.trim_end_matches([' ', '\t']));
    if blanks.is_empty() || blanks.ends_with('\n') {
        let marker = masked.get(s..at).map_or(0, marker_len);
        s += marker;
    }
    let (s, e) = trim_range(masked, s, e);
    window(masked, s, e, at, at_end, max_chars)
}

/// The nearest character boundary at or before byte `i`.
pub(crate) fn floor_char(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Narrows `start..end` to at most `max_chars` characters around `at..at_end`, on word boundaries.
pub(crate) fn window(
    text: &str,
    start: usize,
    end: usize,
    at: usize,
    at_end: usize,
    max_chars: usize,
) -> (usize, usize) {
    let Some(slice) = text.get(start..end) else {
        return (at, at_end);
    };
    if slice.chars().count() <= max_chars {
        return (start, end);
    }
    let budget = max_chars.saturating_sub(text.get(at..at_end).map_or(0, |t| t.chars().count()));
    let before = budget / 3;
    // Walk back `before` characters from `at`, then forward to a word start.
    let mut s = at;
    for (count, (i, _)) in text.get(start..at).unwrap_or("").char_indices().rev().enumerate() {
        if count >= before {
            break;
        }
        s = start + i;
    }
    if s > start
        && let Some(space) = text.get(s..at).and_then(|t| t.find(char::is_whitespace))
    {
        s += space;
    }
    let used = text.get(s..at_end).map_or(0, |t| t.chars().count());
    let mut e = at_end;
    for (count, (i, c)) in text.get(at_end..end).unwrap_or("").char_indices().enumerate() {
        if used + count >= max_chars {
            break;
        }
        e = at_end + i + c.len_utf8();
    }
    if e < end
        && let Some(space) = text.get(at_end..e).and_then(|t| t.rfind(char::is_whitespace))
    {
        e = at_end + space;
    }
    trim_range(text, s, e)
}

/// The first `max_chars` characters of `start..end`, cut at the last word boundary, trimmed.
pub(crate) fn prefix(text: &str, start: usize, end: usize, max_chars: usize) -> (usize, usize) {
    let Some(slice) = text.get(start..end) else {
        return (start, start);
    };
    if slice.chars().count() <= max_chars {
        return trim_range(text, start, end);
    }
    let cut = slice
        .char_indices()
        .nth(max_chars)
        .map_or(slice.len(), |(i, _)| i);
    let head = &slice[..cut];
    let cut = head.rfind(char::is_whitespace).filter(|&i| i > 0).unwrap_or(cut);
    trim_range(text, start, start + cut)
}

/// Converts byte offsets of `text` to character offsets in one pass. Offsets that are not on a character
/// boundary are moved back to the previous one.
pub(crate) fn char_offsets(text: &str, bytes: &[usize]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..bytes.len()).collect();
    order.sort_by_key(|&i| bytes[i]);
    let mut out = vec![0u32; bytes.len()];
    let mut chars = text.char_indices().peekable();
    let mut count: u32 = 0;
    for i in order {
        let target = bytes[i];
        while let Some(&(b, _)) = chars.peek() {
            if b >= target {
                break;
            }
            chars.next();
            count += 1;
        }
        // `count` is now the number of characters starting before `target`; if `target` is inside a
        // character, that character was counted, so step back to its start.
        let inside = !text.is_char_boundary(target.min(text.len()));
        out[i] = if inside { count.saturating_sub(1) } else { count };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_offsets_and_newlines() {
        let text = "See `XX-XXX` at https://example.com/TODO and é <!-- TODO -->\nnext";
        let masked = mask(text);
        assert_eq!(masked.len(), text.len());
        assert!(!masked.contains("TODO") && !masked.contains("XX-XXX"));
        assert!(masked.ends_with("\nnext") && masked.contains('é'));
    }

    #[test]
    fn fenced_blocks_are_masked() {
        let masked = mask("before\n```\nTODO here\n```\nafter");
        assert!(!masked.contains("TODO") && masked.starts_with("before\n") && masked.ends_with("\nafter"));
    }

    fn sentence_texts(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn sentences_split_on_punctuation_lists_and_blank_lines() {
        let text = "First one. Second, e.g. with an abbreviation! Third?\n- item one\n- item two\n\nJ. Smith wrote it.";
        assert_eq!(
            sentence_texts(text),
            vec![
                "First one.",
                "Second, e.g. with an abbreviation!",
                "Third?",
                "item one",
                "item two",
                "J. Smith wrote it."
            ]
        );
    }

    #[test]
    fn table_rows_and_lines_starting_with_a_date_are_not_joined_into_one_sentence() {
        let text = "2021-12-10 | The Log4Shell vulnerability was published and widely discussed online\n\
                    2021-12-10 15:40 | We became aware of it during a call with a partner team";
        let sentences = sentence_texts(text);
        assert!(sentences.iter().all(|s| !s.contains('\n')), "{sentences:?}");
        let text =
            "The long prose line that is well over fifty characters long and wraps\n2024 was the year.";
        assert_eq!(sentence_texts(text).len(), 2);
    }

    #[test]
    fn hard_wrapped_prose_is_joined() {
        let text = "The website went down because no available disk space was left on the\nserver hosting the application. Builds were failing.";
        assert_eq!(sentence_texts(text).len(), 2);
        assert!(sentence_texts(text)[0].ends_with("application."));
    }

    #[test]
    fn headings_and_short_lines_end_sentences() {
        assert_eq!(
            sentence_texts("Summary\nThe site was down"),
            vec!["Summary", "The site was down"]
        );
    }

    #[test]
    fn fragments_stop_at_clause_punctuation() {
        let text = "Incoming report that many students can not access the hub, and it is frozen.";
        let at = text.find("many").unwrap();
        let (s, e) = fragment(text, at, at + 4, 120);
        assert_eq!(
            &text[s..e],
            "Incoming report that many students can not access the hub"
        );
    }

    #[test]
    fn char_offsets_handle_multibyte_text() {
        let text = "é😀a";
        assert_eq!(char_offsets(text, &[0, 2, 6, 7, 3]), vec![0, 1, 2, 3, 1]);
    }

    #[test]
    fn prefix_cuts_on_a_word_boundary() {
        let text = "alpha beta gamma delta";
        let (s, e) = prefix(text, 0, text.len(), 12);
        assert_eq!(&text[s..e], "alpha beta");
    }
}
