//! The properties the fuzz targets check (`fuzz/`), kept here so that the
//! normal test suite replays the fuzz corpus through the very same checks
//! (`tests/fuzz_corpus.rs`). Each function panics when a property fails,
//! which is how a fuzzer learns of it.
use std::path::Path;

use crate::session::export::{eaf_string_dated, frames_csv_string, intervals_csv_string};
use crate::session::Session;
use crate::train::dataset::parse_labels;

/// Any text given as a session file: loading it either fails with a message
/// that names the file, or gives a session that the exports and look-ups
/// take without panicking and that saves to a text which loads back to the
/// same text.
pub fn check_session_text(text: &str) {
    for name in ["fuzz.session.ron", "fuzz.session.json"] {
        match Session::parse_as(Path::new(name), text) {
            Ok(session) => {
                let _ = frames_csv_string(&session);
                let _ = intervals_csv_string(&session);
                let _ = eaf_string_dated(&session, 0);
                let _ = (session.duration_s(), session.fps(), session.frame_period_s(), session.face_ids());
                for event in &session.events {
                    let _ = session.class_name(event.final_class());
                    let _ = session.frame_by_index(event.apex_frame);
                }
                if let Ok(saved) = session.to_ron_string() {
                    let again = Session::parse_as(Path::new("again.session.ron"), &saved);
                    match again {
                        Ok(again) => assert_eq!(again.to_ron_string().ok().as_deref(), Some(saved.as_str())),
                        Err(e) => panic!("a session Glimpse saved does not load: {:#}\n{saved}", anyhow::Error::new(e)),
                    }
                }
            }
            Err(e) => {
                let message = e.to_string();
                assert!(message.contains(name), "the error does not name the file: {message}");
            }
        }
    }
}

/// Any text given as `labels.csv`: an error names the file (and the line,
/// for a bad row); rows that pass have a label in range and an image path.
pub fn check_labels_text(text: &str) {
    let classes = ["negative", "positive", "surprise"].map(String::from);
    match parse_labels(Path::new("labels.csv"), text, &classes) {
        Ok(rows) => {
            assert!(!rows.is_empty());
            for row in rows {
                assert!(row.label < classes.len());
                assert!(!row.flow.is_empty() && row.line >= 2);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("labels.csv"), "the error does not name the file: {message}");
        }
    }
}
