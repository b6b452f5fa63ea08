//! Where a comment marker goes for a character boundary: at a run edge, or inside a run that
//! is then split (inside its `w:t` when needed), moved out of fields, opaque containers and
//! alternate content when that is exact, and out of hyperlinks and the like at their edges.

use super::plan::{Bound, Point};
use super::scan::{CKind, PMap, SegKind};

pub(crate) fn resolve_start(main: &[u8], map: &PMap, s: u32) -> Result<Bound, &'static str> {
    let pi = map.pieces.partition_point(|p| p.char_start + p.chars <= s);
    let p = map
        .pieces
        .get(pi)
        .filter(|p| p.char_start <= s)
        .ok_or("no text at the range start")?;
    let r = map.runs.get(p.run as usize).ok_or("run map incomplete")?;
    if s == r.char_start {
        return Ok(Bound::Edge(p.run));
    }
    if s == p.char_start {
        let prev = pi
            .checked_sub(1)
            .and_then(|i| map.pieces.get(i))
            .ok_or("run map incomplete")?;
        if prev.child != p.child {
            let b = r.children.get(p.child as usize).ok_or("run map incomplete")?.0;
            return Ok(Bound::Split {
                run: p.run,
                b,
                t: None,
                cdata: false,
            });
        }
        return match (prev.seg, p.seg) {
            (Some(a), Some(b)) if a.t == b.t => Ok(Bound::Split {
                run: p.run,
                b: b.start,
                t: Some(b.t),
                cdata: false,
            }),
            _ => Err("the range starts inside a symbol that cannot be split"),
        };
    }
    inside(main, map, pi, s - p.char_start)
}

pub(crate) fn resolve_end(main: &[u8], map: &PMap, e: u32) -> Result<Bound, &'static str> {
    let pi = map.pieces.partition_point(|p| p.char_start + p.chars < e);
    let p = map
        .pieces
        .get(pi)
        .filter(|p| p.char_start < e)
        .ok_or("no text at the range end")?;
    let r = map.runs.get(p.run as usize).ok_or("run map incomplete")?;
    if e == r.char_end {
        return Ok(Bound::Edge(p.run));
    }
    if e == p.char_start + p.chars {
        let next = map.pieces.get(pi + 1).ok_or("run map incomplete")?;
        if next.child != p.child {
            let b = r.children.get(p.child as usize).ok_or("run map incomplete")?.1;
            return Ok(Bound::Split {
                run: p.run,
                b,
                t: None,
                cdata: false,
            });
        }
        return match (p.seg, next.seg) {
            (Some(a), Some(b)) if a.t == b.t => Ok(Bound::Split {
                run: p.run,
                b: a.end,
                t: Some(a.t),
                cdata: false,
            }),
            _ => Err("the range ends inside a symbol that cannot be split"),
        };
    }
    inside(main, map, pi, e - p.char_start)
}

/// A boundary `k` characters into piece `pi` (0 < k < chars): only plain text can be split.
fn inside(main: &[u8], map: &PMap, pi: usize, k: u32) -> Result<Bound, &'static str> {
    let p = map.pieces.get(pi).ok_or("run map incomplete")?;
    let Some(seg) = p.seg else {
        let run = map.runs.get(p.run as usize);
        let child = run.and_then(|r| r.children.get(p.child as usize));
        let tag = child
            .and_then(|c| main.get(c.0..c.1.min(c.0 + 64)))
            .unwrap_or_default();
        let name_end = tag
            .iter()
            .position(|&b| matches!(b, b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r'));
        let name = name_end.and_then(|e| tag.get(1..e)).unwrap_or_default();
        return Err(if name.ends_with(b"ruby") {
            "the range boundary falls inside phonetic guide (ruby) text, which cannot be split"
        } else {
            "the range boundary falls inside text that cannot be split"
        });
    };
    let (raw_start, cdata) = match seg.kind {
        SegKind::Text => (seg.start, false),
        SegKind::CData => (seg.start + 9, true),
        SegKind::Ref => return Err("the range boundary falls inside a character reference"),
    };
    let raw = main.get(raw_start..seg.end).ok_or("run map incomplete")?;
    let off = byte_of_char(raw, k).ok_or("run map incomplete")?;
    Ok(Bound::Split {
        run: p.run,
        b: raw_start + off,
        t: Some(seg.t),
        cdata,
    })
}

/// Byte offset of character `k` of raw text, counting a `\r\n` pair as the one character the
/// parser reads it as.
fn byte_of_char(raw: &[u8], k: u32) -> Option<usize> {
    let mut i = 0usize;
    for _ in 0..k {
        let c = *raw.get(i)?;
        i += if c == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            2
        } else if c < 0x80 {
            1
        } else if c >= 0xF0 {
            4
        } else if c >= 0xE0 {
            3
        } else {
            2
        };
    }
    (i <= raw.len()).then_some(i)
}

const IN_FIELD: &str = "the range boundary falls inside a generated field result (table of contents, cross-reference, page number, ...), which is recomputed; not at its edge";
const IN_OPAQUE: &str = "the range boundary falls inside a simple field or a data-bound content control (recomputed), not at its edge";
const IN_ALT: &str = "the range boundary falls inside alternate content or foreign markup";

/// Where a comment marker goes for boundary `b` at character `c` (a start boundary when `start`),
/// and the container it ends up directly in (`None`: paragraph level).
///
/// Boundaries in a complex field's result move to before/after the whole field, out of opaque
/// containers (simple fields, data-bound content controls) and out of alternate content, but
/// only when no character lies between: otherwise the comment is not written. A marker next to
/// the first/last run of a hyperlink, content control or tracked change moves out of it too.
pub(crate) fn place(map: &PMap, b: Bound, c: u32, start: bool) -> Result<(Point, Option<u32>), &'static str> {
    let ri = b.run();
    let r = map.runs.get(ri as usize).ok_or("run map incomplete")?;
    let mut split = match b {
        Bound::Split { b, .. } => Some(b),
        Bound::Edge(_) => None,
    };
    let mut anchor = ri;
    let field = r
        .field
        .and_then(|f| map.fields.get(f as usize))
        .filter(|f| !f.transparent);
    if let Some(span) = field {
        let edge = if start { span.begin } else { span.end };
        let er = edge.and_then(|x| map.runs.get(x as usize));
        match (edge, er) {
            (Some(x), Some(er))
                if split.is_none() && (if start { er.char_start } else { er.char_end }) == c =>
            {
                anchor = x;
            }
            _ => return Err(IN_FIELD),
        }
        split = None;
    }
    let ar = map.runs.get(anchor as usize).ok_or("run map incomplete")?;
    let mut outer_opaque = None;
    let mut cur = ar.parent;
    while let Some(cm) = cur.and_then(|ci| map.containers.get(ci as usize)) {
        if cm.kind == CKind::Opaque {
            outer_opaque = cur;
        }
        cur = cm.parent;
    }
    let edge_of = |cm: &super::scan::CMap| if start { cm.start } else { cm.end };
    let chars_of = |cm: &super::scan::CMap| if start { cm.char_start } else { cm.char_end };
    let (mut pos, mut level) = match (outer_opaque.and_then(|o| map.containers.get(o as usize)), split) {
        (Some(cm), _) => {
            if split.is_some() || chars_of(cm) != c {
                return Err(IN_OPAQUE);
            }
            (edge_of(cm), cm.parent)
        }
        (None, Some(b)) => {
            if ar
                .parent
                .and_then(|p| map.containers.get(p as usize))
                .is_some_and(|p| p.kind == CKind::Invalid)
            {
                return Err(IN_ALT);
            }
            return Ok((Point::Split(b), ar.parent));
        }
        (None, None) => (if start { ar.start } else { ar.end }, ar.parent),
    };
    while let Some(cm) = level.and_then(|l| map.containers.get(l as usize)) {
        let at_edge = if start {
            cm.first_run == Some(anchor)
        } else {
            cm.last_run == Some(anchor)
        };
        let hoist = match cm.kind {
            CKind::Invalid | CKind::Opaque => {
                if chars_of(cm) != c {
                    return Err(IN_ALT);
                }
                true
            }
            _ => at_edge,
        };
        if !hoist {
            break;
        }
        pos = edge_of(cm);
        level = cm.parent;
    }
    Ok((Point::At(pos), level))
}
