//! Markdown via pulldown-cmark: one paragraph per block (paragraph, list item, table row, code
//! block, block-quote paragraph, HTML block text), inline markup removed (link text kept, image
//! alt text dropped), ATX and setext headings, YAML (`---`) / TOML (`+++`) front matter skipped
//! with its `title` kept as the document title.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::sections::{self, Hint, MAX_LEAD_LABEL};
use crate::{
    Container, MAX_PARAGRAPHS, Paragraph, ParagraphRole, ParsedDocument, SourceFormat, TRUNCATED_WARNING,
};

#[derive(Default)]
struct State {
    buf: String,
    chars: u32,
    strong_open: Vec<u32>,
    strong: Vec<(u32, u32)>,
    heading: Option<u8>,
    code: bool,
    html: bool,
    row: bool,
    cells: u32,
    items: u32,
    quotes: u32,
    images: u32,
    metadata: bool,
    meta: String,
    paragraphs: Vec<Paragraph>,
    hints: Vec<Hint>,
    truncated: bool,
}

pub(crate) fn read(src: &str) -> ParsedDocument {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    let mut st = State::default();
    for ev in Parser::new_ext(src, opts) {
        st.event(ev);
    }
    st.flush();
    let title = front_matter_title(&st.meta).or_else(|| {
        st.paragraphs
            .first()
            .filter(|p| p.heading_level == Some(1))
            .map(|p| sections::collapse_ws(&p.text))
    });
    let sections = sections::build(&st.paragraphs, &st.hints, title.as_deref());
    ParsedDocument {
        format: SourceFormat::Markdown,
        paragraphs: st.paragraphs,
        sections,
        title,
        warnings: if st.truncated {
            vec![TRUNCATED_WARNING.to_string()]
        } else {
            Vec::new()
        },
    }
}

impl State {
    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if self.metadata {
                    self.meta.push_str(&t);
                } else if self.images == 0 {
                    self.push(&t);
                }
            }
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => self.push(&t),
            Event::Html(t) => {
                if self.html {
                    self.push(&t);
                }
            }
            Event::SoftBreak => self.push(" "),
            Event::HardBreak => self.push("\n"),
            Event::Rule => self.flush(),
            Event::InlineHtml(_) | Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush();
                self.heading = Some(heading_level(level));
            }
            Tag::CodeBlock(_) => {
                self.flush();
                self.code = true;
            }
            Tag::HtmlBlock => {
                self.flush();
                self.html = true;
            }
            Tag::Item => {
                self.flush();
                self.items = self.items.saturating_add(1);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.quotes = self.quotes.saturating_add(1);
            }
            Tag::TableHead | Tag::TableRow => {
                self.flush();
                self.row = true;
                self.cells = 0;
            }
            Tag::TableCell => {
                if self.cells > 0 {
                    self.push(" | ");
                }
                self.cells = self.cells.saturating_add(1);
            }
            Tag::Strong => self.strong_open.push(self.chars),
            Tag::Image { .. } => self.images = self.images.saturating_add(1),
            Tag::MetadataBlock(_) => self.metadata = true,
            Tag::Paragraph
            | Tag::List(_)
            | Tag::Table(_)
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => self.flush(),
            Tag::Emphasis | Tag::Strikethrough | Tag::Superscript | Tag::Subscript | Tag::Link { .. } => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
            }
            TagEnd::CodeBlock => {
                self.flush();
                self.code = false;
            }
            TagEnd::HtmlBlock => {
                self.flush();
                self.html = false;
            }
            TagEnd::Item => {
                self.flush();
                self.items = self.items.saturating_sub(1);
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quotes = self.quotes.saturating_sub(1);
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                self.flush();
                self.row = false;
            }
            TagEnd::Strong => {
                if let Some(s) = self.strong_open.pop() {
                    self.strong.push((s, self.chars));
                }
            }
            TagEnd::Image => self.images = self.images.saturating_sub(1),
            TagEnd::MetadataBlock(_) => self.metadata = false,
            TagEnd::Paragraph
            | TagEnd::List(_)
            | TagEnd::Table
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => self.flush(),
            _ => {}
        }
    }

    fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        let n = u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
        self.chars = self.chars.saturating_add(n);
    }

    /// Ends the current block: emits it as a paragraph if it has text.
    fn flush(&mut self) {
        let mut text = std::mem::take(&mut self.buf);
        let strong = std::mem::take(&mut self.strong);
        self.strong_open.clear();
        self.chars = 0;
        if self.html {
            text = strip_tags(&text);
        }
        if self.code {
            text.truncate(text.trim_end().len());
        }
        if text.trim().is_empty() {
            return;
        }
        let plain = !self.code && !self.html && !self.row && self.heading.is_none();
        let (bold_line, lead_label) = if plain {
            strong_facts(&text, &strong)
        } else {
            (false, None)
        };
        let hint = Hint {
            bold_line,
            lead_label,
            fallback_ok: plain && self.items <= 1 && self.quotes == 0,
        };
        if self.paragraphs.len() >= MAX_PARAGRAPHS {
            self.truncated = true;
            return;
        }
        let locator = u32::try_from(self.paragraphs.len()).unwrap_or(u32::MAX);
        self.paragraphs.push(Paragraph {
            locator,
            text,
            style_id: None,
            heading_level: self.heading,
            role: if self.heading.is_some() {
                ParagraphRole::Heading
            } else {
                ParagraphRole::Body
            },
            container: if self.row {
                Container::TableCell
            } else {
                Container::Body
            },
            in_reading_text: true,
            runs: Vec::new(),
        });
        self.hints.push(hint);
    }
}

fn heading_level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Whether the whole block is strong, and its strong lead-in label ("**Impact**: ..." or
/// "**Impact:** ...") if it starts with one.
fn strong_facts(text: &str, strong: &[(u32, u32)]) -> (bool, Option<String>) {
    let chars: Vec<char> = text.chars().collect();
    let is_strong = |i: usize| {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        strong.iter().any(|&(s, e)| s <= i && i < e)
    };
    // Length first: the coverage check is quadratic in the worst case and only short lines count.
    let all = !strong.is_empty()
        && chars.len() <= 100
        && chars
            .iter()
            .enumerate()
            .all(|(i, c)| c.is_whitespace() || is_strong(i));
    if all {
        return (true, None);
    }
    let first = chars.iter().position(|c| !c.is_whitespace()).unwrap_or(0);
    let Some(&(s, e)) = strong
        .iter()
        .find(|&&(s, _)| usize::try_from(s).ok() == Some(first))
    else {
        return (false, None);
    };
    let (s, e) = (usize::try_from(s).unwrap_or(0), usize::try_from(e).unwrap_or(0));
    let label: String = chars.get(s..e).unwrap_or(&[]).iter().collect();
    let after: String = chars.get(e..).unwrap_or(&[]).iter().collect();
    let label = label.trim();
    let label = if let Some(l) = label.strip_suffix(':') {
        l.trim_end()
    } else if after.trim_start().starts_with(':') {
        label
    } else {
        return (false, None);
    };
    if label.is_empty() || label.chars().count() > MAX_LEAD_LABEL || !label.chars().any(char::is_alphabetic) {
        return (false, None);
    }
    (false, Some(sections::collapse_ws(label)))
}

/// Drops `<...>` tags from an HTML block, keeping the text between them.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `title: X` (YAML) or `title = "X"` (TOML) from front matter.
fn front_matter_title(meta: &str) -> Option<String> {
    for line in meta.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("title") else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(v) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) else {
            continue;
        };
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        if !v.is_empty() {
            return Some(v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SectionOrigin;

    #[test]
    fn blocks_headings_and_front_matter() {
        let md = "---\ntitle: \"Outage report\"\nweight: 1\n---\n\nIntro *text* with [a link](http://x).\n\n\
                  # Summary\n\nIt broke.\n\n- item **one**\n- item two\n  - nested\n\nSetext\n------\n\n\
                  | a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode here\n```\n\n> quoted\n";
        let d = read(md);
        assert_eq!(d.title.as_deref(), Some("Outage report"));
        let texts: Vec<&str> = d.paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Intro text with a link.",
                "Summary",
                "It broke.",
                "item one",
                "item two",
                "nested",
                "Setext",
                "a | b",
                "1 | 2",
                "code here",
                "quoted"
            ]
        );
        assert!(
            d.paragraphs
                .iter()
                .enumerate()
                .all(|(i, p)| p.locator as usize == i)
        );
        assert_eq!(d.paragraphs[6].heading_level, Some(2));
        let titles: Vec<&str> = d.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, vec!["Outage report", "Summary", "Setext"]);
        assert_eq!(d.sections[0].origin, SectionOrigin::Preamble);
        assert_eq!(d.sections[1].text, "It broke.\nitem one\nitem two\nnested");
    }

    #[test]
    fn bold_lead_labels_stand_in_for_headings_under_a_lone_title() {
        let md = "# Incident\n\n- **Key events**\n  - a happened\n- **Impact**: users saw errors\n\n\
                  - **Resolution**: restored\n";
        let d = read(md);
        let titles: Vec<&str> = d.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, vec!["Incident", "Key events", "Impact", "Resolution"]);
        assert_eq!(
            d.sections[2].text, "Impact: users saw errors",
            "lead-in paragraph stays in the text"
        );
        assert_eq!(d.sections[1].text, "a happened");
    }

    #[test]
    fn toml_front_matter() {
        let d = read("+++\ntitle = \"Docs.rs outage\"\n+++\n\nText.\n\n## Cause\n\nWhy.\n");
        assert_eq!(d.title.as_deref(), Some("Docs.rs outage"));
        assert_eq!(d.sections.len(), 2);
        assert!(d.paragraphs.iter().all(|p| !p.text.contains("title")));
    }
}
