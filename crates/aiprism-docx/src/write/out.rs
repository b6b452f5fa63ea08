//! Small XML output helpers: escaping, element names under whatever prefix the document binds to
//! WordprocessingML, and text as runs (tabs and line breaks as elements).

/// Whether a character may appear in an XML 1.0 document at all (even as a character reference).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes character data: `&`, `<`, `>`; `\r` as a character reference (a literal one would be
/// normalised away); characters XML cannot carry are dropped.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    // Copies stretches that need no escaping in one go (most text has none).
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\r' => "&#13;",
            c if is_xml_char(c) => continue,
            _ => "",
        };
        out.push_str(s.get(plain..i).unwrap_or_default());
        out.push_str(esc);
        plain = i + c.len_utf8();
    }
    out.push_str(s.get(plain..).unwrap_or_default());
}

/// Escapes an attribute value (double-quoted): also quotes and whitespace controls, which
/// attribute-value normalisation would otherwise turn into spaces.
pub(crate) fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// Element and attribute names in the WordprocessingML namespace for markup inserted at one
/// place: the prefix the surrounding element uses, or `w` declared on the inserted element when
/// the document uses a default namespace there (attributes must be prefixed to be in it).
#[derive(Debug, Clone)]
pub(crate) struct Names {
    prefix: String,
    decl: String,
}

impl Names {
    /// Names for markup next to (or inside) the element whose qualified name is `qname`.
    pub(crate) fn near(qname: &[u8], uri: &str) -> Names {
        let prefix = qname
            .iter()
            .position(|&b| b == b':')
            .and_then(|i| qname.get(..i))
            .and_then(|p| std::str::from_utf8(p).ok())
            .filter(|p| !p.is_empty());
        match prefix {
            Some(p) => Names {
                prefix: p.to_string(),
                decl: String::new(),
            },
            None => {
                let mut decl = String::from(" xmlns:w=\"");
                escape_attr(uri, &mut decl);
                decl.push('"');
                Names {
                    prefix: "w".into(),
                    decl,
                }
            }
        }
    }

    /// `prefix:local`.
    pub(crate) fn q(&self, local: &str) -> String {
        format!("{}:{local}", self.prefix)
    }

    /// Appends `prefix:local` (without allocating, for markup written per comment).
    pub(crate) fn push_q(&self, out: &mut String, local: &str) {
        out.push_str(&self.prefix);
        out.push(':');
        out.push_str(local);
    }

    /// Appends `<prefix:local` + `tail` (e.g. `>` or `/>`).
    pub(crate) fn open(&self, out: &mut String, local: &str, tail: &str) {
        out.push('<');
        self.push_q(out, local);
        out.push_str(tail);
    }

    /// Appends `</prefix:local>`.
    pub(crate) fn close(&self, out: &mut String, local: &str) {
        out.push_str("</");
        self.push_q(out, local);
        out.push('>');
    }

    /// The namespace declaration to put on an inserted top-level element (often empty).
    pub(crate) fn decl(&self) -> &str {
        &self.decl
    }

    /// A self-closing top-level element with one `id` attribute.
    pub(crate) fn marker(&self, local: &str, id: i64) -> String {
        format!("<{}{} {}=\"{id}\"/>", self.q(local), self.decl, self.q("id"))
    }

    /// `id`, `author` and `date` attributes of an annotation (comment, insertion, deletion).
    pub(crate) fn annotation_attrs(&self, id: i64, author: &str, date: Option<&str>) -> String {
        let mut s = format!(" {}=\"{id}\" {}=\"", self.q("id"), self.q("author"));
        escape_attr(author, &mut s);
        s.push('"');
        if let Some(d) = date {
            s.push_str(&format!(" {}=\"", self.q("date")));
            escape_attr(d, &mut s);
            s.push('"');
        }
        s
    }

    /// Run content for `text`: `w:t` pieces, `w:tab` for tabs, `w:br` for line breaks, so that
    /// reading it back gives `text` again.
    pub(crate) fn run_content(&self, text: &str, out: &mut String) {
        let mut rest = text;
        while !rest.is_empty() {
            let cut = rest.find(['\t', '\n']).unwrap_or(rest.len());
            let (piece, tail) = rest.split_at(cut);
            if !piece.is_empty() {
                self.open(out, "t", " xml:space=\"preserve\">");
                escape_text(piece, out);
                self.close(out, "t");
            }
            let mut chars = tail.chars();
            match chars.next() {
                Some('\t') => self.open(out, "tab", "/>"),
                Some(_) => self.open(out, "br", "/>"),
                None => {}
            }
            rest = chars.as_str();
        }
    }
}

/// Whether `s` is an `xsd:dateTime` Word accepts (`YYYY-MM-DDTHH:MM:SS`, optional fraction and
/// zone). Anything else is left out rather than written.
pub(crate) fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 19
        || !digits(0..4)
        || b.get(4) != Some(&b'-')
        || !digits(5..7)
        || b.get(7) != Some(&b'-')
        || !digits(8..10)
        || b.get(10) != Some(&b'T')
        || !digits(11..13)
        || b.get(13) != Some(&b':')
        || !digits(14..16)
        || b.get(16) != Some(&b':')
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = b.get(19..).unwrap_or_default();
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or_default();
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

/// Copies a run-properties fragment, giving every `*:id="N"` attribute in it (e.g. on
/// `w:rPrChange`) a fresh id so copies never share an annotation id.
pub(crate) fn renumber_ids(fragment: &[u8], mut next: impl FnMut() -> i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(fragment.len() + 8);
    let mut cursor = 0usize;
    for at in memchr::memmem::find_iter(fragment, b":id=") {
        let Some(&q) = fragment.get(at + 4) else { break };
        if q != b'"' && q != b'\'' {
            continue;
        }
        let vstart = at + 5;
        let Some(len) = fragment
            .get(vstart..)
            .and_then(|r| r.iter().position(|&c| c == q))
        else {
            break;
        };
        let value = fragment.get(vstart..vstart + len).unwrap_or_default();
        if vstart < cursor || value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            continue;
        }
        out.extend_from_slice(fragment.get(cursor..vstart).unwrap_or_default());
        out.extend_from_slice(next().to_string().as_bytes());
        cursor = vstart + len;
    }
    out.extend_from_slice(fragment.get(cursor..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_illegal_characters() {
        let mut t = String::new();
        escape_text("a & b < c > d \"q\" 'a' \u{1}\u{FFFF}😀 עברית 中文\r", &mut t);
        assert_eq!(t, "a &amp; b &lt; c &gt; d \"q\" 'a' 😀 עברית 中文&#13;");
        let mut a = String::new();
        escape_attr("O'Brien & \"Co\"\n<x>", &mut a);
        assert_eq!(a, "O&apos;Brien &amp; &quot;Co&quot;&#10;&lt;x&gt;");
    }

    #[test]
    fn names_follow_the_document_prefix_or_declare_one() {
        let n = Names::near(b"x:p", "urn:w");
        assert_eq!(
            n.marker("commentRangeStart", 7),
            "<x:commentRangeStart x:id=\"7\"/>"
        );
        let d = Names::near(b"p", "urn:w");
        assert_eq!(
            d.marker("commentRangeEnd", 8),
            "<w:commentRangeEnd xmlns:w=\"urn:w\" w:id=\"8\"/>"
        );
        let mut s = String::new();
        n.run_content("a\tb\nc&", &mut s);
        assert_eq!(
            s,
            "<x:t xml:space=\"preserve\">a</x:t><x:tab/><x:t xml:space=\"preserve\">b</x:t><x:br/><x:t xml:space=\"preserve\">c&amp;</x:t>"
        );
    }

    #[test]
    fn dates_are_checked() {
        assert!(valid_date("2026-11-22T10:00:00Z"));
        assert!(valid_date("2026-11-22T10:00:00.123+02:00"));
        assert!(valid_date("2026-11-22T10:00:00"));
        assert!(!valid_date("2026-11-22"));
        assert!(!valid_date("yesterday"));
        assert!(!valid_date("2026-11-22T10:00:00Zjunk"));
    }

    #[test]
    fn copied_properties_get_fresh_ids() {
        let mut n = 100;
        let out = renumber_ids(
            br#"<w:rPr><w:b/><w:rPrChange w:id="5" w:author="a"><w:rPr/></w:rPrChange><x:y r:id='rId3'/></w:rPr>"#,
            || {
                n += 1;
                n
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#"<w:rPr><w:b/><w:rPrChange w:id="101" w:author="a"><w:rPr/></w:rPrChange><x:y r:id='rId3'/></w:rPr>"#
        );
    }
}
