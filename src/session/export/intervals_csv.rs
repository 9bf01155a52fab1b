//! `stem.intervals.csv`: one row per event, in session order. Rejected
//! events are kept with `review` = rejected (see the module note in
//! `export`); `final_class` is the reviewer's class where relabelled.
//!
//! Region motion (see `motion::face_regions`) takes three columns a region,
//! `<region>_px` (frame pixels), `<region>_iod_pct` (% of the inter-ocular
//! distance) and `<region>_dir` ("up", "down-inward", "left" = the
//! person's own left, "still"), then `au_hints` (candidate action units,
//! hints not detections, `; `-separated) and `region_note` (why the regions
//! are empty, when they are); all empty for events without it.
//!
//! Where MOL-lite ran (`--classifier mol` or `both`), `p_<class>` are the
//! probabilities that decided the class and `p_epir_<class>`,
//! `p_mol_<class>` follow them: each model's own.
use super::{csv_field, has_mol, model_probability_columns, num, probability_cells, probability_columns};
use crate::motion::FaceRegion;
use crate::session::model::{Event, ReviewStatus, Session};

pub fn intervals_csv_header(session: &Session) -> Vec<String> {
    let mut columns: Vec<String> = [
        "event_id",
        "face_id",
        "onset_frame",
        "apex_frame",
        "offset_frame",
        "onset_s",
        "apex_s",
        "offset_s",
        "duration_s",
        "class",
        "final_class",
        "score",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    columns.extend(probability_columns(session));
    if has_mol(session) {
        columns.extend(model_probability_columns(session, "epir"));
        columns.extend(model_probability_columns(session, "mol"));
    }
    columns.push("review".into());
    columns.push("note".into());
    for region in FaceRegion::ALL {
        let key = region.key();
        columns.extend([format!("{key}_px"), format!("{key}_iod_pct"), format!("{key}_dir")]);
    }
    columns.push("au_hints".into());
    columns.push("region_note".into());
    columns
}

pub fn intervals_csv_string(session: &Session) -> String {
    let mut out = intervals_csv_header(session).join(",");
    out.push('\n');
    for event in &session.events {
        out.push_str(&row(session, event).join(","));
        out.push('\n');
    }
    out
}

pub(crate) fn review_name(status: ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Candidate => "candidate",
        ReviewStatus::Confirmed => "confirmed",
        ReviewStatus::Rejected => "rejected",
    }
}

fn row(session: &Session, event: &Event) -> Vec<String> {
    let secs = |s: f64| num(Some(s), 3);
    let mut cells = vec![
        event.id.to_string(),
        event.face_id.to_string(),
        event.onset_frame.to_string(),
        event.apex_frame.to_string(),
        event.offset_frame.to_string(),
        secs(event.onset_s),
        secs(event.apex_s),
        secs(event.offset_s),
        // Onset to offset timestamps, as the annotation tools measure it.
        secs(event.offset_s - event.onset_s),
        csv_field(&session.class_name(event.class)).into_owned(),
        csv_field(&session.class_name(event.final_class())).into_owned(),
        num(Some(f64::from(event.score)), 3),
    ];
    cells.extend(probability_cells(session, Some(&event.probabilities)));
    if has_mol(session) {
        cells.extend(probability_cells(session, Some(event.epir_probabilities())));
        cells.extend(probability_cells(session, Some(&event.mol_probabilities)));
    }
    cells.push(review_name(event.review.status).into());
    cells.push(csv_field(&event.review.note).into_owned());
    for region in FaceRegion::ALL {
        match event.region_motion.iter().find(|d| d.region == Some(region)) {
            Some(d) => cells.extend([
                num(Some(f64::from(d.px)), 2),
                num(Some(f64::from(d.iod_percent)), 2),
                csv_field(&d.direction).into_owned(),
            ]),
            None => cells.extend([String::new(), String::new(), String::new()]),
        }
    }
    cells.push(csv_field(&event.au_hints.join("; ")).into_owned());
    cells.push(csv_field(event.region_motion_note.as_deref().unwrap_or_default()).into_owned());
    cells
}
