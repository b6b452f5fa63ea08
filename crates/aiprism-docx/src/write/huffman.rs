//! Writing deflate bits: a bit writer, Huffman code lengths from symbol counts, and the header
//! of a dynamic block (RFC 1951 §3.2.7). `recode` uses them for the tokens it writes again
//! when the original block's code cannot express them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::tokens::{self, CL_ORDER, Code};

/// Writes bits LSB first.
pub(crate) struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// A writer whose buffer starts with room for `n` bytes.
    pub(crate) fn with_capacity(n: usize) -> BitWriter {
        BitWriter {
            out: Vec::with_capacity(n),
            acc: 0,
            n: 0,
        }
    }

    /// Appends the low `k` (at most 32) bits of `v`.
    #[inline]
    pub(crate) fn put(&mut self, v: u64, k: u32) {
        self.acc |= v << self.n;
        self.n += k;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Appends bits `from..to` of `src`.
    pub(crate) fn copy(&mut self, src: &[u8], from: u64, to: u64) {
        let mut at = from;
        while at + 32 <= to {
            self.put(read_bits(src, at, 32), 32);
            at += 32;
        }
        if at < to {
            let k = (to - at) as u32;
            self.put(read_bits(src, at, k), k);
        }
    }

    /// The bytes, the last one padded with zero bits.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.out
    }
}

/// `k` (at most 32) bits of `src` from bit `at`; zero bits past its end.
#[inline]
fn read_bits(src: &[u8], at: u64, k: u32) -> u64 {
    let byte = (at / 8) as usize;
    let mut b = [0u8; 8];
    match src.get(byte..byte + 8) {
        Some(w) => b.copy_from_slice(w),
        None => {
            for (i, slot) in b.iter_mut().enumerate() {
                *slot = src.get(byte + i).copied().unwrap_or(0);
            }
        }
    }
    (u64::from_le_bytes(b) >> (at % 8)) & ((1u64 << k) - 1)
}

/// Code lengths for symbols counted `counts` times, none longer than `limit`; every symbol
/// counted gets a code, and at least two symbols do (so the code is complete).
pub(crate) fn lengths(counts: &[u32], limit: u8) -> Vec<u8> {
    let mut weights: Vec<u64> = counts.iter().map(|&c| u64::from(c)).collect();
    let mut used = weights.iter().filter(|&&w| w > 0).count();
    for w in weights.iter_mut() {
        if used >= 2 {
            break;
        }
        if *w == 0 {
            *w = 1;
            used += 1;
        }
    }
    loop {
        let lens = tree_lengths(&weights);
        if lens.iter().all(|&l| l <= limit) {
            return lens;
        }
        // Flatten the counts and try again (converges: equal weights give a balanced tree).
        for w in weights.iter_mut().filter(|w| **w > 0) {
            *w = (*w >> 1) | 1;
        }
    }
}

/// Unlimited Huffman code lengths for nonzero `weights`.
fn tree_lengths(weights: &[u64]) -> Vec<u8> {
    let mut lens = vec![0u8; weights.len()];
    // Nodes: leaves first, then inner nodes; `parent` links each to its parent.
    let mut parent: Vec<usize> = Vec::with_capacity(weights.len() * 2);
    let mut leaf_of: Vec<usize> = Vec::new();
    let mut heap = BinaryHeap::new();
    for (sym, &w) in weights.iter().enumerate() {
        if w > 0 {
            heap.push(Reverse((w, parent.len())));
            leaf_of.push(sym);
            parent.push(usize::MAX);
        }
    }
    while heap.len() > 1 {
        let (Some(Reverse((wa, a))), Some(Reverse((wb, b)))) = (heap.pop(), heap.pop()) else {
            break;
        };
        let node = parent.len();
        parent.push(usize::MAX);
        parent[a] = node;
        parent[b] = node;
        heap.push(Reverse((wa + wb, node)));
    }
    // Parents come after their children, so depths fill in from the root down.
    let mut depth = vec![0u8; parent.len()];
    for i in (0..parent.len()).rev() {
        if let Some(&p) = parent.get(i).filter(|&&p| p != usize::MAX) {
            depth[i] = depth[p].saturating_add(1);
        }
    }
    for (leaf, &sym) in leaf_of.iter().enumerate() {
        lens[sym] = depth[leaf].max(1);
    }
    lens
}

/// A dynamic block's codes built for the given symbol counts (`lit`: 286 literal/length
/// counts, end of block included; `dist`: 30), with the header that describes them.
pub(crate) struct Dynamic {
    /// Literal/length and distance codes.
    pub(crate) codes: (Code, Code),
    lit: Vec<u8>,
    dist: Vec<u8>,
}

impl Dynamic {
    /// Codes for these counts; `None` only if the lengths do not form valid codes (a bug).
    pub(crate) fn new(lit_counts: &[u32], dist_counts: &[u32]) -> Option<Dynamic> {
        let lit = lengths(lit_counts, 15);
        let dist = lengths(dist_counts, 15);
        let codes = (Code::from_lengths(&lit)?, Code::from_lengths(&dist)?);
        Some(Dynamic { codes, lit, dist })
    }

    /// Writes the block header after `BFINAL` and `BTYPE`: the counts and the code lengths,
    /// run-length coded with their own code.
    pub(crate) fn write_header(&self, w: &mut BitWriter) -> Option<()> {
        let hlit = 257.max(self.lit.iter().rposition(|&l| l > 0).map_or(0, |i| i + 1));
        let hdist = 1.max(self.dist.iter().rposition(|&l| l > 0).map_or(0, |i| i + 1));
        let all: Vec<u8> = self
            .lit
            .get(..hlit)?
            .iter()
            .chain(self.dist.get(..hdist)?)
            .copied()
            .collect();
        // Run-length code: (symbol, extra bits, extra value).
        let mut runs: Vec<(u8, u32, u64)> = Vec::new();
        let mut i = 0;
        while i < all.len() {
            let v = all[i];
            let run = all[i..].iter().take_while(|&&x| x == v).count();
            if v == 0 && run >= 11 {
                let n = run.min(138);
                runs.push((18, 7, (n - 11) as u64));
                i += n;
            } else if v == 0 && run >= 3 {
                runs.push((17, 3, (run - 3) as u64));
                i += run;
            } else if v != 0 && run >= 4 {
                runs.push((v, 0, 0));
                let n = (run - 1).min(6);
                runs.push((16, 2, (n - 3) as u64));
                i += 1 + n;
            } else {
                runs.push((v, 0, 0));
                i += 1;
            }
        }
        let mut cl_counts = [0u32; 19];
        for &(s, _, _) in &runs {
            cl_counts[usize::from(s)] += 1;
        }
        let cl = lengths(&cl_counts, 7);
        let cl_code = Code::from_lengths(&cl)?;
        let hclen = 4.max(CL_ORDER.iter().rposition(|&s| cl[s] > 0).map_or(0, |i| i + 1));
        w.put((hlit - 257) as u64, 5);
        w.put((hdist - 1) as u64, 5);
        w.put((hclen - 4) as u64, 4);
        for &s in CL_ORDER.iter().take(hclen) {
            w.put(u64::from(cl[s]), 3);
        }
        for (s, bits, extra) in runs {
            let (code, len) = cl_code.encode(u16::from(s))?;
            w.put(code, len);
            w.put(extra, bits);
        }
        Some(())
    }

    /// Bits the header takes (an estimate within a few bits is all the choice needs).
    pub(crate) fn header_bits(&self) -> u64 {
        let lit: u64 = self.lit.iter().filter(|&&l| l > 0).count() as u64;
        let dist: u64 = self.dist.iter().filter(|&&l| l > 0).count() as u64;
        14 + 19 * 3 + (lit + dist) * 4
    }
}

/// The length-code and distance-code symbols of every token a stretch writes, counted.
pub(crate) fn count(syms: impl Iterator<Item = (u16, Option<u16>)>) -> (Vec<u32>, Vec<u32>) {
    let mut lit = vec![0u32; 286];
    let mut dist = vec![0u32; 30];
    lit[usize::from(tokens::END_OF_BLOCK)] = 1;
    for (l, d) in syms {
        if let Some(c) = lit.get_mut(usize::from(l)) {
            *c += 1;
        }
        if let Some(c) = d.and_then(|d| dist.get_mut(usize::from(d))) {
            *c += 1;
        }
    }
    (lit, dist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_form_complete_codes_within_the_limit() {
        let fib: Vec<u32> = {
            let mut v = vec![1u32, 1];
            while v.len() < 40 {
                let n = v[v.len() - 1].saturating_add(v[v.len() - 2]);
                v.push(n);
            }
            v
        };
        for counts in [
            vec![0u32; 30],
            vec![5],
            vec![0, 7, 0],
            vec![1; 286],
            fib.clone(),
            vec![3, 0, 9, 1, 1],
        ] {
            for limit in [7u8, 15] {
                if counts.len() > 1 << limit {
                    continue;
                }
                let lens = lengths(&counts, limit);
                assert!(lens.iter().all(|&l| l <= limit), "{counts:?}: {lens:?}");
                for (c, l) in counts.iter().zip(&lens) {
                    assert!(*c == 0 || *l > 0, "a counted symbol has a code");
                }
                let kraft: f64 = lens
                    .iter()
                    .filter(|&&l| l > 0)
                    .map(|&l| 0.5f64.powi(i32::from(l)))
                    .sum();
                if lens.iter().filter(|&&l| l > 0).count() >= 2 {
                    assert!((kraft - 1.0).abs() < 1e-9, "complete: {counts:?} -> {lens:?}");
                }
            }
        }
        assert!(
            lengths(&fib, 15).iter().max() == Some(&15),
            "a deep tree is cut to the limit"
        );
    }
}
