//! Compressing the rewritten main part from the original's compressed stream instead of from
//! scratch: a few comments touch a few places of a part that may run to megabytes, and
//! compressing all of it again was most of what writing a document cost.
//!
//! The original stream is walked token by token (`tokens`). A token no edit touches (its output
//! and the bytes it copies from lie clear of every edit, so it decodes the same in the new
//! part) keeps its bits, copied as they are. The tokens an edit touches are written again
//! around the edit's bytes: a match whose bytes survive whole keeps its length with its
//! distance corrected for what was inserted or removed between copy and source, anything else
//! becomes literals. Rewritten tokens use the block's own code where it has a code for each of
//! them, which needs no new block; otherwise they go, with the untouched tokens that follow
//! closely, into a block of their own (a code built for them, or the fixed one) between two
//! halves of the original block (its header copied again). Every original block is written
//! non-final and a final block of the fixed code ends the stream. One walk does it all.

use super::huffman::{self, BitWriter, Dynamic};
use super::plan::Edit;
use super::tokens::{self, Code, Decoder, Kind, Token};

/// Once touched tokens go into a block of their own, untouched tokens join it until this many
/// bytes pass without another touched one (each switch back to the original block costs its
/// header again).
const GAP: usize = 2048;

/// A token as written into the new stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sym {
    Literal(u8),
    Match { len: u16, dist: u16 },
}

/// How a symbol is coded: its literal/length symbol with extra bits (count, value), and for a
/// match its distance symbol with extra bits.
type Coded = ((u16, u32, u64), Option<(u16, u32, u64)>);

impl Sym {
    /// The symbol for an original token (`None` for the end of a block).
    fn of(t: Token) -> Option<Sym> {
        match t {
            Token::Literal(b) => Some(Sym::Literal(b)),
            Token::Match { len, dist } => Some(Sym::Match { len, dist }),
            Token::End => None,
        }
    }

    fn coded(self) -> Option<Coded> {
        match self {
            Sym::Literal(b) => Some(((u16::from(b), 0, 0), None)),
            Sym::Match { len, dist } => {
                Some((tokens::length_symbol(len)?, Some(tokens::distance_symbol(dist)?)))
            }
        }
    }
}

/// A match distance as the new part needs it, when the window allows one.
fn window_distance(dist: isize) -> Option<u16> {
    u16::try_from(dist)
        .ok()
        .filter(|&d| d >= 1 && usize::from(d) <= tokens::WINDOW)
}

/// Tokens collected for a block of their own (the original block's code cannot write them).
struct Own {
    syms: Vec<Sym>,
    /// The original output byte after the last token an edit touched.
    touched_to: usize,
}

/// The edits in the original stream's coordinates (the part's bytes, `prefix` included).
struct Edits<'a> {
    list: &'a [Edit],
    off: usize,
    /// `growth[i]`: bytes edits `0..i` add (negative: remove).
    growth: Vec<isize>,
}

impl Edits<'_> {
    fn a(&self, i: usize) -> usize {
        self.list.get(i).map_or(usize::MAX, |e| e.at + self.off)
    }

    fn b(&self, i: usize) -> usize {
        self.list.get(i).map_or(usize::MAX, |e| e.at + e.del + self.off)
    }

    /// How many edits start at or before `q`.
    fn upto(&self, q: usize) -> usize {
        self.list.partition_point(|e| e.at + self.off <= q)
    }

    /// Whether original byte `q` is removed by an edit.
    fn removed(&self, q: usize) -> bool {
        let k = self.upto(q);
        k > 0 && self.b(k - 1) > q
    }

    /// The first edit starting after original byte `q` (`usize::MAX`: none).
    fn next_after(&self, q: usize) -> usize {
        self.a(self.upto(q))
    }

    /// Where surviving original byte `q` sits in the new part, less `q`.
    fn shift(&self, q: usize) -> isize {
        self.growth.get(self.upto(q)).copied().unwrap_or(0)
    }
}

/// The part `prefix + base with edits` as a raw deflate stream made from `raw`, the original
/// entry's stream (which must inflate to `prefix + base`); `None` when `raw` is not such a
/// stream or holds stored data (the caller then compresses the part afresh).
pub(crate) fn rewrite(raw: &[u8], prefix: &[u8], base: &[u8], edits: &[Edit]) -> Option<Vec<u8>> {
    if rewritten_share(edits, prefix.len() + base.len()) > (prefix.len() + base.len()) / 3 {
        // Edits so close together that much of the part would be written again token by
        // token: compressing afresh (on several cores) is faster.
        return None;
    }
    recode(raw, prefix, base, edits)
}

/// [`rewrite`] however close together the edits are. `edits` are sorted and consistent
/// ([`super::plan::consistent`], which the writer checks before anything is written).
fn recode(raw: &[u8], prefix: &[u8], base: &[u8], edits: &[Edit]) -> Option<Vec<u8>> {
    let off = prefix.len();
    let total = off + base.len();
    let mut growth = Vec::with_capacity(edits.len() + 1);
    let mut g = 0isize;
    growth.push(0);
    for e in edits {
        g += isize::try_from(e.bytes.len()).ok()? - isize::try_from(e.del).ok()?;
        growth.push(g);
    }
    let edits = Edits {
        list: edits,
        off,
        growth,
    };
    let byte = |q: usize| -> Option<u8> {
        if q < off {
            prefix.get(q).copied()
        } else {
            base.get(q - off).copied()
        }
    };
    let (out, written) = walk(raw, total, &edits, &byte)?;
    (isize::try_from(written).ok()? == isize::try_from(total).ok()? + g).then_some(out)
}

/// Roughly how many bytes of the part the edits make us write again: tokens up to a window
/// (and a merge gap) after each edit may copy from before it.
fn rewritten_share(edits: &[Edit], total: usize) -> usize {
    let reach = tokens::WINDOW + GAP + 258;
    let mut share = 0usize;
    for (i, e) in edits.iter().enumerate() {
        let next = edits.get(i + 1).map_or(total, |n| n.at);
        share += (next.saturating_sub(e.at)).min(reach);
    }
    share
}

/// Walks the original stream once, writing the new one: untouched tokens' bits are copied in
/// runs, touched ones written again (with the block's code, or in a block of their own with
/// the untouched tokens that follow closely), edits' bytes placed where they go. Returns the
/// stream and the bytes it inflates to.
fn walk(
    raw: &[u8],
    total: usize,
    edits: &Edits<'_>,
    byte: &dyn Fn(usize) -> Option<u8>,
) -> Option<(Vec<u8>, usize)> {
    let n = edits.list.len();
    let fixed = tokens::fixed_codes()?;
    let mut w = BitWriter::with_capacity(raw.len() + raw.len() / 16 + 64);
    let mut dec = Decoder::new(raw, total);
    // Edits starting before the current token's end; edits whose bytes are written.
    let mut reached = 0usize;
    let mut placed = 0usize;
    let mut written = 0usize;
    // The symbols that replace the current token.
    let mut fresh: Vec<Sym> = Vec::new();
    loop {
        let h = dec.block()?;
        match h.kind {
            Kind::Stored { len } if len > 0 => return None,
            Kind::Stored { .. } => {
                if h.last {
                    break;
                }
                continue;
            }
            Kind::Fixed | Kind::Dynamic => {}
        }
        // Every original block is written non-final, with its own header bits.
        let reopen = |w: &mut BitWriter| {
            w.put(0, 1);
            w.put(h.kind.btype(), 2);
            w.copy(raw, h.bit_start + 3, h.header_end);
        };
        reopen(&mut w);
        // Original bits before this are written (or replaced).
        let mut copied_to = h.header_end;
        let mut own: Option<Own> = None;
        loop {
            let before = dec.position();
            let p = dec.out();
            let t = dec.token()?;
            let (len, src) = match t {
                Token::Literal(_) => (1, p),
                Token::Match { len, dist } => (usize::from(len), p - usize::from(dist)),
                Token::End => {
                    match own.take() {
                        // The original block was closed when its tokens went into one of their own.
                        Some(o) => write_own_block(&mut w, &fixed, &o.syms)?,
                        None => w.copy(raw, copied_to, dec.position()),
                    }
                    break;
                }
            };
            while reached < n && edits.a(reached) < p + len {
                reached += 1;
            }
            let touched = reached > 0 && edits.b(reached - 1) >= src;
            if !touched {
                written += len;
                if let Some(mut o) = own.take() {
                    if p - o.touched_to <= GAP {
                        o.syms.push(Sym::of(t)?);
                        own = Some(o);
                    } else {
                        write_own_block(&mut w, &fixed, &o.syms)?;
                        reopen(&mut w);
                        copied_to = before;
                    }
                }
                continue;
            }
            fresh.clear();
            let at = Place {
                p,
                len,
                dist: p - src,
                reached,
            };
            written += rewrite_token(&mut fresh, edits, &mut placed, t, &at, byte)?;
            match own.as_mut() {
                Some(o) => {
                    o.syms.extend_from_slice(&fresh);
                    o.touched_to = p + len;
                }
                None => {
                    let codes = dec.codes()?;
                    w.copy(raw, copied_to, before);
                    if fresh.iter().all(|&sym| encodable(codes, sym)) {
                        for &sym in &fresh {
                            put_sym(&mut w, codes, sym)?;
                        }
                    } else {
                        let (bits, len) = codes.0.encode(tokens::END_OF_BLOCK)?;
                        w.put(bits, len);
                        own = Some(Own {
                            syms: fresh.clone(),
                            touched_to: p + at.len,
                        });
                    }
                    copied_to = dec.position();
                }
            }
        }
        if h.last {
            break;
        }
    }
    // The final block: fixed code, the bytes inserted at the very end, end of block.
    w.put(1, 1);
    w.put(Kind::Fixed.btype(), 2);
    while placed < n {
        if edits.a(placed) != total {
            return None;
        }
        for &b in &edits.list[placed].bytes {
            put_sym(&mut w, &fixed, Sym::Literal(b))?;
            written += 1;
        }
        placed += 1;
    }
    let (bits, len) = fixed.0.encode(tokens::END_OF_BLOCK)?;
    w.put(bits, len);
    Some((w.finish(), written))
}

/// The symbols replacing a token an edit touches: the bytes of edits placed before it, then
/// the token itself as the edits leave it. Returns the bytes they make.
fn rewrite_token(
    fresh: &mut Vec<Sym>,
    edits: &Edits<'_>,
    placed: &mut usize,
    t: Token,
    at: &Place,
    byte: &dyn Fn(usize) -> Option<u8>,
) -> Option<usize> {
    let n = edits.list.len();
    let mut written = 0;
    // Bytes inserted before this token; none may be left behind.
    while *placed < n && edits.a(*placed) <= at.p {
        if edits.a(*placed) < at.p {
            return None;
        }
        written += push_bytes(fresh, &edits.list[*placed].bytes);
        *placed += 1;
    }
    match t {
        Token::Match { .. } => written += recode_match(fresh, edits, placed, at, byte)?,
        Token::Literal(b) => {
            if !edits.removed(at.p) {
                fresh.push(Sym::Literal(b));
                written += 1;
            }
        }
        Token::End => {}
    }
    Some(written)
}

/// A match in the original: at output byte `p`, `len` bytes from `dist` back; `reached` edits
/// start before its end.
struct Place {
    p: usize,
    len: usize,
    dist: usize,
    reached: usize,
}

/// A match an edit touches, written again for the new part: the bytes an edit removes are
/// dropped, bytes inserted inside it are placed, and each stretch between such places whose
/// source also lies between two edits stays a match (its distance corrected) when it is long
/// enough; the rest become literals. Returns the bytes written.
fn recode_match(
    syms: &mut Vec<Sym>,
    edits: &Edits<'_>,
    placed: &mut usize,
    at: &Place,
    byte: &dyn Fn(usize) -> Option<u8>,
) -> Option<usize> {
    let &Place {
        p,
        len,
        dist,
        reached,
    } = at;
    let src = p - dist;
    // The usual case: one edit, lying wholly between the source's end and the copy, moves the
    // copy away from its source by what it adds.
    if reached > 0 && (reached < 2 || edits.b(reached - 2) < src) {
        let (a, b) = (edits.a(reached - 1), edits.b(reached - 1));
        if a >= src + len && b <= p {
            let grows = edits.growth.get(reached)? - edits.growth.get(reached - 1)?;
            if let Some(d) = window_distance(isize::try_from(dist).ok()? + grows) {
                syms.push(Sym::Match {
                    len: u16::try_from(len).ok()?,
                    dist: d,
                });
                return Some(len);
            }
        }
    }
    let n = edits.list.len();
    let mut written = 0;
    let mut q = p;
    while q < p + len {
        if q > p {
            while *placed < n && edits.a(*placed) == q {
                written += push_bytes(syms, &edits.list[*placed].bytes);
                *placed += 1;
            }
        }
        if edits.removed(q) {
            q += 1;
            continue;
        }
        let from = q - dist;
        let piece = (p + len)
            .min(edits.next_after(q))
            .min(edits.next_after(from).saturating_add(dist))
            - q;
        match window_distance(isize::try_from(dist).ok()? + edits.shift(q) - edits.shift(from)) {
            Some(d) if piece >= 3 && !edits.removed(from) => {
                syms.push(Sym::Match {
                    len: u16::try_from(piece).ok()?,
                    dist: d,
                });
                written += piece;
                q += piece;
            }
            _ => {
                syms.push(Sym::Literal(byte(q)?));
                written += 1;
                q += 1;
            }
        }
    }
    Some(written)
}

fn push_bytes(syms: &mut Vec<Sym>, bytes: &[u8]) -> usize {
    syms.extend(bytes.iter().map(|&b| Sym::Literal(b)));
    bytes.len()
}

/// Writes `syms` as a block of their own (not final): with a code built for them, or with the
/// fixed code when that is shorter.
fn write_own_block(w: &mut BitWriter, fixed: &(Code, Code), syms: &[Sym]) -> Option<()> {
    let coded: Vec<Coded> = syms.iter().map(|s| s.coded()).collect::<Option<_>>()?;
    let (lit, dist) = huffman::count(coded.iter().map(|(l, d)| (l.0, d.map(|d| d.0))));
    let own = Dynamic::new(&lit, &dist)?;
    let cost = |codes: &(Code, Code)| -> u64 {
        let sum = |counts: &[u32], code: &Code| -> u64 {
            counts
                .iter()
                .enumerate()
                .map(|(s, &c)| u64::from(c) * code.encode(s as u16).map_or(0, |e| u64::from(e.1)))
                .sum()
        };
        sum(&lit, &codes.0) + sum(&dist, &codes.1)
    };
    w.put(0, 1);
    let codes = if own.header_bits() + cost(&own.codes) < cost(fixed) {
        w.put(Kind::Dynamic.btype(), 2);
        own.write_header(w)?;
        &own.codes
    } else {
        w.put(Kind::Fixed.btype(), 2);
        fixed
    };
    for c in &coded {
        put_coded(w, codes, c)?;
    }
    let (bits, len) = codes.0.encode(tokens::END_OF_BLOCK)?;
    w.put(bits, len);
    Some(())
}

/// Whether `codes` have a code for every symbol `sym` needs.
fn encodable(codes: &(Code, Code), sym: Sym) -> bool {
    sym.coded().is_some_and(|((l, _, _), d)| {
        codes.0.encode(l).is_some() && d.is_none_or(|(d, _, _)| codes.1.encode(d).is_some())
    })
}

fn put_sym(w: &mut BitWriter, codes: &(Code, Code), sym: Sym) -> Option<()> {
    put_coded(w, codes, &sym.coded()?)
}

fn put_coded(w: &mut BitWriter, codes: &(Code, Code), &((l, n, extra), d): &Coded) -> Option<()> {
    let (bits, len) = codes.0.encode(l)?;
    w.put(bits, len);
    w.put(extra, n);
    if let Some((d, n, extra)) = d {
        let (bits, len) = codes.1.encode(d)?;
        w.put(bits, len);
        w.put(extra, n);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::super::tokens::samples::{compress, xmlish};
    use super::*;

    fn inflate(z: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(z)
            .read_to_end(&mut back)
            .expect("inflates");
        back
    }

    /// Sorted, non-overlapping edits at pseudo-random places (insertions, replacements and
    /// deletions; several at one place; at the very start and end too).
    fn edits_for(len: usize, n: usize, seed: u64) -> Vec<Edit> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut at: Vec<usize> = (0..n).map(|_| (next() % (len as u64 + 1)) as usize).collect();
        if n > 2 {
            at[0] = 0;
            at[1] = len;
        }
        at.sort_unstable();
        let mut edits: Vec<Edit> = Vec::new();
        let mut floor = 0;
        for (i, a) in at.into_iter().enumerate() {
            let a = a.max(floor);
            let del = if a < len && next() % 3 == 0 {
                ((next() % 300) as usize).min(len - a)
            } else {
                0
            };
            let bytes = match next() % 5 {
                0 => Vec::new(),
                1 => "é\u{1F600}&lt;\"QZ"
                    .repeat(1 + (next() % 4) as usize)
                    .into_bytes(),
                _ => format!("<w:commentRangeStart w:id=\"{i}\"/>").into_bytes(),
            };
            floor = a + del;
            edits.push(Edit {
                at: a,
                del,
                phase: 0,
                seq: i as u64,
                bytes,
            });
        }
        edits
    }

    fn spliced(prefix: &[u8], base: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        super::super::plan::apply_to(base, edits, &mut out).expect("applies");
        out
    }

    #[test]
    fn rewritten_streams_inflate_to_the_edited_part() {
        for (len, how, n) in [
            (0, 6, 0),
            (0, 6, 1),
            (50, 6, 3),
            (5_000, 1, 4),
            (300_000, 6, 1),
            (1_200_000, 6, 20),
            (900_000, 9, 5),
            (1_500_000, 1, 12),
            (700_000, 22, 8),
            (700_000, 16, 30),
            (400_000, 11, 7),
            (2_000_000, 6, 200),
            (1_000_000, 6, 0),
        ] {
            for seed in 1..4u64 {
                let prefix: &[u8] = if seed == 2 { b"\xEF\xBB\xBF" } else { b"" };
                let base = xmlish(len, seed * 31 + n as u64);
                let mut original = prefix.to_vec();
                original.extend_from_slice(&base);
                let z = compress(&original, how);
                let edits = edits_for(base.len(), n, seed + len as u64);
                let want = spliced(prefix, &base, &edits);
                let got = recode(&z, prefix, &base, &edits)
                    .unwrap_or_else(|| panic!("{len} bytes, how {how}, {n} edits, seed {seed}: rewritten"));
                assert!(
                    inflate(&got) == want,
                    "{len} bytes, how {how}, {n} edits, seed {seed}"
                );
                if len >= 300_000 && n <= 30 {
                    assert!(
                        got.len() <= z.len() + z.len() / 10 + 2_000,
                        "{len} bytes, how {how}, {n} edits: {} bytes from {}",
                        got.len(),
                        z.len()
                    );
                }
            }
        }
    }

    #[test]
    fn stored_data_foreign_streams_and_dense_edits_are_left_to_the_compressor() {
        let base = xmlish(600_000, 5);
        let edits = edits_for(base.len(), 3, 1);
        assert!(
            recode(&compress(&base, 0), b"", &base, &edits).is_none(),
            "stored blocks"
        );
        let z = compress(&base, 6);
        assert!(recode(&z, b"", &base[1..], &edits).is_none(), "wrong length");
        assert!(
            recode(&z[..z.len() - 10], b"", &base, &edits).is_none(),
            "truncated"
        );
        assert!(
            rewrite(&z, b"", &base, &edits).is_some(),
            "a few edits are recoded"
        );
        let dense = edits_for(base.len(), 200, 2);
        assert!(
            rewrite(&z, b"", &base, &dense).is_none(),
            "dense edits are compressed afresh"
        );
    }

    #[test]
    fn bits_are_copied_from_any_offset() {
        let src: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(97) ^ 0x5A).collect();
        for from in 0..80u64 {
            for to in [from, from + 1, from + 31, from + 32, from + 33, from + 200].map(|t| t.min(320)) {
                if to < from {
                    continue;
                }
                let mut w = BitWriter::with_capacity(0);
                w.put(0b101, 3);
                w.copy(&src, from, to);
                let out = w.finish();
                let bit = |v: &[u8], i: u64| v[(i / 8) as usize] >> (i % 8) & 1;
                for i in 0..(to - from) {
                    assert_eq!(
                        bit(&out, 3 + i),
                        bit(&src, from + i),
                        "bits {from}..{to}, bit {i}"
                    );
                }
            }
        }
    }
}
