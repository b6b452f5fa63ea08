//! .docx reading on small hand-built packages: each test states one rule of the reader.

mod support;

use aiprism_docx::{
    Container, ErrorClass, Limits, ParagraphRole, ParsedDocument, ReadError, RunSpan, SectionOrigin, read,
    read_docx,
};
use support::*;
use zip::CompressionMethod;

fn parse(body: &str) -> ParsedDocument {
    read_docx(&docx(body), &Limits::default()).expect("package reads")
}

fn texts(d: &ParsedDocument) -> Vec<&str> {
    d.paragraphs.iter().map(|p| p.text.as_str()).collect()
}

fn titles(d: &ParsedDocument) -> Vec<&str> {
    d.sections.iter().map(|s| s.title.as_str()).collect()
}

/// Chars `start..end` of `s` (Unicode scalar offsets).
fn slice(s: &str, start: u32, end: u32) -> String {
    s.chars()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect()
}

#[test]
fn main_part_and_styles_are_found_through_relationships() {
    let root = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="a" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="/word/document22.xml"/></Relationships>"#;
    let rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="s" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="../style/st.xml"/></Relationships>"#;
    let doc = document_xml(&(para("berschrift1", "Heading via rels") + &para("", "Body")));
    let sty = styles_xml(STYLES);
    let bytes = zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("word/document.xml", document_xml(&para("", "decoy")).as_bytes()),
        ("word/document22.xml", doc.as_bytes()),
        ("word/_rels/document22.xml.rels", rels.as_bytes()),
        ("style/st.xml", sty.as_bytes()),
    ]);
    let d = read(&bytes, "x.docx", &Limits::default()).expect("reads");
    assert_eq!(texts(&d), vec!["Heading via rels", "Body"]);
    assert_eq!(
        d.paragraphs[0].heading_level,
        Some(1),
        "styles resolved via the main part's own rels"
    );
    assert_eq!(titles(&d), vec!["Heading via rels"]);
}

#[test]
fn heading_levels_come_from_names_chains_and_outline_levels_not_ids() {
    let body = [
        para("a4", "The Title"),
        para("", "Preamble text"),
        para("berschrift1", "One"),
        para("Titre2", "Two"),
        para("3", "Three"),
        para("MyHead", "Custom based on heading 2"),
        para("Heading1", "Id says heading, outline level 9 says body"),
        para("TOCHeading", "Contents"),
        r#"<w:p><w:pPr><w:outlineLvl w:val="3"/></w:pPr><w:r><w:t>Direct level four</w:t></w:r></w:p>"#.into(),
        r#"<w:p><w:pPr><w:pStyle w:val="berschrift1"/><w:outlineLvl w:val="9"/></w:pPr><w:r><w:t>Demoted</w:t></w:r></w:p>"#.into(),
        para("berschrift1", "  "),
        para("", "tail"),
    ]
    .concat();
    let d = parse(&body);
    let levels: Vec<Option<u8>> = d.paragraphs.iter().map(|p| p.heading_level).collect();
    assert_eq!(
        levels,
        vec![
            None,
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(2),
            None,
            None,
            Some(4),
            None,
            Some(1),
            None
        ]
    );
    assert_eq!(d.paragraphs[0].role, ParagraphRole::Title);
    assert_eq!(d.paragraphs[7].role, ParagraphRole::TocHeading);
    assert_eq!(d.title.as_deref(), Some("The Title"));
    assert_eq!(
        titles(&d),
        vec![
            "The Title",
            "One",
            "Two",
            "Three",
            "Custom based on heading 2",
            "Direct level four"
        ]
    );
    assert_eq!(d.sections[0].origin, SectionOrigin::Preamble);
    assert_eq!(d.sections[0].text, "The Title\nPreamble text");
    // The empty heading paragraph starts nothing: "tail" belongs to "Direct level four".
    assert_eq!(d.sections[5].text, "Demoted\ntail");
    assert_eq!(
        d.sections[4].text,
        "Id says heading, outline level 9 says body\nContents"
    );
}

#[test]
fn tracked_changes_are_read_accepted_and_their_runs_still_count() {
    let body = r#"<w:p><w:r><w:t>Keep </w:t></w:r><w:ins w:id="1"><w:r><w:t>inserted </w:t></w:r></w:ins><w:del w:id="2"><w:r><w:delText>deleted </w:delText></w:r></w:del><w:moveFrom w:id="3"><w:r><w:t>moved-away </w:t></w:r></w:moveFrom><w:moveTo w:id="4"><w:r><w:t>moved-here</w:t></w:r></w:moveTo></w:p>"#;
    let d = parse(body);
    assert_eq!(texts(&d), vec!["Keep inserted moved-here"]);
    assert_eq!(
        d.paragraphs[0].runs,
        vec![
            RunSpan {
                start: 0,
                end: 5,
                run: 0
            },
            RunSpan {
                start: 5,
                end: 14,
                run: 1
            },
            RunSpan {
                start: 14,
                end: 24,
                run: 4
            },
        ]
    );
    assert!(d.warnings.iter().any(|w| w.contains("tracked changes")));
}

#[test]
fn fields_keep_results_and_drop_codes_even_across_paragraphs_and_nested() {
    let body = r#"<w:p><w:r><w:t>See </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> REF _Ref1 \h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:t>nested code text</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Figure 1</w:t></w:r></w:p><w:p><w:r><w:t>continued result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t> after</w:t></w:r></w:p><w:p><w:fldSimple w:instr=" PAGE "><w:r><w:t>7</w:t></w:r></w:fldSimple></w:p>"#;
    let d = parse(body);
    assert_eq!(texts(&d), vec!["See Figure 1", "continued result after", "7"]);
    assert_eq!(
        d.paragraphs[0].runs.last(),
        Some(&RunSpan {
            start: 4,
            end: 12,
            run: 7
        })
    );
}

#[test]
fn content_controls_smart_tags_custom_xml_and_hyperlinks_read_through() {
    let body = r#"<w:sdt><w:sdtPr><w:alias w:val="x"/><w:placeholder><w:docPart w:val="p"/></w:placeholder></w:sdtPr><w:sdtContent><w:p><w:customXml w:element="c"><w:smartTag w:element="s"><w:r><w:t>A</w:t></w:r></w:smartTag></w:customXml><w:hyperlink r:id="x" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:r><w:t>B</w:t></w:r></w:hyperlink><w:sdt><w:sdtContent><w:r><w:t>C</w:t></w:r></w:sdtContent></w:sdt></w:p></w:sdtContent></w:sdt>"#;
    let d = parse(body);
    assert_eq!(texts(&d), vec!["ABC"]);
    let runs: Vec<u32> = d.paragraphs[0].runs.iter().map(|r| r.run).collect();
    assert_eq!(runs, vec![0, 1, 2]);
}

#[test]
fn tables_and_nested_tables_read_in_order_as_table_cells() {
    let cell = |inner: &str| format!("<w:tc><w:tcPr><w:tcW w:w=\"1\"/></w:tcPr>{inner}</w:tc>");
    let nested = format!(
        "<w:tbl><w:tblPr/><w:tr>{}</w:tr></w:tbl>",
        cell(&para("", "inner"))
    );
    let body = format!(
        "{}<w:tbl><w:tblPr/><w:tblGrid/><w:tr>{}{}</w:tr></w:tbl>{}",
        para("", "before"),
        cell(&para("", "c1")),
        cell(&(nested + &para("", "c2 after nested"))),
        para("", "after")
    );
    let d = parse(&body);
    assert_eq!(
        texts(&d),
        vec!["before", "c1", "inner", "c2 after nested", "after"]
    );
    let containers: Vec<Container> = d.paragraphs.iter().map(|p| p.container).collect();
    use Container::*;
    assert_eq!(containers, vec![Body, TableCell, TableCell, TableCell, Body]);
}

#[test]
fn text_boxes_read_once_with_fallback_counted_but_not_read() {
    let txbx = |t: &str| format!("<w:txbxContent>{}</w:txbxContent>", para("", t));
    let body = format!(
        r#"<w:p><w:r><w:t>Host </w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>{}</wps:txbx><a:p><a:r><a:t>drawingml text</a:t></a:r></a:p></wps:wsp></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{}</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>end</w:t></w:r></w:p>{}"#,
        txbx("In the box"),
        txbx("In the box"),
        para("", "Next")
    );
    let d = parse(&body);
    assert_eq!(texts(&d), vec!["Host end", "In the box", "In the box", "Next"]);
    let loc: Vec<u32> = d.paragraphs.iter().map(|p| p.locator).collect();
    assert_eq!(
        loc,
        vec![0, 1, 2, 3],
        "a text-box paragraph comes right after its host"
    );
    let reading: Vec<bool> = d.paragraphs.iter().map(|p| p.in_reading_text).collect();
    assert_eq!(reading, vec![true, true, false, true]);
    assert_eq!(d.paragraphs[1].container, Container::TextBox);
    assert_eq!(
        d.paragraphs[0].runs,
        vec![
            RunSpan {
                start: 0,
                end: 5,
                run: 0
            },
            RunSpan {
                start: 5,
                end: 8,
                run: 2
            }
        ]
    );
    assert_eq!(d.sections.len(), 1);
    assert_eq!(d.sections[0].text, "Host end\nIn the box\nNext");
}

#[test]
fn unknown_choice_falls_back_and_known_choice_skips_fallback_text() {
    let body = r#"<w:p><w:r><w:t>smile </w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="w16se"><w16se:symEx w16se:font="Segoe UI Emoji" w16se:char="1F600"/></mc:Choice><mc:Fallback><w:t>😀</w:t></mc:Fallback></mc:AlternateContent></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:t>A</w:t></mc:Choice><mc:Fallback><w:t>B</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>"#;
    let d = parse(body);
    assert_eq!(texts(&d), vec!["smile 😀A"]);
    assert_eq!(
        d.paragraphs[0].runs,
        vec![
            RunSpan {
                start: 0,
                end: 6,
                run: 0
            },
            RunSpan {
                start: 6,
                end: 7,
                run: 1
            },
            RunSpan {
                start: 7,
                end: 8,
                run: 2
            }
        ]
    );
}

#[test]
fn special_characters() {
    let body = r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t><w:cr/><w:noBreakHyphen/><w:softHyphen/><w:sym w:font="Wingdings" w:char="F0E0"/><w:sym w:char="D800"/><w:t>&amp;&lt;&#233;&#x1F600;</w:t></w:r></w:p>"#;
    let d = parse(body);
    assert_eq!(texts(&d), vec!["a\tb\nc\n-\u{F0E0}&<é😀"]);
    assert_eq!(
        d.paragraphs[0].runs,
        vec![RunSpan {
            start: 0,
            end: 12,
            run: 0
        }]
    );
}

/// The exactness contract: for every span, the text the run contributes equals `text[start..end]`.
/// The oracle here is the way the body was assembled: each run's text is known.
#[test]
fn run_spans_map_exactly_onto_run_text() {
    let runs: Vec<(&str, String)> = vec![
        (
            "plain",
            "<w:r><w:t xml:space=\"preserve\">Héllo </w:t></w:r>".into(),
        ),
        (
            "link",
            "<w:hyperlink w:anchor=\"x\"><w:r><w:t>wörld</w:t></w:r></w:hyperlink>".into(),
        ),
        ("empty", "<w:r><w:rPr><w:b/></w:rPr></w:r>".into()),
        (
            "del",
            "<w:del w:id=\"1\"><w:r><w:delText>gone</w:delText></w:r></w:del>".into(),
        ),
        (
            "emoji",
            "<w:ins w:id=\"2\"><w:r><w:t>😀😀</w:t><w:tab/></w:r></w:ins>".into(),
        ),
        ("split", "<w:r><w:t>a</w:t><w:t>&amp;b</w:t></w:r>".into()),
        (
            "sdt",
            "<w:sdt><w:sdtContent><w:r><w:t>中文</w:t></w:r></w:sdtContent></w:sdt>".into(),
        ),
        (
            "fld",
            "<w:fldSimple w:instr=\"X\"><w:r><w:t>42</w:t></w:r></w:fldSimple>".into(),
        ),
    ];
    let expected: Vec<(u32, &str)> = vec![
        (0, "Héllo "),
        (1, "wörld"),
        (4, "😀😀\t"),
        (5, "a&b"),
        (6, "中文"),
        (7, "42"),
    ];
    let xml = format!(
        "<w:p>{}</w:p>",
        runs.iter().map(|r| r.1.as_str()).collect::<String>()
    );
    let d = parse(&xml);
    let p = &d.paragraphs[0];
    assert_eq!(p.text, expected.iter().map(|e| e.1).collect::<String>());
    assert_eq!(p.runs.len(), expected.len());
    let mut prev_end = 0;
    for (span, (run, text)) in p.runs.iter().zip(&expected) {
        assert_eq!(span.run, *run);
        assert_eq!(slice(&p.text, span.start, span.end), *text, "span {span:?}");
        assert!(span.start >= prev_end && span.start < span.end);
        prev_end = span.end;
    }
    assert_eq!(
        prev_end as usize,
        p.text.chars().count(),
        "spans cover the whole text"
    );
}

#[test]
fn bold_lines_and_numbered_lines_stand_in_for_missing_headings() {
    let cell = format!("<w:tbl><w:tr><w:tc>{}</w:tc></w:tr></w:tbl>", bold_para("Owner"));
    let body = [
        para("", "Incident write-up for the outage."),
        bold_para("Summary   "),
        para("", "The cache died."),
        r#"<w:p><w:pPr><w:pStyle w:val="BoldPara"/></w:pPr><w:r><w:t>Impact via para style</w:t></w:r></w:p>"#.into(),
        para("", "Users waited."),
        r#"<w:p><w:r><w:rPr><w:rStyle w:val="Strong"/></w:rPr><w:t>Timeline</w:t></w:r><w:r><w:t xml:space="preserve"> </w:t></w:r></w:p>"#.into(),
        cell,
        bold_para("A bold sentence is not a heading."),
        r#"<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>Half bold</w:t></w:r><w:r><w:t> half not</w:t></w:r></w:p>"#.into(),
        para("", "3. Root Cause"),
        para("", "It was DNS."),
        para("", "3.1 Details"),
        para("", "More."),
    ]
    .concat();
    let d = parse(&body);
    assert_eq!(
        titles(&d),
        vec![
            "Introduction",
            "Summary",
            "Impact via para style",
            "Timeline",
            "3. Root Cause",
            "3.1 Details"
        ]
    );
    let levels: Vec<u8> = d.sections.iter().map(|s| s.level).collect();
    assert_eq!(levels, vec![0, 1, 1, 1, 1, 2]);
    assert!(
        d.sections[1..]
            .iter()
            .all(|s| s.origin == SectionOrigin::Inferred)
    );
    assert_eq!(
        d.sections[3].text,
        "Owner\nA bold sentence is not a heading.\nHalf bold half not"
    );
    assert!(
        d.paragraphs.iter().all(|p| p.heading_level.is_none()),
        "fallback headings are not style headings"
    );
}

#[test]
fn quoted_email_threads_are_split_off_and_excluded() {
    let body = [
        para("berschrift1", "Analysis"),
        para("", "We looked into it."),
        para("", "-----Original Message-----"),
        para("", "From: Jane Doe"),
        para("", "Sent: Tuesday"),
        para("", "Subject: RE: the outage"),
        para("", "Can you check?"),
        para("berschrift1", "Actions"),
        para("", "Fix."),
    ]
    .concat();
    let d = parse(&body);
    assert_eq!(
        titles(&d),
        vec!["Analysis", "Quoted e-mail: RE: the outage", "Actions"]
    );
    let mail = &d.sections[1];
    assert_eq!(mail.origin, SectionOrigin::QuotedEmail);
    assert_eq!(mail.excluded_reason.as_deref(), Some("quoted e-mail thread"));
    assert!(mail.text.contains("Can you check?"));
    assert_eq!(d.sections[0].text, "We looked into it.");
    assert_eq!(d.sections[2].excluded_reason, None);
}

#[test]
fn strict_namespace_and_unusual_prefixes_read_like_transitional() {
    let doc = r#"<?xml version="1.0"?><ns0:document xmlns:ns0="http://purl.oclc.org/ooxml/wordprocessingml/main"><ns0:body><ns0:p><ns0:pPr><ns0:pStyle ns0:val="H"/></ns0:pPr><ns0:r><ns0:t>Strict heading</ns0:t></ns0:r></ns0:p><ns0:p><ns0:r><ns0:t>text</ns0:t></ns0:r></ns0:p></ns0:body></ns0:document>"#;
    let sty = r#"<x:styles xmlns:x="http://purl.oclc.org/ooxml/wordprocessingml/main"><x:style x:type="paragraph" x:styleId="H"><x:name x:val="heading 2"/></x:style></x:styles>"#;
    let root = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let rels = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="s" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/styles" Target="styles.xml"/></Relationships>"#;
    let bom_doc = [b"\xEF\xBB\xBF".as_slice(), doc.as_bytes()].concat();
    let bytes = zip_of(&[
        ("_rels/.rels", root.as_bytes()),
        ("word/document.xml", &bom_doc),
        ("word/_rels/document.xml.rels", rels.as_bytes()),
        ("word/styles.xml", sty.as_bytes()),
    ]);
    let d = read_docx(&bytes, &Limits::default()).expect("strict reads");
    assert_eq!(texts(&d), vec!["Strict heading", "text"]);
    assert_eq!(d.paragraphs[0].heading_level, Some(2));
    assert_eq!(titles(&d), vec!["Strict heading"]);
}

#[test]
fn missing_styles_part_is_fine_and_empty_document_has_no_sections() {
    let bytes = zip_of(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        (
            "word/document.xml",
            document_xml("<w:p/><w:p><w:r><w:t> </w:t></w:r></w:p>").as_bytes(),
        ),
    ]);
    let d = read_docx(&bytes, &Limits::default()).expect("reads");
    assert_eq!(d.paragraphs.len(), 2);
    assert!(d.sections.is_empty());
}

#[test]
fn main_part_must_exist_and_be_a_word_document() {
    let theme = zip_of(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        (
            "word/document.xml",
            br#"<a:themeManager xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"/>"#
                .as_slice(),
        ),
    ]);
    let e = read_docx(&theme, &Limits::default()).expect_err("not a document");
    assert!(matches!(e, ReadError::NotWordDocument { .. }), "{e:?}");
    let none = zip_of(&[("emptyfile", b"".as_slice())]);
    let e = read_docx(&none, &Limits::default()).expect_err("no main part");
    assert_eq!(e, ReadError::NoMainPart);
    assert_eq!(e.class(), ErrorClass::Invalid);
}

#[test]
fn dtds_and_undefined_entities_are_refused() {
    let doc = format!(
        r#"<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><w:document {NS_DECLS}><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"#
    );
    let bytes = zip_of(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ]);
    let e = read(&bytes, "x.docx", &Limits::default()).expect_err("DTD refused");
    assert!(matches!(e, ReadError::DtdForbidden { .. }), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Invalid);

    let e = read_docx(
        &docx("<w:p><w:r><w:t>&undefined;</w:t></w:r></w:p>"),
        &Limits::default(),
    )
    .expect_err("undefined entity");
    assert!(matches!(e, ReadError::MalformedXml { .. }), "{e:?}");

    let e = read_docx(&docx("<w:p><w:r><w:t>unclosed</w:r></w:p>"), &Limits::default()).expect_err("bad xml");
    assert!(matches!(e, ReadError::MalformedXml { .. }), "{e:?}");
}

#[test]
fn zip_bomb_limits_apply_to_bytes_actually_produced() {
    let zeros = vec![0u8; 3 * 1024 * 1024];
    let bomb = zip_of(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/document.xml", document_xml(&para("", "x")).as_bytes()),
        ("word/media/zeros.bin", &zeros),
    ]);
    assert!(
        bomb.len() < 64 * 1024,
        "the test entry compresses far beyond ratio 200"
    );
    let e = read_docx(&bomb, &Limits::default()).expect_err("ratio");
    assert!(matches!(e, ReadError::CompressionRatio { .. }), "{e:?}");
    assert_eq!(e.class(), ErrorClass::TooLarge);

    let tight = Limits {
        max_total_uncompressed: 2 * 1024 * 1024,
        max_ratio: u64::MAX,
        ..Limits::default()
    };
    let e = read_docx(&bomb, &tight).expect_err("total");
    assert!(matches!(e, ReadError::UncompressedTooLarge { .. }), "{e:?}");

    let few = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let e = read_docx(&bomb, &few).expect_err("entries");
    assert!(
        matches!(e, ReadError::TooManyEntries { count: 3, limit: 2 }),
        "{e:?}"
    );

    let small = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    let e = read(&bomb, "x.docx", &small).expect_err("size");
    assert!(matches!(e, ReadError::FileTooLarge { .. }), "{e:?}");

    // The same content in stored entries of normal size is fine.
    let ok = zip_of(&[
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/document.xml", document_xml(&para("", "x")).as_bytes()),
        ("word/media/small.bin", &[0u8; 1000]),
    ]);
    assert!(read_docx(&ok, &Limits::default()).is_ok());
}

#[test]
fn a_bad_checksum_in_any_entry_rejects_the_file() {
    let marker = b"THEME-PAYLOAD-THEME-PAYLOAD";
    let bytes = zip_with(
        &[
            ("_rels/.rels", ROOT_RELS.as_bytes()),
            ("word/document.xml", document_xml(&para("", "fine")).as_bytes()),
            ("word/theme/theme1.xml", marker.as_slice()),
        ],
        CompressionMethod::Stored,
    );
    assert!(read_docx(&bytes, &Limits::default()).is_ok());
    let mut broken = bytes.clone();
    let at = broken
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("stored payload");
    broken[at] ^= 0x20;
    let e = read_docx(&broken, &Limits::default()).expect_err("crc");
    assert!(matches!(e, ReadError::CorruptZip { .. }), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Invalid);
}

#[test]
fn truncated_and_non_zip_inputs_are_rejected() {
    let good = docx(&para("", "hello"));
    for cut in [good.len() / 2, good.len() - 10, 30, 4] {
        let e = read(&good[..cut], "t.docx", &Limits::default()).expect_err("truncated");
        assert_eq!(e.class(), ErrorClass::Invalid, "cut at {cut}: {e:?}");
    }
    let e = read(b"just some words", "report.docx", &Limits::default()).expect_err("not a zip");
    assert_eq!(e, ReadError::NotAZip);
    let e = read(b"%PDF-1.7 ...", "report.pdf", &Limits::default()).expect_err("pdf");
    assert_eq!((e.clone(), e.class()), (ReadError::Pdf, ErrorClass::Unsupported));
    let e = read(b"{\\rtf1\\ansi hello}", "old.doc", &Limits::default()).expect_err("rtf");
    assert_eq!(e, ReadError::UnknownFormat);
    let e = read(&[0u8, 1, 2, 3, 0, 0, 0xFF], "blob.bin", &Limits::default()).expect_err("binary");
    assert_eq!(
        (e.clone(), e.class()),
        (ReadError::UnknownFormat, ErrorClass::Unsupported)
    );
}

#[test]
fn ole2_containers_are_encrypted_packages_or_legacy_doc() {
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(1024, 0);
    let legacy = ole.clone();
    let e = read(&legacy, "old.doc", &Limits::default()).expect_err("legacy");
    assert_eq!(
        (e.clone(), e.class()),
        (ReadError::LegacyDoc, ErrorClass::Unsupported)
    );
    assert!(e.to_string().contains("97-2003"));
    // Encrypted OOXML: the CFB directory names an "EncryptionInfo" stream (UTF-16LE).
    let mut enc = ole;
    enc.extend("EncryptionInfo".encode_utf16().flat_map(u16::to_le_bytes));
    enc.resize(2048, 0);
    let e = read(&enc, "secret.docx", &Limits::default()).expect_err("encrypted");
    assert_eq!(
        (e.clone(), e.class()),
        (ReadError::Encrypted, ErrorClass::Invalid)
    );
    assert!(e.to_string().contains("password"));
    // The ASCII name alone is not the UTF-16 directory entry.
    let mut ascii = legacy;
    ascii.extend_from_slice(b"EncryptionInfo");
    assert_eq!(
        read(&ascii, "x.doc", &Limits::default()).expect_err("legacy"),
        ReadError::LegacyDoc
    );
}

#[test]
fn text_and_markdown_are_sniffed_by_name_and_content() {
    let d = read(
        b"# Title\n\nSome text.\n\n## Part\n\nMore.",
        "notes.md",
        &Limits::default(),
    )
    .expect("md");
    assert_eq!(d.format, aiprism_docx::SourceFormat::Markdown);
    assert_eq!(titles(&d), vec!["Title", "Part"]);
    let d = read(b"INTRODUCTION\n\nSome text.", "notes.txt", &Limits::default()).expect("txt");
    assert_eq!(d.format, aiprism_docx::SourceFormat::Text);
    assert_eq!(titles(&d), vec!["INTRODUCTION"]);
    let d = read(
        b"---\ntitle: T\n---\n\nBody",
        "page.html.md.erb",
        &Limits::default(),
    )
    .expect("erb");
    assert_eq!(d.format, aiprism_docx::SourceFormat::Markdown);
    assert_eq!(d.title.as_deref(), Some("T"));
}

#[test]
fn paragraph_count_is_capped() {
    let n = aiprism_docx::MAX_PARAGRAPHS + 1;
    let doc = document_xml(&"<w:p/>".repeat(n));
    // Stored, so that the zip-bomb ratio limit does not answer first.
    let bytes = zip_with(
        &[
            ("_rels/.rels", ROOT_RELS.as_bytes()),
            ("word/document.xml", doc.as_bytes()),
        ],
        CompressionMethod::Stored,
    );
    let e = read_docx(&bytes, &Limits::default()).expect_err("capped");
    assert!(matches!(e, ReadError::TooManyParagraphs { .. }), "{e:?}");
    assert_eq!(e.class(), ErrorClass::TooLarge);
}
