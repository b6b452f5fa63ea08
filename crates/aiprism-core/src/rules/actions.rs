//! Action items without an owner or a due date.
//!
//! In an action section every list-like line is an item: bullets, numbers, labels such as `PA1a:`, and
//! table rows. Indented sub-bullets and wrapped lines belong to the item above them. Items marked done
//! (✅, `[x]`, "(Done)", struck through) need neither. An owner is an `owner:` label, an `@mention`, "assigned
//! to ...", a team or a capitalised name in parentheses, "— Alice" at the end, "X team will ...", or an
//! owner column of a table; a due date is any date, "by Q3", "ETA:", "ECD", "due ...", "within two
//! weeks", "March 2025", "sprint 12", or a date column. "Owner: TBD" and "ETA: ?" count as missing. An
//! owner or date in the section title covers every item.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{self, lines, word_count};
use super::{Hit, ParamError, SectionCtx, dates};
use crate::framework::{ActionParams, DateOrder};

struct Patterns {
    label: Regex,
    owner: Vec<Regex>,
    name_paren: Regex,
    dash_name: Regex,
    capital_team: Regex,
    date: Vec<Regex>,
    unfilled: Regex,
    done: Regex,
    separator_cell: Regex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    let all = |ps: &[&str]| ps.iter().map(|p| Regex::new(p).ok()).collect::<Option<Vec<_>>>();
    Some(Patterns {
        label: Regex::new(r"^([A-Z]{1,4})-?\d{1,3}[a-z]?[ \t]*[:.)][ \t]*").ok()?,
        owner: all(&[
            r"(?i)\b(?:owners?|assignees?|responsible|accountable|dri|poc|point of contact|action by)\s*[:=]",
            r"(?i)\bowners?\s*[-–—]\s*\S",
            r"(?i)\b(?:owned|assigned|led|driven|actioned|handled)\s+(?:by|to)\s+\S",
            r"(?:^|[^\w.])@[A-Za-z0-9][\w.-]*",
            r"(?i)\([^()\n]*\b(?:team|squad|group|org|crew|guild|owner|on-?call)\b[^()\n]*\)",
            r"(?i)\bteam\s+(?:will|should|to|owns|must|is responsible)\b",
            r"(?i)\bteam\s*[:=]",
        ])?,
        name_paren: Regex::new(r"\(\s*([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3})\s*\)").ok()?,
        dash_name: Regex::new(r"\s[—–-]\s*([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})\s*\.?\s*$").ok()?,
        capital_team: Regex::new(r"\b([A-Z][\w&-]*)(?:\s+[A-Z][\w&-]*){0,2}\s+[Tt]eam\b").ok()?,
        date: all(&[
            r"(?i)\b(?:eta|ecd|due(?:\s+date)?|deadline|target(?:\s+date)?|completion date|by when)\s*[:=\-–]\s*\S",
            r"(?i)\b(?:by|before|until|due|no later than|in|during|for|targeting|target)\s+(?:the\s+)?(?:end\s+of\s+)?(?:Q[1-4]|H[12]|FY\s?'?\d{2,4}|EO[DWMQY]\b|next\s+(?:week|month|quarter|sprint|release)|this\s+(?:week|month|quarter|sprint)|(?:mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)",
            r"\b(?:Q[1-4]|H[12])\s*['’]?\s*(?:FY)?\s*'?\d{2,4}\b",
            r"\bFY\s?'?\d{2,4}\b",
            r"(?i)\bwithin\s+(?:\d+|one|two|three|four|five|six|a|an)\s+(?:business\s+|working\s+)?(?:days?|weeks?|months?|sprints?|quarters?)\b",
            r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{4}\b",
            r"(?i)\bsprint\s+\d+\b",
            r"(?i)\b(?:eta|ecd)\b",
            r"(?i)\bdue\s+(?:on|by|date|in|before|end)\b",
        ])?,
        unfilled: Regex::new(
            r"(?i)\b(?:eta|ecd|due(?:\s+date)?|deadline|target(?:\s+date)?|owners?|assignees?|dri|responsible)\s*[:=\-–]?\s*(?:tbd|tbc|tba|\?+|n/?a|unknown|none|xx+|-+)(?:\W|$)",
        )
        .ok()?,
        done: Regex::new(
            r"(?i)[✅✔☑✓]|[(\[]\s*(?:done|completed?|fixed|resolved|closed|shipped)\s*[)\]]|^\W*(?:done|completed?|fixed|resolved|closed)\b\s*[:\-–—]|^\s*(?:[-*+]\s+)?\[[xX]\]|~~[^~]+~~",
        )
        .ok()?,
        separator_cell: Regex::new(r"^\s*:?-{2,}:?\s*$").ok()?,
    })
});

/// Words in parentheses or after a dash that are statuses or labels, not people.
const NOT_NAMES: &[&str] = &[
    "done",
    "pr",
    "issue",
    "optional",
    "tbd",
    "tbc",
    "tba",
    "wip",
    "high",
    "medium",
    "low",
    "critical",
    "note",
    "link",
    "ongoing",
    "in progress",
    "blocked",
    "open",
    "closed",
    "yes",
    "no",
    "n/a",
    "see",
    "required",
    "completed",
    "complete",
    "pending",
    "draft",
    "new",
    "urgent",
    "p0",
    "p1",
    "p2",
    "p3",
    "p4",
];

/// First words that make "X Team" a generic phrase rather than a named team.
const NOT_TEAMS: &[&str] = &[
    "The", "A", "An", "Our", "This", "That", "Each", "Every", "Whole", "Entire", "Other", "Any", "No",
];

/// The compiled action-item check.
pub(crate) struct ActionCheck {
    params: ActionParams,
    owner_extra: Vec<Regex>,
    date_extra: Vec<Regex>,
}

struct Item {
    quote: (usize, usize),
    text: String,
    cells: Vec<String>,
    /// The owner and date columns of the item's table, if it is a table row.
    columns: (Option<usize>, Option<usize>),
    question: bool,
    /// Marked done on its first line (a checked box is consumed with the list marker).
    done: bool,
}

impl ActionCheck {
    pub(crate) fn new(params: &ActionParams) -> Result<ActionCheck, ParamError> {
        let compile = |name: &str, ps: &[String]| {
            ps.iter()
                .map(|p| {
                    Regex::new(p).map_err(|e| ParamError {
                        param: name.into(),
                        pattern: p.clone(),
                        message: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(ActionCheck {
            params: params.clone(),
            owner_extra: compile("owner_patterns", &params.owner_patterns)?,
            date_extra: compile("date_patterns", &params.date_patterns)?,
        })
    }

    fn has_owner(&self, p: &Patterns, text: &str) -> bool {
        if p.owner
            .iter()
            .chain(&self.owner_extra)
            .any(|re| re.is_match(text))
        {
            return true;
        }
        let named = |name: &str| !NOT_NAMES.contains(&name.trim().to_lowercase().as_str());
        if p.name_paren
            .captures_iter(text)
            .any(|c| c.get(1).is_some_and(|m| named(m.as_str())))
        {
            return true;
        }
        let first_line = text.lines().next().unwrap_or("");
        if p.dash_name
            .captures(first_line)
            .and_then(|c| c.get(1))
            .is_some_and(|m| named(m.as_str()))
        {
            return true;
        }
        p.capital_team
            .captures_iter(text)
            .any(|c| c.get(1).is_some_and(|m| !NOT_TEAMS.contains(&m.as_str())))
    }

    fn has_date(&self, p: &Patterns, text: &str) -> bool {
        p.date.iter().chain(&self.date_extra).any(|re| re.is_match(text))
            || !dates::find_dates(text, DateOrder::Auto).is_empty()
    }

    pub(crate) fn run(&self, ctx: &SectionCtx<'_>) -> Vec<Hit> {
        let Some(p) = PATTERNS.as_ref() else {
            return Vec::new();
        };
        let title = p.unfilled.replace_all(ctx.section.title, " ");
        let title_owner = self.has_owner(p, &title);
        let title_date = self.has_date(p, &title);
        let items = collect_items(p, ctx.masked.as_str());
        let mut hits = Vec::new();
        for item in items {
            if item.done
                || p.done.is_match(&item.text)
                || reports_done_work(&item.text)
                || word_count(&item.text) < self.params.min_words as usize
            {
                continue;
            }
            let filled = |col: Option<usize>| {
                col.and_then(|c| item.cells.get(c)).is_some_and(|v| {
                    let v = v.trim();
                    word_count(v) > 0 && !p.unfilled.is_match(&format!("owner: {v}"))
                })
            };
            let signals = p.unfilled.replace_all(&item.text, " ");
            let owner = title_owner || filled(item.columns.0) || self.has_owner(p, &signals);
            let date = title_date || filled(item.columns.1) || self.has_date(p, &signals);
            let missing_owner = self.params.require_owner && !owner;
            let missing_date = self.params.require_date && !date;
            let (detail, confidence) = match (missing_owner, missing_date) {
                (true, true) => ("it names no owner and no due date", 0.7),
                (true, false) => ("it names no owner", 0.6),
                (false, true) => ("it has no due date", 0.6),
                (false, false) => continue,
            };
            let confidence = if item.question {
                confidence - 0.1
            } else {
                confidence
            };
            let span = text::prefix(ctx.text(), item.quote.0, item.quote.1, 120);
            if span.1 > span.0 {
                hits.push(Hit {
                    span: Some(span),
                    confidence,
                    detail: detail.to_string(),
                });
            }
        }
        hits
    }
}

/// Past-tense verbs that open a line describing work already done ("Reverted the change").
const DONE_VERBS: &[&str] = &[
    "sent", "made", "built", "wrote", "ran", "put", "kept", "found", "gave", "took", "held", "paid", "told",
    "brought", "began", "met", "led", "set", "spent", "rolled", "shipped",
];

/// Whether an item reports finished work rather than asking for some: it starts with a past-tense verb
/// ("Reverted...", "Issued...", "Sent..."). Such a line needs no owner or due date.
fn reports_done_work(text: &str) -> bool {
    let first = text
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .split_whitespace()
        .next()
        .unwrap_or("");
    let starts_upper = first.starts_with(|c: char| c.is_uppercase());
    let lower = first.to_lowercase();
    starts_upper
        && ((lower.len() > 4 && lower.ends_with("ed") && !lower.ends_with("eed"))
            || DONE_VERBS.contains(&lower.as_str()))
}

/// Splits a table row into trimmed cell ranges (outer pipes dropped).
fn cells(line_start: usize, line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in line.char_indices() {
        if c == '|' {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, line.len()));
    let trimmed_line = line.trim();
    if trimmed_line.starts_with('|') && !out.is_empty() {
        out.remove(0);
    }
    if trimmed_line.ends_with('|') {
        out.pop();
    }
    out.into_iter()
        .map(|(s, e)| text::trim_range(line, s, e))
        .map(|(s, e)| (line_start + s, line_start + e))
        .collect()
}

fn collect_items(p: &Patterns, masked: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut current: Option<(usize, usize)> = None; // (index in items, indent)
    let mut after_blank = false;
    let mut table_rows = 0usize; // rows seen in the current table
    let mut header_pushed = false; // the table's first row was pushed as an item
    let mut columns: (Option<usize>, Option<usize>) = (None, None); // owner and date columns
    for (line_start, line) in lines(masked) {
        let indent = line.len() - line.trim_start().len();
        let content = &line[indent..];
        if content.trim().is_empty() {
            after_blank = true;
            table_rows = 0;
            continue;
        }
        if content.starts_with('|') {
            if table_rows == 0 {
                columns = (None, None);
            }
            let ranges = cells(line_start, line);
            let values: Vec<String> = ranges
                .iter()
                .map(|(s, e)| masked.get(*s..*e).unwrap_or("").to_string())
                .collect();
            if !values.is_empty() && values.iter().all(|v| p.separator_cell.is_match(v)) {
                // The row above was the header: it names the columns and is not an item.
                if table_rows == 1
                    && header_pushed
                    && let Some(row) = items.pop()
                {
                    let names: Vec<String> = row.cells.iter().map(|c| c.to_lowercase()).collect();
                    let find = |keys: &[&str]| names.iter().position(|n| keys.iter().any(|k| n.contains(k)));
                    columns = (
                        find(&["owner", "assignee", "responsible", "dri", "who"]),
                        find(&["due", "date", "eta", "ecd", "deadline", "when", "target"]),
                    );
                }
                table_rows += 1;
                continue;
            }
            let quote = ranges
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != columns.0 && Some(*i) != columns.1)
                .map(|(_, r)| *r)
                .find(|(s, e)| {
                    masked
                        .get(*s..*e)
                        .is_some_and(|t| t.chars().any(char::is_alphabetic))
                });
            header_pushed = false;
            if let Some(quote) = quote {
                let text = values.join(" | ");
                items.push(Item {
                    quote,
                    text,
                    cells: values,
                    columns,
                    question: false,
                    done: false,
                });
                header_pushed = table_rows == 0;
            }
            table_rows += 1;
            current = None;
            after_blank = false;
            continue;
        }
        table_rows = 0;
        let marker = text::marker_len(content).max(p.label.find(content).map_or(0, |m| m.end()));
        let is_root_cause_label = p
            .label
            .captures(content)
            .and_then(|c| c.get(1))
            .is_some_and(|m| m.as_str() == "RC");
        if marker > 0 && !content.starts_with('#') && !content.starts_with('>') {
            if let Some((i, parent_indent)) = current
                && indent > parent_indent
            {
                // A sub-bullet: part of the item above.
                if let Some(item) = items.get_mut(i) {
                    item.text.push('\n');
                    item.text.push_str(content);
                }
                after_blank = false;
                continue;
            }
            if is_root_cause_label {
                current = None;
                continue;
            }
            let body = line_start + indent + marker;
            let (qs, qe) = text::trim_range(masked, body, line_start + line.len());
            let question = content.trim_end().ends_with('?');
            let text = content.get(marker..).unwrap_or("").to_string();
            let done = p.done.is_match(content);
            items.push(Item {
                quote: (qs, qe),
                text,
                cells: Vec::new(),
                columns: (None, None),
                question,
                done,
            });
            current = Some((items.len() - 1, indent));
        } else if let Some((i, parent_indent)) = current {
            if indent > parent_indent || !after_blank {
                if let Some(item) = items.get_mut(i) {
                    item.text.push('\n');
                    item.text.push_str(content);
                }
            } else {
                current = None;
            }
        }
        after_blank = false;
    }
    items
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_kind;
    use crate::framework::{ActionParams, RuleParams};

    fn check_with(params: ActionParams, title: &str, text: &str, expect: &[(&str, &str)]) {
        let got = run_kind(RuleParams::ActionOwnerDate(params), title, text);
        let got: Vec<(String, String)> = got.into_iter().map(|f| (f.quote, f.description)).collect();
        assert_eq!(got.len(), expect.len(), "{got:#?}");
        for ((quote, description), (q, d)) in got.iter().zip(expect) {
            assert_eq!(quote, q);
            assert!(description.contains(d), "{description:?} lacks {d:?}");
        }
    }

    fn check(text: &str, expect: &[(&str, &str)]) {
        check_with(ActionParams::default(), "Action items", text, expect);
    }

    #[test]
    fn items_without_owner_or_date_are_reported_one_per_line() {
        check(
            "- Add alerts when disk usage reaches 90%\n- Revisit the on-call rotation (SRE team) by Q3",
            &[(
                "Add alerts when disk usage reaches 90%",
                "no owner and no due date",
            )],
        );
        check(
            "1. Add alerting on config load failures",
            &[("Add alerting on config load failures", "no owner and no due date")],
        );
        check(
            "PA1a: Update the SOP to require verification",
            &[(
                "Update the SOP to require verification",
                "no owner and no due date",
            )],
        );
    }

    #[test]
    fn owners_and_dates_are_recognised_in_many_forms() {
        for ok in [
            "- Add alerts. Owner: Priya. Due: 2024-03-01",
            "- Add alerts (Payments Team), ETA 15 March",
            "- Add alerts @lucas by end of Q3",
            "- Add alerts, assigned to Jordan, due next sprint",
            "- Add alerts within two weeks — Alice",
            "- Add alerts (Alice Smith) by Friday",
            "- The error tracking team will add alerts by March 2025",
            "- Add alerts [owner: SRE] ECD 01/15/2025",
        ] {
            check(ok, &[]);
        }
        check(
            "- Add alerts (Payments Team)",
            &[("Add alerts (Payments Team)", "it has no due date")],
        );
        check(
            "- Add alerts by Q4 2025",
            &[("Add alerts by Q4 2025", "it names no owner")],
        );
    }

    #[test]
    fn unfilled_owner_or_date_counts_as_missing() {
        check(
            "- Add alerts. Owner: TBD. ETA: ?",
            &[("Add alerts. Owner: TBD. ETA: ?", "no owner and no due date")],
        );
        check("- Add alerts (Done)", &[]);
        check("- ✅ Reverted the change and released 1.2.1", &[]);
        check("- [x] Rotate the credentials", &[]);
        check(
            "- Sent notices to all 305 affected teams\n- Reverted the change in 1.2.1",
            &[],
        );
        check(
            "- Need to add alerting for disk space",
            &[("Need to add alerting for disk space", "no owner and no due date")],
        );
    }

    #[test]
    fn sub_bullets_and_wrapped_lines_belong_to_their_item() {
        let text = "* Finding a way to avoid the same mistake\n  * Team knowledge sharing?\n  * Owner: @olblak, due 2021-07-01\n* Revisit automatic pull requests to keep\n  things up to date (Infra Team) by Q3";
        check(text, &[]);
    }

    #[test]
    fn tables_use_their_owner_and_date_columns() {
        let text = "| Action | Owner | Due |\n|---|---|---|\n| Add disk alerts | Priya | 2024-03-01 |\n| Fix the culler | TBD | |";
        check(text, &[("Fix the culler", "no owner and no due date")]);
    }

    #[test]
    fn a_date_or_owner_in_the_title_covers_every_item() {
        check_with(
            ActionParams::default(),
            "Long-term improvements (Target: Q4 2025 - Q1 2026)",
            "- Version compatibility testing: add tests. Owner: @lucas",
            &[],
        );
    }

    #[test]
    fn prose_short_items_and_root_cause_labels_are_not_items() {
        check(
            "We will add alerts soon.\n\n- With S&O\nRC1: The SOP was unclear",
            &[],
        );
        let relaxed = ActionParams {
            require_date: false,
            ..ActionParams::default()
        };
        check_with(
            relaxed,
            "Next steps",
            "- Add alerts for disk usage",
            &[("Add alerts for disk usage", "it names no owner")],
        );
    }
}
