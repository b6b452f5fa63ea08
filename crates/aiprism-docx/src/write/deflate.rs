//! Compressing a large rewritten part on several cores (the pigz method) and handing the result
//! to the zip writer as a precompressed entry.
//!
//! The part is cut into chunks; each is deflated by its own compressor primed with the 32 KiB
//! before it as a dictionary (so matches reach back across the cut as in one stream) and ended
//! with a sync flush (an empty stored block: byte-aligned, not final), except the last, which
//! ends the stream. The chunks' outputs concatenated are one valid deflate stream.

use std::cell::RefCell;
use std::io::Cursor;

use flate2::{Compress, Compression, FlushCompress, Status};
use zip::{DateTime, ZipArchive, ZipWriter};

/// Parts smaller than this are deflated on one core: threads cost more than they save.
const PARALLEL_FROM: usize = 128 * 1024;
/// Smallest chunk worth a thread.
const CHUNK_MIN: usize = 64 * 1024;
/// Most chunks (threads) per part.
const MAX_CHUNKS: usize = 8;
/// The deflate window: how far back a match may reach, so how much dictionary a chunk needs.
const WINDOW: usize = 32 * 1024;

/// How many chunks to cut a part of `len` bytes into: one below [`PARALLEL_FROM`], else as many
/// as there are cores (at most [`MAX_CHUNKS`], each at least [`CHUNK_MIN`]).
pub(crate) fn chunks_for(len: usize) -> usize {
    if len < PARALLEL_FROM {
        return 1;
    }
    let cores = super::cores();
    cores.min(MAX_CHUNKS).min(len / CHUNK_MIN).max(1)
}

/// The bytes of `segments` (one part given as consecutive slices, so a spliced part need not
/// be copied into one buffer) deflated (raw deflate, `level`) in `chunks` pieces on as many
/// threads, with their CRC-32.
pub(crate) fn deflate(segments: &[&[u8]], level: u32, chunks: usize) -> std::io::Result<(Vec<u8>, u32)> {
    let total: usize = segments.iter().map(|s| s.len()).sum();
    let chunks = chunks.clamp(1, MAX_CHUNKS);
    let size = total.div_ceil(chunks).max(1);
    let bounds: Vec<(usize, usize)> = (0..chunks)
        .map(|i| (i * size, ((i + 1) * size).min(total)))
        .filter(|(a, b)| a < b || *a == 0)
        .collect();
    let last = bounds.len().saturating_sub(1);
    if last == 0 {
        // One chunk: no thread.
        let (out, crc) = deflate_piece(&[], segments, level, true)?;
        return Ok((out, crc.finalize()));
    }
    let results: Vec<std::io::Result<(Vec<u8>, crc32fast::Hasher)>> = std::thread::scope(|s| {
        // Every chunk but the first on a thread of its own; the first on this one.
        let handles: Vec<_> = bounds
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, &(a, b))| {
                let dict = gather(segments, a.saturating_sub(WINDOW), a);
                let pieces = slices(segments, a, b);
                s.spawn(move || deflate_piece(&dict, &pieces, level, i == last))
            })
            .collect();
        let (a, b) = bounds.first().copied().unwrap_or((0, 0));
        let first = deflate_piece(&[], &slices(segments, a, b), level, false);
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a compression thread failed")))
            }))
            .collect()
    });
    let mut out = Vec::new();
    let mut crc: Option<crc32fast::Hasher> = None;
    for r in results {
        let (bytes, h) = r?;
        if out.is_empty() {
            out = bytes;
        } else {
            out.extend_from_slice(&bytes);
        }
        match crc.as_mut() {
            Some(c) => c.combine(&h),
            None => crc = Some(h),
        }
    }
    Ok((out, crc.map_or(0, crc32fast::Hasher::finalize)))
}

/// The sub-slices of `segments` covering bytes `a..b` of their concatenation.
fn slices<'s>(segments: &[&'s [u8]], a: usize, b: usize) -> Vec<&'s [u8]> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for seg in segments {
        let (start, end) = (at, at + seg.len());
        at = end;
        if end <= a || start >= b {
            continue;
        }
        let from = a.saturating_sub(start);
        let to = b.min(end) - start;
        if let Some(s) = seg.get(from..to) {
            out.push(s);
        }
    }
    out
}

/// Bytes `a..b` of the concatenation of `segments`, copied (a chunk's dictionary: 32 KiB).
fn gather(segments: &[&[u8]], a: usize, b: usize) -> Vec<u8> {
    slices(segments, a, b).concat()
}

thread_local! {
    /// A compressor kept per thread: setting one up allocates and clears a few hundred
    /// kilobytes of tables, as much work as compressing a small part; a reset clears less.
    static COMPRESSOR: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's compressor for `level`, reset (made once per thread and level).
fn with_compressor<R>(level: u32, f: impl FnOnce(&mut Compress) -> R) -> R {
    COMPRESSOR.with(|slot| {
        let kept = slot.borrow_mut().take();
        let mut c = match kept {
            Some((l, mut c)) if l == level => {
                c.reset();
                c
            }
            _ => Compress::new(Compression::new(level), false),
        };
        let r = f(&mut c);
        *slot.borrow_mut() = Some((level, c));
        r
    })
}

/// One chunk: primed with `dict`, ended with a sync flush, or with the stream's end when `last`.
fn deflate_piece(
    dict: &[u8],
    pieces: &[&[u8]],
    level: u32,
    last: bool,
) -> std::io::Result<(Vec<u8>, crc32fast::Hasher)> {
    with_compressor(level, |c| deflate_piece_with(c, dict, pieces, last))
}

/// [`deflate_piece`] with a fresh or reset compressor.
fn deflate_piece_with(
    c: &mut Compress,
    dict: &[u8],
    pieces: &[&[u8]],
    last: bool,
) -> std::io::Result<(Vec<u8>, crc32fast::Hasher)> {
    let err = |e: flate2::CompressError| std::io::Error::other(e.to_string());
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(err)?;
    }
    let mut hasher = crc32fast::Hasher::new();
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len / 4 + 1024);
    for piece in pieces {
        hasher.update(piece);
        let mut input: &[u8] = piece;
        while !input.is_empty() {
            if out.capacity() - out.len() < 4096 {
                out.reserve(out.len() / 2 + 4096);
            }
            let before = c.total_in();
            c.compress_vec(input, &mut out, FlushCompress::None)
                .map_err(err)?;
            let used = usize::try_from(c.total_in() - before).unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or_default();
        }
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.len() / 2 + 4096);
        }
        let status = c.compress_vec(&[], &mut out, flush).map_err(err)?;
        match status {
            Status::StreamEnd => break,
            // A flush is complete when it did not fill the output.
            Status::Ok | Status::BufError if !last && out.len() < out.capacity() => break,
            Status::Ok | Status::BufError => {}
        }
    }
    Ok((out, hasher))
}

/// Writes one entry from already-deflated bytes: a one-entry zip is built in memory around them
/// and raw-copied (the zip crate takes precompressed data only that way). `None` when the sizes
/// need zip64, which the caller then writes the ordinary way.
pub(crate) fn write_precompressed(
    w: &mut ZipWriter<Cursor<Vec<u8>>>,
    name: &str,
    compressed: &[u8],
    size: usize,
    crc: u32,
    modified: Option<DateTime>,
) -> Option<zip::result::ZipResult<()>> {
    let (Ok(csize), Ok(usize32), Ok(name_len)) = (
        u32::try_from(compressed.len()),
        u32::try_from(size),
        u16::try_from(name.len()),
    ) else {
        return None;
    };
    if csize == u32::MAX || usize32 == u32::MAX {
        return None;
    }
    let when = modified.unwrap_or_default();
    let (time, date) = (when.timepart(), when.datepart());
    // General purpose flag bit 11: the name is UTF-8.
    let flags: u16 = 1 << 11;
    let mut z = Vec::with_capacity(compressed.len() + 2 * name.len() + 128);
    let put16 = |z: &mut Vec<u8>, v: u16| z.extend_from_slice(&v.to_le_bytes());
    let put32 = |z: &mut Vec<u8>, v: u32| z.extend_from_slice(&v.to_le_bytes());
    // The fields local and central headers share, from "version needed" to the extra field's
    // length: deflated, UTF-8 name, no extra field.
    let shared = |z: &mut Vec<u8>| {
        for v in [20, flags, 8, time, date] {
            put16(z, v);
        }
        for v in [crc, csize, usize32] {
            put32(z, v);
        }
        put16(z, name_len);
        put16(z, 0);
    };
    // Local file header.
    put32(&mut z, 0x0403_4b50);
    shared(&mut z);
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(compressed);
    let Ok(cd_at) = u32::try_from(z.len()) else {
        return None;
    };
    // Central directory header: version made by, the shared fields, then no comment, disk 0,
    // no attributes, the local header at offset 0.
    put32(&mut z, 0x0201_4b50);
    put16(&mut z, 20);
    shared(&mut z);
    for _ in 0..3 {
        put16(&mut z, 0);
    }
    put32(&mut z, 0);
    put32(&mut z, 0);
    z.extend_from_slice(name.as_bytes());
    let Ok(cd_len) = u32::try_from(z.len() - cd_at as usize) else {
        return None;
    };
    // End of central directory.
    put32(&mut z, 0x0605_4b50);
    put16(&mut z, 0);
    put16(&mut z, 0);
    put16(&mut z, 1);
    put16(&mut z, 1);
    put32(&mut z, cd_len);
    put32(&mut z, cd_at);
    put16(&mut z, 0);
    Some((|| {
        let mut one = ZipArchive::new(Cursor::new(z.as_slice()))?;
        let file = one.by_index_raw(0)?;
        w.raw_copy_file(file)
    })())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        // Repetitive like XML, with enough variety that matches cross the chunk cuts.
        (0..len)
            .map(|i| {
                b"<w:r><w:t>abcdefghij</w:t></w:r>"[i % 32]
                    .wrapping_add(u8::try_from(i / 100_000 % 3).unwrap_or(0))
            })
            .collect()
    }

    #[test]
    fn chunked_streams_inflate_to_the_input() {
        for (len, chunks) in [(0, 1), (10, 3), (300_000, 2), (1_000_003, 4), (2_000_000, 8)] {
            let data = sample(len);
            // Cut into uneven segments, as a spliced part is.
            let cut = [len / 3, len / 3 + 7.min(len - len / 3)];
            let segs = [&data[..cut[0]], &data[cut[0]..cut[1]], &data[cut[1]..]];
            let (z, crc) = deflate(&segs, 1, chunks).expect("deflates");
            let mut back = Vec::new();
            flate2::read::DeflateDecoder::new(z.as_slice())
                .read_to_end(&mut back)
                .expect("inflates");
            assert_eq!(back, data, "{len} bytes in {chunks} chunks");
            assert_eq!(crc, crc32fast::hash(&data), "{len} bytes: crc");
        }
        assert_eq!(chunks_for(1000), 1);
        assert!(chunks_for(64 * 1024 * 1024) >= 1);
    }

    #[test]
    fn a_precompressed_entry_reads_back_with_its_name_and_time() {
        let data = sample(500_000);
        let (z, crc) = deflate(&[&data], 1, 2).expect("deflates");
        let when = DateTime::from_date_and_time(2024, 5, 6, 7, 8, 10).expect("date");
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        write_precompressed(&mut w, "word/dokument é.xml", &z, data.len(), crc, Some(when))
            .expect("fits")
            .expect("written");
        let out = w.finish().expect("finishes").into_inner();
        let mut a = ZipArchive::new(Cursor::new(out)).expect("opens");
        let mut f = a.by_index(0).expect("entry");
        assert_eq!(f.name().expect("name"), "word/dokument é.xml");
        assert_eq!(f.last_modified(), Some(when));
        let mut back = Vec::new();
        f.read_to_end(&mut back).expect("reads with its crc checked");
        assert_eq!(back, data);
    }
}
