//! A deflate stream (RFC 1951) read as what it is made of: block headers and tokens (a literal
//! byte, or a match copying `len` bytes from `dist` back), with the bit position of each, and
//! the codes to write tokens back with a block's own Huffman code or the fixed one.
//!
//! `recode` walks the original main part this way to keep the bits of every token an edit
//! does not touch: no output is produced and nothing is matched, so the walk costs a fraction
//! of compressing the part again. A stream that is not valid gives `None`, never a panic.

/// Largest code length (RFC 1951 §3.2.7).
const MAX_BITS: u32 = 15;
/// The end-of-block symbol.
pub(crate) const END_OF_BLOCK: u16 = 256;
/// Farthest a match may reach back.
pub(crate) const WINDOW: usize = 32 * 1024;

/// Base lengths and extra bits of length symbols 257..=285.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances and extra bits of distance symbols 0..=29.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/// The order code-length code lengths are sent in.
pub(crate) const CL_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// The compressed bits, read LSB first through a 64-bit buffer. Reading past the end yields
/// zero bits; [`Bits::overrun`] tells whether that happened.
struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to load into `buf`.
    next: usize,
    buf: u64,
    /// Valid bits in `buf`.
    n: u32,
}

impl<'a> Bits<'a> {
    /// Fills the buffer to at least 56 bits.
    #[inline]
    fn refill(&mut self) {
        if let Some(word) = self.data.get(self.next..self.next + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.buf |= u64::from_le_bytes(w) << self.n;
            self.next += ((63 - self.n) / 8) as usize;
            self.n |= 56;
            return;
        }
        while self.n <= 56 {
            let b = self.data.get(self.next).copied().unwrap_or(0);
            self.buf |= u64::from(b) << self.n;
            self.next += 1;
            self.n += 8;
        }
    }

    #[inline]
    fn peek(&self, k: u32) -> u64 {
        self.buf & ((1u64 << k) - 1)
    }

    #[inline]
    fn take(&mut self, k: u32) -> u64 {
        let v = self.peek(k);
        self.buf >>= k;
        self.n -= k;
        v
    }

    /// Bits consumed so far.
    fn position(&self) -> u64 {
        self.next as u64 * 8 - u64::from(self.n)
    }

    /// Whether bits beyond the data were consumed.
    fn overrun(&self) -> bool {
        self.position() > self.data.len() as u64 * 8
    }
}

/// A canonical Huffman code: a decoding table indexed by the next `bits` input bits (each entry
/// `symbol << 4 | code length`, 0 where no code matches) and, per symbol, its code as written
/// (bit-reversed, so it goes out LSB first) and length (0: the symbol has no code).
#[derive(Clone)]
pub(crate) struct Code {
    entries: Vec<u16>,
    bits: u32,
    codes: Vec<u16>,
    lengths: Vec<u8>,
}

impl Code {
    /// The code for these code lengths; `None` for an over-subscribed code, or an incomplete
    /// one unless `incomplete_ok` (the fixed distance code uses 30 of its 32 codes) or it has a
    /// single symbol (as zlib and libdeflate accept).
    fn new(lengths: &[u8], incomplete_ok: bool) -> Option<Code> {
        let mut count = [0u16; MAX_BITS as usize + 1];
        for &l in lengths {
            *count.get_mut(usize::from(l))? += 1;
        }
        count[0] = 0;
        let mut left: i64 = 1;
        for &c in count.iter().skip(1) {
            left = (left << 1) - i64::from(c);
            if left < 0 {
                return None;
            }
        }
        let used: u32 = count.iter().map(|&c| u32::from(c)).sum();
        if left > 0 && !incomplete_ok && used > 1 {
            return None;
        }
        let bits = (1..=MAX_BITS).rev().find(|&b| count[b as usize] > 0).unwrap_or(1);
        let mut next = [0u32; MAX_BITS as usize + 1];
        let mut code = 0u32;
        for len in 1..=MAX_BITS as usize {
            code = (code + u32::from(count[len - 1])) << 1;
            next[len] = code;
        }
        let mut entries = vec![0u16; 1 << bits];
        let mut codes = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let len = u32::from(l);
            let c = next[usize::from(l)];
            next[usize::from(l)] += 1;
            let reversed = c.reverse_bits() >> (32 - len);
            codes[sym] = u16::try_from(reversed).ok()?;
            let entry = (u16::try_from(sym).ok()? << 4) | u16::from(l);
            let mut i = reversed as usize;
            while i < entries.len() {
                entries[i] = entry;
                i += 1 << len;
            }
        }
        Some(Code {
            entries,
            bits,
            codes,
            lengths: lengths.to_vec(),
        })
    }

    /// A complete code with these lengths (or a single symbol's), to write with.
    pub(crate) fn from_lengths(lengths: &[u8]) -> Option<Code> {
        Code::new(lengths, false)
    }

    /// The next symbol; `None` where the code has no entry.
    #[inline]
    fn decode(&self, r: &mut Bits<'_>) -> Option<u16> {
        let e = *self.entries.get(r.peek(self.bits) as usize)?;
        let len = u32::from(e & 15);
        if len == 0 {
            return None;
        }
        r.take(len);
        Some(e >> 4)
    }

    /// How `sym` is written: (bits, length); `None` when this code has none for it.
    #[inline]
    pub(crate) fn encode(&self, sym: u16) -> Option<(u64, u32)> {
        let len = *self.lengths.get(usize::from(sym))?;
        (len > 0).then(|| (u64::from(self.codes[usize::from(sym)]), u32::from(len)))
    }
}

/// The fixed literal/length and distance codes of RFC 1951 §3.2.6.
pub(crate) fn fixed_codes() -> Option<(Code, Code)> {
    let mut lit = [8u8; 288];
    lit[144..256].fill(9);
    lit[256..280].fill(7);
    Some((Code::new(&lit, false)?, Code::new(&[5u8; 30], true)?))
}

/// The index into [`LENGTH_BASE`] of each match length (3..=258).
const LENGTH_INDEX: [u8; 259] = {
    let mut t = [0u8; 259];
    let mut i = 0;
    while i < 29 {
        let base = LENGTH_BASE[i] as usize;
        let mut k = 0;
        // Later codes win: 258 is code 285, not the top of 284's range.
        while k < 1 << LENGTH_EXTRA[i] && base + k < 259 {
            t[base + k] = i as u8;
            k += 1;
        }
        i += 1;
    }
    t
};

/// The distance symbol of `dist`, found the slow way (to build the tables below).
const fn distance_index(dist: usize) -> u8 {
    let mut i = 29;
    while DIST_BASE[i] as usize > dist {
        i -= 1;
    }
    i as u8
}

/// Distance symbols of distances 1..=256, at `dist - 1`.
const DIST_LOW: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut d = 1;
    while d <= 256 {
        t[d - 1] = distance_index(d);
        d += 1;
    }
    t
};

/// Distance symbols of distances 257..=32768, at `(dist - 1) >> 7` (from 257 on, every symbol
/// covers whole multiples of 128).
const DIST_HIGH: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut h = 2;
    while h < 256 {
        t[h] = distance_index(h * 128 + 1);
        h += 1;
    }
    t
};

/// The length symbol for a match length (3..=258): (symbol, extra bits, their value).
#[inline]
pub(crate) fn length_symbol(len: u16) -> Option<(u16, u32, u64)> {
    if !(3..=258).contains(&len) {
        return None;
    }
    let i = usize::from(*LENGTH_INDEX.get(usize::from(len))?);
    let extra = u64::from(len - LENGTH_BASE[i]);
    Some((257 + i as u16, u32::from(LENGTH_EXTRA[i]), extra))
}

/// The distance symbol for a distance (1..=32768): (symbol, extra bits, their value).
#[inline]
pub(crate) fn distance_symbol(dist: u16) -> Option<(u16, u32, u64)> {
    let d = usize::from(dist).checked_sub(1)?;
    let i = usize::from(if d < 256 {
        DIST_LOW[d]
    } else {
        *DIST_HIGH.get(d >> 7)?
    });
    Some((i as u16, u32::from(DIST_EXTRA[i]), u64::from(dist - DIST_BASE[i])))
}

/// What a block header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Stored bytes (already skipped by [`Decoder::block`]).
    Stored {
        /// How many.
        len: usize,
    },
    /// The fixed codes (`BTYPE` 01).
    Fixed,
    /// Codes described in the header (`BTYPE` 10).
    Dynamic,
}

impl Kind {
    /// The block's `BTYPE` bits.
    pub(crate) fn btype(self) -> u64 {
        match self {
            Kind::Stored { .. } => 0,
            Kind::Fixed => 1,
            Kind::Dynamic => 2,
        }
    }
}

/// A block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Its first bit (`BFINAL`).
    pub(crate) bit_start: u64,
    /// The bit after the header's code description (after `BTYPE` for a fixed block; after the
    /// data for a stored one): where the first token starts.
    pub(crate) header_end: u64,
    /// Its type.
    pub(crate) kind: Kind,
    /// `BFINAL`.
    pub(crate) last: bool,
}

/// One token of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A literal byte.
    Literal(u8),
    /// Copy `len` bytes from `dist` back.
    Match {
        /// 3..=258.
        len: u16,
        /// 1..=32768.
        dist: u16,
    },
    /// The end-of-block code.
    End,
}

/// Walks a raw deflate stream block by block and token by token, counting output bytes.
pub(crate) struct Decoder<'a> {
    bits: Bits<'a>,
    out: usize,
    expected: usize,
    fixed: Option<(Code, Code)>,
    dynamic: Option<(Code, Code)>,
    in_fixed: bool,
    /// Table entries the dynamic blocks may still fill: a stream of many tiny blocks with long
    /// codes would otherwise cost far more to walk than to compress afresh.
    table_budget: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder for `data`, which must inflate to exactly `expected` bytes: anything past that
    /// is an error, so a damaged stream cannot run on.
    pub(crate) fn new(data: &'a [u8], expected: usize) -> Decoder<'a> {
        Decoder {
            bits: Bits {
                data,
                next: 0,
                buf: 0,
                n: 0,
            },
            out: 0,
            expected,
            fixed: None,
            dynamic: None,
            in_fixed: false,
            table_budget: data.len().saturating_mul(64).saturating_add(1 << 20),
        }
    }

    /// Bits read so far.
    pub(crate) fn position(&self) -> u64 {
        self.bits.position()
    }

    /// Output bytes so far.
    pub(crate) fn out(&self) -> usize {
        self.out
    }

    /// The current block's literal/length and distance codes.
    pub(crate) fn codes(&self) -> Option<&(Code, Code)> {
        if self.in_fixed {
            self.fixed.as_ref()
        } else {
            self.dynamic.as_ref()
        }
    }

    /// Reads the next block header (a stored block's bytes are skipped); `None` when the
    /// stream is damaged.
    pub(crate) fn block(&mut self) -> Option<Header> {
        let r = &mut self.bits;
        if r.overrun() {
            return None;
        }
        let bit_start = r.position();
        r.refill();
        let last = r.take(1) == 1;
        let kind = match r.take(2) {
            0 => {
                let pad = ((8 - r.position() % 8) % 8) as u32;
                r.take(pad);
                r.refill();
                let len = r.take(16) as usize;
                let nlen = r.take(16) as usize;
                if len != !nlen & 0xFFFF {
                    return None;
                }
                let at = usize::try_from(r.position() / 8).ok()?;
                if at + len > r.data.len() {
                    return None;
                }
                r.next = at + len;
                r.buf = 0;
                r.n = 0;
                self.out += len;
                if self.out > self.expected {
                    return None;
                }
                Kind::Stored { len }
            }
            1 => {
                if self.fixed.is_none() {
                    self.fixed = fixed_codes();
                }
                self.in_fixed = true;
                Kind::Fixed
            }
            2 => {
                let codes = dynamic(r)?;
                let work = codes.0.entries.len() + codes.1.entries.len();
                self.table_budget = self.table_budget.checked_sub(work)?;
                self.dynamic = Some(codes);
                self.in_fixed = false;
                Kind::Dynamic
            }
            _ => return None,
        };
        if self.bits.overrun() {
            return None;
        }
        Some(Header {
            bit_start,
            header_end: self.bits.position(),
            kind,
            last,
        })
    }

    /// Reads the next token of the current (fixed or dynamic) block; `None` when the stream is
    /// damaged or would inflate to more than expected.
    #[inline]
    pub(crate) fn token(&mut self) -> Option<Token> {
        let (lit, dist) = if self.in_fixed {
            self.fixed.as_ref()?
        } else {
            self.dynamic.as_ref()?
        };
        next_token(&mut self.bits, lit, dist, &mut self.out, self.expected)
    }
}

/// One token read with these codes, `out` counting the bytes it makes (at most `expected`).
#[inline]
fn next_token(r: &mut Bits<'_>, lit: &Code, dist: &Code, out: &mut usize, expected: usize) -> Option<Token> {
    r.refill();
    let sym = lit.decode(r)?;
    if sym < END_OF_BLOCK {
        *out += 1;
        return (*out <= expected).then_some(Token::Literal(sym as u8));
    }
    if sym == END_OF_BLOCK {
        return (!r.overrun()).then_some(Token::End);
    }
    let li = usize::from(sym - 257);
    let len = *LENGTH_BASE.get(li)? + r.take(u32::from(*LENGTH_EXTRA.get(li)?)) as u16;
    let di = usize::from(dist.decode(r)?);
    let d = *DIST_BASE.get(di)? + r.take(u32::from(*DIST_EXTRA.get(di)?)) as u16;
    if usize::from(d) > *out {
        return None;
    }
    *out += usize::from(len);
    (*out <= expected).then_some(Token::Match { len, dist: d })
}

/// The codes of a dynamic block's header.
fn dynamic(r: &mut Bits<'_>) -> Option<(Code, Code)> {
    r.refill();
    let hlit = r.take(5) as usize + 257;
    let hdist = r.take(5) as usize + 1;
    let hclen = r.take(4) as usize + 4;
    if hlit > 286 || hdist > 30 {
        return None;
    }
    let mut cl = [0u8; 19];
    for &at in CL_ORDER.iter().take(hclen) {
        r.refill();
        cl[at] = r.take(3) as u8;
    }
    let cl = Code::new(&cl, false)?;
    let mut lengths = [0u8; 286 + 30];
    let mut i = 0;
    while i < hlit + hdist {
        r.refill();
        let sym = cl.decode(r)?;
        let (value, times) = match sym {
            0..=15 => (sym as u8, 1),
            16 => (*lengths.get(i.checked_sub(1)?)?, 3 + r.take(2) as usize),
            17 => (0, 3 + r.take(3) as usize),
            18 => (0, 11 + r.take(7) as usize),
            _ => return None,
        };
        if i + times > hlit + hdist {
            return None;
        }
        lengths[i..i + times].fill(value);
        i += times;
    }
    let (lit, dist) = lengths.split_at(hlit);
    if lit[usize::from(END_OF_BLOCK)] == 0 {
        return None;
    }
    Some((Code::new(lit, false)?, Code::new(&dist[..hdist], false)?))
}

/// Deflate streams to test readers of them with.
#[cfg(test)]
pub(crate) mod samples {
    use std::io::Write;

    use flate2::{Compression, write::DeflateEncoder};

    /// `len` bytes of repetitive XML-like text with numbers sprinkled in (matches near and far,
    /// literals between), different for each `seed`.
    pub(crate) fn xmlish(len: usize, seed: u64) -> Vec<u8> {
        let words = [
            &b"<w:p><w:r><w:t>"[..],
            b"incident ",
            b"</w:t></w:r>",
            b"timeline ",
            b"<w:rPr><w:b/></w:rPr>",
            b"root cause ",
            b"</w:p>",
        ];
        let mut s = seed | 1;
        let mut out = Vec::with_capacity(len + 32);
        while out.len() < len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            out.extend_from_slice(words[(s % words.len() as u64) as usize]);
            if s.is_multiple_of(3) {
                out.extend_from_slice(format!("{}", s % 10_007).as_bytes());
            }
        }
        out.truncate(len);
        out
    }

    /// `data` deflated: `how` is a zlib level (0..=9), or 10 + a libdeflate level.
    pub(crate) fn compress(data: &[u8], how: u32) -> Vec<u8> {
        if how >= 10 {
            let level = libdeflater::CompressionLvl::new((how - 10) as i32).expect("level");
            let mut c = libdeflater::Compressor::new(level);
            let mut z = vec![0u8; c.deflate_compress_bound(data.len())];
            let n = c.deflate_compress(data, &mut z).expect("compresses");
            z.truncate(n);
            return z;
        }
        let mut e = DeflateEncoder::new(Vec::new(), Compression::new(how));
        e.write_all(data).expect("writes");
        e.finish().expect("finishes")
    }
}

#[cfg(test)]
mod tests {
    use super::samples::{compress, xmlish};
    use super::*;

    /// Decodes the whole stream back into bytes from its tokens.
    fn inflate_by_tokens(z: &[u8], expected: usize) -> Option<Vec<u8>> {
        let mut d = Decoder::new(z, expected);
        let mut out: Vec<u8> = Vec::new();
        loop {
            let h = d.block()?;
            if let Kind::Stored { len } = h.kind {
                let at = (h.header_end / 8) as usize - len;
                out.extend_from_slice(&z[at..at + len]);
            } else {
                loop {
                    match d.token()? {
                        Token::Literal(b) => out.push(b),
                        Token::Match { len, dist } => {
                            for _ in 0..len {
                                out.push(out[out.len() - usize::from(dist)]);
                            }
                        }
                        Token::End => break,
                    }
                }
            }
            if h.last {
                break;
            }
        }
        (out.len() == expected && d.out() == expected).then_some(out)
    }

    #[test]
    fn tokens_decode_streams_of_every_level_exactly() {
        for (len, seed) in [(0, 1), (1, 2), (1000, 3), (200_000, 4), (1_500_000, 5)] {
            let data = xmlish(len, seed);
            for level in [0, 1, 6, 9] {
                let z = compress(&data, level);
                assert!(
                    inflate_by_tokens(&z, data.len()).as_deref() == Some(&data[..]),
                    "{len} bytes, level {level}"
                );
                assert_eq!(
                    inflate_by_tokens(&z, data.len() + 1),
                    None,
                    "a wrong length is refused"
                );
            }
            let z = compress(&data, 22);
            assert!(inflate_by_tokens(&z, data.len()).as_deref() == Some(&data[..]));
        }
    }

    #[test]
    fn damaged_streams_are_refused_or_read_as_zlib_reads_them() {
        let data = xmlish(100_000, 9);
        let z = compress(&data, 6);
        assert_eq!(
            inflate_by_tokens(&z[..z.len() / 2], data.len()),
            None,
            "truncated"
        );
        assert_eq!(inflate_by_tokens(&[0xFF; 64], 10), None, "reserved block type");
        let mut s = 7u64;
        for _ in 0..2000 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut bad = z.clone();
            let at = (s >> 33) as usize % bad.len();
            bad[at] ^= 1u8 << (s >> 60 & 7);
            if let Some(ours) = inflate_by_tokens(&bad, data.len()) {
                let mut d = flate2::Decompress::new(false);
                let mut back = Vec::with_capacity(data.len() + 16);
                let status = d.decompress_vec(&bad, &mut back, flate2::FlushDecompress::Finish);
                assert!(
                    matches!(status, Ok(flate2::Status::StreamEnd)),
                    "read a stream zlib refuses"
                );
                assert!(back == ours, "read a stream differently from zlib");
            }
        }
    }

    #[test]
    fn many_blocks_with_long_codes_give_up_instead_of_running_long() {
        // Counts doubling over sixteen symbols give a literal code 15 bits deep: each dynamic
        // block using it fills a 32768-entry table.
        let mut counts = vec![1u32; 286];
        let mut f = 1u32;
        for c in counts.iter_mut().take(16) {
            *c = f;
            f = f.saturating_mul(2);
        }
        let code = super::super::huffman::Dynamic::new(&counts, &[1, 1]).expect("codes");
        let mut w = super::super::huffman::BitWriter::with_capacity(0);
        let blocks = 5000;
        for i in 0..blocks {
            w.put(u64::from(i + 1 == blocks), 1);
            w.put(Kind::Dynamic.btype(), 2);
            code.write_header(&mut w).expect("header");
            let (bits, len) = code.codes.0.encode(END_OF_BLOCK).expect("end of block");
            w.put(bits, len);
        }
        let z = w.finish();
        assert!(code.codes.0.bits == 15, "long codes: {} bits", code.codes.0.bits);
        let mut d = Decoder::new(&z, 0);
        let mut walked = 0;
        while let Some(h) = d.block() {
            walked += 1;
            assert_eq!(d.token(), Some(Token::End));
            if h.last {
                break;
            }
        }
        assert!(walked < blocks, "the walk gave up after {walked} blocks");
    }

    #[test]
    fn symbols_for_lengths_and_distances_round_trip() {
        for len in 3..=258u16 {
            let (sym, bits, extra) = length_symbol(len).expect("a length");
            let i = usize::from(sym - 257);
            assert!(extra < 1 << bits);
            assert_eq!(LENGTH_BASE[i] + extra as u16, len);
        }
        assert_eq!(length_symbol(258).map(|s| s.0), Some(285));
        for dist in 1..=32768u16 {
            let (sym, bits, extra) = distance_symbol(dist).expect("a distance");
            assert!(extra < 1 << bits);
            assert_eq!(DIST_BASE[usize::from(sym)] + extra as u16, dist);
        }
        assert_eq!((length_symbol(2), distance_symbol(0)), (None, None));
    }
}
