//! Finding dates, times and relative offsets (`T+30m`) in text, in the formats write-ups use.
//!
//! Heuristic but conservative: every candidate is range-checked (months 1–12, real calendar days, hours
//! and minutes), version numbers and ratios are not dates, and a capitalised month name is required so
//! "3 may fail" is not the third of May.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};

use crate::framework::DateOrder;

/// A calendar date found in text; `year` is `None` when the text did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateHit {
    pub start: usize,
    pub end: usize,
    pub year: Option<i32>,
    pub month: u32,
    pub day: u32,
}

/// What a time of day looked like, which decides whether a 12-hour reading is possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Had AM or PM: unambiguous.
    Marked,
    /// No marker: 24-hour, or 12-hour if the author left the marker out.
    Bare,
}

/// A time of day found in text, as minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeHit {
    pub start: usize,
    pub end: usize,
    pub minutes: u32,
    pub clock: Clock,
}

/// A `T+...` offset from the start of an incident, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelHit {
    pub start: usize,
    pub end: usize,
    pub minutes: i64,
}

/// Any of the three, positioned in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    Date(DateHit),
    Time(TimeHit),
    Rel(RelHit),
}

impl Stamp {
    pub(crate) fn start(&self) -> usize {
        match self {
            Stamp::Date(d) => d.start,
            Stamp::Time(t) => t.start,
            Stamp::Rel(r) => r.start,
        }
    }

    pub(crate) fn end(&self) -> usize {
        match self {
            Stamp::Date(d) => d.end,
            Stamp::Time(t) => t.end,
            Stamp::Rel(r) => r.end,
        }
    }
}

const MONTH: &str = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";

struct Patterns {
    iso: Regex,
    day_month: Regex,
    month_day: Regex,
    slash: Regex,
    dotted: Regex,
    time: Regex,
    hour_ampm: Regex,
    relative: Regex,
    relative_clock: Regex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        iso: Regex::new(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\b|T)").ok()?,
        day_month: Regex::new(&format!(
            r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{MONTH}\b\.?(?:,?\s+(\d{{4}})\b)?"
        ))
        .ok()?,
        month_day: Regex::new(&format!(
            r"(?i)\b{MONTH}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
        ))
        .ok()?,
        slash: Regex::new(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b").ok()?,
        dotted: Regex::new(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b").ok()?,
        time: Regex::new(r"(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:\s?([AaPp])\.?[Mm]\b\.?)?").ok()?,
        hour_ampm: Regex::new(r"\b(\d{1,2})\s?([AaPp])\.?[Mm]\b\.?").ok()?,
        relative: Regex::new(r"\bT\s?\+\s?(\d{1,4})\s?(m|mins?|minutes?|h|hrs?|hours?|d|days?)\b").ok()?,
        relative_clock: Regex::new(r"\bT\s?\+\s?(\d{1,3}):(\d{2})\b").ok()?,
    })
});

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let names = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    names
        .iter()
        .position(|m| lower.starts_with(m))
        .map(|i| i as u32 + 1)
}

fn num(c: &Captures<'_>, i: usize) -> Option<u32> {
    c.get(i)?.as_str().parse().ok()
}

fn valid(year: Option<i32>, month: u32, day: u32) -> bool {
    NaiveDate::from_ymd_opt(year.unwrap_or(2000), month, day).is_some()
}

fn date(start: usize, end: usize, year: Option<i32>, month: u32, day: u32) -> Option<DateHit> {
    valid(year, month, day).then_some(DateHit {
        start,
        end,
        year,
        month,
        day,
    })
}

fn plausible_year(y: i32) -> Option<i32> {
    (1970..=2199).contains(&y).then_some(y)
}

/// Which way ambiguous `a/b/yyyy` dates read in this text: day first only when the order says so, or
/// when it is automatic and some slash date in the text is unambiguously day first (first part > 12).
fn day_first(p: &Patterns, text: &str, order: DateOrder) -> bool {
    match order {
        DateOrder::Dmy => true,
        DateOrder::Mdy => false,
        DateOrder::Auto => p
            .slash
            .captures_iter(text)
            .any(|c| num(&c, 1).is_some_and(|a| a > 12)),
    }
}

/// Every date in `text`, in order, without overlaps.
pub(crate) fn find_dates(text: &str, order: DateOrder) -> Vec<DateHit> {
    let Some(p) = PATTERNS.as_ref() else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    for c in p.iso.captures_iter(text) {
        let (Some(all), Some(y), Some(m), Some(d)) = (c.get(0), num(&c, 1), num(&c, 2), num(&c, 3)) else {
            continue;
        };
        let end = c.get(3).map_or(all.end(), |g| g.end());
        hits.extend(plausible_year(y as i32).and_then(|y| date(all.start(), end, Some(y), m, d)));
    }
    let capitalised = |m: &regex::Match<'_>| m.as_str().starts_with(|c: char| c.is_uppercase());
    for c in p.day_month.captures_iter(text) {
        let (Some(all), Some(d), Some(mname)) = (c.get(0), num(&c, 1), c.get(2)) else {
            continue;
        };
        if !capitalised(&mname) {
            continue;
        }
        let year = num(&c, 3).and_then(|y| plausible_year(y as i32));
        let end = if year.is_some() { all.end() } else { mname.end() };
        hits.extend(month_number(mname.as_str()).and_then(|m| date(all.start(), end, year, m, d)));
    }
    for c in p.month_day.captures_iter(text) {
        let (Some(all), Some(mname), Some(d)) = (c.get(0), c.get(1), num(&c, 2)) else {
            continue;
        };
        if !capitalised(&mname) {
            continue;
        }
        let year = num(&c, 3).and_then(|y| plausible_year(y as i32));
        let end = if year.is_some() {
            all.end()
        } else {
            c.get(2).map_or(all.end(), |g| g.end())
        };
        hits.extend(month_number(mname.as_str()).and_then(|m| date(all.start(), end, year, m, d)));
    }
    let dmy = day_first(p, text, order);
    for c in p.slash.captures_iter(text) {
        let (Some(all), Some(a), Some(b), Some(y)) = (c.get(0), num(&c, 1), num(&c, 2), c.get(3)) else {
            continue;
        };
        let year: i32 = y.as_str().parse().unwrap_or(0);
        let year = if y.as_str().len() == 2 { 2000 + year } else { year };
        let (day, month) = if a > 12 || (dmy && b <= 12) {
            (a, b)
        } else {
            (b, a)
        };
        hits.extend(plausible_year(year).and_then(|y| date(all.start(), all.end(), Some(y), month, day)));
    }
    for c in p.dotted.captures_iter(text) {
        let (Some(all), Some(d), Some(m), Some(y)) = (c.get(0), num(&c, 1), num(&c, 2), num(&c, 3)) else {
            continue;
        };
        // A version number like 1.2.2024 would need a dot before or after it; dates stand alone.
        let before = text.get(..all.start()).and_then(|t| t.chars().next_back());
        let after = text.get(all.end()..).and_then(|t| t.chars().next());
        if before == Some('.')
            || (after == Some('.')
                && text
                    .get(all.end() + 1..)
                    .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit())))
        {
            continue;
        }
        hits.extend(plausible_year(y as i32).and_then(|y| date(all.start(), all.end(), Some(y), m, d)));
    }
    dedupe(hits, |h| (h.start, h.end))
}

/// Every time of day in `text`, in order, without overlaps.
pub(crate) fn find_times(text: &str) -> Vec<TimeHit> {
    let Some(p) = PATTERNS.as_ref() else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    for c in p.time.captures_iter(text) {
        let (Some(all), Some(h), Some(m)) = (c.get(0), num(&c, 1), num(&c, 2)) else {
            continue;
        };
        let before = text.get(..all.start()).and_then(|t| t.chars().next_back());
        if before.is_some_and(|b| b.is_ascii_digit() || b == ':' || b == '.' || b == '+') {
            continue;
        }
        let after = text
            .get(c.get(2).map_or(all.end(), |g| g.end())..)
            .and_then(|t| t.chars().next());
        if after.is_some_and(|a| a.is_ascii_digit()) {
            continue;
        }
        let marker = c.get(3).map(|g| g.as_str().to_ascii_lowercase());
        hits.extend(time(all.start(), all.end(), h, m, marker.as_deref()));
    }
    for c in p.hour_ampm.captures_iter(text) {
        let (Some(all), Some(h), Some(marker)) = (c.get(0), num(&c, 1), c.get(2)) else {
            continue;
        };
        let before = text.get(..all.start()).and_then(|t| t.chars().next_back());
        if before.is_some_and(|b| b == ':' || b == '.') {
            continue;
        }
        hits.extend(time(
            all.start(),
            all.end(),
            h,
            0,
            Some(&marker.as_str().to_ascii_lowercase()),
        ));
    }
    dedupe(hits, |h| (h.start, h.end))
}

fn time(start: usize, end: usize, hour: u32, minute: u32, marker: Option<&str>) -> Option<TimeHit> {
    if minute > 59 {
        return None;
    }
    let (hour, clock) = match marker {
        Some(m) => {
            if !(1..=12).contains(&hour) {
                return None;
            }
            let h = match (m, hour) {
                ("a", 12) => 0,
                ("a", h) => h,
                (_, 12) => 12,
                (_, h) => h + 12,
            };
            (h, Clock::Marked)
        }
        None if hour <= 23 => (hour, Clock::Bare),
        None => return None,
    };
    Some(TimeHit {
        start,
        end,
        minutes: hour * 60 + minute,
        clock,
    })
}

/// Every `T+...` offset in `text`.
pub(crate) fn find_relative(text: &str) -> Vec<RelHit> {
    let Some(p) = PATTERNS.as_ref() else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    for c in p.relative.captures_iter(text) {
        let (Some(all), Some(n), Some(unit)) = (c.get(0), num(&c, 1), c.get(2)) else {
            continue;
        };
        let factor = match unit.as_str().chars().next() {
            Some('m') => 1,
            Some('h') => 60,
            _ => 1440,
        };
        hits.push(RelHit {
            start: all.start(),
            end: all.end(),
            minutes: i64::from(n) * factor,
        });
    }
    for c in p.relative_clock.captures_iter(text) {
        let (Some(all), Some(h), Some(m)) = (c.get(0), num(&c, 1), num(&c, 2)) else {
            continue;
        };
        if m < 60 {
            hits.push(RelHit {
                start: all.start(),
                end: all.end(),
                minutes: i64::from(h * 60 + m),
            });
        }
    }
    dedupe(hits, |h| (h.start, h.end))
}

/// Every date, time and offset in `text`, in order; a time inside a date or offset is dropped.
pub(crate) fn find_stamps(text: &str, order: DateOrder) -> Vec<Stamp> {
    let mut all: Vec<Stamp> = find_dates(text, order).into_iter().map(Stamp::Date).collect();
    all.extend(find_relative(text).into_iter().map(Stamp::Rel));
    all.extend(find_times(text).into_iter().map(Stamp::Time));
    dedupe(all, |s| (s.start(), s.end()))
}

/// Sorts by start (longest first on ties) and drops anything overlapping an earlier kept hit.
fn dedupe<T: Copy>(mut hits: Vec<T>, span: impl Fn(&T) -> (usize, usize)) -> Vec<T> {
    hits.sort_by_key(|h| {
        let (s, e) = span(h);
        (s, usize::MAX - e)
    });
    let mut out: Vec<T> = Vec::with_capacity(hits.len());
    let mut last_end = 0;
    for h in hits {
        let (s, e) = span(&h);
        if out.is_empty() || s >= last_end {
            last_end = e;
            out.push(h);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    type Found<'a> = (Option<i32>, u32, u32, &'a str);

    fn dates(text: &str) -> Vec<Found<'_>> {
        find_dates(text, DateOrder::Auto)
            .into_iter()
            .map(|d| (d.year, d.month, d.day, &text[d.start..d.end]))
            .collect()
    }

    #[test]
    fn reads_dates_in_common_formats() {
        let cases: &[(&str, Found<'_>)] = &[
            ("on 2024-01-15 we", (Some(2024), 1, 15, "2024-01-15")),
            ("at 2024-01-15T09:02Z", (Some(2024), 1, 15, "2024-01-15")),
            ("15 Jan 2024", (Some(2024), 1, 15, "15 Jan 2024")),
            (
                "the 3rd of March, 2023.",
                (Some(2023), 3, 3, "3rd of March, 2023"),
            ),
            ("January 15", (None, 1, 15, "January 15")),
            ("Jan 23rd, 2019 outage", (Some(2019), 1, 23, "Jan 23rd, 2019")),
            ("19. April, 11:00", (None, 4, 19, "19. April")),
            ("01/15/2024", (Some(2024), 1, 15, "01/15/2024")),
            ("15.01.2024", (Some(2024), 1, 15, "15.01.2024")),
            ("2021/12/10", (Some(2021), 12, 10, "2021/12/10")),
        ];
        for (text, expect) in cases {
            assert_eq!(dates(text), vec![*expect], "{text}");
        }
    }

    #[test]
    fn slash_dates_follow_the_texts_own_convention() {
        let text = "03/04/2024 and 25/04/2024";
        let got = dates(text);
        assert_eq!((got[0].1, got[0].2), (4, 3), "day first because 25/04 proves it");
        assert_eq!((dates("03/04/2024")[0].1, dates("03/04/2024")[0].2), (3, 4));
    }

    #[test]
    fn does_not_read_versions_verbs_or_impossible_dates_as_dates() {
        for text in [
            "version 1.270.0",
            "2.294",
            "step 3 may fail",
            "2024-13-40",
            "31 Feb 2023",
            "v1.15.01.2024.3",
            "May 2024",
        ] {
            assert!(dates(text).is_empty(), "{text}: {:?}", dates(text));
        }
    }

    #[test]
    fn reads_times_with_and_without_markers() {
        let times: Vec<(u32, Clock)> = find_times("09:02, 9:02 PM, 12:05 am, 14:30:15 and 9am")
            .into_iter()
            .map(|t| (t.minutes, t.clock))
            .collect();
        assert_eq!(
            times,
            vec![
                (542, Clock::Bare),
                (1262, Clock::Marked),
                (5, Clock::Marked),
                (870, Clock::Bare),
                (540, Clock::Marked)
            ]
        );
        assert!(find_times("ratio 16:9, 25:00, 1:1000, 10:75").is_empty());
    }

    #[test]
    fn reads_relative_offsets() {
        let rel: Vec<i64> = find_relative("T+30m, T+2h, T + 1 day, T+01:15")
            .into_iter()
            .map(|r| r.minutes)
            .collect();
        assert_eq!(rel, vec![30, 120, 1440, 75]);
    }

    #[test]
    fn stamps_do_not_overlap() {
        let stamps = find_stamps("2024-01-15T09:02 then T+30m", DateOrder::Auto);
        assert_eq!(stamps.len(), 3);
        assert!(matches!(stamps[1], Stamp::Time(TimeHit { minutes: 542, .. })));
    }
}
