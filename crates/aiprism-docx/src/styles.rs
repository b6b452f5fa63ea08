//! The styles part: which paragraph styles are headings (and at which level), which are the
//! document title, and which styles make text bold. Style ids are localised and meaningless
//! (`berschrift1`, `Titre1`, `1`, `a4`), so everything here is decided from style names, the
//! `basedOn` chain and `outlineLvl`, never from ids.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

use crate::ParagraphRole;
use crate::error::ReadError;
use crate::xml::{self, Ns, XmlReader};

/// What a paragraph style makes of its paragraphs, after walking the `basedOn` chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StyleRole {
    Body,
    Heading(u8),
    Title,
    Subtitle,
    TocHeading,
}

impl StyleRole {
    pub(crate) fn paragraph_role(self) -> (ParagraphRole, Option<u8>) {
        match self {
            StyleRole::Body => (ParagraphRole::Body, None),
            StyleRole::Heading(l) => (ParagraphRole::Heading, Some(l)),
            StyleRole::Title => (ParagraphRole::Title, None),
            StyleRole::Subtitle => (ParagraphRole::Subtitle, None),
            StyleRole::TocHeading => (ParagraphRole::TocHeading, None),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StyleType {
    Paragraph,
    Character,
    Other,
}

#[derive(Debug, Clone)]
struct RawStyle {
    id: String,
    kind: StyleType,
    name: Option<String>,
    based_on: Option<String>,
    outline: Option<u8>,
    bold: Option<bool>,
    is_default: bool,
}

/// A style after resolution: its role (paragraph styles) and its effective bold setting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved {
    pub(crate) role: StyleRole,
    /// `Some(true/false)` when the style or an ancestor sets `w:b`; `None` when none does.
    pub(crate) bold: Option<bool>,
}

/// The resolved style table of one document.
#[derive(Debug, Default)]
pub(crate) struct Styles {
    paragraph: HashMap<String, Resolved>,
    character: HashMap<String, Option<bool>>,
    default_paragraph: Option<Resolved>,
    /// `w:docDefaults/w:rPrDefault/w:rPr/w:b`.
    pub(crate) default_bold: Option<bool>,
    /// Id of the character style named "annotation reference" (Word's comment mark style, id
    /// `CommentReference` in English Word), so written comment marks look like Word's own.
    pub(crate) comment_reference: Option<String>,
    /// Id of the paragraph style named "annotation text" (`CommentText`), for comment paragraphs.
    pub(crate) comment_text: Option<String>,
}

/// The ids of the comment styles ("annotation reference" character style, "annotation text"
/// paragraph style) of a styles part. Most documents never had comments and lack both names, so
/// the part is only parsed when its bytes mention them.
pub(crate) fn comment_styles(
    part: &str,
    bytes: &[u8],
) -> Result<(Option<String>, Option<String>), ReadError> {
    // Nearly every Word document lists both names among its latent styles
    // (`<w:lsdException w:name="annotation text" .../>`), which define nothing; only a mention
    // anywhere else (a style's `<w:name w:val="annotation text"/>`) makes parsing worthwhile.
    let mentions = |n: &'static [u8]| {
        memchr::memmem::find_iter(bytes, n).filter(|&at| {
            let before = bytes.get(..at).unwrap_or_default();
            !(before.ends_with(b":name=\"") || before.ends_with(b":name='"))
        })
    };
    let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    let mut at: Vec<usize> = mentions(b"annotation reference")
        .chain(mentions(b"annotation text"))
        .collect();
    if at.is_empty() && !utf16 {
        // UTF-16 parts would hide the names from a byte search; those are parsed.
        return Ok((None, None));
    }
    at.sort_unstable();
    // Styles parts can be megabytes: parse only the style elements that mention the names (in
    // their order, so the first of each kind still wins), inside the part's own root tag so
    // their prefixes keep their namespaces. Anything unexpected parses the whole part.
    let s = match (!utf16).then(|| mentioning_styles(bytes, &at)).flatten() {
        Some(excerpt) => Styles::parse(part, &excerpt)?,
        None => Styles::parse(part, bytes)?,
    };
    Ok((s.comment_reference, s.comment_text))
}

/// The part's root start tag, the `style` elements holding the byte offsets `at`, and the root's
/// end tag: a small styles part with the same comment styles. `None` when the markup is not as
/// plain as that (the caller then parses the whole part).
fn mentioning_styles(bytes: &[u8], at: &[usize]) -> Option<Vec<u8>> {
    let mut from = 0;
    let root = loop {
        let lt = from + memchr::memchr(b'<', bytes.get(from..)?)?;
        match bytes.get(lt + 1)? {
            b'?' | b'!' => from = lt + 1,
            _ => break lt,
        }
    };
    let root_end = root + memchr::memchr(b'>', bytes.get(root..)?)?;
    let root_tag = bytes.get(root..=root_end)?;
    if root_tag.ends_with(b"/>") || memchr::memchr(b'<', root_tag.get(1..)?).is_some() {
        return None;
    }
    let root_name = xml::tag_name(root_tag.get(1..)?).0;
    let mut out = root_tag.to_vec();
    let mut done_to = 0usize;
    for &m in at {
        if m < done_to {
            continue;
        }
        // The nearest `style` start tag before the mention, and its end tag after it.
        let head = bytes.get(..m)?;
        let start = memchr::memrchr_iter(b'<', head).find(|&lt| {
            let name = xml::tag_name(head.get(lt + 1..).unwrap_or_default()).0;
            name == b"style" || name.ends_with(b":style")
        })?;
        if start < done_to {
            return None;
        }
        let qname = xml::tag_name(bytes.get(start + 1..)?).0;
        let mut close = b"</".to_vec();
        close.extend_from_slice(qname);
        close.push(b'>');
        let end = m + memchr::memmem::find(bytes.get(m..)?, &close)? + close.len();
        let element = bytes.get(start..end)?;
        // The element must hold no other style (a mention outside any style element).
        let mut open = b"<".to_vec();
        open.extend_from_slice(qname);
        if memchr::memmem::find_iter(element, &open).count() != 1 {
            return None;
        }
        out.extend_from_slice(element);
        done_to = end;
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(root_name);
    out.push(b'>');
    Some(out)
}

impl Styles {
    /// The resolved paragraph style for a `w:pStyle` value, or the default paragraph style when the
    /// paragraph names none or names a style that does not exist (what Word does).
    pub(crate) fn paragraph(&self, id: Option<&str>) -> Option<Resolved> {
        id.and_then(|id| self.paragraph.get(id).copied())
            .or(self.default_paragraph)
    }

    /// Effective bold of a character style (`w:rStyle`), `None` when it does not set bold.
    pub(crate) fn character_bold(&self, id: &str) -> Option<bool> {
        self.character.get(id).copied().flatten()
    }

    /// Parses a styles part. `part` names it in errors.
    pub(crate) fn parse(part: &str, bytes: &[u8]) -> Result<Styles, ReadError> {
        let decoded = xml::decode_part(part, bytes)?;
        let mut reader = xml::XmlReader::new(part, &decoded);
        let mut raw: Vec<RawStyle> = Vec::new();
        let mut cur: Option<RawStyle> = None;
        // Depth-tracked context: 0 = elsewhere, inside pPr / rPr of a style or of rPrDefault.
        let mut ctx: Vec<Ctx> = Vec::new();
        let mut default_bold = None;
        loop {
            let ev = reader.next()?;
            match ev {
                Event::Start(e) => {
                    let parent = ctx.last().copied().unwrap_or(Ctx::Other);
                    match element(&mut reader, &e, parent, &mut cur, &mut default_bold) {
                        Action::Push(Ctx::Style) => {
                            let style = new_style(&mut reader, &e);
                            if style.kind == StyleType::Other {
                                // Table and numbering styles are most of a styles part and never
                                // used here.
                                reader.skip(&e)?;
                            } else {
                                cur = Some(style);
                                ctx.push(Ctx::Style);
                            }
                        }
                        Action::Push(c) => ctx.push(c),
                        Action::Skip => reader.skip(&e)?,
                    }
                }
                Event::Empty(e) => {
                    let parent = ctx.last().copied().unwrap_or(Ctx::Other);
                    if let Action::Push(Ctx::Style) =
                        element(&mut reader, &e, parent, &mut cur, &mut default_bold)
                    {
                        raw.push(new_style(&mut reader, &e));
                    }
                }
                Event::End(_) => {
                    if ctx.pop() == Some(Ctx::Style)
                        && let Some(s) = cur.take()
                    {
                        raw.push(s);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        Ok(resolve(raw, default_bold))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Other,
    Style,
    StylePPr,
    StyleRPr,
    DocDefaults,
    RPrDefault,
    DefaultRPr,
}

enum Action {
    Push(Ctx),
    Skip,
}

fn new_style(reader: &mut XmlReader<'_>, e: &BytesStart<'_>) -> RawStyle {
    let kind = match reader.w_attr(e, "type").as_deref() {
        Some("paragraph") | None => StyleType::Paragraph,
        Some("character") => StyleType::Character,
        Some(_) => StyleType::Other,
    };
    RawStyle {
        id: reader
            .w_attr(e, "styleId")
            .map(|v| v.into_owned())
            .unwrap_or_default(),
        kind,
        name: None,
        based_on: None,
        outline: None,
        bold: None,
        is_default: reader.w_attr(e, "default").is_some_and(|v| xml::on_off(Some(&v))),
    }
}

/// Decides what to do with an element of the styles part given its parent context, recording the
/// properties we need into the style being read.
fn element(
    reader: &mut XmlReader<'_>,
    e: &BytesStart<'_>,
    parent: Ctx,
    cur: &mut Option<RawStyle>,
    default_bold: &mut Option<bool>,
) -> Action {
    let (ns, local) = reader.element(e);
    if ns != Ns::W {
        // Extension markup (mc:AlternateContent in rPr, w14 effects, ...): nothing we need.
        return if parent == Ctx::Other {
            Action::Push(Ctx::Other)
        } else {
            Action::Skip
        };
    }
    let mut val = || reader.w_attr(e, "val");
    match (parent, local) {
        (Ctx::Other, "style") => Action::Push(Ctx::Style),
        (Ctx::Other, "docDefaults") => Action::Push(Ctx::DocDefaults),
        (Ctx::Other, "styles") => Action::Push(Ctx::Other),
        (Ctx::DocDefaults, "rPrDefault") => Action::Push(Ctx::RPrDefault),
        (Ctx::RPrDefault, "rPr") => Action::Push(Ctx::DefaultRPr),
        (Ctx::DefaultRPr, "b") => {
            *default_bold = Some(xml::on_off(val().as_deref()));
            Action::Skip
        }
        (Ctx::Style, "name") => {
            if let Some(s) = cur.as_mut() {
                s.name = val().map(|v| v.into_owned());
            }
            Action::Skip
        }
        (Ctx::Style, "basedOn") => {
            if let Some(s) = cur.as_mut() {
                s.based_on = val().map(|v| v.into_owned());
            }
            Action::Skip
        }
        (Ctx::Style, "pPr") => Action::Push(Ctx::StylePPr),
        (Ctx::Style, "rPr") => Action::Push(Ctx::StyleRPr),
        (Ctx::StylePPr, "outlineLvl") => {
            if let Some(s) = cur.as_mut() {
                s.outline = val().and_then(|v| v.trim().parse::<u8>().ok());
            }
            Action::Skip
        }
        (Ctx::StyleRPr, "b") => {
            if let Some(s) = cur.as_mut() {
                s.bold = Some(xml::on_off(val().as_deref()));
            }
            Action::Skip
        }
        // Everything else (tblStylePr, *Change history, tabs, borders, ...) is skipped whole.
        _ => Action::Skip,
    }
}

/// Classifies a style name: the built-in names Word writes in English whatever the UI language
/// ("heading 1", "Title", "TOC Heading"); LibreOffice writes "Heading 1".
fn role_from_name(name: &str) -> Option<StyleRole> {
    let n = name.trim().to_ascii_lowercase();
    match n.as_str() {
        "title" => return Some(StyleRole::Title),
        "subtitle" => return Some(StyleRole::Subtitle),
        "toc heading" | "tocheading" | "contents heading" => return Some(StyleRole::TocHeading),
        _ => {}
    }
    let rest = n.strip_prefix("heading")?.trim_start();
    let level: u8 = rest.parse().ok()?;
    (1..=9).contains(&level).then_some(StyleRole::Heading(level))
}

/// What a style decides by itself, without its ancestors: a Title/Subtitle/TOC Heading name, an
/// explicit outline level (0..8 heading, 9 body text), or a "heading N" name. `None` defers to
/// the style it is based on.
fn local_role(s: &RawStyle) -> Option<StyleRole> {
    let by_name = s.name.as_deref().and_then(role_from_name);
    if let Some(r @ (StyleRole::Title | StyleRole::Subtitle | StyleRole::TocHeading)) = by_name {
        return Some(r);
    }
    if let Some(o) = s.outline {
        return Some(if o <= 8 {
            StyleRole::Heading(o + 1)
        } else {
            StyleRole::Body
        });
    }
    by_name
}

/// Resolves every style through its `basedOn` chain, each style once (memoised walks, so long
/// hostile chains stay linear); a cycle ends the chain.
fn resolve(raw: Vec<RawStyle>, default_bold: Option<bool>) -> Styles {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        // First definition wins, like Word.
        index.entry(s.id.as_str()).or_insert(i);
    }
    let parent: Vec<Option<usize>> = raw
        .iter()
        .map(|s| s.based_on.as_deref().and_then(|b| index.get(b).copied()))
        .collect();
    let n = raw.len();
    let mut done: Vec<Option<(StyleRole, Option<bool>)>> = vec![None; n];
    let mut on_path = vec![false; n];
    let mut path = Vec::new();
    for start in 0..n {
        if done.get(start).is_some_and(Option::is_some) {
            continue;
        }
        path.clear();
        let mut inherited = (StyleRole::Body, None);
        let mut cur = Some(start);
        while let Some(i) = cur {
            if let Some(Some(r)) = done.get(i) {
                inherited = *r;
                break;
            }
            if on_path.get(i).copied().unwrap_or(true) {
                break; // basedOn cycle
            }
            if let Some(flag) = on_path.get_mut(i) {
                *flag = true;
            }
            path.push(i);
            cur = parent.get(i).copied().flatten();
        }
        for &i in path.iter().rev() {
            let Some(s) = raw.get(i) else { continue };
            let r = (local_role(s).unwrap_or(inherited.0), s.bold.or(inherited.1));
            if let Some(slot) = done.get_mut(i) {
                *slot = Some(r);
            }
            inherited = r;
        }
    }
    let mut styles = Styles {
        default_bold,
        ..Styles::default()
    };
    for (i, s) in raw.iter().enumerate() {
        if index.get(s.id.as_str()) != Some(&i) {
            continue;
        }
        let (role, bold) = done.get(i).copied().flatten().unwrap_or((StyleRole::Body, None));
        let name = s.name.as_deref().map(|n| n.trim().to_ascii_lowercase());
        match (s.kind, name.as_deref()) {
            (StyleType::Character, Some("annotation reference")) if styles.comment_reference.is_none() => {
                styles.comment_reference = Some(s.id.clone());
            }
            (StyleType::Paragraph, Some("annotation text")) if styles.comment_text.is_none() => {
                styles.comment_text = Some(s.id.clone());
            }
            _ => {}
        }
        match s.kind {
            StyleType::Paragraph => {
                let resolved = Resolved { role, bold };
                if s.is_default && styles.default_paragraph.is_none() {
                    styles.default_paragraph = Some(resolved);
                }
                styles.paragraph.insert(s.id.clone(), resolved);
            }
            StyleType::Character => {
                styles.character.insert(s.id.clone(), bold);
            }
            StyleType::Other => {}
        }
    }
    styles
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    fn parse(body: &str) -> Styles {
        let xml = format!("<w:styles {W}>{body}</w:styles>");
        Styles::parse("styles.xml", xml.as_bytes()).expect("parse")
    }

    #[test]
    fn comment_styles_are_found_past_latent_style_mentions() {
        let latent = r#"<w:latentStyles><w:lsdException w:name="annotation text" w:semiHidden="1"/><w:lsdException w:name="annotation reference"/></w:latentStyles>"#;
        let only_latent = format!("<w:styles {W}>{latent}</w:styles>");
        assert_eq!(
            comment_styles("styles.xml", only_latent.as_bytes()).expect("styles"),
            (None, None)
        );
        let defined = format!(
            r#"<w:styles {W}>{latent}<w:style w:type="character" w:styleId="Kz"><w:name w:val="annotation reference"/></w:style><w:style w:type="paragraph" w:styleId="Kt"><w:name w:val="annotation text"/></w:style></w:styles>"#
        );
        assert_eq!(
            comment_styles("styles.xml", defined.as_bytes()).expect("styles"),
            (Some("Kz".to_string()), Some("Kt".to_string()))
        );
        // Only the mentioning styles are parsed, under the part's own prefixes; the first style
        // of each kind wins, a paragraph style named like the character one does not count, and
        // markup the excerpt cannot vouch for is parsed whole with the same answer.
        let x = "xmlns:x=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
        let many = format!(
            r#"<?xml version="1.0"?><!-- c --><x:styles {x}>{}<x:style x:type="paragraph" x:styleId="P1"><x:name x:val="annotation reference"/></x:style><x:style x:type="character" x:styleId="C1"><x:name x:val="annotation reference"/></x:style><x:style x:type="character" x:styleId="C2"><x:name x:val="annotation reference"/></x:style><x:style x:type="paragraph" x:styleId="T1"><x:name x:val="annotation text"/><x:basedOn x:val="Normal"/></x:style></x:styles>"#,
            latent.replace("w:", "x:")
        );
        let want = (Some("C1".to_string()), Some("T1".to_string()));
        assert_eq!(
            comment_styles("styles.xml", many.as_bytes()).expect("styles"),
            want
        );
        let full = Styles::parse("styles.xml", many.as_bytes()).expect("parses");
        assert_eq!((full.comment_reference, full.comment_text), want);
        let stray = format!(
            r#"<w:styles {W}><w:docDefaults/><w:x w:v="annotation text"/>{}</w:styles>"#,
            &defined[defined.find("<w:style ").unwrap_or(0)..defined.rfind("</w:styles>").unwrap_or(0)]
        );
        assert_eq!(
            comment_styles("styles.xml", stray.as_bytes()).expect("styles"),
            (Some("Kz".to_string()), Some("Kt".to_string()))
        );
    }

    #[test]
    fn names_and_outline_levels_decide_not_ids() {
        let s = parse(
            r#"<w:style w:type="paragraph" w:default="1" w:styleId="a"><w:name w:val="Normal"/></w:style>
            <w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/><w:basedOn w:val="a"/></w:style>
            <w:style w:type="paragraph" w:styleId="berschrift2"><w:name w:val="heading 2"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
            <w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="Body Heading"/><w:pPr><w:outlineLvl w:val="9"/></w:pPr></w:style>
            <w:style w:type="paragraph" w:styleId="a8"><w:name w:val="Title"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
            <w:style w:type="paragraph" w:styleId="TOC"><w:name w:val="TOC Heading"/><w:basedOn w:val="1"/></w:style>
            <w:style w:type="paragraph" w:styleId="Red"><w:name w:val="RedHeading"/><w:basedOn w:val="berschrift2"/></w:style>
            <w:style w:type="paragraph" w:styleId="Loop1"><w:name w:val="Loop"/><w:basedOn w:val="Loop2"/></w:style>
            <w:style w:type="paragraph" w:styleId="Loop2"><w:name w:val="Loop"/><w:basedOn w:val="Loop1"/></w:style>"#,
        );
        let role = |id: &str| s.paragraph(Some(id)).map(|r| r.role);
        assert_eq!(role("1"), Some(StyleRole::Heading(1)));
        assert_eq!(role("berschrift2"), Some(StyleRole::Heading(2)));
        assert_eq!(
            role("Heading1"),
            Some(StyleRole::Body),
            "outlineLvl 9 is body text whatever the id"
        );
        assert_eq!(role("a8"), Some(StyleRole::Title));
        assert_eq!(role("TOC"), Some(StyleRole::TocHeading));
        assert_eq!(role("Red"), Some(StyleRole::Heading(2)));
        assert_eq!(role("Loop1"), Some(StyleRole::Body), "cycles terminate");
        assert_eq!(
            role("missing"),
            Some(StyleRole::Body),
            "unknown ids fall back to the default style"
        );
    }

    #[test]
    fn bold_follows_the_chain_and_ignores_history() {
        let s = parse(
            r#"<w:docDefaults><w:rPrDefault><w:rPr><w:b w:val="0"/></w:rPr></w:rPrDefault></w:docDefaults>
            <w:style w:type="paragraph" w:styleId="B"><w:name w:val="Bold"/><w:rPr><w:b/></w:rPr></w:style>
            <w:style w:type="paragraph" w:styleId="C"><w:name w:val="Child"/><w:basedOn w:val="B"/></w:style>
            <w:style w:type="paragraph" w:styleId="D"><w:name w:val="NotBold"/><w:basedOn w:val="B"/><w:rPr><w:b w:val="false"/><w:rPrChange><w:rPr><w:b/></w:rPr></w:rPrChange></w:rPr></w:style>
            <w:style w:type="character" w:styleId="Strong"><w:name w:val="Strong"/><w:rPr><w:b/></w:rPr></w:style>"#,
        );
        assert_eq!(s.paragraph(Some("C")).and_then(|r| r.bold), Some(true));
        assert_eq!(s.paragraph(Some("D")).and_then(|r| r.bold), Some(false));
        assert_eq!(s.character_bold("Strong"), Some(true));
        assert_eq!(s.default_bold, Some(false));
    }

    #[test]
    fn long_chains_resolve_in_linear_time() {
        let n = 50_000;
        let mut body = String::from(
            r#"<w:style w:type="paragraph" w:styleId="s0"><w:name w:val="heading 3"/></w:style>"#,
        );
        for i in 1..n {
            body.push_str(&format!(
                r#"<w:style w:type="paragraph" w:styleId="s{i}"><w:name w:val="x{i}"/><w:basedOn w:val="s{}"/></w:style>"#,
                i - 1
            ));
        }
        let started = std::time::Instant::now();
        let s = parse(&body);
        assert_eq!(
            s.paragraph(Some(&format!("s{}", n - 1))).map(|r| r.role),
            Some(StyleRole::Heading(3))
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "quadratic resolution"
        );
    }

    #[test]
    fn dtd_is_refused() {
        let xml = format!("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"x\">]><w:styles {W}/>");
        assert!(matches!(
            Styles::parse("s", xml.as_bytes()),
            Err(ReadError::DtdForbidden { .. })
        ));
    }
}
