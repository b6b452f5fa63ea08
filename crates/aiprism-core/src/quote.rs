//! Verifying that a quote (usually from a model) is really in a section, and where.
//!
//! Models copy text imperfectly: straight quotes for curly ones, a hyphen for an en dash, `...` for `…`,
//! one space for a line break or a non-breaking space, an added pair of quote marks or a final full stop.
//! [`find_quote`] forgives exactly those differences and returns the span of the *original* text, so the
//! stored quote is always a real substring and a Word comment lands on real text. It never guesses: when
//! nothing corresponds, it returns `None` and the finding is kept unanchored or dropped by the caller.

/// A range of characters (not bytes) in a section's text, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CharSpan {
    /// First character.
    pub start: u32,
    /// One past the last character.
    pub end: u32,
}

impl CharSpan {
    /// Whether two spans share at least one character (or are the same empty position).
    pub fn overlaps(&self, other: &CharSpan) -> bool {
        (self.start < other.end && other.start < self.end)
            || (self.start == other.start && self.end == other.end)
    }

    /// The text the span covers, if it is within `text`.
    pub fn slice<'t>(&self, text: &'t str) -> Option<&'t str> {
        char_slice(text, self.start, self.end)
    }
}

/// How a quote was matched, from most to least literal; callers may trust a looser match a little less.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchMethod {
    /// The quote is in the text byte for byte.
    Exact,
    /// Equal after normalising whitespace, quote marks, dashes and ellipses (and trimming added marks).
    Normalized,
    /// As `Normalized`, ignoring letter case.
    CaseInsensitive,
    /// The quote elides text with `...`/`…`: each part was found, in order, close together; the span runs
    /// from the first part's start to the last part's end.
    Elided,
}

/// Where a quote was found in a section's text, in characters of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteMatch {
    /// First character of the match.
    pub start: u32,
    /// One past the last character of the match.
    pub end: u32,
    /// How literal the match is.
    pub method: MatchMethod,
}

impl QuoteMatch {
    /// The match as a plain span.
    pub fn span(&self) -> CharSpan {
        CharSpan {
            start: self.start,
            end: self.end,
        }
    }
}

/// The text between two character offsets, or `None` when they are out of range or reversed.
pub fn char_slice(text: &str, start: u32, end: u32) -> Option<&str> {
    if start > end {
        return None;
    }
    let mut indices = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()));
    let from = indices.nth(start as usize)?;
    let to = if end == start {
        from
    } else {
        indices.nth((end - start - 1) as usize)?
    };
    text.get(from..to)
}

/// A text reduced to comparable characters, remembering which original characters each one came from.
struct Normalized {
    chars: Vec<char>,
    /// For each normalised character, the original character range `start..end` it stands for.
    origin: Vec<(u32, u32)>,
    /// `chars` as a string, searched with the standard library's linear-time substring search.
    string: String,
    /// Byte offset in `string` of each character of `chars`.
    byte_of: Vec<usize>,
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}' | '\u{feff}')
}

/// Maps one character to its normal form; `None` drops it (soft hyphens, zero-width spaces).
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' => return None,
        '‘' | '’' | '‚' | '‛' | '′' | '`' | '´' => "'",
        '“' | '”' | '„' | '‟' | '″' | '«' | '»' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => "-",
        '…' => "...",
        _ => return Some(""),
    })
}

fn normalize(text: &str, lowercase: bool) -> Normalized {
    let mut chars = Vec::with_capacity(text.len());
    let mut origin: Vec<(u32, u32)> = Vec::with_capacity(text.len());
    let mut pending_space: Option<(u32, u32)> = None;
    for (i, c) in text.chars().enumerate() {
        let i = i as u32;
        if is_space(c) {
            pending_space = Some(match pending_space {
                Some((s, _)) => (s, i + 1),
                None => (i, i + 1),
            });
            continue;
        }
        let folded = fold(c);
        if folded.is_none() {
            // Invisible characters extend whatever they sit in, so spans stay contiguous.
            if let Some(span) = pending_space.as_mut() {
                span.1 = i + 1;
            } else if let Some(last) = origin.last_mut() {
                last.1 = i + 1;
            }
            continue;
        }
        if let Some(span) = pending_space.take() {
            chars.push(' ');
            origin.push(span);
        }
        match folded {
            Some("") => {
                let c = if lowercase { single_lower(c) } else { c };
                chars.push(c);
                origin.push((i, i + 1));
            }
            Some(s) => {
                for f in s.chars() {
                    chars.push(f);
                    origin.push((i, i + 1));
                }
            }
            None => {}
        }
    }
    if let Some(span) = pending_space {
        chars.push(' ');
        origin.push(span);
    }
    let string: String = chars.iter().collect();
    let byte_of = string.char_indices().map(|(i, _)| i).collect();
    Normalized {
        chars,
        origin,
        string,
        byte_of,
    }
}

/// Lower case when it is one character, so positions keep lining up.
fn single_lower(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

const QUOTE_MARKS: &[char] = &['"', '\'', '`'];

/// The ways a model may have decorated a quote, most faithful first: as given, without surrounding quote
/// marks, without leading/trailing ellipses, without trailing punctuation.
fn variants(quote: &[char]) -> Vec<Vec<char>> {
    let trim =
        |mut v: &[char], f: &dyn Fn(&[char]) -> Option<usize>, g: &dyn Fn(&[char]) -> Option<usize>| {
            loop {
                let before = v.len();
                if let Some(n) = f(v) {
                    v = &v[n..];
                }
                if let Some(n) = g(v) {
                    v = &v[..v.len() - n];
                }
                while v.first() == Some(&' ') {
                    v = &v[1..];
                }
                while v.last() == Some(&' ') {
                    v = &v[..v.len() - 1];
                }
                if v.len() == before {
                    return v.to_vec();
                }
            }
        };
    let marks = |v: &[char]| v.first().filter(|c| QUOTE_MARKS.contains(c)).map(|_| 1);
    let marks_end = |v: &[char]| v.last().filter(|c| QUOTE_MARKS.contains(c)).map(|_| 1);
    let dots = |v: &[char]| v.starts_with(&['.', '.', '.']).then_some(3).or_else(|| marks(v));
    let dots_end = |v: &[char]| {
        v.ends_with(&['.', '.', '.'])
            .then_some(3)
            .or_else(|| marks_end(v))
    };
    let punct_end = |v: &[char]| {
        v.last()
            .filter(|c| matches!(c, '.' | ',' | ';' | ':' | '!' | '?'))
            .map(|_| 1)
            .or_else(|| dots_end(v))
    };
    let mut out: Vec<Vec<char>> = vec![quote.to_vec()];
    for v in [
        trim(quote, &marks, &marks_end),
        trim(quote, &dots, &dots_end),
        trim(quote, &dots, &punct_end),
    ] {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out.retain(|v| !v.is_empty());
    out
}

/// The first occurrence of `needle` in `text` at or after character `from`, as a character index.
fn find_in(text: &Normalized, needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let from_byte = *text.byte_of.get(from)?;
    let needle: String = needle.iter().collect();
    let at = text.string.get(from_byte..)?.find(&needle)? + from_byte;
    text.byte_of.binary_search(&at).ok()
}

fn span_of(text: &Normalized, at: usize, len: usize) -> Option<(u32, u32)> {
    let first = text.origin.get(at)?;
    let last = text.origin.get(at + len - 1)?;
    Some((first.0, last.1))
}

/// Finds `quote` in `section_text` and returns its span in characters of the original text.
///
/// Tried in order, the first success wins (and within one, the first occurrence): the exact quote; the
/// quote with whitespace runs (spaces, tabs, newlines, non-breaking spaces), curly/straight quote marks,
/// dashes and ellipses normalised on both sides, also with surrounding quote marks, ellipses and a final
/// full stop the model may have added trimmed; then the same ignoring case; then, for a quote that elides
/// text with `...`, its parts in order within a few hundred characters of each other. The returned span
/// always covers real text whose normal form contains the (trimmed) quote's.
pub fn find_quote(section_text: &str, quote: &str) -> Option<QuoteMatch> {
    if quote.trim().is_empty() || section_text.is_empty() {
        return None;
    }
    if let Some(at) = section_text.find(quote) {
        let start = section_text[..at].chars().count() as u32;
        let end = start + quote.chars().count() as u32;
        return Some(QuoteMatch {
            start,
            end,
            method: MatchMethod::Exact,
        });
    }
    for (lowercase, method) in [
        (false, MatchMethod::Normalized),
        (true, MatchMethod::CaseInsensitive),
    ] {
        let text = normalize(section_text, lowercase);
        let q = normalize(quote, lowercase);
        for variant in variants(&q.chars) {
            if let Some(at) = find_in(&text, &variant, 0) {
                let (start, end) = span_of(&text, at, variant.len())?;
                return Some(QuoteMatch { start, end, method });
            }
        }
    }
    find_elided(section_text, quote)
}

/// Matches a quote whose middle the model replaced by an ellipsis.
fn find_elided(section_text: &str, quote: &str) -> Option<QuoteMatch> {
    const MIN_PART: usize = 12;
    const MAX_GAP: usize = 400;
    let text = normalize(section_text, true);
    let q = normalize(quote, true);
    let trimmed = variants(&q.chars).pop()?;
    let joined: String = trimmed.iter().collect();
    let parts: Vec<Vec<char>> = joined
        .split("...")
        .map(|p| p.trim().chars().collect::<Vec<char>>())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 2 || parts.iter().any(|p| p.len() < MIN_PART) {
        return None;
    }
    let mut from = 0;
    // Each failed attempt moves past one occurrence of the first part; a bounded number of attempts keeps
    // a hostile text from making this quadratic.
    let mut attempts = 0;
    'start: while let Some(first) = find_in(&text, &parts[0], from) {
        attempts += 1;
        if attempts > 64 {
            return None;
        }
        let mut end = first + parts[0].len();
        for part in &parts[1..] {
            match find_in(&text, part, end) {
                Some(at) if at - end <= MAX_GAP => end = at + part.len(),
                _ => {
                    from = first + 1;
                    continue 'start;
                }
            }
        }
        let (start, stop) = span_of(&text, first, end - first)?;
        return Some(QuoteMatch {
            start,
            end: stop,
            method: MatchMethod::Elided,
        });
    }
    None
}

#[cfg(test)]
mod tests;
