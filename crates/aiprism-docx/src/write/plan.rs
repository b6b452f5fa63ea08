//! From character ranges to byte edits of the main part.
//!
//! A range boundary lands either on a run edge (the marker goes next to the run, hoisted out of
//! hyperlinks, content controls and the like when the run is their first/last one, and always out
//! of `mc:AlternateContent` and foreign markup, which may not hold markers) or inside a run, which
//! is then split: the run is closed and reopened with a copy of its start tag and `w:rPr`, inside
//! a `w:t` when needed. All edits are insertions at byte offsets, except renaming `w:t` to
//! `w:delText` (and adding `xml:space="preserve"` to split `w:t`s); everything else in the part
//! stays byte for byte.
//!
//! Several things can happen at one offset; they are ordered by phase: close a deletion, the
//! insertion that replaces it, close split smart tags, comment ends, comment references, comment
//! starts, reopen split smart tags, open a deletion. Smart tags and run-level custom XML are
//! split around markers placed inside them (LibreOffice drops markers inside them; Word strips
//! the elements and keeps their content). Comment references always go at paragraph level (never inside a field, hyperlink,
//! content control or tracked change, where editing those would lose them).

use std::collections::{BTreeMap, HashMap};

use super::anchor::{place, resolve_end, resolve_start};
use super::out::{Names, renumber_ids};
use super::scan::{CKind, PMap, RMap};

const PH_DEL_CLOSE: i8 = -3;
const PH_INS: i8 = -2;
const PH_SPLIT_CLOSE: i8 = -1;
const PH_END: i8 = 0;
const PH_REF: i8 = 1;
const PH_START: i8 = 2;
const PH_SPLIT_OPEN: i8 = 3;
const PH_DEL_OPEN: i8 = 4;

/// A byte edit of the main part.
#[derive(Debug)]
pub(crate) struct Edit {
    pub(crate) at: usize,
    pub(crate) del: usize,
    pub(crate) phase: i8,
    pub(crate) seq: u64,
    pub(crate) bytes: Vec<u8>,
}

/// Where inserted markup goes: at an offset between elements, or inside a run that is split
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    At(usize),
    Split(usize),
}

/// A range boundary resolved against one paragraph's runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bound {
    /// Before the run (start boundary) or after it (end boundary).
    Edge(u32),
    /// Inside the run at byte `b`; `t` is the direct-child `w:t` when `b` is inside its text.
    Split {
        run: u32,
        b: usize,
        t: Option<u32>,
        cdata: bool,
    },
}

impl Bound {
    pub(crate) fn run(self) -> u32 {
        match self {
            Bound::Edge(r) | Bound::Split { run: r, .. } => r,
        }
    }
}

struct SplitAt {
    map: usize,
    run: u32,
    t: Option<u32>,
    cdata: bool,
    /// Close / open a deletion around the halves.
    del_before: bool,
    /// `(deletion id, tracked change)` opened after the split.
    del_after: Option<(i64, usize)>,
}

struct Item {
    point: Point,
    phase: i8,
    seq: u64,
    bytes: Vec<u8>,
}

/// Bytes `start..end` of a run to delete for tracked change `tc`: `(start, end, tc)`.
type DelRange = (usize, usize, usize);

/// Where comment markers sit: point -> (paragraph map, container they are directly in).
type MarkerLevels = HashMap<(bool, usize), (usize, Option<u32>)>;

/// One tracked replacement: the runs `first..=last` of a paragraph between two cuts.
struct Tc {
    map: usize,
    first: u32,
    last: u32,
    from: usize,
    to: usize,
    author: String,
    date: Option<String>,
}

/// What a comment needs from the planner.
pub(crate) struct Request<'a> {
    pub(crate) map: usize,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) id: i64,
    pub(crate) author: &'a str,
    pub(crate) date: Option<&'a str>,
    /// Replacement to write as a tracked change.
    pub(crate) replacement: Option<&'a str>,
}

/// Accumulates edits for many comments on one main part.
pub(crate) struct Planner<'a> {
    main: &'a [u8],
    maps: &'a [PMap],
    uri: &'a str,
    ref_style: Option<&'a str>,
    splits: BTreeMap<usize, SplitAt>,
    items: Vec<Item>,
    tcs: Vec<Tc>,
    /// Char ranges already replaced, per map.
    replaced: HashMap<usize, Vec<(u32, u32)>>,
    /// `w:t` start offsets that need `xml:space="preserve"` (split inside).
    preserve: HashMap<usize, (usize, u32, u32)>,
    levels: MarkerLevels,
    seq: u64,
}

/// Outcome of planning one comment.
pub(crate) struct Planned {
    /// The replacement was written as a tracked change.
    pub(crate) tracked: bool,
    /// Why a requested replacement could not be tracked (the comment is still written).
    pub(crate) warning: Option<&'static str>,
}

impl<'a> Planner<'a> {
    pub(crate) fn new(main: &'a [u8], maps: &'a [PMap], uri: &'a str, ref_style: Option<&'a str>) -> Self {
        Planner {
            main,
            maps,
            uri,
            ref_style,
            splits: BTreeMap::new(),
            items: Vec::new(),
            tcs: Vec::new(),
            replaced: HashMap::new(),
            preserve: HashMap::new(),
            levels: HashMap::new(),
            seq: 0,
        }
    }

    /// Plans one comment (and its tracked change). On error nothing was recorded.
    pub(crate) fn comment(
        &mut self,
        req: &Request<'_>,
        next_id: &mut impl FnMut() -> i64,
    ) -> Result<Planned, &'static str> {
        let map = self.maps.get(req.map).ok_or("paragraph not mapped")?;
        let sb = resolve_start(self.main, map, req.start)?;
        let eb = resolve_end(self.main, map, req.end)?;
        let (sp, slevel) = place(map, sb, req.start, true)?;
        let (ep, elevel) = place(map, eb, req.end, false)?;
        // Reference run: at paragraph level, after the outermost container holding the end.
        let rp = match elevel {
            None => ep,
            Some(mut c) => {
                while let Some(p) = map.containers.get(c as usize).and_then(|x| x.parent) {
                    c = p;
                }
                Point::At(map.containers.get(c as usize).map_or(0, |x| x.end))
            }
        };
        // Tracked change eligibility.
        let mut planned = Planned {
            tracked: false,
            warning: None,
        };
        let tc = match req.replacement {
            Some(text) => match self.tc_check(req, map, sb, eb) {
                Ok(()) => Some(text),
                Err(w) => {
                    planned.warning = Some(w);
                    None
                }
            },
            None => None,
        };
        // Commit.
        self.add_split(req.map, sb);
        self.add_split(req.map, eb);
        let pn = Names::near(&map.qname, self.uri);
        self.push(sp, PH_START, pn.marker("commentRangeStart", req.id));
        self.push(ep, PH_END, pn.marker("commentRangeEnd", req.id));
        self.levels.insert(point_key(sp), (req.map, slevel));
        self.levels.insert(point_key(ep), (req.map, elevel));
        self.push(rp, PH_REF, self.reference(&pn, req.id));
        if let Some(text) = tc {
            self.add_tc(req, map, sb, eb, text, next_id);
            planned.tracked = true;
        }
        Ok(planned)
    }

    fn reference(&self, n: &Names, id: i64) -> String {
        let rpr = match self.ref_style {
            Some(s) => {
                let mut v = String::new();
                super::out::escape_attr(s, &mut v);
                format!(
                    "<{rpr}><{rs} {val}=\"{v}\"/></{rpr}>",
                    rpr = n.q("rPr"),
                    rs = n.q("rStyle"),
                    val = n.q("val")
                )
            }
            None => String::new(),
        };
        format!(
            "<{r}{decl}>{rpr}<{cr} {idq}=\"{id}\"/></{r}>",
            r = n.q("r"),
            decl = n.decl(),
            cr = n.q("commentReference"),
            idq = n.q("id"),
        )
    }

    fn push(&mut self, point: Point, phase: i8, bytes: String) {
        self.seq += 1;
        self.items.push(Item {
            point,
            phase,
            seq: self.seq,
            bytes: bytes.into_bytes(),
        });
    }

    fn add_split(&mut self, map: usize, b: Bound) {
        if let Bound::Split { run, b, t, cdata } = b {
            self.splits.entry(b).or_insert(SplitAt {
                map,
                run,
                t,
                cdata,
                del_before: false,
                del_after: None,
            });
            if let Some(t) = t
                && let Some(tm) = self.run(map, run).and_then(|r| r.ts.get(t as usize))
                && !tm.preserve
            {
                self.preserve.insert(tm.start, (map, run, t));
            }
        }
    }

    fn run(&self, map: usize, run: u32) -> Option<&'a RMap> {
        self.maps.get(map)?.runs.get(run as usize)
    }

    fn tc_check(&self, req: &Request<'_>, map: &PMap, sb: Bound, eb: Bound) -> Result<(), &'static str> {
        if self
            .replaced
            .get(&req.map)
            .is_some_and(|v| v.iter().any(|&(s, e)| s < req.end && req.start < e))
        {
            return Err("the range overlaps another replacement; written as a comment only");
        }
        for ri in sb.run()..=eb.run() {
            let Some(r) = map.runs.get(ri as usize) else {
                return Err("run map incomplete");
            };
            if r.dead {
                continue;
            }
            if r.has_field || r.field.is_some() || r.has_nested_p || r.nested_t {
                return Err("the range holds a field, a text box or a symbol; written as a comment only");
            }
            let mut c = r.parent;
            while let Some(ci) = c {
                let Some(cm) = map.containers.get(ci as usize) else {
                    break;
                };
                if matches!(cm.kind, CKind::Invalid | CKind::Opaque) {
                    return Err(
                        "the range is inside alternate content, a simple field or a data-bound content control; written as a comment only",
                    );
                }
                c = cm.parent;
            }
        }
        Ok(())
    }

    fn add_tc(
        &mut self,
        req: &Request<'_>,
        map: &PMap,
        sb: Bound,
        eb: Bound,
        text: &str,
        next_id: &mut impl FnMut() -> i64,
    ) {
        let (first, last) = (sb.run(), eb.run());
        let from = match sb {
            Bound::Edge(r) => map.runs.get(r as usize).map_or(0, |x| x.start),
            Bound::Split { b, .. } => b,
        };
        let (to, ins_point) = match eb {
            Bound::Edge(r) => {
                let e = map.runs.get(r as usize).map_or(0, |x| x.end);
                (e, Point::At(e))
            }
            Bound::Split { b, .. } => (b, Point::Split(b)),
        };
        self.replaced
            .entry(req.map)
            .or_default()
            .push((req.start, req.end));
        self.tcs.push(Tc {
            map: req.map,
            first,
            last,
            from,
            to,
            author: req.author.to_string(),
            date: req.date.map(str::to_string),
        });
        if text.is_empty() {
            return;
        }
        let Some(rl) = map.runs.get(last as usize) else {
            return;
        };
        let n = Names::near(&rl.qname, self.uri);
        let rpr = map
            .runs
            .get(first as usize)
            .and_then(|r| r.rpr)
            .and_then(|(a, b)| self.main.get(a..b))
            .map(|f| renumber_ids(f, &mut *next_id))
            .unwrap_or_default();
        let id = next_id();
        let mut s = format!(
            "<{}{}{}>",
            n.q("ins"),
            n.decl(),
            n.annotation_attrs(id, req.author, req.date)
        );
        s.push_str(&format!("<{}>", n.q("r")));
        s.push_str(&String::from_utf8_lossy(&rpr));
        n.run_content(text, &mut s);
        s.push_str(&format!("</{}></{}>", n.q("r"), n.q("ins")));
        self.push(ins_point, PH_INS, s);
    }

    /// Turns everything planned into sorted byte edits.
    pub(crate) fn finish(mut self, next_id: &mut impl FnMut() -> i64) -> Vec<Edit> {
        let mut edits = Vec::new();
        // `w:t` start or end tag offset -> (is start, qualified name).
        let mut renames: BTreeMap<usize, (bool, Vec<u8>)> = BTreeMap::new();
        // Deletions: cut every affected run at its splits and wrap the pieces inside a range.
        let mut by_run: BTreeMap<(usize, u32), Vec<DelRange>> = BTreeMap::new();
        for (i, tc) in self.tcs.iter().enumerate() {
            let Some(map) = self.maps.get(tc.map) else {
                continue;
            };
            for ri in tc.first..=tc.last {
                let Some(r) = map.runs.get(ri as usize) else {
                    continue;
                };
                if r.dead {
                    continue;
                }
                let a = if ri == tc.first { tc.from } else { r.start };
                let b = if ri == tc.last { tc.to } else { r.end };
                by_run.entry((tc.map, ri)).or_default().push((a, b, i));
            }
        }
        for ((m, ri), ranges) in by_run {
            let Some(r) = self.run(m, ri) else { continue };
            let mut cuts = vec![r.start];
            cuts.extend(
                self.splits
                    .range(r.start + 1..r.end)
                    .filter(|(_, s)| s.map == m && s.run == ri)
                    .map(|(b, _)| *b),
            );
            cuts.push(r.end);
            let n = Names::near(&r.qname, self.uri);
            for w in cuts.windows(2) {
                let (a, b) = match w {
                    [a, b] => (*a, *b),
                    _ => continue,
                };
                let Some(&(_, _, ti)) = ranges.iter().find(|(x, y, _)| *x <= a && b <= *y) else {
                    continue;
                };
                let Some(tc) = self.tcs.get(ti) else { continue };
                let id = next_id();
                let open = format!(
                    "<{}{}{}>",
                    n.q("del"),
                    n.decl(),
                    n.annotation_attrs(id, &tc.author, tc.date.as_deref())
                );
                if a == r.start {
                    self.seq += 1;
                    self.items.push(Item {
                        point: Point::At(a),
                        phase: PH_DEL_OPEN,
                        seq: self.seq,
                        bytes: open.into_bytes(),
                    });
                } else if let Some(s) = self.splits.get_mut(&a) {
                    s.del_after = Some((id, ti));
                }
                if b == r.end {
                    self.seq += 1;
                    self.items.push(Item {
                        point: Point::At(b),
                        phase: PH_DEL_CLOSE,
                        seq: self.seq,
                        bytes: format!("</{}>", n.q("del")).into_bytes(),
                    });
                } else if let Some(s) = self.splits.get_mut(&b) {
                    s.del_before = true;
                }
                for t in &r.ts {
                    if a <= t.start && t.start < b {
                        renames.insert(t.start, (true, t.qname.clone()));
                    }
                    if let Some(c) = t.close
                        && a <= c
                        && c < b
                    {
                        renames.insert(c, (false, t.qname.clone()));
                    }
                }
            }
        }
        // `w:t` start tags: rename and/or preserve; end tags: rename.
        let mut t_starts: BTreeMap<usize, (Vec<u8>, bool, bool)> = BTreeMap::new();
        for (&at, &(m, ri, t)) in &self.preserve {
            if let Some(tm) = self.run(m, ri).and_then(|r| r.ts.get(t as usize)) {
                t_starts.insert(at, (tm.qname.clone(), false, true));
            }
        }
        for (at, (is_start, q)) in renames {
            if is_start {
                t_starts.entry(at).or_insert((q, false, false)).1 = true;
            } else {
                let n = Names::near(&q, self.uri);
                edits.push(Edit {
                    at: at + 2,
                    del: q.len(),
                    phase: 0,
                    seq: 0,
                    bytes: n.q("delText").into_bytes(),
                });
            }
        }
        for (at, (q, rename, preserve)) in t_starts {
            let n = Names::near(&q, self.uri);
            let mut s = if rename {
                n.q("delText").into_bytes()
            } else {
                q.clone()
            };
            if preserve {
                s.extend_from_slice(b" xml:space=\"preserve\"");
            }
            edits.push(Edit {
                at: at + 1,
                del: q.len(),
                phase: 0,
                seq: 0,
                bytes: s,
            });
        }
        // Smart tags / custom XML around markers: close them before, reopen them after.
        let levels = std::mem::take(&mut self.levels);
        for ((is_split, at), (m, level)) in levels {
            let Some(map) = self.maps.get(m) else { continue };
            let mut chain = Vec::new();
            let mut cur = level;
            while let Some(ci) = cur {
                let Some(cm) = map.containers.get(ci as usize) else {
                    break;
                };
                chain.push(cm);
                cur = cm.parent;
            }
            let Some(outer) = chain.iter().rposition(|c| c.kind == CKind::Split) else {
                continue;
            };
            let group = chain.get(..=outer).unwrap_or_default();
            let mut close = Vec::new();
            for c in group {
                close.extend_from_slice(b"</");
                close.extend_from_slice(&c.qname);
                close.push(b'>');
            }
            let mut open = Vec::new();
            for c in group.iter().rev() {
                open.extend_from_slice(self.main.get(c.start..c.tag_end).unwrap_or_default());
                if let Some((a, b)) = c.props {
                    open.extend_from_slice(self.main.get(a..b).unwrap_or_default());
                }
            }
            let point = if is_split { Point::Split(at) } else { Point::At(at) };
            for (phase, bytes) in [(PH_SPLIT_CLOSE, close), (PH_SPLIT_OPEN, open)] {
                self.seq += 1;
                self.items.push(Item {
                    point,
                    phase,
                    seq: self.seq,
                    bytes,
                });
            }
        }
        // Splits, with whatever sits at them.
        let mut at_split: HashMap<usize, Vec<&Item>> = HashMap::new();
        for it in &self.items {
            match it.point {
                Point::At(at) => edits.push(Edit {
                    at,
                    del: 0,
                    phase: it.phase,
                    seq: it.seq,
                    bytes: it.bytes.clone(),
                }),
                Point::Split(b) => at_split.entry(b).or_default().push(it),
            }
        }
        for (&b, s) in &self.splits {
            let Some(r) = self.run(s.map, s.run) else { continue };
            let n = Names::near(&r.qname, self.uri);
            let tq = s.t.and_then(|t| r.ts.get(t as usize)).map(|t| t.qname.clone());
            let mut out: Vec<u8> = Vec::new();
            if let Some(q) = &tq {
                if s.cdata {
                    out.extend_from_slice(b"]]>");
                }
                out.extend_from_slice(b"</");
                out.extend_from_slice(&if s.del_before {
                    n.q("delText").into_bytes()
                } else {
                    q.clone()
                });
                out.push(b'>');
            }
            out.extend_from_slice(b"</");
            out.extend_from_slice(&r.qname);
            out.push(b'>');
            if s.del_before {
                out.extend_from_slice(format!("</{}>", n.q("del")).as_bytes());
            }
            let mut here = at_split.remove(&b).unwrap_or_default();
            here.sort_by_key(|i| (i.phase, i.seq));
            for it in here {
                out.extend_from_slice(&it.bytes);
            }
            if let Some((id, ti)) = s.del_after {
                let tc = self.tcs.get(ti);
                let (author, date) = tc.map_or(("", None), |t| (t.author.as_str(), t.date.as_deref()));
                out.extend_from_slice(
                    format!(
                        "<{}{}{}>",
                        n.q("del"),
                        n.decl(),
                        n.annotation_attrs(id, author, date)
                    )
                    .as_bytes(),
                );
            }
            out.extend_from_slice(self.main.get(r.start..r.tag_end).unwrap_or_default());
            if let Some((a, e)) = r.rpr {
                out.extend_from_slice(&renumber_ids(
                    self.main.get(a..e).unwrap_or_default(),
                    &mut *next_id,
                ));
            }
            if let Some(q) = &tq {
                out.push(b'<');
                out.extend_from_slice(&if s.del_after.is_some() {
                    n.q("delText").into_bytes()
                } else {
                    q.clone()
                });
                out.extend_from_slice(b" xml:space=\"preserve\">");
                if s.cdata {
                    out.extend_from_slice(b"<![CDATA[");
                }
            }
            edits.push(Edit {
                at: b,
                del: 0,
                phase: 0,
                seq: 0,
                bytes: out,
            });
        }
        edits.sort_by_key(|e| (e.at, e.phase, e.seq));
        edits
    }
}

/// Whether sorted edits can be applied: none starts inside what an earlier one replaced, all
/// within the part (a planning bug otherwise; nothing is written then).
pub(crate) fn consistent(main: &[u8], edits: &[Edit]) -> bool {
    let mut cursor = 0usize;
    for e in edits {
        if e.at < cursor || e.at.saturating_add(e.del) > main.len() {
            return false;
        }
        cursor = e.at + e.del;
    }
    true
}

/// Streams `main` with the (consistent) edits applied into `out`.
pub(crate) fn apply_to(main: &[u8], edits: &[Edit], out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut cursor = 0usize;
    for e in edits {
        out.write_all(main.get(cursor..e.at).unwrap_or_default())?;
        out.write_all(&e.bytes)?;
        cursor = e.at + e.del;
    }
    out.write_all(main.get(cursor..).unwrap_or_default())
}

fn point_key(p: Point) -> (bool, usize) {
    match p {
        Point::At(a) => (false, a),
        Point::Split(b) => (true, b),
    }
}
