//! Timeline checks: a timeline needs dates or times, entries in order, and an explanation for long gaps.
//!
//! An *entry* is a line whose first date/time sits at its start (after list markers, table pipes and
//! emphasis). A line holding nothing but a date ("2019-01-22") sets the day for the time-only entries
//! below it; a date in prose before the first entry ("all events happened on 2019-10-21") does the same.
//! Time-only entries inherit the current day; a time far earlier than the one before it is read as the
//! next day, and a bare 3:28 after 11:30 as 15:28 when the section never uses a 24-hour time. Gaps are
//! measured between consecutive entries, weekends optionally left out; when either side has no time of
//! day, only whole silent days count, so the gap is never overstated.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;

use super::dates::{self, Clock, Stamp};
use super::text::{self, lines};
use super::{Hit, SectionCtx};
use crate::framework::TimelineParams;

const DEFAULT_EXPLANATIONS: &[&str] = &[
    "weekend",
    "week-end",
    "overnight",
    "over night",
    "next day",
    "next morning",
    "following day",
    "following morning",
    "no activity",
    "no further activity",
    "no action",
    "no update",
    "no progress",
    "nothing happened",
    "quiet",
    "paused",
    "on hold",
    "waiting",
    "waited",
    "awaiting",
    "wait for",
    "wait the",
    "holiday",
    "out of office",
    "ooo",
    "out of hours",
    "off hours",
    "outside business hours",
    "ooh",
    "idle",
    "dormant",
    "gap",
    "delay",
    "pending",
    "resumed",
    "no response",
];

/// The compiled timeline check.
pub(crate) struct TimelineCheck {
    params: TimelineParams,
    explanations: Option<Regex>,
}

impl TimelineCheck {
    pub(crate) fn new(params: &TimelineParams) -> Result<TimelineCheck, (String, String)> {
        let phrases: Vec<String> = DEFAULT_EXPLANATIONS
            .iter()
            .map(|s| s.to_string())
            .chain(params.explanations.iter().map(|s| s.trim().to_string()))
            .map(|p| regex::escape(&p))
            .collect();
        let pattern = format!(r"(?i)\b(?:{})", phrases.join("|"));
        let explanations = Regex::new(&pattern).map_err(|e| ("explanations".to_string(), e.to_string()))?;
        Ok(TimelineCheck {
            params: params.clone(),
            explanations: Some(explanations),
        })
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        let masked = ctx.masked.as_str();
        let stamps = dates::find_stamps(masked, self.params.date_order);
        if stamps.is_empty() {
            if !self.params.require_dates || text::word_count(masked) == 0 || children_have_stamps(ctx) {
                return Vec::new();
            }
            let first = text::sentences(masked).into_iter().next();
            let span = first.map(|(s, e)| text::prefix(ctx.text(), s, e, 120));
            return vec![Hit {
                span: span.filter(|(s, e)| e > s),
                confidence: 0.85,
                detail: "no entry in this timeline has a date or time".into(),
            }];
        }
        let entries = collect_entries(masked, &stamps, self.params.date_order);
        self.report(ctx, &entries)
    }

    fn report(&self, ctx: &SectionCtx<'_>, entries: &[Entry]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for pair in entries.windows(2) {
            let (prev, cur) = (&pair[0], &pair[1]);
            let Some(order) = compare(prev, cur) else { continue };
            let quote = text::prefix(ctx.text(), cur.body.0, cur.body.1, 120);
            let prev_label = ctx
                .text()
                .get(prev.stamp.0..prev.stamp.1)
                .unwrap_or("")
                .trim()
                .to_string();
            match order {
                Delta::Earlier { sure } if self.params.check_order => hits.push(Hit {
                    span: Some(quote),
                    confidence: if sure { 0.75 } else { 0.55 },
                    detail: format!("this entry is dated before the one listed above it ({prev_label})"),
                }),
                Delta::Later {
                    minutes,
                    weekend_minutes,
                    exact,
                } => {
                    let counted = if self.params.skip_weekends {
                        minutes - weekend_minutes
                    } else {
                        minutes
                    };
                    if counted <= i64::from(self.params.max_gap_hours) * 60 {
                        continue;
                    }
                    let around = ctx.masked.get(prev.line.0..cur.line.1).unwrap_or("");
                    if self.explanations.as_ref().is_some_and(|re| re.is_match(around)) {
                        continue;
                    }
                    let skipped = if self.params.skip_weekends && weekend_minutes > 0 {
                        ", weekend excluded"
                    } else {
                        ""
                    };
                    let bound = if exact { "" } else { "at least " };
                    hits.push(Hit {
                        span: Some(quote),
                        confidence: if exact { 0.6 } else { 0.5 },
                        detail: format!(
                            "{bound}{}{skipped} pass after the previous entry ({prev_label}) with no explanation of what happened in between",
                            duration(counted)
                        ),
                    });
                }
                Delta::Earlier { .. } => {}
            }
        }
        hits
    }
}

fn children_have_stamps(ctx: &SectionCtx<'_>) -> bool {
    ctx.children().iter().any(|c| {
        !dates::find_stamps(&c.title, crate::framework::DateOrder::Auto).is_empty()
            || !dates::find_stamps(&c.text, crate::framework::DateOrder::Auto).is_empty()
    })
}

/// "3 days 4 hours", "26 hours", "45 minutes".
fn duration(minutes: i64) -> String {
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match (days, hours) {
        (0, 0) => unit(mins, "minute"),
        (0, h) => unit(h, "hour"),
        (d, 0) => unit(d, "day"),
        (d, h) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

/// When an entry happened, as far as the text says.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A day (explicit or inherited) and maybe a time of day.
    Abs {
        date: Option<NaiveDate>,
        minute: Option<u32>,
        explicit: bool,
        year_known: bool,
    },
    /// Minutes after the incident started (`T+...`).
    Rel(i64),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The whole line (for looking for explanations around it).
    line: (usize, usize),
    /// The line after its list marker (what is quoted).
    body: (usize, usize),
    /// Where its date/time is written (for labels).
    stamp: (usize, usize),
    when: When,
}

/// How an entry relates to the one before it.
enum Delta {
    Earlier {
        sure: bool,
    },
    Later {
        minutes: i64,
        weekend_minutes: i64,
        exact: bool,
    },
}

fn compare(prev: &Entry, cur: &Entry) -> Option<Delta> {
    match (prev.when, cur.when) {
        (When::Rel(a), When::Rel(b)) => Some(if b < a {
            Delta::Earlier { sure: true }
        } else {
            Delta::Later {
                minutes: b - a,
                weekend_minutes: 0,
                exact: true,
            }
        }),
        (
            When::Abs {
                date: pd,
                minute: pm,
                year_known: py,
                ..
            },
            When::Abs {
                date: cd,
                minute: cm,
                explicit: ce,
                year_known: cy,
            },
        ) => {
            let weekdays_known = py && cy;
            match (pd, cd, pm, cm) {
                (Some(pd), Some(cd), Some(pm), Some(cm)) => {
                    let a = pd.and_hms_opt(pm / 60, pm % 60, 0)?;
                    let b = cd.and_hms_opt(cm / 60, cm % 60, 0)?;
                    let minutes = (b - a).num_minutes();
                    Some(if minutes < 0 {
                        Delta::Earlier { sure: ce }
                    } else {
                        let weekend = if weekdays_known { weekend_minutes(a, b) } else { 0 };
                        Delta::Later {
                            minutes,
                            weekend_minutes: weekend,
                            exact: true,
                        }
                    })
                }
                (Some(pd), Some(cd), _, _) => {
                    let days = (cd - pd).num_days();
                    if days < 0 {
                        return Some(Delta::Earlier { sure: ce });
                    }
                    // Only the whole days strictly between the two are certainly silent.
                    // (Ten years of days at most: any gap that long is reported whatever the weekends.)
                    let silent: Vec<NaiveDate> = (1..days.min(3660))
                        .filter_map(|i| pd.checked_add_signed(Duration::days(i)))
                        .collect();
                    let weekend = if weekdays_known {
                        silent.iter().filter(|d| is_weekend(**d)).count()
                    } else {
                        0
                    };
                    Some(Delta::Later {
                        minutes: silent.len() as i64 * 1440,
                        weekend_minutes: weekend as i64 * 1440,
                        exact: false,
                    })
                }
                (None, None, Some(pm), Some(cm)) => Some(if cm < pm {
                    Delta::Earlier { sure: false }
                } else {
                    Delta::Later {
                        minutes: i64::from(cm - pm),
                        weekend_minutes: 0,
                        exact: true,
                    }
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Minutes of `a..b` that fall on a Saturday or Sunday.
fn weekend_minutes(a: chrono::NaiveDateTime, b: chrono::NaiveDateTime) -> i64 {
    let mut total = 0;
    let mut day = a.date();
    let mut guard = 0;
    while day <= b.date() && guard < 4000 {
        guard += 1;
        if is_weekend(day) {
            let (Some(start), Some(next)) = (
                day.and_hms_opt(0, 0, 0),
                day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)),
            ) else {
                break;
            };
            let from = start.max(a);
            let to = next.min(b);
            if to > from {
                total += (to - from).num_minutes();
            }
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    total
}

/// Skips list markers, emphasis and a leading "at"/"on"/"around" to where an entry's stamp would start.
fn entry_start(line: &str) -> usize {
    let indent = line.len() - line.trim_start().len();
    let mut at = indent + text::marker_len(&line[indent..]);
    loop {
        let rest = line.get(at..).unwrap_or("");
        let skip = rest.len()
            - rest
                .trim_start_matches(['*', '_', '~', '(', '[', ' ', '\t', '>'])
                .len();
        let word = [
            "at ",
            "on ",
            "around ",
            "approx. ",
            "approximately ",
            "by ",
            "At ",
            "On ",
            "Around ",
            "By ",
        ]
        .iter()
        .find(|w| rest[skip..].starts_with(**w))
        .map_or(0, |w| w.len());
        if skip + word == 0 {
            return at;
        }
        at += skip + word;
    }
}

/// Whether `between` (text between a date and a time) is only separators.
fn joins(between: &str) -> bool {
    between.len() <= 12
        && between.split_whitespace().all(|w| {
            matches!(
                w.trim_matches(|c: char| ",-–—~@|T*_".contains(c)),
                "" | "at" | "around" | "on"
            )
        })
}

fn collect_entries(masked: &str, stamps: &[Stamp], order: crate::framework::DateOrder) -> Vec<Entry> {
    // A bare hour above 12 anywhere, or any AM/PM, means the clock is 24-hour or explicit.
    let ambiguous_clock = !stamps.iter().any(|s| match s {
        Stamp::Time(t) => t.clock == Clock::Marked || t.minutes >= 13 * 60,
        _ => false,
    });
    let year_hint = dates::find_dates(masked, order).iter().find_map(|d| d.year);
    let mut entries: Vec<Entry> = Vec::new();
    let mut day: Option<(NaiveDate, bool)> = None; // current day, and whether its year is known
    let mut last_minute: Option<(Option<NaiveDate>, u32)> = None;
    let mut float_days = 0u32; // midnights crossed by times that have no day
    let mut idx = 0;
    for (line_start, line) in lines(masked) {
        let line_end = line_start + line.len();
        while idx < stamps.len() && stamps[idx].start() < line_start {
            idx += 1;
        }
        let in_line: Vec<Stamp> = stamps[idx..]
            .iter()
            .take_while(|s| s.end() <= line_end)
            .copied()
            .collect();
        let Some(first) = in_line.first().copied() else {
            continue;
        };
        let start = line_start + entry_start(line);
        let date_of = |d: &dates::DateHit, day: Option<(NaiveDate, bool)>| -> Option<(NaiveDate, bool)> {
            let year = d.year.or_else(|| day.map(|(x, _)| x.year())).or(year_hint);
            let date = NaiveDate::from_ymd_opt(year.unwrap_or(2000), d.month, d.day)?;
            Some((date, year.is_some()))
        };
        if first.start() > start + 16 {
            // Prose mentioning a date before the first entry sets the default day.
            if entries.is_empty()
                && let Some(Stamp::Date(d)) = in_line.iter().find(|s| matches!(s, Stamp::Date(_)))
            {
                day = date_of(d, day);
            }
            continue;
        }
        let mut stamp = (first.start(), first.end());
        let when = match first {
            Stamp::Rel(r) => When::Rel(r.minutes),
            Stamp::Date(d) => {
                let time = in_line.get(1).and_then(|s| match s {
                    Stamp::Time(t) if joins(masked.get(d.end..t.start).unwrap_or("x")) => Some(*t),
                    _ => None,
                });
                let Some((mut date, year_known)) = date_of(&d, day) else {
                    continue;
                };
                // A year inferred from context that would go back months is the next year (Dec -> Jan).
                if d.year.is_none()
                    && let Some((prev, _)) = day
                    && (prev - date).num_days() > 180
                {
                    date = date.with_year(date.year() + 1).unwrap_or(date);
                }
                let rest = masked.get(time.map_or(d.end, |t| t.end)..line_end).unwrap_or("");
                if time.is_none() && text::word_count(rest) <= 1 {
                    // A date heading: it sets the day for the entries below.
                    day = Some((date, year_known));
                    continue;
                }
                day = Some((date, year_known));
                if let Some(t) = time {
                    stamp.1 = t.end;
                    last_minute = Some((Some(date), t.minutes));
                }
                When::Abs {
                    date: Some(date),
                    minute: time.map(|t| t.minutes),
                    explicit: true,
                    year_known,
                }
            }
            Stamp::Time(t) => {
                let mut minute = t.minutes + if day.is_none() { float_days * 1440 } else { 0 };
                let mut date = day.map(|(d, _)| d);
                if let Some((_, last)) = last_minute.filter(|(d, _)| *d == date)
                    && minute < last
                {
                    if ambiguous_clock && t.clock == Clock::Bare && t.minutes < 720 && minute + 720 >= last {
                        minute += 720;
                    } else if last - minute > 360 {
                        // Far earlier than the previous time: the clock went past midnight.
                        match date.and_then(|d| d.succ_opt()) {
                            Some(next) => {
                                date = Some(next);
                                if let Some((d, _)) = day.as_mut() {
                                    *d = next;
                                }
                            }
                            None => {
                                float_days += 1;
                                minute += 1440;
                            }
                        }
                    }
                }
                last_minute = Some((date, minute));
                let year_known = day.is_some_and(|(_, k)| k);
                match date {
                    Some(d) => When::Abs {
                        date: Some(d),
                        minute: Some(minute % 1440),
                        explicit: false,
                        year_known,
                    },
                    None => When::Abs {
                        date: None,
                        minute: Some(minute),
                        explicit: false,
                        year_known: false,
                    },
                }
            }
        };
        let body_start = line_start + {
            let indent = line.len() - line.trim_start().len();
            indent + text::marker_len(&line[indent..])
        };
        let (bs, be) = text::trim_range(masked, body_start, line_end);
        let be = masked
            .get(bs..be)
            .map_or(be, |b| bs + b.trim_end_matches(['|', ' ', '\t']).len());
        entries.push(Entry {
            line: (line_start, line_end),
            body: (bs, be),
            stamp,
            when,
        });
    }
    // Each entry's explanation window runs to the end of the lines that follow it.
    let ends: Vec<usize> = entries
        .iter()
        .skip(1)
        .map(|e| e.line.0)
        .chain(std::iter::once(masked.len()))
        .collect();
    for (entry, end) in entries.iter_mut().zip(ends) {
        entry.line.1 = end.max(entry.line.1);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_kind;
    use crate::framework::{RuleParams, TimelineParams};

    fn check(text: &str, expect: &[&str]) {
        check_with(TimelineParams::default(), text, expect);
    }

    fn check_with(params: TimelineParams, text: &str, expect: &[&str]) {
        let got = run_kind(RuleParams::TimelineDates(params), "Timeline", text);
        let got: Vec<String> = got
            .iter()
            .map(|f| format!("{} => {}", f.quote, f.description))
            .collect();
        assert_eq!(got.len(), expect.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expect) {
            assert!(g.contains(e), "expected {e:?} in {g:?}");
        }
    }

    #[test]
    fn a_timeline_without_dates_is_reported() {
        check(
            "We noticed the problem.\nThen we fixed it.",
            &["We noticed the problem. => Timeline check: no entry in this timeline has a date or time"],
        );
        check("", &[]);
    }

    #[test]
    fn dated_timelines_in_order_pass() {
        check(
            "- 2024-01-15 09:02 Alert fired\n- 2024-01-15 09:30 Rolled back\n- 2024-01-15 10:00 Resolved",
            &[],
        );
        check(
            "| 2021-12-10 15:40 | Aware |\n| 2021-12-10 16:10 | Published |",
            &[],
        );
        check("- 9:02 AM: paged\n- 9:45 AM: mitigated\n- 1:15 PM: resolved", &[]);
        check("T+0m detection\nT+30m mitigation\nT+2h resolved", &[]);
    }

    #[test]
    fn entries_in_different_date_formats_are_compared() {
        let text = "- 15.01.2024 10:00 a\n- 01/16/2024 09:00 b\n- Jan 17, 2024 08:00 c\n- 2024-01-18T07:00 d\n- 19 January 2024, 6:00 AM e";
        check(text, &[]);
        check(
            "- 2024-01-18T07:00 d\n- Jan 17, 2024 08:00 c",
            &["Jan 17, 2024 08:00 c => Timeline check: this entry is dated before"],
        );
    }

    #[test]
    fn dates_without_a_year_take_it_from_the_section_or_stand_alone() {
        check(
            "- January 15, 10:00 report\n- January 17, 11:00 next",
            &["January 17, 11:00 next => Timeline check: 2 days 1 hour"],
        );
        check(
            "Events of 2024.\n- Dec 30 10:00 report\n- Dec 31 09:00 next\n- Jan 1 08:00 last",
            &[],
        );
    }

    #[test]
    fn out_of_order_entries_are_reported() {
        check(
            "2021-12-13 15:50 Started scanning images\n2021-12-13 14:30 Initial contact",
            &[
                "2021-12-13 14:30 Initial contact => Timeline check: this entry is dated before the one listed above it (2021-12-13 15:50)",
            ],
        );
        check("T+30m mitigated\nT+10m paged", &["T+10m paged"]);
    }

    #[test]
    fn gaps_are_reported_unless_explained() {
        check(
            "- 15 Jan 2024 10:00 Report received\n- 18 Jan 2024 11:00 Investigation started",
            &[
                "18 Jan 2024 11:00 Investigation started => Timeline check: 3 days 1 hour pass after the previous entry (15 Jan 2024 10:00)",
            ],
        );
        check(
            "- 15 Jan 2024 10:00 Report received, no activity until the team returned\n- 18 Jan 2024 11:00 Investigation started",
            &[],
        );
        check(
            "- 15 Jan 2024 10:00 Report received\n(quiet over the weekend)\n- 18 Jan 2024 11:00 Investigation started",
            &[],
        );
    }

    #[test]
    fn weekends_are_left_out_of_gaps_when_asked() {
        // Friday evening to Monday morning is 14 hours of working time.
        check(
            "- 2021-12-10 19:00 Discussed\n- 2021-12-13 09:15 Investigation started",
            &[],
        );
        let params = TimelineParams {
            skip_weekends: false,
            ..TimelineParams::default()
        };
        check_with(
            params,
            "- 2021-12-10 19:00 Discussed\n- 2021-12-13 09:15 Investigation started",
            &["2 days 14 hours"],
        );
    }

    #[test]
    fn date_headings_set_the_day_for_times_below() {
        let text = "2019-01-22\n\n- 2:54 PM PST: change merged\n- 3:28 PM PST: bad config uploaded\n\n2019-01-23\n\n- 4:49 AM: first report\n- 7:10 AM: second report";
        check(text, &[]);
        let gap = "2019-01-22\n- 2:54 PM: merged\n2019-01-25\n- 4:49 AM: first report";
        check(gap, &["4:49 AM: first report => Timeline check: 2 days 13 hours"]);
    }

    #[test]
    fn times_past_midnight_roll_over_to_the_next_day() {
        check("- 23:50 paged\n- 00:10 acknowledged", &[]);
    }

    #[test]
    fn date_only_entries_count_only_whole_silent_days() {
        check(
            "| 2021-12-17 14:40 | terminated |\n| 2021-12-17 | 2.17 published |\n| 2021-12-20 09:15 | checked |",
            &[],
        );
        check(
            "| 2021-12-20 09:15 | checked |\n| 2022-01-04 11:03 | follow-up |",
            &["follow-up => Timeline check: 11 days 1 hour, weekend excluded"],
        );
    }

    #[test]
    fn prose_dates_set_the_default_day() {
        let text = "Unless otherwise noted all events happened on 2019-10-21.\n\n- **2019-10-20 00:55: builds failing**\n- **01:38: alerts fired**\n- 08:19: requeued";
        check(text, &[]);
    }

    #[test]
    fn headings_in_sub_sections_carry_the_dates() {
        use super::super::{ContextSection, DocumentContext, SectionInput};
        let doc = DocumentContext::new(vec![
            ContextSection {
                title: "Timeline".into(),
                level: 2,
                text: "All times in IST".into(),
            },
            ContextSection {
                title: "08:52 PM".into(),
                level: 3,
                text: "Report arrives".into(),
            },
        ]);
        let section = SectionInput {
            index: 0,
            title: "Timeline",
            level: 2,
            text: "All times in IST",
        };
        let got = super::super::testing::run_kind_in(
            RuleParams::TimelineDates(TimelineParams::default()),
            &section,
            &doc,
        );
        assert!(got.is_empty(), "{got:?}");
    }
}
