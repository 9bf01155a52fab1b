//! `stem.eaf`: an ELAN annotation document (EAF 3.0), one tier per face,
//! one time-aligned annotation per event from onset to offset. Elements
//! follow the order of EAFv3.0.xsd (HEADER, TIME_ORDER, TIER*,
//! LINGUISTIC_TYPE*, LANGUAGE*, CONSTRAINT*), since ELAN validates it.
//!
//! A face whose events carry region motion gets a second tier, "region
//! motion (face N)", with the AU hints (hints, not detections) and the
//! regions that moved on each event's interval.
//!
//! Rejected events are kept, their value marked `[rejected]`: the review is
//! part of the record, and a reviewer working in ELAN can reinstate one.
use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::intervals_csv::review_name;
use crate::capture::SourceKind;
use crate::motion::face_regions::region_summary;
use crate::session::model::{Event, Session};

const LINGUISTIC_TYPE: &str = "micro-expression";

/// The document, dated now.
pub fn eaf_string(session: &Session) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    eaf_string_dated(session, now)
}

/// The document with its DATE set to `unix_s` (tests need a fixed date).
pub fn eaf_string_dated(session: &Session, unix_s: u64) -> String {
    // Two time slots per annotation, numbered in time order: ELAN expects
    // the TIME_ORDER ascending. Tiers: (id, events, region motion tier).
    let mut tiers: Vec<(String, Vec<&Event>, bool)> = Vec::new();
    for id in session.face_ids() {
        let mut events: Vec<&Event> = session.events_for_face(id).collect();
        events.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s).then(a.id.cmp(&b.id)));
        let measured = events.iter().any(|e| !e.region_motion.is_empty() || e.region_motion_note.is_some());
        tiers.push((format!("face {id}"), events.clone(), false));
        if measured {
            tiers.push((format!("region motion (face {id})"), events, true));
        }
    }
    // (ms, annotation number, is end): sorted by time, ties in document order.
    let mut slots: Vec<(i64, usize, bool)> = Vec::new();
    let mut annotation = 0;
    for (_, events, _) in &tiers {
        for event in events {
            let (begin, end) = span_ms(event, session.frame_period_s());
            slots.push((begin, annotation, false));
            slots.push((end, annotation, true));
            annotation += 1;
        }
    }
    slots.sort_by_key(|&(ms, a, is_end)| (ms, a, is_end));
    let mut slot_of = vec![[0usize; 2]; annotation];
    for (i, &(_, a, is_end)) in slots.iter().enumerate() {
        slot_of[a][usize::from(is_end)] = i + 1;
    }

    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let author = format!("Glimpse {}", session.glimpse_version).trim().to_string();
    let _ = writeln!(
        x,
        "<ANNOTATION_DOCUMENT AUTHOR=\"{}\" DATE=\"{}\" FORMAT=\"3.0\" VERSION=\"3.0\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"http://www.mpi.nl/tools/elan/EAFv3.0.xsd\">",
        escape(&author),
        iso8601_utc(unix_s)
    );
    x.push_str("    <HEADER MEDIA_FILE=\"\" TIME_UNITS=\"milliseconds\">\n");
    if let Some((url, mime)) = media(session) {
        let _ =
            writeln!(x, "        <MEDIA_DESCRIPTOR MEDIA_URL=\"{}\" MIME_TYPE=\"{}\"/>", escape(&url), escape(mime));
    }
    let _ = writeln!(x, "        <PROPERTY NAME=\"lastUsedAnnotationId\">{annotation}</PROPERTY>");
    x.push_str("    </HEADER>\n");

    if slots.is_empty() {
        x.push_str("    <TIME_ORDER/>\n");
    } else {
        x.push_str("    <TIME_ORDER>\n");
        for (i, (ms, _, _)) in slots.iter().enumerate() {
            let _ = writeln!(x, "        <TIME_SLOT TIME_SLOT_ID=\"ts{}\" TIME_VALUE=\"{ms}\"/>", i + 1);
        }
        x.push_str("    </TIME_ORDER>\n");
    }

    let mut a = 0;
    for (tier, events, regions) in &tiers {
        let tier = escape(tier);
        if events.is_empty() {
            let _ = writeln!(x, "    <TIER LINGUISTIC_TYPE_REF=\"{LINGUISTIC_TYPE}\" TIER_ID=\"{tier}\"/>");
            continue;
        }
        let _ = writeln!(x, "    <TIER LINGUISTIC_TYPE_REF=\"{LINGUISTIC_TYPE}\" TIER_ID=\"{tier}\">");
        for event in events {
            let [begin, end] = slot_of[a];
            a += 1;
            let _ = write!(
                x,
                "        <ANNOTATION>\n            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a{a}\" \
                 TIME_SLOT_REF1=\"ts{begin}\" TIME_SLOT_REF2=\"ts{end}\">\n                \
                 <ANNOTATION_VALUE>{}</ANNOTATION_VALUE>\n            </ALIGNABLE_ANNOTATION>\n        </ANNOTATION>\n",
                escape(&if *regions { region_value(event) } else { annotation_value(session, event) })
            );
        }
        x.push_str("    </TIER>\n");
    }

    // The type, language and constraints exactly as ELAN itself writes them.
    let _ = writeln!(
        x,
        "    <LINGUISTIC_TYPE GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"{LINGUISTIC_TYPE}\" TIME_ALIGNABLE=\"true\"/>"
    );
    x.push_str(
        "    <LANGUAGE LANG_DEF=\"http://cdb.iso.org/lg/CDB-00130975-001\" LANG_ID=\"und\" LANG_LABEL=\"undetermined (und)\"/>\n",
    );
    for (stereotype, description) in [
        (
            "Time_Subdivision",
            "Time subdivision of parent annotation's time interval, no time gaps allowed within this interval",
        ),
        (
            "Symbolic_Subdivision",
            "Symbolic subdivision of a parent annotation. Annotations refering to the same parent are ordered",
        ),
        ("Symbolic_Association", "1-1 association with a parent annotation"),
        ("Included_In", "Time alignable annotations within the parent annotation's time interval, gaps are allowed"),
    ] {
        let _ = writeln!(x, "    <CONSTRAINT DESCRIPTION=\"{}\" STEREOTYPE=\"{stereotype}\"/>", escape(description));
    }
    x.push_str("</ANNOTATION_DOCUMENT>\n");
    x
}

/// Onset and offset in whole milliseconds. ELAN refuses an annotation that
/// ends where it starts, so a one-frame event lasts one frame period (at
/// least 1 ms).
fn span_ms(event: &Event, frame_period_s: f64) -> (i64, i64) {
    let ms = |s: f64| if s.is_finite() { (s * 1000.0).round() as i64 } else { 0 };
    let begin = ms(event.onset_s).max(0);
    let mut end = ms(event.offset_s);
    if end <= begin {
        end = begin + ms(frame_period_s).max(1);
    }
    (begin, end)
}

/// "positive 0.83 (apex 12.345 s) [confirmed] note"; a relabelled event
/// shows the reviewer's class and what the model said.
fn annotation_value(session: &Session, event: &Event) -> String {
    let p = |class: usize| event.probabilities.get(class).map_or(String::new(), |p| format!(" {p:.2}"));
    let class = if event.review.relabelled_class.is_some_and(|c| c != event.class) {
        format!(
            "{} (model: {}{})",
            session.class_name(event.final_class()),
            session.class_name(event.class),
            p(event.class)
        )
    } else {
        format!("{}{}", session.class_name(event.class), p(event.class))
    };
    let mut value = format!("{class} (apex {:.3} s) [{}]", event.apex_s, review_name(event.review.status));
    // Where MOL-lite ran, each model's own top class.
    for (model, probabilities) in [("EPIR", event.epir_probabilities()), ("MOL", &event.mol_probabilities[..])] {
        if !event.mol_probabilities.is_empty() && !probabilities.is_empty() {
            let top = crate::model::epir_model::argmax(probabilities);
            value.push_str(&format!(" {model}: {} {:.2}", session.class_name(top), probabilities[top]));
        }
    }
    let note = event.review.note.trim();
    if !note.is_empty() {
        value.push(' ');
        value.push_str(note);
    }
    value
}

/// "hints: inner brows up: AU1?; … | moved: inner brows up 2.3 % IOD
/// (1.4 px), …", or why the regions were not measured.
fn region_value(event: &Event) -> String {
    if event.region_motion.is_empty() {
        return format!("not measured: {}", event.region_motion_note.as_deref().unwrap_or("no region motion"));
    }
    let hints = if event.au_hints.is_empty() { "none".to_string() } else { event.au_hints.join("; ") };
    format!("hints: {hints} | moved: {}", region_summary(&event.region_motion))
}

/// MEDIA_URL and MIME_TYPE of the source; none for a camera or an image
/// folder, which ELAN cannot play.
fn media(session: &Session) -> Option<(String, &'static str)> {
    if session.source.kind != SourceKind::VideoFile || session.source.path.is_empty() {
        return None;
    }
    let path = Path::new(&session.source.path);
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    // The MIME types ELAN's own media descriptors use.
    let mime = match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mpg" | "mpeg" => "video/mpeg",
        "mov" => "video/quicktime",
        "avi" | "mkv" | "webm" | "wmv" | "flv" | "ogv" => "video/*",
        "wav" => "audio/x-wav",
        _ => "unknown",
    };
    Some((file_url(&absolute), mime))
}

/// `file://` URL of an absolute path, every byte outside the unreserved set
/// and `/` percent-encoded (spaces, `#`, `%`, non-ASCII…).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

/// XML text and attribute escaping; characters XML 1.0 forbids (most
/// controls) are dropped, since no escape makes them legal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Line breaks in attributes would be normalised away: keep them.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS+00:00` (UTC, in the offset form ELAN writes).
pub fn iso8601_utc(unix_s: u64) -> String {
    let t = crate::utc::UtcTime::of(unix_s);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00", t.year, t.month, t.day, t.hour, t.minute, t.second)
}
