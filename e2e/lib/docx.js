// A minimal valid .docx built by the tests themselves: paragraphs as [style id or '', text], with
// Heading1/Heading2 defined by name in the styles part, as Word does.
import { writeZip } from './zip.js';

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

function escape(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The bytes of a .docx with these paragraphs. */
export function docx(paragraphs) {
  const body = paragraphs
    .map(([style, text]) => {
      const props = style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : '';
      return `<w:p>${props}<w:r><w:t xml:space="preserve">${escape(text)}</w:t></w:r></w:p>`;
    })
    .join('');
  return writeZip([
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
        '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>' +
        '</Types>',
    ],
    [
      '_rels/.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
        '</Relationships>',
    ],
    [
      'word/_rels/document.xml.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
        '</Relationships>',
    ],
    ['word/document.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`],
    [
      'word/styles.xml',
      `<?xml version="1.0" encoding="UTF-8"?><w:styles xmlns:w="${W}">` +
        '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>' +
        '<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style>' +
        '</w:styles>',
    ],
  ]);
}

/** An incident write-up with five headed sections (each body's first sentence is what the fake model quotes). */
export function incidentWriteup() {
  return docx([
    ['Heading1', 'Executive Summary'],
    ['', 'On 3 March the payment service failed for 42 minutes. About 1,200 customers could not pay.'],
    ['Heading1', 'Timeline'],
    ['', '09:02 Alert fired for elevated error rates.'],
    ['', '09:44 Service restored after the certificate was replaced.'],
    ['Heading1', 'Root Cause'],
    ['', 'A certificate expired because renewal was manual. Nobody owned the renewal calendar.'],
    ['Heading2', 'Contributing factors'],
    ['', 'There was no alert on certificate expiry. The runbook was out of date.'],
    ['Heading1', 'Actions'],
    ['', 'Automate certificate renewal. Owner: TBD, due [DATE].'],
  ]);
}
