//! Reads comments out of an ODT's `content.xml` the way LibreOffice wrote them: each
//! `office:annotation` with its author and body paragraphs, and for ranged ones the document
//! text between it and the `office:annotation-end` of the same name.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::Event;

/// One annotation as LibreOffice exported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub author: String,
    pub body: Vec<String>,
    /// Text between the annotation and its end (`None` for annotations without a range).
    pub anchored: Option<String>,
}

/// `content.xml` of an ODT package.
pub fn content_xml(odt: &[u8]) -> Option<String> {
    let mut z = zip::ZipArchive::new(Cursor::new(odt)).ok()?;
    let mut f = z.by_name("content.xml").ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).ok()?;
    Some(s)
}

fn attr(e: &quick_xml::events::BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// Annotations of a `content.xml`, in document order.
pub fn annotations(content: &str) -> Vec<Annotation> {
    let mut r = Reader::from_str(content);
    r.config_mut().trim_text(false);
    let mut out: Vec<Annotation> = Vec::new();
    let mut open_ranges: HashMap<String, usize> = HashMap::new();
    // Inside an annotation body: (index in `out`, element depth at its start).
    let mut body: Option<(usize, usize)> = None;
    let mut skip_depth: Option<usize> = None; // inside text:note (not reading text)
    let mut depth = 0usize;
    let mut in_creator = false;
    // Shapes and frames (images with alt text, text boxes) nested in the text: their text belongs
    // to their own paragraphs, not to a range that started outside them.
    let mut frames = 0usize;
    let mut frame_of: HashMap<usize, usize> = HashMap::new();
    let push_doc = |out: &mut Vec<Annotation>,
                    open: &HashMap<String, usize>,
                    frame_of: &HashMap<usize, usize>,
                    frames: usize,
                    s: &str| {
        for &i in open.values() {
            if frame_of.get(&i).copied().unwrap_or(0) != frames {
                continue;
            }
            if let Some(a) = out.get_mut(i).and_then(|a| a.anchored.as_mut()) {
                a.push_str(s);
            }
        }
    };
    while let Ok(ev) = r.read_event() {
        match ev {
            Event::Start(e) => {
                depth += 1;
                let name = e.name().as_ref().to_string();
                if skip_depth.is_some() {
                    continue;
                }
                match name.as_str() {
                    "office:annotation" if body.is_none() => {
                        let ranged = attr(&e, "office:name");
                        out.push(Annotation {
                            author: String::new(),
                            body: Vec::new(),
                            anchored: ranged.as_ref().map(|_| String::new()),
                        });
                        let i = out.len() - 1;
                        frame_of.insert(i, frames);
                        if let Some(n) = ranged {
                            open_ranges.insert(n, i);
                        }
                        body = Some((i, depth));
                    }
                    "dc:creator" if body.is_some() => in_creator = true,
                    "text:p" | "text:h" => {
                        if let Some((i, _)) = body
                            && let Some(a) = out.get_mut(i)
                        {
                            a.body.push(String::new());
                        }
                    }
                    // Footnotes, ruby annotations and deleted text are not reading text.
                    "text:note" | "text:ruby-text" | "text:tracked-changes" => skip_depth = Some(depth),
                    "draw:frame" | "draw:g" | "draw:custom-shape" => frames += 1,
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if skip_depth.is_some() {
                    continue;
                }
                let name = e.name().as_ref().to_string();
                let piece = match name.as_str() {
                    "text:s" => {
                        Some(" ".repeat(attr(&e, "text:c").and_then(|c| c.parse().ok()).unwrap_or(1)))
                    }
                    "text:tab" => Some("\t".to_string()),
                    "text:line-break" => Some("\n".to_string()),
                    "office:annotation-end" => {
                        if let Some(n) = attr(&e, "office:name") {
                            open_ranges.remove(&n);
                        }
                        None
                    }
                    "text:p" | "text:h" => {
                        match body {
                            Some((i, _)) => {
                                if let Some(a) = out.get_mut(i) {
                                    a.body.push(String::new());
                                }
                            }
                            None => push_doc(&mut out, &open_ranges, &frame_of, frames, "\n"),
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(p) = piece {
                    match body {
                        Some((i, _)) => {
                            if let Some(last) = out.get_mut(i).and_then(|a| a.body.last_mut()) {
                                last.push_str(&p);
                            }
                        }
                        None => push_doc(&mut out, &open_ranges, &frame_of, frames, &p),
                    }
                }
            }
            Event::End(e) => {
                let name = e.name().as_ref().to_string();
                if let Some(d) = skip_depth {
                    if d == depth {
                        skip_depth = None;
                    }
                    depth = depth.saturating_sub(1);
                    continue;
                }
                if let Some((_, d)) = body
                    && d == depth
                {
                    body = None;
                } else if body.is_none() && matches!(name.as_str(), "text:p" | "text:h") {
                    push_doc(&mut out, &open_ranges, &frame_of, frames, "\n");
                }
                if name == "dc:creator" {
                    in_creator = false;
                }
                if matches!(name.as_str(), "draw:frame" | "draw:g" | "draw:custom-shape") {
                    frames = frames.saturating_sub(1);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if skip_depth.is_some() {
                    continue;
                }
                let s = t.xml10_content().into_owned();
                match body {
                    Some((i, _)) => {
                        if let Some(a) = out.get_mut(i) {
                            if in_creator {
                                a.author.push_str(&s);
                            } else if let Some(last) = a.body.last_mut() {
                                last.push_str(&s);
                            }
                        }
                    }
                    None => push_doc(&mut out, &open_ranges, &frame_of, frames, &s),
                }
            }
            Event::GeneralRef(g) => {
                if skip_depth.is_some() {
                    continue;
                }
                let c = if g.is_char_ref() {
                    g.resolve_char_ref().ok().flatten()
                } else {
                    match &*g {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    }
                };
                let Some(c) = c else { continue };
                let s = c.to_string();
                match body {
                    Some((i, _)) => {
                        if let Some(a) = out.get_mut(i) {
                            if in_creator {
                                a.author.push_str(&s);
                            } else if let Some(last) = a.body.last_mut() {
                                last.push_str(&s);
                            }
                        }
                    }
                    None => push_doc(&mut out, &open_ranges, &frame_of, frames, &s),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// Whitespace collapsed and trimmed, and characters LibreOffice writes differently from Word's
/// reading (non-breaking hyphen) mapped to what the reader reads.
pub fn normalize(s: &str) -> String {
    let mapped: String = s
        .chars()
        .filter(|c| *c != '\u{AD}')
        .map(|c| if c == '\u{2011}' { '-' } else { c })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}
