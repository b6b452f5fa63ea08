//! A clean .docx for documents that did not come as one (Markdown, text): one `w:p` per
//! paragraph in locator order, headings in `Heading N` styles, so the paragraphs' locators and
//! character offsets carry over and [`crate::write_comments`] can then be applied to it.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::out::{Names, escape_attr, is_xml_char};
use crate::xml::W_TRANSITIONAL;
use crate::{ParagraphRole, ParsedDocument};

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

const DOC_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

fn styles_xml() -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W_TRANSITIONAL}"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:eastAsia="Calibri" w:cs="Calibri"/><w:sz w:val="22"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="120"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style><w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/></w:style><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:rPr><w:sz w:val="48"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Subtitle"><w:name w:val="Subtitle"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:rPr><w:i/><w:sz w:val="28"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="TOCHeading"><w:name w:val="TOC Heading"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:rPr><w:b/></w:rPr></w:style>"#
    );
    for level in 1..=9u8 {
        let size = match level {
            1 => 32,
            2 => 28,
            3 => 26,
            _ => 24,
        };
        s.push_str(&format!(
            r#"<w:style w:type="paragraph" w:styleId="Heading{level}"><w:name w:val="heading {level}"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="{}"/></w:pPr><w:rPr><w:b/><w:sz w:val="{size}"/></w:rPr></w:style>"#,
            level - 1
        ));
    }
    s.push_str(r#"<w:style w:type="paragraph" w:styleId="CommentText"><w:name w:val="annotation text"/><w:basedOn w:val="Normal"/><w:rPr><w:sz w:val="20"/></w:rPr></w:style><w:style w:type="character" w:styleId="CommentReference"><w:name w:val="annotation reference"/><w:basedOn w:val="DefaultParagraphFont"/><w:rPr><w:sz w:val="16"/></w:rPr></w:style></w:styles>"#);
    s
}

/// See [`crate::build_docx`].
pub(crate) fn build_docx(document: &ParsedDocument) -> Vec<u8> {
    let n = Names::near(b"w:p", W_TRANSITIONAL);
    let mut body = String::with_capacity(document.paragraphs.iter().map(|p| p.text.len() + 64).sum());
    body.push_str(&format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{W_TRANSITIONAL}"><w:body>"#
    ));
    for p in &document.paragraphs {
        let style = match (p.role, p.heading_level) {
            (ParagraphRole::Heading, Some(l)) => Some(format!("Heading{}", l.clamp(1, 9))),
            (ParagraphRole::Heading, None) => Some("Heading1".to_string()),
            (ParagraphRole::Title, _) => Some("Title".into()),
            (ParagraphRole::Subtitle, _) => Some("Subtitle".into()),
            (ParagraphRole::TocHeading, _) => Some("TOCHeading".into()),
            (ParagraphRole::Body, _) => None,
        };
        body.push_str("<w:p>");
        if let Some(s) = style {
            body.push_str("<w:pPr><w:pStyle w:val=\"");
            escape_attr(&s, &mut body);
            body.push_str("\"/></w:pPr>");
        }
        if !p.text.is_empty() {
            // Characters XML cannot carry become U+FFFD so offsets stay the same.
            let text: String = p
                .text
                .chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect();
            body.push_str("<w:r>");
            n.run_content(&text, &mut body);
            body.push_str("</w:r>");
        }
        body.push_str("</w:p>");
    }
    body.push_str(r#"<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr></w:body></w:document>"#);
    let styles = styles_xml();
    let files: [(&str, &[u8]); 5] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/document.xml", body.as_bytes()),
        ("word/_rels/document.xml.rels", DOC_RELS.as_bytes()),
        ("word/styles.xml", styles.as_bytes()),
    ];
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6));
    for (name, data) in files {
        // Writing to memory cannot fail short of allocation failure; an error leaves a shorter
        // (unreadable) package rather than a panic.
        if w.start_file(name, opts).is_err() || w.write_all(data).is_err() {
            break;
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}
