//! Session exports: per-frame CSV (OpenFace-like), intervals CSV, JSON, RON,
//! ELAN .eaf and an annotated video. Every file is written atomically
//! (temporary file beside the target, then a rename), so a failed export
//! never leaves a torn file or clobbers an earlier good one.
//!
//! Rejected events: the data exports (intervals CSV, JSON, RON, EAF) keep
//! them, marked `rejected`, so that the review itself is on record and can be
//! undone; the annotated video leaves them out, since it shows the findings.
mod eaf;
mod frames_csv;
mod intervals_csv;
mod legend;
mod session_json;
mod session_ron;
pub mod video;
mod video_codec;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use super::model::Session;
use crate::capture::CaptureError;
use crate::files::{write_atomic, WriteError};

pub use eaf::{eaf_string, eaf_string_dated, iso8601_utc};
pub use frames_csv::{frames_csv_header, frames_csv_string};
pub use intervals_csv::{intervals_csv_header, intervals_csv_string};
pub use video::{write_annotated_video, write_deidentified_video};
pub use video_codec::VideoCodec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// `stem.frames.csv`: one row per face per frame.
    Csv,
    /// `stem.intervals.csv`: one row per event.
    Intervals,
    /// `stem.session.json`
    Json,
    /// `stem.session.ron`
    Ron,
    /// `stem.eaf`: ELAN annotation document, one tier per face.
    Eaf,
    /// `stem.annotated.mp4`: the source re-decoded with overlays.
    Video,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 6] = [Self::Csv, Self::Intervals, Self::Json, Self::Ron, Self::Eaf, Self::Video];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Intervals => "intervals",
            Self::Json => "json",
            Self::Ron => "ron",
            Self::Eaf => "eaf",
            Self::Video => "video",
        }
    }

    /// What follows the stem in the exported file's name.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Csv => ".frames.csv",
            Self::Intervals => ".intervals.csv",
            Self::Json => ".session.json",
            Self::Ron => ".session.ron",
            Self::Eaf => ".eaf",
            Self::Video => ".annotated.mp4",
        }
    }

    /// Parses a comma-separated list such as `csv,intervals,eaf` (spaces
    /// around entries allowed, `all` for every format). Duplicates are
    /// dropped; the order given is kept.
    pub fn parse_list(list: &str) -> Result<Vec<ExportFormat>, ExportError> {
        let mut formats = Vec::new();
        for entry in list.split(',').map(str::trim) {
            let picked: &[ExportFormat] = match entry.to_ascii_lowercase().as_str() {
                "all" => &Self::ALL,
                other => match Self::ALL.iter().find(|f| f.name() == other) {
                    Some(f) => std::slice::from_ref(f),
                    None => {
                        return Err(ExportError::UnknownFormat { entry: entry.to_string(), list: list.to_string() })
                    }
                },
            };
            for f in picked {
                if !formats.contains(f) {
                    formats.push(*f);
                }
            }
        }
        Ok(formats)
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Self::parse_list(s)?.as_slice() {
            [one] => Ok(*one),
            _ => Err(ExportError::UnknownFormat { entry: s.to_string(), list: s.to_string() }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown export format {entry:?} in {list:?} (known: csv, intervals, json, ron, eaf, video, all)")]
    UnknownFormat { entry: String, list: String },
    #[error("{path}: cannot serialise the session as {format}")]
    Serialize {
        path: PathBuf,
        format: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The session's source can no longer be re-decoded as it was analysed.
    #[error("source {path}: {problem}")]
    Source { path: PathBuf, problem: String },
    #[error("{path}: {problem}")]
    Video { path: PathBuf, problem: String },
    #[error("{path}: OpenCV")]
    VideoOpenCv {
        path: PathBuf,
        #[source]
        source: opencv::Error,
    },
}

/// A file an export wrote, with the codec where it is a video.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub path: PathBuf,
    pub codec: Option<VideoCodec>,
}

impl fmt::Display for Written {
    /// "path", or "path (H.264)" for a video.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match self.codec {
            Some(codec) => write!(f, " ({codec})"),
            None => Ok(()),
        }
    }
}

/// Where `format` is written for `stem` in `out_dir`.
pub fn export_path(out_dir: &Path, stem: &str, format: ExportFormat) -> PathBuf {
    out_dir.join(format!("{stem}{}", format.suffix()))
}

/// Writes one export to `path`.
pub fn write_export(session: &Session, format: ExportFormat, path: &Path) -> Result<Written, ExportError> {
    write_export_with_progress(session, format, path, &mut |_, _| {})
}

/// Writes one export to `path`, reporting (frames done, frames in all) for
/// the video, the only slow one.
pub fn write_export_with_progress(
    session: &Session,
    format: ExportFormat,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Written, ExportError> {
    let text = match format {
        ExportFormat::Csv => frames_csv_string(session),
        ExportFormat::Intervals => intervals_csv_string(session),
        ExportFormat::Json => session_json::json_string(session, path)?,
        ExportFormat::Ron => session_ron::ron_string(session, path)?,
        // A de-identified document carries no date.
        ExportFormat::Eaf if session.deidentified => eaf_string_dated(session, 0),
        ExportFormat::Eaf => eaf_string(session),
        ExportFormat::Video => {
            let codec = write_annotated_video(session, path, progress)?;
            return Ok(Written { path: path.to_path_buf(), codec: Some(codec) });
        }
    };
    write_atomic(path, text.as_bytes())?;
    Ok(Written { path: path.to_path_buf(), codec: None })
}

/// Writes every format in `formats` to `out_dir` under `stem`; returns the
/// paths written. Stops at the first failure (files already written stay).
pub fn write_all(
    session: &Session,
    formats: &[ExportFormat],
    out_dir: &Path,
    stem: &str,
) -> Result<Vec<Written>, ExportError> {
    write_all_with_progress(session, formats, out_dir, stem, &mut |_, _| {})
}

/// [`write_all`] with the video's progress reported.
pub fn write_all_with_progress(
    session: &Session,
    formats: &[ExportFormat],
    out_dir: &Path,
    stem: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<Written>, ExportError> {
    let mut written = Vec::with_capacity(formats.len());
    for &format in formats {
        let path = export_path(out_dir, stem, format);
        written.push(write_export_with_progress(session, format, &path, progress)?);
    }
    Ok(written)
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
pub(crate) fn csv_field(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

/// A number with `decimals` places, empty when missing or not finite (an
/// empty cell reads as missing in pandas and R; "NaN" would not everywhere).
pub(crate) fn num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => String::new(),
    }
}

/// The `p_<class>` column names, one per class name.
pub(crate) fn probability_columns(session: &Session) -> Vec<String> {
    session.class_names.iter().map(|name| csv_field(&format!("p_{name}")).into_owned()).collect()
}

/// Whether any event carries MOL-lite's probabilities: then the event
/// exports add each model's own columns (`p_epir_<class>`, `p_mol_<class>`)
/// beside the deciding `p_<class>`; sessions without MOL keep their columns.
pub(crate) fn has_mol(session: &Session) -> bool {
    session.events.iter().any(|e| !e.mol_probabilities.is_empty())
}

/// `p_<model>_<class>` column names, one per class name.
pub(crate) fn model_probability_columns(session: &Session, model: &str) -> Vec<String> {
    session.class_names.iter().map(|name| csv_field(&format!("p_{model}_{name}")).into_owned()).collect()
}

/// One probability per class column: missing entries stay empty.
pub(crate) fn probability_cells(session: &Session, probabilities: Option<&[f32]>) -> Vec<String> {
    (0..session.class_names.len())
        .map(|i| num(probabilities.and_then(|p| p.get(i)).map(|&p| f64::from(p)), 4))
        .collect()
}
