//! A small PDF writer for the documents the api prints (invoices, credit
//! notes, certificates of completion): A4 pages of text in Helvetica, a
//! font every PDF reader has, so nothing is embedded and the file stays a
//! few kilobytes. Text flows down the page and wraps; a new page starts
//! when one is full.
//!
//! Built on `pdf-writer` (one small crate, no font or layout engine): the
//! documents are lines of text and a few rules, which is all this needs.

use actix_web::HttpResponse;
use actix_web::http::header;
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// How a printed document is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A page to read and print.
    #[default]
    Html,
    /// A PDF file to download.
    Pdf,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FormatQuery {
    /// `html` (the default), or `pdf`.
    #[param(value_type = Format, inline, required = false)]
    pub format: Option<Format>,
}

/// The document as a page or as a PDF named `name.pdf`, never cached
/// (it names a person).
pub fn answer(
    format: Option<Format>,
    name: &str,
    page: impl FnOnce() -> String,
    pdf: impl FnOnce() -> Vec<u8>,
) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "private, no-store"));
    match format.unwrap_or_default() {
        Format::Html => res.content_type("text/html; charset=utf-8").body(page()),
        Format::Pdf => res
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.pdf\""),
            ))
            .body(pdf()),
    }
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// A document being written, page by page, from the top down.
pub struct Document {
    title: String,
    pages: Vec<Content>,
    page: Content,
    /// The baseline of the next line, from the bottom of the page.
    y: f32,
}

/// How a line of text looks.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub size: f32,
    pub bold: bool,
}

pub const BODY: Style = Style {
    size: 10.0,
    bold: false,
};
pub const STRONG: Style = Style {
    size: 10.0,
    bold: true,
};
pub const SMALL: Style = Style {
    size: 8.5,
    bold: false,
};
pub const TITLE: Style = Style {
    size: 18.0,
    bold: true,
};
pub const HEADING: Style = Style {
    size: 12.0,
    bold: true,
};

impl Document {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            pages: Vec::new(),
            page: Content::new(),
            y: HEIGHT - MARGIN,
        }
    }

    /// The width text may take.
    pub const fn measure() -> f32 {
        WIDTH - 2.0 * MARGIN
    }

    /// Ends this page; what follows starts at the top of a new one.
    pub fn new_page(&mut self) {
        let done = std::mem::replace(&mut self.page, Content::new());
        self.pages.push(done);
        self.y = HEIGHT - MARGIN;
    }

    /// Room for `height` more points on this page, or a new page.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
    }

    pub fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn show(&mut self, x: f32, style: Style, text: &str) {
        let bytes = win_ansi(text);
        self.page
            .begin_text()
            .set_font(if style.bold { BOLD } else { REGULAR }, style.size)
            .next_line(x, self.y)
            .show(Str(&bytes))
            .end_text();
    }

    /// Text from the left margin (`indent` points in), wrapped to `width`;
    /// each line of `text` starts a new line.
    pub fn text_in(&mut self, indent: f32, width: f32, style: Style, text: &str) {
        let leading = style.size * 1.35;
        for paragraph in text.lines() {
            for line in wrap(paragraph, style, width) {
                self.room(leading);
                self.y -= leading;
                self.show(MARGIN + indent, style, &line);
            }
        }
    }

    /// Text across the page.
    pub fn text(&mut self, style: Style, text: &str) {
        self.text_in(0.0, Self::measure(), style, text);
    }

    /// One line: `left` from the margin, `right` against the right margin
    /// (an amount in a table).
    pub fn row(&mut self, style: Style, left: &str, right: &str) {
        let leading = style.size * 1.5;
        let right_width = text_width(right, style);
        let lines = wrap(left, style, Self::measure() - right_width - 24.0);
        for (i, line) in lines.iter().enumerate() {
            self.room(leading);
            self.y -= leading;
            self.show(MARGIN, style, line);
            if i == 0 {
                self.show(WIDTH - MARGIN - right_width, style, right);
            }
        }
    }

    /// A thin horizontal line across the page.
    pub fn rule(&mut self) {
        self.room(8.0);
        self.y -= 5.0;
        self.page
            .set_line_width(0.5)
            .set_stroke_gray(0.6)
            .move_to(MARGIN, self.y)
            .line_to(WIDTH - MARGIN, self.y)
            .stroke();
        self.y -= 3.0;
    }

    /// The file.
    pub fn finish(mut self) -> Vec<u8> {
        self.new_page();
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let mut next = 6;
        let mut kids = Vec::with_capacity(self.pages.len());
        for content in self.pages {
            let page = Ref::new(next);
            let stream = Ref::new(next + 1);
            next += 2;
            kids.push(page);
            let mut p = pdf.page(page);
            p.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
                .parent(tree)
                .contents(stream);
            p.resources()
                .fonts()
                .pair(REGULAR, regular)
                .pair(BOLD, bold);
            drop(p);
            pdf.stream(stream, &content.finish());
        }
        pdf.catalog(catalog).pages(tree);
        let count = i32::try_from(kids.len()).unwrap_or(i32::MAX);
        pdf.pages(tree).kids(kids).count(count);
        for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
            pdf.type1_font(id)
                .base_font(Name(name.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Immersion"));
        pdf.finish()
    }
}

/// `text` cut into lines no wider than `width`, at spaces (a word longer
/// than a line is cut where it must be).
fn wrap(text: &str, style: Style, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, style) <= width || line.is_empty() && word.is_empty() {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone: cut it while it is too wide.
        let mut rest = word.to_owned();
        while text_width(&rest, style) > width && rest.chars().count() > 1 {
            let mut cut = String::new();
            for c in rest.chars() {
                if text_width(&format!("{cut}{c}"), style) > width && !cut.is_empty() {
                    break;
                }
                cut.push(c);
            }
            rest = rest[cut.len()..].to_owned();
            lines.push(cut);
        }
        line = rest;
    }
    lines.push(line);
    lines
}

/// The width of `text` in points, from Helvetica's metrics.
pub fn text_width(text: &str, style: Style) -> f32 {
    let units: u32 = text.chars().map(|c| glyph_width(c, style.bold)).sum();
    units as f32 * style.size / 1000.0
}

/// Helvetica's advance widths (thousandths of the size) for ASCII 32–126,
/// from Adobe's metrics of the standard fonts.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

fn glyph_width(c: char, bold: bool) -> u32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let ascii = |c: char| u32::from(table[(c as usize) - 32]);
    match c {
        ' '..='~' => ascii(c),
        // A letter with an accent is as wide as the letter.
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => ascii('a'),
        'é' | 'è' | 'ê' | 'ë' => ascii('e'),
        'î' | 'ï' | 'í' | 'ì' => ascii('i'),
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' => ascii('o'),
        'ù' | 'û' | 'ü' | 'ú' => ascii('u'),
        'ç' => ascii('c'),
        'ÿ' => ascii('y'),
        'À' | 'Â' | 'Ä' | 'Á' => ascii('A'),
        'É' | 'È' | 'Ê' | 'Ë' => ascii('E'),
        'Î' | 'Ï' => ascii('I'),
        'Ô' | 'Ö' => ascii('O'),
        'Ù' | 'Û' | 'Ü' => ascii('U'),
        'Ç' => ascii('C'),
        'œ' => 944,
        'Œ' => 1000,
        '—' | '…' => 1000,
        '’' | '‘' => ascii('\''),
        '\u{a0}' | '\u{202f}' => ascii(' '),
        _ => 556,
    }
}

/// `text` in the WinAnsi encoding the fonts are declared with; a
/// character it lacks prints as "?".
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            // The French thin space before "€" and ":" prints as a space.
            '\u{202f}' => b' ',
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            'Œ' => 0x8c,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Ÿ' => 0x9f,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_is_written_in_win_ansi() {
        assert_eq!(win_ansi("é à ç"), vec![0xe9, b' ', 0xe0, b' ', 0xe7]);
        assert_eq!(
            win_ansi("1\u{202f}997,00\u{a0}€"),
            b"1 997,00\xa0\x80".to_vec()
        );
        assert_eq!(win_ansi("漢"), b"?".to_vec());
    }

    #[test]
    fn long_text_wraps_within_the_width() {
        let text = "Je soussignée atteste que la personne désignée ci-dessous a suivi l'action de formation";
        let lines = wrap(text, BODY, 200.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(
            lines.iter().all(|l| text_width(l, BODY) <= 200.0),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), text);
        let word = "x".repeat(200);
        let cut = wrap(&word, BODY, 100.0);
        assert!(cut.len() > 1 && cut.concat() == word, "{cut:?}");
    }

    #[test]
    fn a_full_page_continues_on_the_next() {
        let mut doc = Document::new("test");
        for i in 0..120 {
            doc.text(BODY, &format!("ligne {i}"));
        }
        // 54 lines of 10 points fit on a page: two are full, a third begun.
        assert_eq!(doc.pages.len(), 2);
        let bytes = doc.finish();
        let read = lopdf::Document::load_mem(&bytes).unwrap();
        assert_eq!(read.get_pages().len(), 3);
        let last = read.extract_text(&[3]).unwrap();
        assert!(last.contains("ligne 119"), "{last}");
    }
}
