//! Where paragraphs end, worked out ahead: for a large main part a helper thread finds, for its
//! second half, what jumping over each paragraph needs while the scan walks the first half.

use super::scan::JUMP_AVOID;
use crate::xml;

/// Main parts from this size are scanned with a helper thread that works out, for their second
/// half, where each paragraph ends (what jumping over it needs), while this thread scans the
/// first half.
const PREFETCH_FROM: usize = 512 * 1024;

/// Where the paragraphs (`<w:p ...>` start tags, this prefix only) from byte `from` on end, as
/// [`xml::plain_subtree_end`] finds it: `(offset after the start tag, end tag offset)`, sorted,
/// `None` where the scan gives up. The scan uses an entry only at the offset where it met a
/// `w:p` start tag itself, so what this search takes for a paragraph elsewhere (inside a comment,
/// say) is never used, and a paragraph it misses is simply scanned.
fn paragraph_ends(bytes: &[u8], from: usize) -> Ends {
    let finder = memchr::memmem::Finder::new(b"<w:p");
    let mut out = Vec::new();
    let mut pos = from;
    while let Some(i) = bytes.get(pos..).and_then(|rest| finder.find(rest)) {
        let lt = pos + i;
        pos = lt + 1;
        if !matches!(bytes.get(lt + 4), Some(b' ' | b'>' | b'\t' | b'\r' | b'\n')) {
            continue; // `<w:pPr`, `<w:p/>`, ...
        }
        // The start tag's end: the first `>` outside quoted values.
        let mut quote = 0u8;
        let mut gt = None;
        for (j, &b) in bytes.get(lt + 4..).unwrap_or_default().iter().enumerate() {
            if quote != 0 {
                if b == quote {
                    quote = 0;
                }
            } else if b == b'"' || b == b'\'' {
                quote = b;
            } else if b == b'<' {
                break;
            } else if b == b'>' {
                gt = Some(lt + 4 + j);
                break;
            }
        }
        let Some(gt) = gt else { continue };
        if bytes.get(gt - 1) == Some(&b'/') {
            continue;
        }
        let after = gt + 1;
        let end = bytes
            .get(after..)
            .and_then(|rest| xml::plain_subtree_end(rest, b"w:p", JUMP_AVOID))
            .map(|e| after + e);
        out.push((after, end));
        pos = end.unwrap_or(after);
    }
    out
}

/// `(offset after a paragraph's start tag, offset of its end tag or None)`, sorted.
type Ends = Vec<(usize, Option<usize>)>;

/// Paragraph ends worked out ahead by a helper thread (see [`paragraph_ends`]).
pub(super) struct Prefetch<'s> {
    /// Offset from which the helper works, and the helper until its answer is taken.
    pending: Option<(usize, std::thread::ScopedJoinHandle<'s, Ends>)>,
    /// Its answer, once taken.
    ready: Ends,
}

impl<'s> Prefetch<'s> {
    /// Whether a part is large enough (and the machine has a second core) for a helper.
    pub(super) fn worth_it(bytes: &[u8]) -> bool {
        let cores = super::cores();
        bytes.len() >= PREFETCH_FROM && cores > 1
    }

    /// No helper: every paragraph end is found by the scan itself.
    pub(super) fn none() -> Prefetch<'s> {
        Prefetch {
            pending: None,
            ready: Vec::new(),
        }
    }

    /// A helper on `scope` working out the ends of the paragraphs in `bytes`'s second half.
    pub(super) fn spawn<'b: 's>(scope: &'s std::thread::Scope<'s, '_>, bytes: &'b [u8]) -> Prefetch<'s> {
        let from = bytes.len() / 2;
        Prefetch {
            pending: Some((from, scope.spawn(move || paragraph_ends(bytes, from)))),
            ready: Vec::new(),
        }
    }

    /// What the helper found for the paragraph whose start tag ends at `after`: `Some(end)` (the
    /// end tag's offset, or `None` for "walk it"), or `None` when it has no answer.
    pub(super) fn end_for(&mut self, after: usize) -> Option<Option<usize>> {
        if let Some((from, _)) = &self.pending {
            if after < *from {
                return None;
            }
            if let Some((_, helper)) = self.pending.take() {
                self.ready = helper.join().unwrap_or_default();
            }
        }
        let i = self.ready.binary_search_by_key(&after, |e| e.0).ok()?;
        self.ready.get(i).map(|e| e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::scan::{Mode, scan, scan_with};

    /// A main part of over a megabyte: plain paragraphs, fields spanning two paragraphs, text
    /// boxes holding paragraphs, tables and damaged-looking text (`<w:p` inside a comment).
    fn big_part() -> Vec<u8> {
        let mut x = String::from(concat!(
            r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">"#,
            "<w:body>"
        ));
        for i in 0..12_000 {
            match i % 7 {
                0 => x.push_str(r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r></w:p><w:p><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#),
                1 => x.push_str(r#"<w:p><w:r><w:pict><w:txbxContent><w:p><w:r><w:t>inside a box</w:t></w:r></w:p></w:txbxContent></w:pict></w:r><w:r><w:t xml:space="preserve"> around it</w:t></w:r></w:p>"#),
                2 => x.push_str(r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>cell b</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#),
                3 => x.push_str(r#"<!-- <w:p> not a paragraph --><w:p w:rsidR="00A1"><w:pPr><w:jc w:val="left"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>bold &amp; plain</w:t></w:r></w:p>"#),
                _ => x.push_str(&format!(r#"<w:p><w:r><w:t>Paragraph {i} with some text in it.</w:t></w:r></w:p>"#)),
            }
        }
        x.push_str("</w:body></w:document>");
        x.into_bytes()
    }

    #[test]
    fn paragraph_ends_worked_out_ahead_change_nothing() {
        let part = big_part();
        assert!(part.len() >= PREFETCH_FROM * 2, "{} bytes", part.len());
        let mut targets = vec![false; 40_000];
        for t in targets.iter_mut().step_by(997) {
            *t = true;
        }
        let mode = || Mode {
            targets: Some(&targets),
            detail: true,
        };
        let ahead = scan("word/document.xml", &part, mode()).expect("scans");
        let alone = scan_with("word/document.xml", &part, mode(), &mut Prefetch::none()).expect("scans");
        assert_eq!(ahead.paras, alone.paras);
        assert_eq!(ahead.maps.len(), alone.maps.len());
        assert!(ahead.maps.len() >= 15, "{} targets mapped", ahead.maps.len());
        for (a, b) in ahead.maps.iter().zip(&alone.maps) {
            assert_eq!(
                (a.locator, &a.text, a.runs.len(), a.pieces.len()),
                (b.locator, &b.text, b.runs.len(), b.pieces.len())
            );
        }
        // The helper's answers are what the scan itself would find.
        let ends = paragraph_ends(&part, part.len() / 2);
        assert!(ends.len() > 1000, "{} paragraphs ahead", ends.len());
        for &(after, end) in ends.iter().step_by(101) {
            let own = xml::plain_subtree_end(&part[after..], b"w:p", JUMP_AVOID).map(|e| after + e);
            assert_eq!(end, own);
        }
    }
}
