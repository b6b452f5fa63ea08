//! The comments part: writing our comments into it, and reading the comments a document already
//! has together with the text each one is anchored on.

use quick_xml::events::Event;

use super::out::{Names, escape_attr};
use super::scan::{self, MarkerKind, Mode};
use crate::error::ReadError;
use crate::xml::{self, Ns, XmlReader};
use crate::{ExistingComment, Limits, package};

/// One `w:comment` element: one paragraph per line (blank lines are empty paragraphs), the first
/// starting with the annotation mark as Word writes it.
pub(crate) struct NewComment<'a> {
    pub(crate) id: i64,
    pub(crate) author: &'a str,
    pub(crate) initials: &'a str,
    pub(crate) date: Option<&'a str>,
    pub(crate) lines: &'a [String],
}

/// Serialises comments under the names `n` (the comments part's prefix).
pub(crate) fn comment_xml(
    n: &Names,
    c: &NewComment<'_>,
    text_style: Option<&str>,
    ref_style: Option<&str>,
    out: &mut String,
) {
    n.open(out, "comment", n.decl());
    out.push_str(&n.annotation_attrs(c.id, c.author, c.date));
    if !c.initials.is_empty() {
        out.push(' ');
        n.push_q(out, "initials");
        out.push_str("=\"");
        escape_attr(c.initials, out);
        out.push('"');
    }
    out.push('>');
    let mut lines: Vec<&str> = Vec::new();
    for l in c.lines {
        // A line holding line breaks is several lines; `\r\n` and `\r` count as breaks too.
        let mut rest = l.as_str();
        while let Some(i) = rest.find(['\r', '\n']) {
            lines.push(rest.get(..i).unwrap_or_default());
            let skip = if rest.get(i..).is_some_and(|t| t.starts_with("\r\n")) {
                2
            } else {
                1
            };
            rest = rest.get(i + skip..).unwrap_or_default();
        }
        lines.push(rest);
    }
    if lines.is_empty() {
        lines.push("");
    }
    // `<w:pPr><w:pStyle w:val="..."/></w:pPr>` and its run counterpart.
    let style = |out: &mut String, props: &str, element: &str, value: &str| {
        n.open(out, props, ">");
        n.open(out, element, " ");
        n.push_q(out, "val");
        out.push_str("=\"");
        escape_attr(value, out);
        out.push_str("\"/>");
        n.close(out, props);
    };
    for (i, line) in lines.iter().enumerate() {
        n.open(out, "p", ">");
        if let Some(s) = text_style {
            style(out, "pPr", "pStyle", s);
        }
        if i == 0 {
            n.open(out, "r", ">");
            if let Some(s) = ref_style {
                style(out, "rPr", "rStyle", s);
            }
            n.open(out, "annotationRef", "/>");
            n.close(out, "r");
        }
        if !line.is_empty() {
            n.open(out, "r", ">");
            n.run_content(line, out);
            n.close(out, "r");
        }
        n.close(out, "p");
    }
    n.close(out, "comment");
}

/// A comment as stored in the comments part.
pub(crate) struct Stored {
    id: String,
    author: String,
    initials: Option<String>,
    date: Option<String>,
    text: String,
}

/// Reads the `w:comment` elements of a comments part: attributes and text (paragraphs joined by
/// `\n`, tabs and breaks as characters, deleted text left out).
pub(crate) fn parse_comments(part: &str, bytes: &[u8]) -> Result<Vec<Stored>, ReadError> {
    let decoded = xml::decode_part(part, bytes)?;
    let mut r = XmlReader::new(part, &decoded);
    let mut out = Vec::new();
    let mut cur: Option<Stored> = None;
    let mut depth = 0usize;
    let mut comment_depth = 0usize;
    let mut in_t = 0usize;
    let mut suppress = 0usize;
    let mut paras = 0usize;
    let mut stack: Vec<(bool, bool)> = Vec::new(); // (is t, is suppress)
    loop {
        match r.next()? {
            Event::Start(e) => {
                depth += 1;
                let (ns, local) = r.element(&e);
                let (mut is_t, mut is_sup) = (false, false);
                if ns == Ns::W {
                    match local {
                        "comment" if cur.is_none() => {
                            cur = Some(Stored {
                                id: r
                                    .w_attr(&e, "id")
                                    .map(|v| v.trim().to_string())
                                    .unwrap_or_default(),
                                author: r.w_attr(&e, "author").map(|v| v.into_owned()).unwrap_or_default(),
                                initials: r.w_attr(&e, "initials").map(|v| v.into_owned()),
                                date: r.w_attr(&e, "date").map(|v| v.into_owned()),
                                text: String::new(),
                            });
                            comment_depth = depth;
                            paras = 0;
                        }
                        "p" if cur.is_some() => {
                            if paras > 0
                                && let Some(c) = cur.as_mut()
                            {
                                c.text.push('\n');
                            }
                            paras += 1;
                        }
                        "t" => is_t = true,
                        "del" | "moveFrom" | "delText" | "instrText" | "delInstrText" => is_sup = true,
                        _ => {}
                    }
                }
                in_t += usize::from(is_t);
                suppress += usize::from(is_sup);
                stack.push((is_t, is_sup));
            }
            Event::Empty(e) => {
                let (ns, local) = r.element(&e);
                if ns == Ns::W
                    && suppress == 0
                    && let Some(c) = cur.as_mut()
                {
                    match local {
                        "tab" => c.text.push('\t'),
                        "br" | "cr" => c.text.push('\n'),
                        "p" => {
                            if paras > 0 {
                                c.text.push('\n');
                            }
                            paras += 1;
                        }
                        "comment" => {}
                        _ => {}
                    }
                }
                if ns == Ns::W && local == "comment" && cur.is_none() {
                    out.push(Stored {
                        id: r
                            .w_attr(&e, "id")
                            .map(|v| v.trim().to_string())
                            .unwrap_or_default(),
                        author: r.w_attr(&e, "author").map(|v| v.into_owned()).unwrap_or_default(),
                        initials: r.w_attr(&e, "initials").map(|v| v.into_owned()),
                        date: r.w_attr(&e, "date").map(|v| v.into_owned()),
                        text: String::new(),
                    });
                }
            }
            Event::End(_) => {
                if let Some((t, s)) = stack.pop() {
                    in_t -= usize::from(t);
                    suppress -= usize::from(s);
                }
                if depth == comment_depth
                    && let Some(c) = cur.take()
                {
                    out.push(c);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if in_t > 0 && suppress == 0 => {
                if let Some(c) = cur.as_mut() {
                    c.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) if in_t > 0 && suppress == 0 => {
                if let Some(c) = cur.as_mut() {
                    c.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) => {
                let ch = xml::resolve_ref(part, &g)?;
                if in_t > 0
                    && suppress == 0
                    && let Some(c) = cur.as_mut()
                {
                    c.text.push(ch);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// See [`crate::read_comments`].
pub(crate) fn read(docx: &[u8], limits: &Limits) -> Result<Vec<ExistingComment>, ReadError> {
    crate::check_package(docx, limits)?;
    let (pkg, fw) = package::open_for_write(docx, limits)?;
    let Some((name, Some(bytes))) = &fw.comments else {
        return Ok(Vec::new());
    };
    let stored = parse_comments(name, bytes)?;
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let decoded = xml::decode_part(&pkg.main_name, &pkg.main)?;
    let sc = scan::scan(
        &pkg.main_name,
        &decoded,
        Mode {
            targets: None,
            detail: false,
        },
    )?;
    let text_of = |loc: u32| sc.maps.get(loc as usize).map_or("", |m| m.text.as_str());
    Ok(stored
        .into_iter()
        .map(|s| {
            let reading = |k: MarkerKind| {
                sc.markers
                    .iter()
                    .position(|m| m.kind == k && m.id == s.id && !m.unread)
            };
            let start = reading(MarkerKind::Start).and_then(|i| sc.markers.get(i));
            let end = start.and_then(|st| {
                sc.markers
                    .iter()
                    .skip_while(|m| !std::ptr::eq(*m, st))
                    .find(|m| m.kind == MarkerKind::End && m.id == s.id && !m.unread)
            });
            let anchored = match (start, end) {
                (Some(a), Some(b)) => {
                    let (sl, so) = match a.para {
                        Some(p) => (p, a.offset),
                        None => (a.next_para, 0),
                    };
                    let (el, eo) = match b.para {
                        Some(p) => (p, b.offset),
                        None => (b.next_para.saturating_sub(1), u32::MAX),
                    };
                    slice_between(&sc.paras, &text_of, (sl, so), (el, eo))
                }
                _ => None,
            };
            let paragraph = start
                .map(|a| a.para.unwrap_or(a.next_para))
                .or_else(|| {
                    reading(MarkerKind::Reference)
                        .and_then(|i| sc.markers.get(i))
                        .map(|m| m.para.unwrap_or(m.next_para))
                })
                .filter(|&p| (p as usize) < sc.paras.len());
            ExistingComment {
                id: s.id,
                author: s.author,
                initials: s.initials,
                date: s.date,
                text: s.text,
                anchored_text: anchored,
                paragraph,
            }
        })
        .collect())
}

/// Reading text from `(paragraph, char)` to `(paragraph, char)`, paragraphs joined by `\n`
/// (only those in reading text).
fn slice_between<'t>(
    paras: &[(u32, bool)],
    text_of: &impl Fn(u32) -> &'t str,
    (sl, so): (u32, u32),
    (el, eo): (u32, u32),
) -> Option<String> {
    if el < sl || (el as usize) >= paras.len() {
        return None;
    }
    let mut out = String::new();
    for loc in sl..=el {
        let reading = paras.get(loc as usize).is_some_and(|p| p.1);
        if !reading && loc != sl && loc != el {
            continue;
        }
        let t = text_of(loc);
        let from = if loc == sl { so as usize } else { 0 };
        let to = if loc == el { eo as usize } else { usize::MAX };
        if loc != sl {
            out.push('\n');
        }
        out.extend(t.chars().skip(from).take(to.saturating_sub(from)));
    }
    Some(out)
}
