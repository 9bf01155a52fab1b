//! De-identified exports, for sharing a clinical recording's analysis:
//! no source path (a file name is often the person's name), no dates, no
//! free text, and an annotated video in which every face but the one
//! under review is pixelated.
use std::path::Path;

use super::model::Session;

/// A name for an input's de-identified outputs that does not reveal it:
/// `deid-` and 8 hex digits of a hash of its path (FNV-1a, stable across
/// runs and versions, so a stopped batch resumes).
pub fn deidentified_stem(input: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in input.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("deid-{:08x}", (hash >> 32) ^ (hash & 0xffff_ffff))
}

/// `session` without what identifies the person or the recording: the
/// source path, the creation date, the settings that name files (the
/// weights' paths, EPIR's and MOL-lite's), review notes (free text can name anyone), and the
/// source path inside warnings. Marked `deidentified`, so the ELAN export
/// carries no date either.
pub fn deidentified(session: &Session) -> Session {
    let mut out = session.clone();
    let path = std::mem::take(&mut out.source.path);
    out.created_unix_s = 0;
    out.deidentified = true;
    out.settings.retain(|(key, _)| key != "weights" && key != "mol_weights");
    for event in out.events.iter_mut().chain(&mut out.reviewed_not_spotted) {
        event.review.note.clear();
    }
    let name = Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned());
    for warning in &mut out.warnings {
        if !path.is_empty() {
            *warning = warning.replace(&path, "the source");
        }
        if let Some(name) = name.as_deref().filter(|n| !n.is_empty()) {
            *warning = warning.replace(name, "the source");
        }
    }
    out
}

/// The face a de-identified video keeps visible: `keep` when the session
/// has it, else the face with the most confirmed events, else the one seen
/// in the most frames.
pub fn kept_face(session: &Session, keep: Option<u32>) -> Option<u32> {
    if let Some(id) = keep.filter(|id| session.faces.iter().any(|f| f.id == *id)) {
        return Some(id);
    }
    let confirmed = |id: u32| {
        session
            .events
            .iter()
            .filter(|e| e.face_id == id && e.review.status == super::model::ReviewStatus::Confirmed)
            .count()
    };
    session.faces.iter().max_by_key(|f| (confirmed(f.id), f.frames_present, std::cmp::Reverse(f.id))).map(|f| f.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::model::{Event, FaceSummary, Review, ReviewStatus, SourceMeta};

    fn session() -> Session {
        Session {
            created_unix_s: 1_700_000_000,
            source: SourceMeta { path: "/clinic/2026/Jane Doe interview.mp4".into(), ..SourceMeta::default() },
            settings: vec![
                ("weights".into(), "/home/dr/weights.safetensors".into()),
                ("mol_weights".into(), "/home/dr/mol.safetensors".into()),
                ("detector".into(), "mtcnn".into()),
            ],
            faces: vec![
                FaceSummary { id: 0, frames_present: 500, ..FaceSummary::default() },
                FaceSummary { id: 1, frames_present: 300, ..FaceSummary::default() },
            ],
            events: vec![Event {
                face_id: 1,
                review: Review {
                    status: ReviewStatus::Confirmed,
                    note: "Jane looked at her son".into(),
                    ..Review::default()
                },
                ..Event::default()
            }],
            warnings: vec!["/clinic/2026/Jane Doe interview.mp4: 3 frames damaged".into()],
            reviewed_not_spotted: vec![Event {
                review: Review { note: "Jane again".into(), ..Review::default() },
                ..Event::default()
            }],
            ..Session::default()
        }
    }

    #[test]
    fn no_path_name_date_or_note_is_left() {
        let shared = deidentified(&session());
        let text = ron::to_string(&shared).expect("ron") + &serde_json::to_string(&shared).expect("json");
        for secret in ["Jane", "clinic", "/home/dr", "1700000000"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(shared.deidentified && shared.created_unix_s == 0);
        assert_eq!(shared.warnings, vec!["the source: 3 frames damaged".to_string()]);
        assert_eq!(shared.settings, vec![("detector".to_string(), "mtcnn".to_string())]);
        // What the analysis found stays.
        assert_eq!(shared.events[0].review.status, ReviewStatus::Confirmed);
    }

    #[test]
    fn the_kept_face_is_the_reviewed_one_unless_named() {
        let s = session();
        assert_eq!(kept_face(&s, None), Some(1), "face 1 has the confirmed event");
        assert_eq!(kept_face(&s, Some(0)), Some(0));
        assert_eq!(kept_face(&s, Some(7)), Some(1), "an unknown id falls back");
        let mut unreviewed = s.clone();
        unreviewed.events.clear();
        assert_eq!(kept_face(&unreviewed, None), Some(0), "the face seen most");
    }

    #[test]
    fn stems_are_stable_and_differ() {
        let a = deidentified_stem(Path::new("/clinic/Jane Doe.mp4"));
        assert_eq!(a, deidentified_stem(Path::new("/clinic/Jane Doe.mp4")));
        assert_ne!(a, deidentified_stem(Path::new("/clinic/John Roe.mp4")));
        assert!(a.starts_with("deid-") && a.len() == 13 && !a.contains("Jane"), "{a}");
    }
}
