//! Every built-in rule on random and hostile text: no panics, every quote exact, spans right.

use std::sync::LazyLock;

use super::{DocumentContext, SectionInput, run_rules};
use crate::framework::{Framework, builtin_frameworks};

const PIECES: &[&str] = &[
    "alpha",
    "Owner:",
    "TBD",
    "TODO",
    "XX-XXX",
    "[NAME]",
    "<insert x>",
    "???",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "- ",
    "* ",
    "1. ",
    "| ",
    " | ",
    "|---|",
    "# ",
    "> ",
    "`",
    "```",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "{{",
    "}}",
    ".",
    ",",
    ":",
    ";",
    "?",
    "!",
    "…",
    "—",
    "’",
    "“",
    "é",
    "😀",
    "\u{a0}",
    "\u{ad}",
    "2024-01-15",
    "15 Jan 2024",
    "9:02 PM",
    "23:59",
    "01/02/2024",
    "T+30m",
    "because",
    "several",
    "many",
    "CX",
    "Customer Experience (CX)",
    "SOP",
    "@bob",
    "by Q3",
    "ETA",
    "https://x.io/a?b",
    "e.g.",
    "J.",
    "✅",
    "[x]",
    "~~",
    "RC1:",
    "PA1a:",
    "A)",
    "a.",
    "0",
    "99",
];

static FRAMEWORKS: LazyLock<Vec<Framework>> = LazyLock::new(builtin_frameworks);

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn check_all(title: &str, text: &str) {
    let doc = DocumentContext::from_pairs([("Summary", "CX and SOP"), (title, text)]);
    let chars: Vec<char> = text.chars().collect();
    for fw in FRAMEWORKS.iter() {
        let section = SectionInput {
            index: 1,
            title,
            level: 1,
            text,
        };
        for f in run_rules(fw, &section, &doc) {
            match f.span {
                Some(span) => {
                    let quoted: Option<String> = chars
                        .get(span.start as usize..span.end as usize)
                        .map(|c| c.iter().collect());
                    assert_eq!(
                        quoted.as_deref(),
                        Some(f.quote.as_str()),
                        "{} in {text:?}",
                        f.rule_id
                    );
                    assert!(!f.quote.is_empty());
                }
                None => assert!(f.quote.is_empty()),
            }
            assert!(f.confidence.is_finite() && (0.0..=1.0).contains(&f.confidence));
        }
    }
}

#[test]
fn random_text_never_breaks_a_rule() {
    let titles = [
        "Timeline",
        "Action items",
        "Root cause",
        "Executive summary",
        "Impact",
        "Notes",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..1500 {
        let n = rng.below(60);
        let text: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        check_all(titles[round % titles.len()], &text);
    }
}

#[test]
fn large_repetitive_text_is_handled() {
    // Pathological shapes for the scanners: one huge line of matches, many entries, deep nesting.
    let cases = [
        "many ".repeat(20_000),
        "- 2024-01-15 09:00 x\n".repeat(3_000),
        format!("{}x", "  ".repeat(10_000)),
        "a.".repeat(50_000),
        "| a | b |\n".repeat(5_000),
        "[".repeat(20_000),
        "CX ".repeat(20_000),
    ];
    for text in &cases {
        for title in ["Timeline", "Action items", "Impact", "Root cause"] {
            check_all(title, text);
        }
    }
}
