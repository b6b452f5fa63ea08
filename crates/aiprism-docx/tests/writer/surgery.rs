//! The XML surgery on small built packages: exact markup for split runs, markers around and
//! inside containers, ids, created parts, Strict and default-namespace documents, escaping,
//! tracked changes, and what is refused.

use std::io::{Cursor, Read};

use aiprism_docx::{
    CommentAnchor, CommentSpec, Limits, WriteOptions, WriteReport, build_docx, read_comments, read_docx,
    read_markdown, write_comments,
};

use crate::common::{check_output, quote, raw_entries, spec};
use crate::fixtures::{self, W_STRICT, package, rewrite_entry};
use crate::libreoffice::find;

fn entry(pkg: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut z = zip::ZipArchive::new(Cursor::new(pkg)).ok()?;
    let mut f = z.by_name(name).ok()?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).ok()?;
    Some(v)
}

fn text(pkg: &[u8], name: &str) -> String {
    String::from_utf8(entry(pkg, name).expect("entry exists")).expect("utf-8")
}

fn body(pkg: &[u8]) -> String {
    let doc = text(pkg, "word/document.xml");
    let a = doc.find("<w:body>").map_or(0, |i| i + 8);
    let b = doc.find("<w:sectPr").unwrap_or(doc.len());
    doc[a..b].to_string()
}

fn write(pkg: &[u8], specs: &[CommentSpec], tracked: bool) -> WriteReport {
    write_comments(
        pkg,
        specs,
        &WriteOptions {
            tracked_changes: tracked,
        },
        &Limits::default(),
    )
    .expect("writes")
}

fn range(paragraph: u32, start: u32, end: u32) -> CommentAnchor {
    CommentAnchor::Range {
        paragraph,
        start,
        end,
    }
}

/// Writes comments on `anchors` and checks every invariant (text unchanged, each comment on
/// exactly its quote, untouched entries identical, structure valid).
fn write_checked(pkg: &[u8], anchors: &[CommentAnchor]) -> WriteReport {
    let d = read_docx(pkg, &Limits::default()).expect("reads");
    let specs: Vec<_> = anchors.iter().enumerate().map(|(i, a)| spec(*a, i)).collect();
    let report = write(pkg, &specs, false);
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    let quotes: Vec<_> = report
        .comment_ids
        .iter()
        .map(|&(si, id)| {
            let (p, q) = quote(&d, &anchors[si]);
            (id, p, q)
        })
        .collect();
    let problems = check_output("fixture", pkg, &report, &quotes, false);
    assert!(problems.is_empty(), "{problems:#?}");
    check_structure(&report.bytes);
    report
}

/// Markers never inside runs or properties; every reference run a direct child of a paragraph;
/// every range start matched by an end after it; revision ids unique.
fn check_structure(pkg: &[u8]) {
    use quick_xml::events::Event;
    let xml = text(pkg, "word/document.xml");
    let mut r = quick_xml::Reader::from_str(&xml);
    let mut stack: Vec<String> = Vec::new();
    let mut starts = std::collections::HashSet::new();
    let mut ends = std::collections::HashSet::new();
    let mut revisions = std::collections::HashSet::new();
    let local = |n: &str| n.rsplit(':').next().unwrap_or("").to_string();
    loop {
        let ev = r.read_event().expect("output is well-formed");
        let (e, empty) = match &ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = local(e.name().as_ref());
        let parent = stack.last().cloned().unwrap_or_default();
        let id = e
            .attributes()
            .flatten()
            .find(|a| a.key.as_ref().ends_with(":id"))
            .map(|a| a.value.to_string());
        match name.as_str() {
            "commentRangeStart" | "commentRangeEnd" => {
                assert!(
                    !matches!(
                        parent.as_str(),
                        "r" | "pPr" | "rPr" | "sdt" | "smartTag" | "customXml" | "fldSimple"
                    ),
                    "{name} inside {parent}"
                );
                let id = id.expect("marker id");
                if name == "commentRangeEnd" {
                    assert!(starts.contains(&id), "end {id} before its start");
                    assert!(ends.insert(id), "duplicate end");
                } else {
                    assert!(starts.insert(id), "duplicate start");
                }
            }
            "commentReference" => {
                let grand = stack.iter().rev().nth(1).cloned();
                assert_eq!(parent, "r");
                assert_eq!(
                    grand.as_deref(),
                    Some("p"),
                    "reference run not at paragraph level"
                );
            }
            "ins" | "del" => assert!(
                revisions.insert(id.expect("revision id")),
                "duplicate revision id"
            ),
            _ => {}
        }
        if !empty {
            stack.push(name);
        }
    }
    assert_eq!(starts, ends, "every range has both ends");
}

const REF: &str =
    r#"<w:r><w:rPr><w:rStyle w:val="Kommentarzeichen"/></w:rPr><w:commentReference w:id="0"/></w:r>"#;

#[test]
fn a_split_run_keeps_its_properties_on_both_halves() {
    let pkg = package(
        r#"<w:p><w:r w:rsidR="00AB"><w:rPr><w:b/><w:color w:val="FF0000"/></w:rPr><w:t>Hello world</w:t></w:r></w:p>"#,
        vec![],
    );
    let out = write_checked(&pkg, &[range(0, 2, 8)]);
    let rpr = r#"<w:rPr><w:b/><w:color w:val="FF0000"/></w:rPr>"#;
    assert_eq!(
        body(&out.bytes),
        format!(
            r#"<w:p><w:r w:rsidR="00AB">{rpr}<w:t xml:space="preserve">He</w:t></w:r><w:commentRangeStart w:id="0"/><w:r w:rsidR="00AB">{rpr}<w:t xml:space="preserve">llo wo</w:t></w:r><w:commentRangeEnd w:id="0"/>{REF}<w:r w:rsidR="00AB">{rpr}<w:t xml:space="preserve">rld</w:t></w:r></w:p>"#
        )
    );
    // A range ending at the run's end does not split there.
    let out = write_checked(&pkg, &[range(0, 6, 11)]);
    assert!(body(&out.bytes).ends_with(&format!(
        r#"<w:t xml:space="preserve">world</w:t></w:r><w:commentRangeEnd w:id="0"/>{REF}</w:p>"#
    )));
}

#[test]
fn a_range_across_differently_formatted_runs_keeps_each_runs_formatting() {
    let pkg = package(
        r#"<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>AB</w:t></w:r><w:r><w:rPr><w:i/></w:rPr><w:t>CD</w:t></w:r><w:r><w:t>EF</w:t></w:r></w:p>"#,
        vec![],
    );
    let out = write_checked(&pkg, &[range(0, 1, 5)]);
    assert_eq!(
        body(&out.bytes),
        format!(
            r#"<w:p><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">A</w:t></w:r><w:commentRangeStart w:id="0"/><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">B</w:t></w:r><w:r><w:rPr><w:i/></w:rPr><w:t>CD</w:t></w:r><w:r><w:t xml:space="preserve">E</w:t></w:r><w:commentRangeEnd w:id="0"/>{REF}<w:r><w:t xml:space="preserve">F</w:t></w:r></w:p>"#
        )
    );
}

#[test]
fn markers_leave_containers_at_their_edges_and_stay_inside_otherwise() {
    let hyperlink = r#"<w:p><w:r><w:t xml:space="preserve">See </w:t></w:r><w:hyperlink r:id="rId1"><w:r><w:t>the link</w:t></w:r></w:hyperlink><w:r><w:t xml:space="preserve"> now.</w:t></w:r></w:p>"#;
    let pkg = package(hyperlink, vec![]);
    let whole = write_checked(&pkg, &[range(0, 4, 12)]);
    assert!(body(&whole.bytes).contains(r#"<w:commentRangeStart w:id="0"/><w:hyperlink"#));
    assert!(body(&whole.bytes).contains(r#"</w:hyperlink><w:commentRangeEnd w:id="0"/><w:r><w:rPr>"#));
    let inside = write_checked(&pkg, &[range(0, 8, 10)]);
    assert!(body(&inside.bytes).contains(r#"<w:hyperlink r:id="rId1"><w:r><w:t xml:space="preserve">the </w:t></w:r><w:commentRangeStart w:id="0"/>"#));
    // The reference run goes after the hyperlink, at paragraph level.
    assert!(body(&inside.bytes).contains(&format!("</w:hyperlink>{REF}")));

    // Nested: a content control holding a tracked insertion holding a hyperlink.
    let nested = r#"<w:p><w:r><w:t xml:space="preserve">A </w:t></w:r><w:sdt><w:sdtPr/><w:sdtContent><w:ins w:id="3" w:author="X"><w:hyperlink w:anchor="b"><w:r><w:t>deep</w:t></w:r><w:r><w:t xml:space="preserve"> text</w:t></w:r></w:hyperlink></w:ins></w:sdtContent></w:sdt><w:r><w:t xml:space="preserve"> B</w:t></w:r></w:p>"#;
    let pkg = package(nested, vec![]);
    let out = write_checked(
        &pkg,
        &[range(0, 2, 6), range(0, 4, 11), range(0, 0, 13), range(0, 3, 9)],
    );
    let b = body(&out.bytes);
    // Ids start above the insertion's 3. "deep" starts the content control: the marker leaves
    // the hyperlink, the insertion and the control; "eep" starts inside the hyperlink.
    assert!(b.contains(r#"<w:commentRangeStart w:id="4"/><w:sdt>"#), "{b}");
    assert!(b.contains(r#"<w:hyperlink w:anchor="b"><w:r><w:t xml:space="preserve">d</w:t></w:r><w:commentRangeStart w:id="7"/>"#), "{b}");
    assert!(b.contains(r#"</w:sdt><w:commentRangeEnd w:id="5"/>"#), "{b}");
}

#[test]
fn smart_tags_are_split_around_markers_and_fields_are_only_commented_whole() {
    let st = r#"<w:p><w:r><w:t xml:space="preserve">In </w:t></w:r><w:smartTag w:uri="urn:s" w:element="place"><w:smartTagPr><w:attr w:name="n" w:val="v"/></w:smartTagPr><w:r><w:t>New York</w:t></w:r></w:smartTag><w:r><w:t xml:space="preserve"> today.</w:t></w:r></w:p>"#;
    let pkg = package(st, vec![]);
    let out = write_checked(&pkg, &[range(0, 7, 14)]);
    let b = body(&out.bytes);
    assert!(
        b.contains(r#"<w:t xml:space="preserve">New </w:t></w:r></w:smartTag><w:commentRangeStart w:id="0"/><w:smartTag w:uri="urn:s" w:element="place"><w:smartTagPr><w:attr w:name="n" w:val="v"/></w:smartTagPr><w:r><w:t xml:space="preserve">York</w:t>"#),
        "{b}"
    );
    let fields = [
        r#"<w:p><w:r><w:t xml:space="preserve">Page </w:t></w:r><w:fldSimple w:instr=" PAGE "><w:r><w:t>12</w:t></w:r></w:fldSimple></w:p>"#,
        r#"<w:p><w:r><w:t xml:space="preserve">See </w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> REF _Ref1 \h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>Section 3</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t xml:space="preserve"> now</w:t></w:r></w:p>"#,
        r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "http://x" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>link text</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#,
    ]
    .concat();
    let pkg = package(&fields, vec![]);
    // Whole field results: the markers go around the whole field.
    let out = write_checked(
        &pkg,
        &[range(0, 5, 7), range(1, 4, 13), CommentAnchor::Paragraph(1)],
    );
    let b = body(&out.bytes);
    assert!(
        b.contains(r#"<w:commentRangeStart w:id="0"/><w:fldSimple"#),
        "{b}"
    );
    assert!(
        b.contains(r#"<w:commentRangeStart w:id="1"/><w:r><w:fldChar w:fldCharType="begin"/>"#),
        "{b}"
    );
    // Inside a generated result or a simple field: refused; inside a hyperlink field: fine.
    let specs: Vec<_> = [range(0, 6, 7), range(1, 4, 11), range(2, 0, 4)]
        .iter()
        .enumerate()
        .map(|(i, a)| spec(*a, i))
        .collect();
    let out = write(&pkg, &specs, false);
    assert_eq!(
        out.skipped.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![0, 1],
        "{:?}",
        out.skipped
    );
    assert!(out.skipped[1].1.contains("generated field result"));
    assert_eq!(out.comments_written, 1);
}

#[test]
fn new_ids_are_above_every_id_in_the_package() {
    let pkg = fixtures::threads();
    let notes = r#"<?xml version="1.0"?><w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:footnote w:id="90"><w:p><w:ins w:id="95" w:author="A"><w:r><w:t>n</w:t></w:r></w:ins></w:p></w:footnote></w:footnotes>"#;
    let pkg = rewrite_entry(&pkg, "word/people.xml", |s| s);
    let pkg = {
        let mut z = zip::ZipArchive::new(Cursor::new(&pkg)).expect("zip");
        let mut files = Vec::new();
        for i in 0..z.len() {
            let mut f = z.by_index(i).expect("entry");
            let mut d = Vec::new();
            f.read_to_end(&mut d).expect("read");
            files.push((f.name().expect("name").to_string(), d));
        }
        files.push(("word/footnotes.xml".into(), notes.as_bytes().to_vec()));
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        crate::support::zip_of(&refs)
    };
    let d = read_docx(&pkg, &Limits::default()).expect("reads");
    let mut s = spec(find(&d, "watched"), 0);
    s.replacement = Some("looked".into());
    let out = write(&pkg, &[spec(find(&d, "The disk"), 1), s], true);
    assert_eq!(
        out.comment_ids.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![96, 97]
    );
    let b = body(&out.bytes);
    assert!(
        b.contains(r#"<w:ins w:id="98""#) && b.contains(r#"<w:del w:id="99""#),
        "{b}"
    );
    check_structure(&out.bytes);
}

#[test]
fn existing_comments_and_their_thread_parts_stay_untouched() {
    let pkg = fixtures::threads();
    let d = read_docx(&pkg, &Limits::default()).expect("reads");
    let out = write_checked(
        &pkg,
        &[
            find(&d, "filled up because nobody watched"),
            CommentAnchor::Paragraph(1),
        ],
    );
    let before = raw_entries(&pkg);
    let after = raw_entries(&out.bytes);
    for name in [
        "word/commentsExtended.xml",
        "word/people.xml",
        "word/styles.xml",
        "_rels/.rels",
    ] {
        let a = before.iter().find(|e| e.0 == name).expect("in original");
        let b = after.iter().find(|e| e.0 == name).expect("in output");
        assert_eq!((&a.1, a.2), (&b.1, b.2), "{name} changed");
    }
    let old = text(&pkg, "word/comments.xml");
    let new = text(&out.bytes, "word/comments.xml");
    let old_body = &old[old.find("<w:comment ").expect("comment")..old.rfind("</w:comments>").expect("end")];
    assert!(
        new.contains(old_body),
        "existing comment elements are kept byte for byte"
    );
    let comments = read_comments(&out.bytes, &Limits::default()).expect("reads");
    assert_eq!(comments.len(), 4);
    assert_eq!(comments[0].text, "Why did it fill?");
    assert_eq!(comments[0].anchored_text.as_deref(), Some("The disk filled up"));
    assert_eq!(comments[1].author, "Bob");
}

#[test]
fn a_missing_comments_part_is_created_with_relationship_and_content_type() {
    let pkg = fixtures::formatting();
    let out = write_checked(&pkg, &[CommentAnchor::Paragraph(0)]);
    let rels = text(&out.bytes, "word/_rels/document.xml.rels");
    assert!(rels.contains(r#"Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml""#), "{rels}");
    assert_eq!(
        rels.matches("Id=\"rId9\"").count(),
        1,
        "relationship ids stay unique"
    );
    let ct = text(&out.bytes, "[Content_Types].xml");
    assert!(ct.contains(r#"<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>"#));
    let c = text(&out.bytes, "word/comments.xml");
    assert!(
        c.starts_with("<?xml")
            && c.contains(
                r#"<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">"#
            )
    );
    assert!(c.contains(r#"<w:pStyle w:val="Kommentartext"/>"#) && c.contains("<w:annotationRef/>"));

    // No relationships part at all: it is created too.
    let bare = {
        let mut z = zip::ZipArchive::new(Cursor::new(&pkg)).expect("zip");
        let mut files = Vec::new();
        for i in 0..z.len() {
            let mut f = z.by_index(i).expect("entry");
            let name = f.name().expect("name").to_string();
            let mut d = Vec::new();
            f.read_to_end(&mut d).expect("read");
            if name != "word/_rels/document.xml.rels" {
                files.push((name, d));
            }
        }
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        crate::support::zip_of(&refs)
    };
    let specs = [spec(CommentAnchor::Paragraph(1), 0)];
    let out = write(&bare, &specs, false);
    assert_eq!(out.comments_written, 1);
    assert!(text(&out.bytes, "word/_rels/document.xml.rels").contains("relationships/comments"));
    assert_eq!(
        read_comments(&out.bytes, &Limits::default())
            .expect("reads")
            .len(),
        1
    );
}

#[test]
fn strict_packages_get_strict_comments() {
    let pkg = fixtures::strict();
    let out = write_checked(&pkg, &[CommentAnchor::Paragraph(0), range(1, 7, 16)]);
    let c = text(&out.bytes, "word/comments.xml");
    assert!(c.contains(&format!(r#"xmlns:w="{W_STRICT}""#)));
    let rels = text(&out.bytes, "word/_rels/document.xml.rels");
    assert!(
        rels.contains(r#"Type="http://purl.oclc.org/ooxml/officeDocument/relationships/comments""#),
        "{rels}"
    );
}

#[test]
fn default_namespace_documents_get_declared_prefixes() {
    let pkg = fixtures::default_namespace();
    let out = write_checked(&pkg, &[range(0, 8, 17)]);
    let doc = text(&out.bytes, "word/document.xml");
    assert!(doc.contains(r#"<w:commentRangeStart xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" w:id="0"/>"#), "{doc}");
    assert!(
        doc.contains(r#"<r><rPr><b/></rPr><t xml:space="preserve">Default </t></r>"#),
        "{doc}"
    );
}

#[test]
fn comment_text_is_escaped_with_one_paragraph_per_line() {
    let pkg = fixtures::formatting();
    let mut s = spec(CommentAnchor::Paragraph(0), 0);
    s.author = "O'Brien & <Co> \"QA\"".into();
    s.lines = vec![
        "a & b < c > d \"e\" 'f' 😀 שלום 中文".into(),
        String::new(),
        "two\nlines\r\nthree\tcols".into(),
        "\u{1}ctl".into(),
    ];
    let out = write(&pkg, &[s], false);
    let c = text(&out.bytes, "word/comments.xml");
    assert!(
        c.contains(r#"w:author="O&apos;Brien &amp; &lt;Co&gt; &quot;QA&quot;""#),
        "{c}"
    );
    assert!(c.contains("a &amp; b &lt; c &gt; d \"e\" 'f' 😀 שלום 中文"));
    assert_eq!(
        c.matches("<w:p>").count(),
        6,
        "one paragraph per line, blank line included"
    );
    let read = read_comments(&out.bytes, &Limits::default()).expect("reads");
    assert_eq!(
        read[0].text,
        "a & b < c > d \"e\" 'f' 😀 שלום 中文\n\ntwo\nlines\nthree\tcols\nctl"
    );
    assert_eq!(read[0].author, "O'Brien & <Co> \"QA\"");
    assert_eq!(read[0].initials.as_deref(), Some("AI"));
    assert_eq!(read[0].date.as_deref(), Some("2026-11-22T10:00:00Z"));
}

#[test]
fn several_and_overlapping_comments_share_a_paragraph() {
    let pkg = fixtures::formatting();
    let d = read_docx(&pkg, &Limits::default()).expect("reads");
    let a = [
        find(&d, "bold italic"),
        find(&d, "italic red lin"),
        find(&d, "Plain bold"),
        CommentAnchor::Paragraph(0),
        find(&d, "bold italic"),
        find(&d, "d i"),
    ];
    let out = write_checked(&pkg, &a);
    assert_eq!(out.comments_written, 6);
}

#[test]
fn bad_anchors_are_skipped_with_reasons_and_never_moved() {
    let pkg = fixtures::formatting();
    let empty_para = package(r#"<w:p/><w:p><w:r><w:t>x</w:t></w:r></w:p>"#, vec![]);
    let specs: Vec<_> = [
        range(99, 0, 1),
        range(0, 5, 5),
        range(0, 6, 2),
        range(0, 0, 9999),
        CommentAnchor::Paragraph(500),
    ]
    .iter()
    .enumerate()
    .map(|(i, a)| spec(*a, i))
    .collect();
    let out = write(&pkg, &specs, false);
    assert_eq!(out.comments_written, 0);
    assert_eq!(out.skipped.len(), 5);
    assert!(out.skipped[0].1.contains("does not exist") && out.skipped[1].1.contains("empty range"));
    assert!(out.skipped[3].1.contains("beyond"));
    assert_eq!(
        out.bytes, pkg,
        "nothing written: the original comes back unchanged"
    );
    let out = write(
        &empty_para,
        &[
            spec(CommentAnchor::Paragraph(0), 0),
            spec(CommentAnchor::Paragraph(1), 1),
        ],
        false,
    );
    assert!(out.skipped[0].1.contains("no text"));
    assert_eq!(out.comments_written, 1);
    // The hidden (fallback) copy of a text box is refused; the read copy works.
    let tb = r#"<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>box text</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><v:textbox><w:txbxContent><w:p><w:r><w:t>box text</w:t></w:r></w:p></w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"#;
    let pkg = package(tb, vec![]);
    let out = write(
        &pkg,
        &[spec(CommentAnchor::Paragraph(2), 0), spec(range(1, 0, 3), 1)],
        false,
    );
    assert!(out.skipped[0].1.contains("hidden copy"), "{:?}", out.skipped);
    assert_eq!(out.comments_written, 1);
    assert_eq!(
        read_comments(&out.bytes, &Limits::default()).expect("reads")[0]
            .anchored_text
            .as_deref(),
        Some("box")
    );
}

#[test]
fn tracked_replacements_delete_the_quoted_runs_and_insert_one_run() {
    let pkg = package(
        r#"<w:p><w:r><w:t xml:space="preserve">Keep </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>bold</w:t></w:r><w:r><w:rPr><w:i/></w:rPr><w:t xml:space="preserve"> and italic</w:t></w:r></w:p>"#,
        vec![],
    );
    let mut s = spec(range(0, 5, 13), 0);
    s.replacement = Some("strong\tnew".into());
    let out = write(&pkg, &[s.clone()], true);
    assert_eq!((out.comments_written, out.tracked_changes_written), (1, 1));
    let b = body(&out.bytes);
    let attrs = r#"w:author="aiprism" w:date="2026-11-22T10:00:00Z""#;
    assert_eq!(
        b,
        format!(
            r#"<w:p><w:r><w:t xml:space="preserve">Keep </w:t></w:r><w:commentRangeStart w:id="0"/><w:del w:id="2" {attrs}><w:r><w:rPr><w:b/></w:rPr><w:delText>bold</w:delText></w:r></w:del><w:del w:id="3" {attrs}><w:r><w:rPr><w:i/></w:rPr><w:delText xml:space="preserve"> and</w:delText></w:r></w:del><w:ins w:id="1" {attrs}><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">strong</w:t><w:tab/><w:t xml:space="preserve">new</w:t></w:r></w:ins><w:commentRangeEnd w:id="0"/>{REF}<w:r><w:rPr><w:i/></w:rPr><w:t xml:space="preserve"> italic</w:t></w:r></w:p>"#
        )
    );
    let d = read_docx(&out.bytes, &Limits::default()).expect("reads");
    assert_eq!(d.paragraphs[0].text, "Keep strong\tnew italic");
    assert_eq!(
        read_comments(&out.bytes, &Limits::default()).expect("reads")[0]
            .anchored_text
            .as_deref(),
        Some("strong\tnew")
    );
    check_structure(&out.bytes);
    // Overlapping replacements: the second one is a comment only, with a warning.
    let mut t = spec(range(0, 10, 16), 1);
    t.replacement = Some("x".into());
    let out = write(&pkg, &[s, t], true);
    assert_eq!((out.comments_written, out.tracked_changes_written), (2, 1));
    assert_eq!(out.warnings.len(), 1);
    // Without the option a replacement is not written.
    let mut u = spec(range(0, 0, 4), 0);
    u.replacement = Some("x".into());
    assert_eq!(write(&pkg, &[u], false).tracked_changes_written, 0);
}

#[test]
fn entities_cdata_and_line_ends_split_at_the_right_character() {
    let pkg = package(
        "<w:p><w:r><w:t xml:space=\"preserve\">a &amp; b&#x1F600;c</w:t></w:r></w:p><w:p><w:r><w:t><![CDATA[x<y>z]]></w:t></w:r></w:p><w:p><w:r><w:t xml:space=\"preserve\">one\r\ntwo\rthree</w:t></w:r></w:p>",
        vec![],
    );
    let d = read_docx(&pkg, &Limits::default()).expect("reads");
    assert_eq!(d.paragraphs[2].text, "one\ntwo\nthree");
    write_checked(
        &pkg,
        &[
            range(0, 2, 6),
            range(0, 3, 7),
            range(1, 1, 4),
            range(2, 2, 5),
            range(2, 4, 9),
            range(1, 0, 2),
        ],
    );
}

#[test]
fn byte_order_marks_and_utf16_parts_keep_their_encoding() {
    let pkg = package(r#"<w:p><w:r><w:t>Encoded text</w:t></w:r></w:p>"#, vec![]);
    let bom = rewrite_entry(&pkg, "word/document.xml", |s| format!("\u{FEFF}{s}"));
    let out = write_checked(&bom, &[range(0, 0, 7)]);
    assert!(
        entry(&out.bytes, "word/document.xml")
            .expect("main")
            .starts_with(b"\xEF\xBB\xBF")
    );
    let utf16 = {
        let xml = text(&pkg, "word/document.xml").replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
        let mut bytes = vec![0xFF, 0xFE];
        for u in xml.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let mut z = zip::ZipArchive::new(Cursor::new(&pkg)).expect("zip");
        let mut files = Vec::new();
        for i in 0..z.len() {
            let mut f = z.by_index(i).expect("entry");
            let name = f.name().expect("name").to_string();
            let mut d = Vec::new();
            f.read_to_end(&mut d).expect("read");
            files.push((
                name.clone(),
                if name == "word/document.xml" {
                    bytes.clone()
                } else {
                    d
                },
            ));
        }
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        crate::support::zip_of(&refs)
    };
    let specs = [spec(range(0, 8, 12), 0)];
    let out = write(&utf16, &specs, false);
    assert!(
        entry(&out.bytes, "word/document.xml")
            .expect("main")
            .starts_with(&[0xFF, 0xFE])
    );
    let c = read_comments(&out.bytes, &Limits::default()).expect("reads");
    assert_eq!(c[0].anchored_text.as_deref(), Some("text"));
}

#[test]
fn built_documents_carry_markdown_paragraphs_and_offsets_over() {
    let md = read_markdown(
        "---\ntitle: T\n---\n# Incident\n\nThe disk filled *up*.\n\n## Timeline\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\tline\nmore\n```\n",
    );
    let built = build_docx(&md);
    let d = read_docx(&built, &Limits::default()).expect("built document reads");
    let texts = |p: &[aiprism_docx::Paragraph]| {
        p.iter()
            .map(|p| (p.text.clone(), p.heading_level))
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&d.paragraphs), texts(&md.paragraphs));
    let anchors: Vec<CommentAnchor> = (0..md.paragraphs.len() as u32)
        .filter(|&i| md.paragraphs[i as usize].text.chars().count() > 1)
        .map(|i| range(i, 1, md.paragraphs[i as usize].text.chars().count() as u32))
        .collect();
    write_checked(&built, &anchors);
}

/// A large main part with a few comments is rebuilt from its own compressed stream (untouched
/// tokens keep their bits), so it stays as small as the original compressed it; every check of
/// `write_checked` still holds.
#[test]
fn a_large_part_with_a_few_comments_keeps_its_compression() {
    let words = [
        "incident",
        "timeline",
        "root cause",
        "mitigation",
        "owner",
        "Ünïcode",
        "日本語",
        "🚀",
    ];
    let body: String = (0..7000)
        .map(|i| {
            let text: Vec<&str> = (0..12)
                .map(|k| words[(i * 7 + k * 3 + i / 5) % words.len()])
                .collect();
            crate::support::para(
                if i % 50 == 0 { "Heading1" } else { "" },
                &format!("{i}: {}", text.join(" ")),
            )
        })
        .collect();
    let pkg = crate::support::docx(&body);
    let compressed = |pkg: &[u8]| {
        let mut z = zip::ZipArchive::new(Cursor::new(pkg)).expect("zip");
        let f = z.by_name("word/document.xml").expect("main part");
        (f.size(), f.compressed_size())
    };
    let (size, before) = compressed(&pkg);
    assert!(size > 1_000_000, "a large part: {size} bytes");
    let anchors: Vec<CommentAnchor> = [3u32, 1500, 1501, 3000, 6999]
        .iter()
        .map(|&p| range(p, 2, 9))
        .collect();
    let out = write_checked(&pkg, &anchors);
    let (_, after) = compressed(&out.bytes);
    assert!(
        after <= before + before / 20 + 1024,
        "{before} compressed bytes became {after}"
    );
}
