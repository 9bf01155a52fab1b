//! Golden tests of session I/O and the exports, on a small session built by
//! hand: 2 faces, 3 events (one relabelled and confirmed with a note holding
//! a comma and quotes, one rejected, one candidate), 3 classes.
use std::fs;
use std::path::{Path, PathBuf};

use super::export::{self, export_path, write_all, write_export, ExportFormat};
use super::*;
use crate::capture::SourceKind;
use crate::face::{FaceBox, Similarity};

const NOTE: &str = "looks like \"surprise\", not joy";
const FPS: f64 = 30.0;

fn face(face_id: u32, x: f32, detected: bool, motion: Option<f32>, probabilities: Option<Vec<f32>>) -> FaceFrame {
    FaceFrame {
        face_id,
        bbox: FaceBox { x, y: 40.0, width: 100.0, height: 120.0 },
        landmarks: [[x + 30.0, 80.0], [x + 70.0, 80.0], [x + 50.0, 110.0], [x + 35.0, 135.0], [x + 65.0, 135.0]],
        landmarks68: None,
        confidence: 0.9876,
        detected,
        motion,
        // Above its baseline where the motion is over 3.5 (frames 8 and 10).
        moving: motion.map(|m| m > 3.5),
        probabilities,
    }
}

fn event(id: u32, face_id: u32, [onset, apex, offset]: [u64; 3], class: usize, probabilities: [f32; 3]) -> Event {
    let t = |i: u64| i as f64 / FPS;
    Event {
        id,
        face_id,
        onset_frame: onset,
        apex_frame: apex,
        offset_frame: offset,
        onset_s: t(onset),
        apex_s: t(apex),
        offset_s: t(offset),
        class,
        probabilities: probabilities.to_vec(),
        score: 4.25,
        attention: vec![0.1, 0.2, 0.3, 0.4],
        attention_rows: 2,
        attention_cols: 2,
        attention_crop: None,
        review: Review::default(),
        ..Event::default()
    }
}

/// 12 frames at 30 fps: frame 0 has no face, face 1 is in frames 1-11 and
/// face 2 in frames 3-8 (so 18 face rows, 19 CSV rows with the empty frame).
fn sample_session() -> Session {
    let frames = (0..12u64)
        .map(|index| {
            let mut faces = Vec::new();
            if index >= 1 {
                let motion = (index % 2 == 0).then_some(index as f32 * 0.5);
                let p = (index == 2).then(|| vec![0.25, 0.5, 0.25]);
                let mut first = face(1, 10.0, index % 3 == 1, motion, p);
                // The mesh ran with each detection of face 1 (none for face 2).
                if first.detected {
                    first.landmarks68 = Some((0..68).map(|i| [10.0 + i as f32, 200.0 + index as f32]).collect());
                }
                faces.push(first);
            }
            if (3..=8).contains(&index) {
                faces.push(face(2, 300.5, true, None, None));
            }
            FrameRecord { index, timestamp_s: index as f64 / FPS, faces }
        })
        .collect();
    let mut relabelled = event(1, 1, [1, 2, 4], 1, [0.1, 0.8, 0.1]);
    relabelled.review = Review { status: ReviewStatus::Confirmed, relabelled_class: Some(2), note: NOTE.into() };
    let mut rejected = event(2, 2, [3, 5, 6], 0, [0.6, 0.3, 0.1]);
    rejected.review.status = ReviewStatus::Rejected;
    let candidate = event(3, 1, [7, 8, 10], 2, [0.05, 0.15, 0.8]);
    Session {
        format_version: SESSION_FORMAT_VERSION,
        glimpse_version: "0.1.0".into(),
        created_unix_s: 1_700_000_000,
        source: SourceMeta {
            path: "/data/clips/subject 01.mp4".into(),
            kind: SourceKind::VideoFile,
            width: 640,
            height: 480,
            nominal_fps: FPS,
            measured_fps: FPS,
            frame_count: 12,
            duration_s: 0.4,
        },
        class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
        settings: vec![("detector".into(), "mtcnn".into())],
        faces: vec![
            FaceSummary { id: 1, first_frame: 1, last_frame: 11, frames_present: 11 },
            FaceSummary { id: 2, first_frame: 3, last_frame: 8, frames_present: 6 },
        ],
        frames,
        events: vec![relabelled, rejected, candidate],
        complete: true,
        warnings: vec!["a warning, with a comma".into()],
        deidentified: false,
        reviewed_not_spotted: vec![Event {
            id: 40,
            face_id: 1,
            onset_frame: 9,
            apex_frame: 10,
            offset_frame: 11,
            review: Review { status: ReviewStatus::Confirmed, relabelled_class: None, note: "seen at 0.5".into() },
            ..Event::default()
        }],
    }
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    crate::files::scratch_dir(&format!("timeline-{name}"))
}

/// RFC 4180 reader: rows of fields, quotes (and line breaks inside them)
/// respected. Written here so the test does not trust the writer's logic.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "CSV does not end with a newline");
    rows
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn session_lookups() {
    let s = sample_session();
    assert_eq!(s.face_ids(), vec![1, 2]);
    assert_eq!(s.events_for_face(1).map(|e| e.id).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(s.events_for_face(2).map(|e| e.id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(s.events_for_face(9).count(), 0);
    assert_eq!(s.class_name(2), "surprise");
    assert_eq!(s.class_name(7), "class 7");
    // 12 frames of 1/30 s each.
    assert!((s.duration_s() - 0.4).abs() < 1e-9, "{}", s.duration_s());
    assert_eq!(s.frame_at_time(0.0).map(|f| f.index), Some(0));
    assert_eq!(s.frame_at_time(0.05).map(|f| f.index), Some(1));
    assert_eq!(s.frame_at_time(5.0 / FPS).map(|f| f.index), Some(5));
    assert_eq!(s.frame_at_time(0.39).map(|f| f.index), Some(11));
    assert!(s.frame_at_time(-0.01).is_none());
    assert!(s.frame_at_time(0.41).is_none());
    assert!(s.frame_at_time(f64::NAN).is_none());
    assert!(Session::default().frame_at_time(0.0).is_none());
    let mut no_rate = s.clone();
    no_rate.source = SourceMeta::default();
    assert_eq!(no_rate.frame_at_time(11.0 / FPS).map(|f| f.index), Some(11));
    assert!(no_rate.frame_at_time(0.37).is_none());
    assert_eq!(s.frame_by_index(7).map(|f| f.faces.len()), Some(2));
}

fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            assert!((x - y).abs() <= 1e-15 * x.abs().max(y.abs()), "{at}: {x} != {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_json_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{at}: fields");
            for (k, v) in x {
                assert_json_close(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn ron_and_json_round_trip_to_an_equal_session() {
    let dir = scratch("roundtrip");
    let s = sample_session();
    let ron_path = dir.join("a.session.ron");
    s.save_ron(&ron_path).expect("save");
    assert_eq!(Session::load(&ron_path).expect("load RON"), s);
    let ron_export = export_path(&dir, "b", ExportFormat::Ron);
    write_export(&s, ExportFormat::Ron, &ron_export).expect("export RON");
    assert_eq!(Session::load(&ron_export).expect("load RON export"), s);
    let json_export = export_path(&dir, "b", ExportFormat::Json);
    write_export(&s, ExportFormat::Json, &json_export).expect("export JSON");
    let loaded = Session::load(&json_export).expect("load JSON export");
    // serde_json without its `float_roundtrip` feature may parse an f64 one
    // ulp off (0.23333333333333336 reads back as ...34): everything else
    // must be equal, numbers to 1e-15 relative.
    let (a, b) = (serde_json::to_value(&loaded).expect("value"), serde_json::to_value(&s).expect("value"));
    assert_json_close(&a, &b, "session");
    let text = fs::read_to_string(dir.join("b.session.json")).expect("read");
    assert!(text.contains("\n  \"format_version\": 1,"), "not pretty JSON: {}", &text[..80.min(text.len())]);
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn load_errors_name_the_file_and_the_problem() {
    let dir = scratch("loaderr");
    let missing = dir.join("nope.ron");
    let err = Session::load(&missing).expect_err("missing").to_string();
    assert_eq!(err, format!("session {}: no such file", missing.display()));

    let garbage = dir.join("garbage.ron");
    fs::write(&garbage, "(format_version: 1,\n  frames: [ oops ]\n)").expect("write");
    let err = Session::load(&garbage).expect_err("garbage");
    assert!(matches!(err, SessionError::Parse { line: 2, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("session {}: not valid RON at line 2, column", garbage.display())), "{msg}");

    let bad_json = dir.join("bad.json");
    fs::write(&bad_json, "{\"format_version\": 1,\n\"frames\": 3}").expect("write");
    let msg = Session::load(&bad_json).expect_err("bad json").to_string();
    assert!(msg.starts_with(&format!("session {}: not valid JSON at line 2", bad_json.display())), "{msg}");

    // Newer and otherwise readable: refused all the same.
    let newer = dir.join("newer.json");
    fs::write(&newer, "{\"format_version\": 7, \"new_field\": [1, 2]}").expect("write");
    let msg = Session::load(&newer).expect_err("newer").to_string();
    assert!(msg.contains(&newer.display().to_string()) && msg.contains("format 7, newer than the 1"), "{msg}");
    // Newer and unreadable: the version is the reason given, not the parse.
    let newer_ron = dir.join("newer.ron");
    fs::write(&newer_ron, "(format_version: 2, frames: \"stored elsewhere\")").expect("write");
    let err = Session::load(&newer_ron).expect_err("newer ron");
    assert!(matches!(err, SessionError::NewerVersion { found: 2, .. }), "{err:?}");

    let odd = dir.join("session.txt");
    fs::write(&odd, "()").expect("write");
    let msg = Session::load(&odd).expect_err("extension").to_string();
    assert!(msg.contains("session.txt") && msg.contains(".ron or .json"), "{msg}");
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn format_list_parsing_and_file_names() {
    assert_eq!(ExportFormat::parse_list("csv,intervals,json,ron,eaf,video").expect("list"), ExportFormat::ALL.to_vec());
    assert_eq!(ExportFormat::parse_list("all").expect("all"), ExportFormat::ALL.to_vec());
    assert_eq!(ExportFormat::parse_list(" eaf , CSV,eaf").expect("spaces"), vec![ExportFormat::Eaf, ExportFormat::Csv]);
    let msg = ExportFormat::parse_list("csv,pdf,json").expect_err("bad").to_string();
    assert!(msg.contains("\"pdf\""), "{msg}");
    assert!(ExportFormat::parse_list("csv,,json").is_err());
    let names: Vec<String> =
        ExportFormat::ALL.iter().map(|&f| export_path(Path::new("/out"), "clip", f).display().to_string()).collect();
    assert_eq!(
        names,
        [
            "/out/clip.frames.csv",
            "/out/clip.intervals.csv",
            "/out/clip.session.json",
            "/out/clip.session.ron",
            "/out/clip.eaf",
            "/out/clip.annotated.mp4"
        ]
    );
}

#[test]
fn frames_csv_has_openface_columns_and_one_row_per_face_per_frame() {
    let s = sample_session();
    let rows = parse_csv(&export::frames_csv_string(&s));
    let header = &rows[0];
    let mut expected: Vec<&str> =
        vec!["frame", "face_id", "timestamp", "confidence", "success", "detected", "x", "y", "width", "height"];
    let points: Vec<String> = ["x", "y"].iter().flat_map(|axis| (0..68).map(move |i| format!("{axis}_{i}"))).collect();
    expected.extend(points.iter().map(String::as_str));
    expected.extend([
        "eye_left_x",
        "eye_left_y",
        "eye_right_x",
        "eye_right_y",
        "nose_x",
        "nose_y",
        "mouth_left_x",
        "mouth_left_y",
        "mouth_right_x",
        "mouth_right_y",
        "motion",
        "moving",
        "p_negative",
        "p_positive",
        "p_surprise",
    ]);
    assert_eq!(header, &expected);
    // 1 empty frame + 11 rows of face 1 + 6 of face 2.
    assert_eq!(rows.len() - 1, 18);
    assert!(rows.iter().all(|r| r.len() == expected.len()), "ragged rows");

    let empty = &rows[1];
    assert_eq!((empty[0].as_str(), empty[1].as_str(), empty[2].as_str()), ("0", "", "0.000"));
    assert_eq!(empty[column(header, "success")], "0");
    assert!(empty[column(header, "x")].is_empty() && empty[column(header, "p_surprise")].is_empty());

    let find = |frame: &str, face: &str| {
        rows.iter().find(|r| r[0] == frame && r[1] == face).unwrap_or_else(|| panic!("no row {frame}/{face}"))
    };
    let r = find("2", "1");
    assert_eq!(r[column(header, "timestamp")], "0.067");
    assert_eq!(r[column(header, "confidence")], "0.9876");
    assert_eq!(r[column(header, "success")], "1");
    assert_eq!(r[column(header, "detected")], "0");
    assert_eq!(r[column(header, "x")], "10.00");
    assert_eq!(r[column(header, "height")], "120.00");
    // Held between detections: the 68 points of the detection at frame 1.
    assert_eq!(r[column(header, "x_2")], "12.00");
    assert_eq!(r[column(header, "y_67")], "201.00");
    assert_eq!(r[column(header, "nose_x")], "60.00");
    assert_eq!(r[column(header, "mouth_right_y")], "135.00");
    assert_eq!(r[column(header, "motion")], "1.0000");
    // `moving`: inside an event (frames 1-4 and 7-10 for face 1, 3-6 for
    // face 2), else the spotter's flag, else unknown.
    assert_eq!(r[column(header, "moving")], "1");
    assert_eq!(find("6", "1")[column(header, "moving")], "0");
    assert_eq!(find("5", "1")[column(header, "moving")], "");
    assert_eq!(find("3", "2")[column(header, "moving")], "1");
    assert_eq!(find("8", "2")[column(header, "moving")], "");
    assert_eq!(find("5", "1")[column(header, "y_0")], "204.00");
    assert_eq!(r[column(header, "p_positive")], "0.5000");
    let r = find("3", "2");
    assert_eq!(r[column(header, "x")], "300.50");
    assert_eq!(r[column(header, "detected")], "1");
    assert_eq!(r[column(header, "motion")], "");
    assert_eq!(r[column(header, "p_negative")], "");
    // Detected without a mesh: no 68 points, the five still there.
    assert_eq!((r[column(header, "x_0")].as_str(), r[column(header, "y_67")].as_str()), ("", ""));
    assert_eq!(r[column(header, "eye_left_x")], "330.50");
    assert_eq!(rows.iter().filter(|r| r[1] == "2").count(), 6);
}

#[test]
fn intervals_csv_parses_back_with_the_note_intact() {
    let s = sample_session();
    let rows = parse_csv(&export::intervals_csv_string(&s));
    let header = &rows[0];
    let expected: Vec<&str> = vec![
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
        "p_negative",
        "p_positive",
        "p_surprise",
        "review",
        "note",
    ];
    assert_eq!(&header[..expected.len()], &expected[..]);
    // Three region-motion columns a region, the hints, the reason.
    assert_eq!(header.len(), expected.len() + 3 * 9 + 2);
    assert_eq!(
        header[expected.len()..expected.len() + 3],
        ["inner_brows_px", "inner_brows_iod_pct", "inner_brows_dir"]
    );
    assert_eq!(header[header.len() - 2..], ["au_hints", "region_note"]);
    let expected: Vec<&str> = header.iter().map(String::as_str).collect();
    assert_eq!(rows.len() - 1, 3);
    assert!(rows.iter().all(|r| r.len() == expected.len()), "ragged rows: {rows:?}");
    let get = |row: usize, name: &str| rows[row][column(header, name)].as_str();
    assert_eq!(
        [get(1, "event_id"), get(1, "face_id"), get(1, "onset_frame"), get(1, "apex_frame"), get(1, "offset_frame")],
        ["1", "1", "1", "2", "4"]
    );
    assert_eq!([get(1, "onset_s"), get(1, "apex_s"), get(1, "offset_s")], ["0.033", "0.067", "0.133"]);
    assert_eq!(get(1, "duration_s"), "0.100");
    assert_eq!([get(1, "class"), get(1, "final_class")], ["positive", "surprise"]);
    assert_eq!([get(1, "score"), get(1, "p_positive"), get(1, "review")], ["4.250", "0.8000", "confirmed"]);
    assert_eq!(get(1, "note"), NOTE);
    assert_eq!(
        [get(2, "face_id"), get(2, "class"), get(2, "final_class"), get(2, "review")],
        ["2", "negative", "negative", "rejected"]
    );
    assert_eq!([get(3, "review"), get(3, "note"), get(3, "p_surprise")], ["candidate", "", "0.8000"]);
}

/// The sample with region motion on event 1 (face 1: inner brows up 2.5 %
/// IOD, lower lip down 1.8 %, nose still) and none on event 3 (no mesh).
fn with_region_motion(mut s: Session) -> Session {
    use crate::motion::{FaceRegion, RegionDisplacement};
    let d = |region, dx_px: f32, dy_px: f32, iod_percent: f32, direction: &str| RegionDisplacement {
        region: Some(region),
        dx_px,
        dy_px,
        px: dx_px.hypot(dy_px),
        iod_percent,
        direction: direction.into(),
    };
    let first = s.events.iter_mut().find(|e| e.id == 1).expect("event 1");
    first.region_motion = vec![
        d(FaceRegion::InnerBrows, 0.0, 1.5, 2.5, "up"),
        d(FaceRegion::Nose, 0.1, 0.0, 0.1667, "still"),
        d(FaceRegion::LowerLip, 0.0, -1.08, 1.8, "down"),
    ];
    first.au_hints = vec!["inner brows up: AU1?".into(), "lips apart: AU25/26?".into()];
    let third = s.events.iter_mut().find(|e| e.id == 3).expect("event 3");
    third.region_motion_note = Some("no 68-point landmarks for this face (the face mesh did not run)".into());
    s
}

#[test]
fn region_motion_goes_into_the_intervals_csv_the_eaf_and_the_session_files() {
    let s = with_region_motion(sample_session());
    let rows = parse_csv(&export::intervals_csv_string(&s));
    let header = &rows[0];
    let get = |row: usize, name: &str| rows[row][column(header, name)].as_str();
    // Row 1 is event 1, row 3 event 3 (session order).
    assert_eq!(
        [get(1, "inner_brows_px"), get(1, "inner_brows_iod_pct"), get(1, "inner_brows_dir")],
        ["1.50", "2.50", "up"]
    );
    assert_eq!(
        [get(1, "lower_lip_px"), get(1, "lower_lip_iod_pct"), get(1, "lower_lip_dir")],
        ["1.08", "1.80", "down"]
    );
    assert_eq!([get(1, "nose_dir"), get(1, "chin_px"), get(1, "chin_dir")], ["still", "", ""]);
    assert_eq!(get(1, "au_hints"), "inner brows up: AU1?; lips apart: AU25/26?");
    assert_eq!([get(1, "region_note"), get(2, "au_hints"), get(2, "region_note")], ["", "", ""]);
    assert_eq!(get(3, "region_note"), "no 68-point landmarks for this face (the face mesh did not run)");

    // ELAN: a region-motion tier after face 1's (face 2 has none).
    let text = export::eaf_string_dated(&s, 0);
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let root = doc.root_element();
    let tiers: Vec<_> = root.children().filter(|n| n.has_tag_name("TIER")).collect();
    let ids: Vec<_> = tiers.iter().filter_map(|t| t.attribute("TIER_ID")).collect();
    assert_eq!(ids, ["face 1", "region motion (face 1)", "face 2"]);
    let values: Vec<&str> =
        tiers[1].descendants().filter(|n| n.has_tag_name("ANNOTATION_VALUE")).filter_map(|n| n.text()).collect();
    assert_eq!(
        values,
        [
            "hints: inner brows up: AU1?; lips apart: AU25/26? | moved: inner brows up 2.5 % IOD (1.5 px), lower lip down 1.8 % IOD (1.1 px)",
            "not measured: no 68-point landmarks for this face (the face mesh did not run)",
        ]
    );
    let slots = root.descendants().filter(|n| n.has_tag_name("TIME_SLOT")).count();
    assert_eq!(slots, 2 * 5, "two slots for each of 5 annotations");
    let last_id = root.descendants().find(|n| n.attribute("NAME") == Some("lastUsedAnnotationId"));
    assert_eq!(last_id.and_then(|n| n.text()), Some("5"));

    // The session files carry the struct and load it back equal.
    let dir = scratch("region-motion");
    let ron_path = export_path(&dir, "r", ExportFormat::Ron);
    write_export(&s, ExportFormat::Ron, &ron_path).expect("export RON");
    assert_eq!(Session::load(&ron_path).expect("load RON"), s);
    let json_path = export_path(&dir, "r", ExportFormat::Json);
    write_export(&s, ExportFormat::Json, &json_path).expect("export JSON");
    let loaded = Session::load(&json_path).expect("load JSON");
    assert_eq!(loaded.events[0].region_motion, s.events[0].region_motion);
    assert_eq!(loaded.events[0].au_hints, s.events[0].au_hints);
    let json = fs::read_to_string(&json_path).expect("read");
    assert!(json.contains("\"region\": \"inner_brows\""), "region as snake_case");
    // Events without it write nothing new, so older readers see the same.
    let plain = serde_json::to_string(&sample_session().events[1]).expect("json");
    assert!(!plain.contains("region") && !plain.contains("au_hints"), "{plain}");
    fs::remove_dir_all(&dir).expect("cleanup");
}

fn child<'a, 'i>(parent: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    parent.children().find(|n| n.has_tag_name(name)).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn eaf_is_an_elan_document_with_a_tier_per_face() {
    let s = sample_session();
    let text = export::eaf_string_dated(&s, 1_700_000_000);
    let doc = roxmltree::Document::parse(&text).expect("EAF is XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "ANNOTATION_DOCUMENT");
    assert_eq!(root.attribute("FORMAT"), Some("3.0"));
    assert_eq!(root.attribute("VERSION"), Some("3.0"));
    assert_eq!(root.attribute("DATE"), Some("2023-11-14T22:13:20+00:00"));
    assert_eq!(root.attribute("AUTHOR"), Some("Glimpse 0.1.0"));
    let xsi = "http://www.w3.org/2001/XMLSchema-instance";
    assert_eq!(root.attribute((xsi, "noNamespaceSchemaLocation")), Some("http://www.mpi.nl/tools/elan/EAFv3.0.xsd"));

    // The XSD's sequence, in order.
    let children: Vec<&str> = root.children().filter(|n| n.is_element()).map(|n| n.tag_name().name()).collect();
    let mut order = vec!["HEADER", "TIME_ORDER", "TIER", "TIER", "LINGUISTIC_TYPE", "LANGUAGE"];
    order.extend(["CONSTRAINT"; 4]);
    assert_eq!(children, order);

    let header = child(root, "HEADER");
    assert_eq!(header.attribute("TIME_UNITS"), Some("milliseconds"));
    let media = child(header, "MEDIA_DESCRIPTOR");
    assert_eq!(media.attribute("MEDIA_URL"), Some("file:///data/clips/subject%2001.mp4"));
    assert_eq!(media.attribute("MIME_TYPE"), Some("video/mp4"));
    let last_id = child(header, "PROPERTY");
    assert_eq!((last_id.attribute("NAME"), last_id.text()), (Some("lastUsedAnnotationId"), Some("3")));

    let slots: Vec<(String, i64)> = child(root, "TIME_ORDER")
        .children()
        .filter(|n| n.has_tag_name("TIME_SLOT"))
        .map(|n| {
            let id = n.attribute("TIME_SLOT_ID").expect("slot id").to_string();
            (id, n.attribute("TIME_VALUE").expect("value").parse().expect("ms"))
        })
        .collect();
    assert_eq!(slots.len(), 6);
    assert!(slots.windows(2).all(|w| w[0].1 <= w[1].1), "slots not ascending: {slots:?}");
    assert_eq!(slots.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), ["ts1", "ts2", "ts3", "ts4", "ts5", "ts6"]);
    let ms_of = |id: &str| slots.iter().find(|s| s.0 == id).map(|s| s.1).unwrap_or_else(|| panic!("no slot {id}"));

    let tiers: Vec<roxmltree::Node<'_, '_>> = root.children().filter(|n| n.has_tag_name("TIER")).collect();
    assert_eq!(tiers.iter().map(|t| t.attribute("TIER_ID")).collect::<Vec<_>>(), [Some("face 1"), Some("face 2")]);
    assert!(tiers.iter().all(|t| t.attribute("LINGUISTIC_TYPE_REF") == Some("micro-expression")));
    let lt = child(root, "LINGUISTIC_TYPE");
    assert_eq!(lt.attribute("LINGUISTIC_TYPE_ID"), Some("micro-expression"));
    assert_eq!(lt.attribute("TIME_ALIGNABLE"), Some("true"));

    // (tier, value, begin ms, end ms) for every annotation.
    let mut annotations = Vec::new();
    for tier in &tiers {
        for a in tier.descendants().filter(|n| n.has_tag_name("ALIGNABLE_ANNOTATION")) {
            let value = child(a, "ANNOTATION_VALUE").text().unwrap_or_default().to_string();
            let begin = ms_of(a.attribute("TIME_SLOT_REF1").expect("ref1"));
            let end = ms_of(a.attribute("TIME_SLOT_REF2").expect("ref2"));
            annotations.push((
                tier.attribute("TIER_ID").unwrap_or_default(),
                a.attribute("ANNOTATION_ID"),
                value,
                begin,
                end,
            ));
        }
    }
    assert_eq!(annotations.len(), 3);
    let ms = |s: f64| (s * 1000.0).round() as i64;
    for (tier, event_id) in [("face 1", 1u32), ("face 1", 3), ("face 2", 2)] {
        let e = s.events.iter().find(|e| e.id == event_id).expect("event");
        let matching: Vec<_> = annotations.iter().filter(|a| a.0 == tier && a.3 == ms(e.onset_s)).collect();
        assert_eq!(matching.len(), 1, "event {event_id} in {tier}: {annotations:?}");
        assert_eq!(matching[0].4, ms(e.offset_s), "event {event_id} offset");
    }
    let ids: Vec<_> = annotations.iter().map(|a| a.1).collect();
    assert_eq!(ids, [Some("a1"), Some("a2"), Some("a3")]);
    let (_, _, relabelled, begin, end) = &annotations[0];
    assert_eq!((*begin, *end), (33, 133));
    assert_eq!(relabelled, &format!("surprise (model: positive 0.80) (apex 0.067 s) [confirmed] {NOTE}"));
    assert_eq!(annotations[1].2, "surprise 0.80 (apex 0.267 s) [candidate]");
    assert_eq!(annotations[2].2, "negative 0.60 (apex 0.167 s) [rejected]");
}

#[test]
fn eaf_escapes_text_and_handles_one_frame_events() {
    let mut s = sample_session();
    s.class_names[2] = "<odd> & \"name\"".into();
    s.events.truncate(1);
    s.events[0].offset_frame = 1;
    s.events[0].offset_s = s.events[0].onset_s;
    s.source.path = "/tmp/a#b%c é.avi".into();
    let text = export::eaf_string_dated(&s, 0);
    let doc = roxmltree::Document::parse(&text).expect("XML");
    let root = doc.root_element();
    assert_eq!(root.attribute("DATE"), Some("1970-01-01T00:00:00+00:00"));
    let value = root.descendants().find(|n| n.has_tag_name("ANNOTATION_VALUE")).and_then(|n| n.text());
    assert!(value.is_some_and(|v| v.starts_with("<odd> & \"name\" (model: positive 0.80)")), "{value:?}");
    let url = root.descendants().find(|n| n.has_tag_name("MEDIA_DESCRIPTOR")).and_then(|n| n.attribute("MEDIA_URL"));
    assert_eq!(url, Some("file:///tmp/a%23b%25c%20%C3%A9.avi"));
    // A one-frame event lasts one frame period, since ELAN refuses empty ones.
    let slots: Vec<&str> = root.descendants().filter_map(|n| n.attribute("TIME_VALUE")).collect();
    assert_eq!(slots, ["33", "66"]);
}

#[test]
fn write_all_writes_every_data_format_under_the_stem() {
    let dir = scratch("writeall");
    let s = sample_session();
    let formats = ExportFormat::parse_list("csv,intervals,json,ron,eaf").expect("list");
    let written = write_all(&s, &formats, &dir, "clip").expect("export");
    let names: Vec<String> =
        written.iter().map(|w| w.path.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["clip.frames.csv", "clip.intervals.csv", "clip.session.json", "clip.session.ron", "clip.eaf"]);
    let mut on_disk: Vec<String> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk.len(), 5, "temporary files left behind? {on_disk:?}");
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_failed_export_names_the_path_and_leaves_the_old_file_intact() {
    let dir = scratch("atomic");
    let s = sample_session();
    let target = export_path(&dir, "clip", ExportFormat::Intervals);
    fs::write(&target, "earlier export").expect("write");
    // Block the temporary file beside the target (same naming as crate::files)
    // with a directory, so that the write fails before the rename.
    let name = target.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let blocker = dir.join(format!(".{name}.{}.tmp.csv", std::process::id()));
    fs::create_dir(&blocker).expect("blocker");
    let msg = write_export(&s, ExportFormat::Intervals, &target).expect_err("blocked").to_string();
    assert!(msg.contains(&target.display().to_string()), "{msg}");
    assert_eq!(fs::read_to_string(&target).expect("read"), "earlier export");

    // A directory where the file should go.
    let as_dir = export_path(&dir, "taken", ExportFormat::Eaf);
    fs::create_dir(&as_dir).expect("dir");
    let msg = write_export(&s, ExportFormat::Eaf, &as_dir).expect_err("directory").to_string();
    assert!(msg.contains(&as_dir.display().to_string()), "{msg}");

    // A video whose source is gone: the earlier video stays.
    let video = export_path(&dir, "clip", ExportFormat::Video);
    fs::write(&video, "earlier video").expect("write");
    let mut gone = s.clone();
    gone.source.path = dir.join("moved away.mp4").display().to_string();
    let msg = write_export(&gone, ExportFormat::Video, &video).expect_err("no source").to_string();
    assert!(msg.contains("moved away.mp4"), "{msg}");
    assert_eq!(fs::read_to_string(&video).expect("read"), "earlier video");
    fs::remove_dir_all(&dir).expect("cleanup");
}

mod video {
    use opencv::core::{Mat, Rect, Scalar, Size, Vec3b, CV_8UC3};
    use opencv::imgproc;
    use opencv::prelude::*;
    use opencv::videoio::{self, VideoCapture, VideoWriter};

    use super::*;

    const W: i32 = 160;
    const H: i32 = 120;
    const FRAMES: u64 = 40;
    const RATE: f64 = 25.0;
    const BOX: (i32, i32, i32, i32) = (50, 30, 60, 60);

    /// 40 frames of a grey picture with a lighter "face" square.
    fn write_clip(path: &Path) {
        let fourcc = VideoWriter::fourcc('m', 'p', '4', 'v').expect("fourcc");
        let mut writer =
            VideoWriter::new(path.to_str().expect("utf-8"), fourcc, RATE, Size::new(W, H), true).expect("writer");
        assert!(writer.is_opened().expect("opened"), "no mp4v writer");
        for _ in 0..FRAMES {
            let mut image =
                Mat::new_rows_cols_with_default(H, W, CV_8UC3, Scalar::new(90.0, 100.0, 110.0, 0.0)).expect("mat");
            let (x, y, w, h) = BOX;
            imgproc::rectangle(
                &mut image,
                Rect::new(x, y, w, h),
                Scalar::new(150.0, 160.0, 170.0, 0.0),
                -1,
                imgproc::LINE_8,
                0,
            )
            .expect("draw");
            writer.write(&image).expect("write");
        }
        writer.release().expect("release");
    }

    fn read_all(path: &Path) -> (Vec<Mat>, f64) {
        let mut capture = VideoCapture::from_file(path.to_str().expect("utf-8"), videoio::CAP_FFMPEG).expect("open");
        assert!(capture.is_opened().expect("opened"), "cannot reopen {}", path.display());
        let fps = capture.get(videoio::CAP_PROP_FPS).expect("fps");
        let mut frames = Vec::new();
        loop {
            let mut m = Mat::default();
            if !capture.read(&mut m).expect("read") || m.empty() {
                break;
            }
            frames.push(m);
        }
        (frames, fps)
    }

    /// Mean absolute difference over a region, all channels.
    fn region_diff(a: &Mat, b: &Mat, r: Rect) -> f64 {
        let mut total = 0.0;
        for y in r.y..r.y + r.height {
            for x in r.x..r.x + r.width {
                let (p, q) = (a.at_2d::<Vec3b>(y, x).expect("px"), b.at_2d::<Vec3b>(y, x).expect("px"));
                total += (0..3).map(|c| (f64::from(p[c]) - f64::from(q[c])).abs()).sum::<f64>();
            }
        }
        total / f64::from(r.width * r.height * 3)
    }

    #[test]
    fn annotated_video_keeps_rate_size_and_frames_and_draws_overlays() {
        let dir = scratch("video");
        let clip = dir.join("source clip.mp4");
        write_clip(&clip);
        let (x, y, w, h) = BOX;
        let (xf, yf, wf, hf) = (x as f32, y as f32, w as f32, h as f32);
        let frames = (0..FRAMES)
            .map(|index| FrameRecord {
                index,
                timestamp_s: index as f64 / RATE,
                faces: vec![FaceFrame {
                    face_id: 1,
                    bbox: FaceBox { x: xf, y: yf, width: wf, height: hf },
                    landmarks: [
                        [xf + 18.0, yf + 20.0],
                        [xf + 42.0, yf + 20.0],
                        [xf + 30.0, yf + 32.0],
                        [xf + 20.0, yf + 45.0],
                        [xf + 40.0, yf + 45.0],
                    ],
                    landmarks68: None,
                    confidence: 0.99,
                    detected: true,
                    motion: None,
                    moving: None,
                    probabilities: None,
                }],
            })
            .collect();
        let mut ev = event(1, 1, [10, 15, 20], 1, [0.1, 0.83, 0.07]);
        ev.attention = (0..49).map(|i| i as f32 / 1176.0).collect();
        ev.attention_rows = 7;
        ev.attention_cols = 7;
        let session = Session {
            format_version: SESSION_FORMAT_VERSION,
            source: SourceMeta {
                path: clip.display().to_string(),
                kind: SourceKind::VideoFile,
                width: W,
                height: H,
                nominal_fps: RATE,
                measured_fps: RATE,
                frame_count: FRAMES,
                duration_s: FRAMES as f64 / RATE,
            },
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            faces: vec![FaceSummary { id: 1, first_frame: 0, last_frame: FRAMES - 1, frames_present: FRAMES }],
            frames,
            events: vec![ev],
            complete: true,
            ..Session::default()
        };
        let out = export_path(&dir, "source clip", ExportFormat::Video);
        let mut calls = Vec::new();
        export::write_export_with_progress(&session, ExportFormat::Video, &out, &mut |done, total| {
            calls.push((done, total))
        })
        .expect("video export");
        assert_eq!(calls.len() as u64, FRAMES);
        assert_eq!(calls.last(), Some(&(FRAMES, FRAMES)));

        let (source, _) = read_all(&clip);
        let (annotated, fps) = read_all(&out);
        assert_eq!(annotated.len() as u64, FRAMES);
        assert!((fps - RATE).abs() <= 0.01, "fps {fps}");
        let size = annotated[0].size().expect("size");
        assert_eq!((size.width, size.height), (W, H));

        // Inside the box, away from its outline: heatmap during the event
        // only (the landmarks are drawn in every frame, so avoid them).
        let inner = Rect::new(x + 4, y + 50, w - 8, 6);
        let during = region_diff(&source[15], &annotated[15], inner);
        let before = region_diff(&source[5], &annotated[5], inner);
        assert!(during > 20.0, "no heatmap during the event: mean diff {during:.1}");
        assert!(before < 6.0, "overlay outside the event: mean diff {before:.1}");
        // A corner far from every overlay stays as it was.
        let corner = Rect::new(W - 8, H - 8, 8, 8);
        for i in [0, 15, 39] {
            let d = region_diff(&source[i], &annotated[i], corner);
            assert!(d < 6.0, "frame {i}: corner changed by {d:.1}");
        }

        // With the crop the attention covers recorded (here the 40×40
        // square at the bottom left, not the face box), the heatmap is drawn
        // there, through the crop's inverse, and not over the box.
        let mut through_crop = session.clone();
        through_crop.events[0].attention_crop = Some(Similarity { a: 1.0 / 40.0, b: 0.0, tx: 0.0, ty: -2.0 });
        let out_crop = dir.join("through crop.mp4");
        write_export(&through_crop, ExportFormat::Video, &out_crop).expect("video export through the crop");
        let (warped, _) = read_all(&out_crop);
        let square = Rect::new(4, 84, 32, 32);
        let during = region_diff(&source[15], &warped[15], square);
        let over_box = region_diff(&source[15], &warped[15], inner);
        assert!(during > 20.0, "no heatmap in the attention crop: mean diff {during:.1}");
        assert!(over_box < 6.0, "heatmap drawn over the box instead: mean diff {over_box:.1}");
        assert!(region_diff(&source[5], &warped[5], square) < 6.0, "heatmap outside the event");

        // The source no longer matches: a shorter session is refused.
        let mut shorter = session.clone();
        shorter.source.frame_count = 30;
        let msg =
            write_export(&shorter, ExportFormat::Video, &dir.join("short.mp4")).expect_err("mismatch").to_string();
        assert!(msg.contains("source clip.mp4") && msg.contains("more frames than the 30"), "{msg}");
        let mut resized = session.clone();
        resized.source.width = 320;
        let msg = write_export(&resized, ExportFormat::Video, &dir.join("resized.mp4")).expect_err("size").to_string();
        assert!(msg.contains("160x120") && msg.contains("320x120"), "{msg}");
        assert!(!dir.join("short.mp4").exists() && !dir.join("resized.mp4").exists());
        let leftovers = crate::files::temporary_files_in(&dir);
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}

/// The sample with MOL-lite on events 1 and 3 (`--classifier both`: the
/// deciding probabilities are the two models' mean) and none on event 2.
fn with_mol(mut s: Session) -> Session {
    for (event, epir, mol) in [
        (0usize, [0.2f32, 0.6, 0.2], [0.4f32, 0.4, 0.2]),
        (2, [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]),
    ] {
        let e = &mut s.events[event];
        e.probabilities = epir.iter().zip(&mol).map(|(a, b)| 0.5 * (a + b)).collect();
        e.epir_probabilities = epir.to_vec();
        e.mol_probabilities = mol.to_vec();
        e.mol_landmarks = (0..68).map(|k| [k as f32, 2.0 * k as f32]).collect();
        e.mol_flow = vec![[10.0, 20.0, 0.5, -0.25]];
    }
    s
}

#[test]
fn both_models_probabilities_go_into_the_intervals_csv_the_eaf_and_the_session_files() {
    let s = with_mol(sample_session());
    let rows = parse_csv(&export::intervals_csv_string(&s));
    let header = &rows[0];
    let at = column(header, "p_surprise");
    assert_eq!(
        header[at + 1..at + 7],
        ["p_epir_negative", "p_epir_positive", "p_epir_surprise", "p_mol_negative", "p_mol_positive", "p_mol_surprise"]
    );
    assert!(rows.iter().all(|r| r.len() == header.len()), "ragged rows");
    let get = |row: usize, name: &str| rows[row][column(header, name)].as_str();
    assert_eq!([get(1, "p_positive"), get(1, "p_epir_positive"), get(1, "p_mol_positive")], ["0.5000", "0.6000", "0.4000"]);
    // Event 2 had no MOL: its EPIR columns are its probabilities, MOL's empty.
    assert_eq!([get(2, "p_epir_negative"), get(2, "p_mol_negative")], [get(2, "p_negative"), ""]);
    assert_eq!(get(3, "p_mol_negative"), "0.7000");
    // Without MOL anywhere the columns are as before.
    let plain = parse_csv(&export::intervals_csv_string(&sample_session()));
    assert!(!plain[0].iter().any(|c| c.starts_with("p_mol_") || c.starts_with("p_epir_")));

    let text = export::eaf_string_dated(&s, 0);
    assert!(text.contains("EPIR: positive 0.60 MOL: negative 0.40"), "{text}");

    // The session files keep every MOL field.
    let back: Session = serde_json::from_str(&serde_json::to_string(&s).expect("json")).expect("parses");
    assert_eq!(back.events, s.events);
    let back = Session::parse_as(Path::new("s.session.ron"), &s.to_ron_string().expect("ron")).expect("parses");
    assert_eq!(back.events[0].mol_landmarks.len(), 68);
    assert_eq!(back.events[2].mol_flow, vec![[10.0, 20.0, 0.5, -0.25]]);
}

/// A session written before MOL (the fuzz corpus' hand-written one) loads,
/// with no MOL outputs and its probabilities taken as EPIR's.
#[test]
fn a_session_from_before_mol_still_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/session_ron/small.session.ron");
    let text = fs::read_to_string(&path).expect("the corpus session");
    assert!(!text.contains("mol_"));
    let s = Session::parse_as(&path, &text).expect("loads");
    let e = &s.events[0];
    assert!(e.mol_probabilities.is_empty() && e.mol_landmarks.is_empty() && e.mol_flow.is_empty());
    assert_eq!(e.epir_probabilities(), &[0.1, 0.8, 0.1]);
}
