//! Data-driven cases and deterministic property tests for [`find_quote`].

use super::*;

fn found(text: &str, quote: &str) -> Option<(String, MatchMethod)> {
    find_quote(text, quote).map(|m| {
        (
            char_slice(text, m.start, m.end)
                .unwrap_or("<bad span>")
                .to_string(),
            m.method,
        )
    })
}

#[test]
fn finds_quotes_despite_the_usual_copying_differences() {
    use MatchMethod::*;
    let text = "The team didn’t\u{a0}notice\nthe alert — it fired at 09:02… “Nobody was paged”, said Ana.";
    let cases: &[(&str, Option<(&str, MatchMethod)>)] = &[
        ("didn’t\u{a0}notice", Some(("didn’t\u{a0}notice", Exact))),
        (
            "didn't notice the alert",
            Some(("didn’t\u{a0}notice\nthe alert", Normalized)),
        ),
        ("the alert - it fired", Some(("the alert — it fired", Normalized))),
        ("fired at 09:02...", Some(("fired at 09:02…", Normalized))),
        ("\"Nobody was paged\"", Some(("“Nobody was paged”", Normalized))),
        ("“Nobody was paged.”", Some(("Nobody was paged", Normalized))),
        ("'said Ana.'", Some(("said Ana.", Normalized))),
        ("...it fired at 09:02", Some(("it fired at 09:02", Normalized))),
        (
            "THE TEAM DIDN'T NOTICE",
            Some(("The team didn’t\u{a0}notice", CaseInsensitive)),
        ),
        (
            "The team didn't notice ... it fired at 09:02",
            Some((
                "The team didn’t\u{a0}notice\nthe alert — it fired at 09:02",
                Elided,
            )),
        ),
        ("the pager was silent", None),
        ("   ", None),
        ("", None),
    ];
    for (quote, expect) in cases {
        let expect = expect.map(|(s, m)| (s.to_string(), m));
        assert_eq!(found(text, quote), expect, "quote {quote:?}");
    }
}

#[test]
fn returns_the_first_occurrence_in_characters() {
    let m = find_quote("é é alert é alert", "alert").unwrap();
    assert_eq!((m.start, m.end), (4, 9));
    assert_eq!(find_quote("", "x"), None);
}

#[test]
fn elided_parts_must_be_long_and_close() {
    let text = format!(
        "The first part is here. {} The second part is here.",
        "filler ".repeat(100)
    );
    assert_eq!(
        find_quote(&text, "first part is here ... second part is here"),
        None
    );
    assert_eq!(find_quote("ab cd ef", "ab ... ef"), None);
}

#[test]
fn char_slice_refuses_bad_ranges() {
    assert_eq!(char_slice("héllo", 1, 3), Some("él"));
    assert_eq!(char_slice("héllo", 0, 5), Some("héllo"));
    assert_eq!(char_slice("héllo", 5, 5), Some(""));
    assert_eq!(char_slice("héllo", 3, 9), None);
    assert_eq!(char_slice("héllo", 4, 2), None);
}

/// A small deterministic generator (xorshift), so property tests need no extra crate and never flake.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "alert",
    "paged",
    "Ana",
    "didn’t",
    "“late”",
    "09:02",
    "café",
    "😀",
    "team",
    "x",
    "—",
    "it’s",
    "wait…",
    "root",
    "cause",
];
const SPACES: &[&str] = &[" ", "  ", "\n", "\u{a0}", "\t", " \n "];

fn random_text(rng: &mut Rng) -> String {
    let n = 3 + rng.below(30);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str(rng.pick(SPACES));
        }
        out.push_str(rng.pick(WORDS));
    }
    out
}

/// What a careless copy of `s` might look like: other whitespace, straight quotes, hyphens, three dots.
fn mangle(rng: &mut Rng, s: &str) -> String {
    let mut out = String::new();
    let mut in_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c == '\u{a0}' {
            if !in_space {
                out.push_str(rng.pick(SPACES));
            }
            in_space = true;
            continue;
        }
        in_space = false;
        let swapped = match c {
            '’' if rng.below(2) == 0 => "'".to_string(),
            '“' | '”' if rng.below(2) == 0 => "\"".to_string(),
            '—' if rng.below(2) == 0 => "-".to_string(),
            '…' if rng.below(2) == 0 => "...".to_string(),
            c => c.to_string(),
        };
        out.push_str(&swapped);
    }
    out
}

fn normal_form(s: &str) -> String {
    normalize(s, true)
        .chars
        .into_iter()
        .collect::<String>()
        .trim()
        .to_string()
}

#[test]
fn mangled_substrings_are_found_at_or_before_their_place() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for _ in 0..3000 {
        let text = random_text(&mut rng);
        let chars: Vec<char> = text.chars().collect();
        let alnum: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_alphanumeric()).collect();
        if alnum.len() < 2 {
            continue;
        }
        let (a, b) = (rng.pick(&alnum), rng.pick(&alnum));
        let (i, j) = (a.min(b), a.max(b) + 1);
        let original: String = chars[i..j].iter().collect();
        let quote = mangle(&mut rng, &original);
        let m = find_quote(&text, &quote).unwrap_or_else(|| panic!("{quote:?} not found in {text:?}"));
        let got = char_slice(&text, m.start, m.end).expect("span inside the text");
        // The first occurrence wins; an exact copy is preferred to an earlier normalised one.
        assert!(
            m.start as usize <= i || m.method == MatchMethod::Exact,
            "{quote:?} in {text:?} found late at {}",
            m.start
        );
        assert_eq!(normal_form(got), normal_form(&original), "{quote:?} in {text:?}");
        checked += 1;
    }
    assert!(checked > 2000);
}

#[test]
fn random_inputs_never_produce_spans_outside_the_text() {
    const NASTY: &[&str] = &[
        "a", "A", "İ", "ß", "ﬃ", "e\u{301}", "…", "...", ".", "\"", "“", "'", "’", " ", "\u{a0}", "\n",
        "\u{ad}", "\u{200b}", "—", "-", "😀", "x",
    ];
    let mut rng = Rng(42);
    for _ in 0..5000 {
        let text: String = (0..rng.below(40)).map(|_| rng.pick(NASTY)).collect();
        let quote: String = (0..rng.below(8)).map(|_| rng.pick(NASTY)).collect();
        if let Some(m) = find_quote(&text, &quote) {
            let len = text.chars().count() as u32;
            assert!(m.start < m.end && m.end <= len, "{m:?} for {quote:?} in {text:?}");
            let got = char_slice(&text, m.start, m.end).expect("slice");
            assert!(!got.trim().is_empty() || !quote.trim().is_empty());
        }
    }
}
