//! Many clips at once (`glimpse classify` over a folder of clip folders, as
//! data sets are laid out): which inputs are clips, and the one summary
//! table and CSV that researchers tabulate results in.
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::batch::{is_own_output_or_hidden, is_video, shorten, BatchError, Status};
use super::clip::ApexBy;
use crate::capture::is_image_file;
use crate::session::export::csv_field;
use crate::session::Session;

/// The start of the summary CSV's header: a file that begins otherwise is
/// not a summary Glimpse wrote, and is not replaced without `--force`.
pub const SUMMARY_CSV_START: &str = "clip,frames,onset,apex,apex_by,class,";

fn holds_images(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).any(|e| e.path().is_file() && is_image_file(&e.path())))
        .unwrap_or(false)
}

/// The clips among `inputs`: a video file or a folder of frames is one
/// clip; a folder without frames stands for the clip folders and videos in
/// it (sorted by name). A folder holding neither, or a missing path, stays
/// an input and fails on its own, with its name.
pub fn clip_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, BatchError> {
    let mut clips = Vec::new();
    for input in inputs {
        if !input.is_dir() || holds_images(input) {
            clips.push(input.clone());
            continue;
        }
        let entries = std::fs::read_dir(input).map_err(|reason| BatchError::Read { path: input.clone(), reason })?;
        let mut inside: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| !is_own_output_or_hidden(p))
            .filter(|p| (p.is_dir() && holds_images(p)) || (p.is_file() && is_video(p)))
            .collect();
        if inside.is_empty() {
            clips.push(input.clone());
        } else {
            inside.sort();
            clips.extend(inside);
        }
    }
    if clips.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(clips)
}

/// One clip's line of the summary.
#[derive(Clone, Debug, Serialize)]
pub struct ClipRow {
    /// The clip's name (its folder's or file's).
    pub clip: String,
    pub path: String,
    pub status: Status,
    pub frames: Option<u64>,
    pub onset: Option<u64>,
    pub apex: Option<u64>,
    pub apex_by: Option<ApexBy>,
    pub class: Option<String>,
    /// In the order of `class_names`.
    pub probabilities: Vec<f32>,
    pub class_names: Vec<String>,
    pub error: Option<String>,
}

fn clip_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

impl ClipRow {
    /// The row for a clip's session (the one event, and how its apex was
    /// chosen as the session's settings record it).
    pub fn from_session(path: &Path, session: &Session, status: Status) -> Self {
        let event = session.events.first();
        let apex_by = session.settings.iter().find(|(k, _)| k == "apex_by").and_then(|(_, v)| match v.as_str() {
            "given" => Some(ApexBy::Given),
            "peak_motion" => Some(ApexBy::PeakMotion),
            _ => None,
        });
        Self {
            clip: clip_name(path),
            path: path.display().to_string(),
            status,
            frames: Some(session.source.frame_count),
            onset: event.map(|e| e.onset_frame),
            apex: event.map(|e| e.apex_frame),
            apex_by,
            class: event.map(|e| session.class_name(e.class).into_owned()),
            probabilities: event.map(|e| e.probabilities.clone()).unwrap_or_default(),
            class_names: session.class_names.clone(),
            error: None,
        }
    }

    pub fn failed(path: &Path, error: String) -> Self {
        Self {
            clip: clip_name(path),
            path: path.display().to_string(),
            status: Status::Failed,
            frames: None,
            onset: None,
            apex: None,
            apex_by: None,
            class: None,
            probabilities: Vec::new(),
            class_names: Vec::new(),
            error: Some(error),
        }
    }
}

/// The class names of the rows' model (the synthetic clips' names, which are
/// the shipped model's, when no clip was classified).
fn class_names(rows: &[ClipRow]) -> Vec<String> {
    rows.iter()
        .map(|r| &r.class_names)
        .find(|names| !names.is_empty())
        .cloned()
        .unwrap_or_else(|| crate::synth::CLASS_NAMES.iter().map(|s| s.to_string()).collect())
}

fn cell<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The summary as CSV: one row per clip, a `p_<class>` column per class,
/// empty cells where a clip failed (its error in the last column).
pub fn summary_csv_string(rows: &[ClipRow]) -> String {
    let names = class_names(rows);
    let mut out = SUMMARY_CSV_START.to_string();
    for name in &names {
        out += &csv_field(&format!("p_{name}"));
        out.push(',');
    }
    out += "status,path,error\n";
    for row in rows {
        let mut cells = vec![
            csv_field(&row.clip).into_owned(),
            cell(row.frames),
            cell(row.onset),
            cell(row.apex),
            cell(row.apex_by.map(ApexBy::name)),
            csv_field(row.class.as_deref().unwrap_or_default()).into_owned(),
        ];
        cells.extend((0..names.len()).map(|i| cell(row.probabilities.get(i).map(|p| format!("{p:.4}")))));
        cells.push(status_name(&row.status).to_string());
        cells.push(csv_field(&row.path).into_owned());
        cells.push(csv_field(row.error.as_deref().unwrap_or_default()).into_owned());
        out += &cells.join(",");
        out.push('\n');
    }
    out
}

fn status_name(status: &Status) -> &'static str {
    match status {
        Status::Analysed => "classified",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
    }
}

/// The summary as a table for the terminal.
pub fn summary_table(rows: &[ClipRow]) -> String {
    let names = class_names(rows);
    let mut out =
        format!("{:<28} {:>6} {:>6} {:>5} {:<11} {:<10}", "clip", "frames", "onset", "apex", "apex by", "class");
    let columns: Vec<String> = names.iter().map(|name| format!("p_{name}")).collect();
    let widths: Vec<usize> = columns.iter().map(|c| c.chars().count().max(6)).collect();
    for (column, width) in columns.iter().zip(&widths) {
        out += &format!(" {column:>width$}");
    }
    out += "  status\n";
    for row in rows {
        out += &format!(
            "{:<28} {:>6} {:>6} {:>5} {:<11} {:<10}",
            shorten(&row.clip, 28),
            cell(row.frames),
            cell(row.onset),
            cell(row.apex),
            cell(row.apex_by.map(ApexBy::name)),
            row.class.as_deref().unwrap_or("-")
        );
        for (i, width) in widths.iter().enumerate() {
            out += &format!(" {:>width$}", cell(row.probabilities.get(i).map(|p| format!("{p:.3}"))));
        }
        out += &format!("  {}\n", status_name(&row.status));
        if let Some(error) = &row.error {
            out += &format!("    {error}\n");
        }
    }
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    out += &format!(
        "{} clips: {} classified, {} skipped (outputs there already), {} failed",
        rows.len(),
        count(Status::Analysed),
        count(Status::Skipped),
        count(Status::Failed)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Event;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("glimpse-clip-batch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn a_folder_of_clip_folders_stands_for_its_clips_and_a_frame_folder_for_itself() {
        let dir = scratch("inputs");
        for clip in ["b_clip", "a_clip"] {
            std::fs::create_dir_all(dir.join(clip)).expect("clip dir");
            std::fs::write(dir.join(clip).join("img1.png"), b"").expect("frame");
        }
        std::fs::create_dir_all(dir.join("notes")).expect("dir");
        std::fs::write(dir.join("notes/readme.txt"), b"").expect("file");
        std::fs::write(dir.join("c.mp4"), b"").expect("video");
        std::fs::write(dir.join("c.annotated.mp4"), b"").expect("own output");
        let clips = clip_inputs(std::slice::from_ref(&dir)).expect("inputs");
        assert_eq!(clips, vec![dir.join("a_clip"), dir.join("b_clip"), dir.join("c.mp4")]);
        assert_eq!(clip_inputs(&[dir.join("a_clip")]).expect("inputs"), vec![dir.join("a_clip")]);
        // A folder of neither stays, to fail with its own name.
        assert_eq!(clip_inputs(&[dir.join("notes")]).expect("inputs"), vec![dir.join("notes")]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn the_csv_has_a_row_per_clip_and_empty_cells_for_a_failed_one() {
        let session = Session {
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            settings: vec![("apex_by".into(), "peak_motion".into())],
            events: vec![Event {
                onset_frame: 0,
                apex_frame: 7,
                class: 2,
                probabilities: vec![0.1, 0.2, 0.7],
                ..Event::default()
            }],
            source: crate::session::SourceMeta { frame_count: 12, ..Default::default() },
            ..Session::default()
        };
        let rows = vec![
            ClipRow::from_session(Path::new("data/EP02_01f"), &session, Status::Analysed),
            ClipRow::failed(Path::new("data/EP03, bad"), "data/EP03, bad: no face found in its 9 frames".into()),
        ];
        let csv = summary_csv_string(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "clip,frames,onset,apex,apex_by,class,p_negative,p_positive,p_surprise,status,path,error");
        assert_eq!(lines[1], "EP02_01f,12,0,7,peak_motion,surprise,0.1000,0.2000,0.7000,classified,data/EP02_01f,");
        assert_eq!(
            lines[2],
            "\"EP03, bad\",,,,,,,,,failed,\"data/EP03, bad\",\"data/EP03, bad: no face found in its 9 frames\""
        );
        assert!(lines[0].starts_with(SUMMARY_CSV_START));
        let table = summary_table(&rows);
        assert!(
            table.contains("EP02_01f")
                && table.contains("0.700")
                && table.ends_with("1 classified, 0 skipped (outputs there already), 1 failed"),
            "{table}"
        );
    }
}
