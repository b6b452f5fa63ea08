//! Built packages for the writer tests: existing comment threads, tracked changes, tables before
//! the section, content controls, hyperlinks, fields, RTL and CJK text, Strict and
//! default-namespace documents, and documents without a comments part.

use crate::support::zip_of;

pub const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
pub const W_STRICT: &str = "http://purl.oclc.org/ooxml/wordprocessingml/main";
const DECLS: &str = concat!(
    r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" "#,
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" "#,
    r#"xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" "#,
    r#"xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" "#,
    r#"xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml" "#,
    r#"xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" "#,
    r#"xmlns:v="urn:schemas-microsoft-com:vml" mc:Ignorable="w14 w15""#
);
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CT_MAIN: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";

pub const STYLES: &str = r#"<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/></w:rPr></w:style><w:style w:type="character" w:styleId="Kommentarzeichen"><w:name w:val="annotation reference"/><w:rPr><w:sz w:val="16"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Kommentartext"><w:name w:val="annotation text"/></w:style>"#;

/// A part to put in a package: name, content type override (if any), relationship type from the
/// main part (if any).
pub struct Part {
    pub name: &'static str,
    pub content_type: Option<&'static str>,
    pub rel: Option<&'static str>,
    pub data: String,
}

/// A package around `body` (the inside of `w:body`), with styles and the extra parts.
pub fn package(body: &str, extra: Vec<Part>) -> Vec<u8> {
    package_in(W, DECLS, body, extra)
}

/// Like [`package`] with another main namespace (Strict) and declarations.
pub fn package_in(ns: &str, decls: &str, body: &str, extra: Vec<Part>) -> Vec<u8> {
    let strict = ns == W_STRICT;
    let rel_base = if strict {
        "http://purl.oclc.org/ooxml/officeDocument/relationships"
    } else {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    };
    let decls = if strict {
        decls.replace(W, W_STRICT)
    } else {
        decls.to_string()
    };
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {decls}><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let styles =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><w:styles xmlns:w="{ns}">{STYLES}</w:styles>"#);
    let mut overrides = format!(
        r#"<Override PartName="/word/document.xml" ContentType="{CT_MAIN}"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>"#
    );
    let mut rels = format!(r#"<Relationship Id="rId1" Type="{rel_base}/styles" Target="styles.xml"/>"#);
    for (i, p) in extra.iter().enumerate() {
        if let Some(ct) = p.content_type {
            overrides.push_str(&format!(
                r#"<Override PartName="/{}" ContentType="{ct}"/>"#,
                p.name
            ));
        }
        if let Some(rel) = p.rel {
            let target = p.name.strip_prefix("word/").unwrap_or(p.name);
            rels.push_str(&format!(
                r#"<Relationship Id="rId{}" Type="{rel}" Target="{target}"/>"#,
                i + 2
            ));
        }
    }
    let ct = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>"#
    );
    let root = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel_base}/officeDocument" Target="word/document.xml"/></Relationships>"#
    );
    let doc_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    );
    let mut files: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
        ("word/_rels/document.xml.rels", doc_rels.as_bytes()),
        ("word/styles.xml", styles.as_bytes()),
    ];
    for p in &extra {
        files.push((p.name, p.data.as_bytes()));
    }
    zip_of(&files)
}

fn run(text: &str) -> String {
    format!(r#"<w:r><w:t xml:space="preserve">{text}</w:t></w:r>"#)
}

/// Existing comments (a thread: comment 0 with reply 1 in commentsExtended, people part), a
/// tracked insertion and deletion, and a table before the section.
pub fn threads() -> Vec<u8> {
    let body = [
        "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol w:w=\"4000\"/></w:tblGrid><w:tr><w:tc><w:tcPr/><w:p><w:r><w:t>Cell before the section</w:t></w:r></w:p></w:tc></w:tr></w:tbl>".to_string(),
        r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Root Cause</w:t></w:r></w:p>"#.to_string(),
        [
            r#"<w:p><w:bookmarkStart w:id="50" w:name="b"/><w:commentRangeStart w:id="0"/><w:commentRangeStart w:id="1"/>"#,
            &run("The disk filled up"),
            r#"<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r><w:commentRangeEnd w:id="1"/><w:r><w:commentReference w:id="1"/></w:r>"#,
            &run(" because "),
            r#"<w:ins w:id="7" w:author="Ann" w:date="2026-01-01T00:00:00Z"><w:r><w:t>nobody</w:t></w:r></w:ins>"#,
            r#"<w:del w:id="8" w:author="Ann" w:date="2026-01-01T00:00:00Z"><w:r><w:delText>no one</w:delText></w:r></w:del>"#,
            &run(" watched it."),
            r#"<w:bookmarkEnd w:id="50"/></w:p>"#,
        ]
        .concat(),
        format!("<w:p>{}</w:p>", run("Second paragraph after the thread.")),
    ]
    .concat();
    let comments = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments {DECLS}><w:comment w:id="0" w:author="Ann Reviewer" w:date="2026-01-02T09:00:00Z" w:initials="AR"><w:p w14:paraId="10000000"><w:r><w:annotationRef/></w:r><w:r><w:t>Why did it fill?</w:t></w:r></w:p></w:comment><w:comment w:id="1" w:author="Bob" w:date="2026-01-02T10:00:00Z" w:initials="B"><w:p w14:paraId="10000001"><w:r><w:annotationRef/></w:r><w:r><w:t>Logs were not rotated.</w:t></w:r></w:p></w:comment></w:comments>"#
    );
    let ext = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w15:commentsEx {DECLS}><w15:commentEx w15:paraId="10000000" w15:done="0"/><w15:commentEx w15:paraId="10000001" w15:paraIdParent="10000000" w15:done="0"/></w15:commentsEx>"#
    );
    let people = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w15:people {DECLS}><w15:person w15:author="Ann Reviewer"><w15:presenceInfo w15:providerId="None" w15:userId="Ann Reviewer"/></w15:person></w15:people>"#
    );
    package(
        &body,
        vec![
            Part {
                name: "word/comments.xml",
                content_type: Some(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml",
                ),
                rel: Some("http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"),
                data: comments,
            },
            Part {
                name: "word/commentsExtended.xml",
                content_type: Some(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml",
                ),
                rel: Some("http://schemas.microsoft.com/office/2011/relationships/commentsExtended"),
                data: ext,
            },
            Part {
                name: "word/people.xml",
                content_type: Some(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
                ),
                rel: Some("http://schemas.microsoft.com/office/2011/relationships/people"),
                data: people,
            },
        ],
    )
}

/// Formatting and containers: runs with different formatting, a hyperlink, run-level and
/// block-level content controls, a smart tag, a simple field, entities and CDATA, RTL and CJK
/// paragraphs. No comments part.
pub fn formatting() -> Vec<u8> {
    let body = [
        [
            "<w:p>",
            &run("Plain "),
            r#"<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">bold </w:t></w:r>"#,
            r#"<w:r><w:rPr><w:i/><w:color w:val="FF0000"/></w:rPr><w:t>italic red</w:t></w:r>"#,
            r#"<w:hyperlink r:id="rId9"><w:r><w:rPr><w:u w:val="single"/></w:rPr><w:t xml:space="preserve"> linked text</w:t></w:r></w:hyperlink>"#,
            &run(" and the end."),
            "</w:p>",
        ]
        .concat(),
        [
            "<w:p>",
            &run("Control: "),
            r#"<w:sdt><w:sdtPr><w:alias w:val="Owner"/></w:sdtPr><w:sdtContent><w:r><w:t>Jane Doe</w:t></w:r></w:sdtContent></w:sdt>"#,
            &run(", tag: "),
            r#"<w:smartTag w:uri="urn:x" w:element="place"><w:r><w:t>Paris</w:t></w:r></w:smartTag>"#,
            &run(", field: "),
            r#"<w:fldSimple w:instr=" AUTHOR "><w:r><w:t>Someone</w:t></w:r></w:fldSimple>"#,
            "</w:p>",
        ]
        .concat(),
        r#"<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Block control paragraph text.</w:t></w:r></w:p></w:sdtContent></w:sdt>"#.to_string(),
        r#"<w:p><w:r><w:t>Fish &amp; chips &lt;cheap&gt; </w:t></w:r><w:r><w:t><![CDATA[and <raw> data]]></w:t></w:r></w:p>"#.to_string(),
        r#"<w:p><w:pPr><w:bidi/></w:pPr><w:r><w:rPr><w:rtl/></w:rPr><w:t>השרת נפל בגלל דיסק מלא</w:t></w:r><w:r><w:rPr><w:rtl/><w:b/></w:rPr><w:t xml:space="preserve"> ולא היה ניטור</w:t></w:r></w:p>"#.to_string(),
        r#"<w:p><w:r><w:rPr><w:rFonts w:eastAsia="SimSun"/></w:rPr><w:t>服务器因为磁盘已满而停止</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>，没有监控。</w:t></w:r></w:p>"#.to_string(),
        r#"<w:p><w:r><w:t xml:space="preserve">Tab</w:t><w:tab/><w:t>and</w:t><w:br/><w:t>break 😀 emoji</w:t></w:r></w:p>"#.to_string(),
    ]
    .concat();
    let pkg = package(&body, Vec::new());
    rewrite_entry(&pkg, "word/_rels/document.xml.rels", |s| {
        s.replace(
            "</Relationships>",
            &format!(r#"<Relationship Id="rId9" Type="{REL}/hyperlink" Target="http://example.com/" TargetMode="External"/></Relationships>"#),
        )
    })
}

/// Rewrites one text entry of a package.
pub fn rewrite_entry(pkg: &[u8], name: &str, f: impl Fn(String) -> String) -> Vec<u8> {
    use std::io::{Cursor, Read};
    let mut z = zip::ZipArchive::new(Cursor::new(pkg)).expect("zip");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).expect("entry");
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        let n = e.name().expect("name").to_string();
        if n == name {
            data = f(String::from_utf8(data).expect("utf8")).into_bytes();
        }
        files.push((n, data));
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    zip_of(&refs)
}

/// A Strict package without a comments part.
pub fn strict() -> Vec<u8> {
    package_in(
        W_STRICT,
        DECLS,
        &format!(
            "<w:p><w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr>{}</w:p><w:p>{}{}</w:p>",
            run("Strict heading"),
            run("Strict body "),
            r#"<w:r><w:rPr><w:b/></w:rPr><w:t>text here.</w:t></w:r>"#
        ),
        Vec::new(),
    )
}

/// A document whose WordprocessingML namespace is the default one (no prefix).
pub fn default_namespace() -> Vec<u8> {
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><document xmlns="{W}"><body><p><r><rPr><b/></rPr><t>Default namespace paragraph</t></r></p><sectPr/></body></document>"#
    );
    let pkg = package("", Vec::new());
    rewrite_entry(&pkg, "word/document.xml", |_| doc.clone())
}
