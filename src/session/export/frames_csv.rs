//! `stem.frames.csv`, modelled on OpenFace's per-frame CSV: one row per face
//! per frame, and one row with an empty `face_id` and `success` 0 for a
//! frame without faces, so that every analysed frame appears. Unlike
//! OpenFace, `frame` is the 0-based source index, the same numbering as the
//! intervals CSV and the session.
use super::{num, probability_cells, probability_columns};
use crate::session::model::{FaceFrame, FrameRecord, Session};

/// The five alignment points, in `Landmarks` order.
const FIVE_POINTS: [&str; 5] = ["eye_left", "eye_right", "nose", "mouth_left", "mouth_right"];

/// The header columns, in order.
pub fn frames_csv_header(session: &Session) -> Vec<String> {
    let mut columns: Vec<String> =
        ["frame", "face_id", "timestamp", "confidence", "success", "detected", "x", "y", "width", "height"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    // OpenFace's names for the 68 iBUG points, then the five points the
    // crops are aligned on.
    columns.extend((0..68).map(|i| format!("x_{i}")));
    columns.extend((0..68).map(|i| format!("y_{i}")));
    for point in FIVE_POINTS {
        columns.push(format!("{point}_x"));
        columns.push(format!("{point}_y"));
    }
    columns.push("motion".into());
    // 1 where the face moves above its resting baseline or is inside one of
    // its events: where the class probabilities mean something.
    columns.push("moving".into());
    columns.extend(probability_columns(session));
    columns
}

pub fn frames_csv_string(session: &Session) -> String {
    let header = frames_csv_header(session);
    let mut out = String::new();
    push_row(&mut out, &header);
    // Each face's moving column, worked out once for the whole session.
    let moving: std::collections::BTreeMap<u32, Vec<Option<bool>>> =
        session.face_ids().into_iter().map(|id| (id, session.moving_track(id, 0..session.frames.len()))).collect();
    for (position, frame) in session.frames.iter().enumerate() {
        if frame.faces.is_empty() {
            push_row(&mut out, &empty_row(frame, header.len()));
        }
        for face in &frame.faces {
            let points68 = session.landmarks68_at(position, face.face_id);
            let moving = moving.get(&face.face_id).and_then(|track| track[position]);
            push_row(&mut out, &face_row(session, position, face, points68, moving));
        }
    }
    out
}

fn push_row(out: &mut String, cells: &[String]) {
    out.push_str(&cells.join(","));
    out.push('\n');
}

fn frame_cells(frame: &FrameRecord) -> [String; 2] {
    // Milliseconds are the timestamps' real resolution in containers.
    [frame.index.to_string(), num(Some(frame.timestamp_s), 3)]
}

fn face_row(
    session: &Session,
    position: usize,
    face: &FaceFrame,
    points68: Option<&[[f32; 2]]>,
    moving: Option<bool>,
) -> Vec<String> {
    let frame = &session.frames[position];
    let [index, timestamp] = frame_cells(frame);
    let px = |v: f32| num(Some(f64::from(v)), 2);
    let mut cells = vec![
        index,
        face.face_id.to_string(),
        timestamp,
        num(Some(f64::from(face.confidence)), 4),
        // A face with a record is tracked in this frame (detected or held).
        "1".into(),
        u8::from(face.detected).to_string(),
        px(face.bbox.x),
        px(face.bbox.y),
        px(face.bbox.width),
        px(face.bbox.height),
    ];
    match points68 {
        Some(points) if points.len() == 68 => {
            cells.extend(points.iter().map(|p| px(p[0])));
            cells.extend(points.iter().map(|p| px(p[1])));
        }
        // No mesh for this face (`--landmarks detector`, or the mesh saw no
        // face in the detector's box): empty, as OpenFace leaves a failure.
        _ => cells.extend(std::iter::repeat_n(String::new(), 136)),
    }
    cells.extend(face.landmarks.iter().flat_map(|p| [px(p[0]), px(p[1])]));
    cells.push(num(face.motion.map(f64::from), 4));
    cells.push(moving.map_or_else(String::new, |m| u8::from(m).to_string()));
    cells.extend(probability_cells(session, face.probabilities.as_deref()));
    cells
}

fn empty_row(frame: &FrameRecord, columns: usize) -> Vec<String> {
    let [index, timestamp] = frame_cells(frame);
    let mut cells = vec![index, String::new(), timestamp, String::new(), "0".into(), "0".into()];
    cells.resize(columns, String::new());
    cells
}
