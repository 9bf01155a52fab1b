//! Saving and loading sessions, and the look-ups the pipeline and the UI
//! need on a loaded one.
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::model::{Event, FaceFrame, FrameRecord, Session, SESSION_FORMAT_VERSION};
use crate::files::{write_atomic, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session {path}: no such file")]
    Missing { path: PathBuf },
    #[error("session {path}: cannot be read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("session {path}: unknown extension (expected .ron or .json)")]
    UnknownExtension { path: PathBuf },
    /// The source is what the RON or JSON parser said.
    #[error("session {path}: not valid {format} at line {line}, column {column}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        line: usize,
        column: usize,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "session {path}: written in session format {found}, newer than the {supported} this Glimpse reads; \
         update Glimpse to open it"
    )]
    NewerVersion { path: PathBuf, found: u64, supported: u32 },
    #[error("session {path}: cannot be serialised as {format}")]
    Serialize {
        path: PathBuf,
        format: &'static str,
        #[source]
        source: ron::Error,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The file formats a session is stored in, picked by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StoredFormat {
    Ron,
    Json,
}

impl StoredFormat {
    fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "ron" => Some(Self::Ron),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Ron => "RON",
            Self::Json => "JSON",
        }
    }
}

impl Session {
    /// Pretty RON, the session's native format.
    pub fn to_ron_string(&self) -> Result<String, ron::Error> {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
    }

    /// Saves as pretty RON, atomically: a crash mid-save leaves the previous
    /// session file, never a torn one.
    pub fn save_ron(&self, path: &Path) -> Result<(), SessionError> {
        let text = self.to_ron_string().map_err(|source| SessionError::Serialize {
            path: path.to_path_buf(),
            format: "RON",
            source,
        })?;
        write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// Loads a `.ron` or `.json` session (by extension). A file from a newer
    /// Glimpse is refused rather than half-read.
    /// Parses a session's text as the format `path`'s extension names
    /// (`path` is only named in errors); what `load` does after reading.
    pub fn parse_as(path: &Path, text: &str) -> Result<Session, SessionError> {
        let format =
            StoredFormat::of(path).ok_or_else(|| SessionError::UnknownExtension { path: path.to_path_buf() })?;
        Self::parse(text, format, path)
    }

    pub fn load(path: &Path) -> Result<Session, SessionError> {
        let format =
            StoredFormat::of(path).ok_or_else(|| SessionError::UnknownExtension { path: path.to_path_buf() })?;
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                SessionError::Missing { path: path.to_path_buf() }
            } else {
                SessionError::Read { path: path.to_path_buf(), source }
            }
        })?;
        Self::parse(&text, format, path)
    }

    fn parse(text: &str, format: StoredFormat, path: &Path) -> Result<Session, SessionError> {
        let parsed = match format {
            StoredFormat::Ron => ron::from_str::<Session>(text).map_err(|e| {
                (e.position.line, e.position.col, Box::new(e.code) as Box<dyn std::error::Error + Send + Sync>)
            }),
            StoredFormat::Json => serde_json::from_str::<Session>(text)
                .map_err(|e| (e.line(), e.column(), Box::new(e) as Box<dyn std::error::Error + Send + Sync>)),
        };
        let newer = |found: u64| SessionError::NewerVersion {
            path: path.to_path_buf(),
            found,
            supported: SESSION_FORMAT_VERSION,
        };
        match parsed {
            Ok(session) if session.format_version > SESSION_FORMAT_VERSION => {
                Err(newer(u64::from(session.format_version)))
            }
            Ok(session) => Ok(session),
            Err((line, column, source)) => {
                // A newer format may fail to parse for reasons that would only
                // confuse ("unknown variant…"): say what really happened.
                match probe_version(text, format) {
                    Some(found) if found > u64::from(SESSION_FORMAT_VERSION) => Err(newer(found)),
                    _ => Err(SessionError::Parse {
                        path: path.to_path_buf(),
                        format: format.name(),
                        line,
                        column,
                        source,
                    }),
                }
            }
        }
    }

    /// The session's length: the end of its last frame (a frame lasts one
    /// frame period), or the source's duration if that is longer.
    pub fn duration_s(&self) -> f64 {
        let from_frames = self.frames.last().map_or(0.0, |last| last.timestamp_s + self.frame_period_s());
        from_frames.max(self.source.duration_s).max(0.0)
    }

    /// 1 / fps (measured, else nominal), or 0 when neither is known.
    pub fn frame_period_s(&self) -> f64 {
        let fps = self.fps();
        if fps > 0.0 {
            1.0 / fps
        } else {
            0.0
        }
    }

    /// The source's frame rate: measured from timestamps, else the
    /// container's declared rate, else 0.
    pub fn fps(&self) -> f64 {
        if self.source.measured_fps.is_finite() && self.source.measured_fps > 0.0 {
            self.source.measured_fps
        } else if self.source.nominal_fps.is_finite() && self.source.nominal_fps > 0.0 {
            self.source.nominal_fps
        } else {
            0.0
        }
    }

    /// Every face ID the session mentions, ascending. Summaries are only
    /// complete once the analysis ends, so events and frames count too.
    pub fn face_ids(&self) -> Vec<u32> {
        let mut ids: BTreeSet<u32> = self.faces.iter().map(|f| f.id).collect();
        ids.extend(self.events.iter().map(|e| e.face_id));
        ids.extend(self.frames.iter().flat_map(|f| f.faces.iter().map(|ff| ff.face_id)));
        ids.into_iter().collect()
    }

    /// The events of one face, in session order.
    pub fn events_for_face(&self, face_id: u32) -> impl Iterator<Item = &Event> + '_ {
        self.events.iter().filter(move |e| e.face_id == face_id)
    }

    /// The frame on screen at `t_s`: the last one whose timestamp is at or
    /// before it. `None` before the first frame, past the end, or for NaN.
    /// Frames are in timestamp order (capture makes them strictly
    /// increasing), so this is a binary search.
    pub fn frame_at_time(&self, t_s: f64) -> Option<&FrameRecord> {
        let (first, last) = (self.frames.first()?, self.frames.last()?);
        // Past the end: beyond the last frame's period. Without a known rate
        // the last frame has no period, so only its own instant is covered.
        let past_end = t_s > last.timestamp_s && t_s >= self.duration_s();
        if !t_s.is_finite() || t_s < first.timestamp_s || past_end {
            return None;
        }
        let after = self.frames.partition_point(|f| f.timestamp_s <= t_s);
        self.frames.get(after.checked_sub(1)?)
    }

    /// The record of the frame with this index (binary search: frames are
    /// stored in index order).
    pub fn frame_by_index(&self, index: u64) -> Option<&FrameRecord> {
        self.frames.get(self.frame_position(index)?)
    }

    /// Where the frame with this index is in `frames`.
    pub fn frame_position(&self, index: u64) -> Option<usize> {
        self.frames.binary_search_by_key(&index, |f| f.index).ok()
    }

    /// Whether face `face_id` moves at each frame at `positions`: the frame
    /// lies inside one of its spotted events (a rejected one too: the face
    /// moved, whatever it was), or its motion is above its resting
    /// baseline in this frame and in one next to it (one frame alone is
    /// noise more often than motion). `None` when neither is known.
    pub fn moving_track(&self, face_id: u32, positions: std::ops::Range<usize>) -> Vec<Option<bool>> {
        let positions = positions.start.min(self.frames.len())..positions.end.min(self.frames.len());
        let flag = |position: usize| self.frames.get(position)?.faces.iter().find(|f| f.face_id == face_id)?.moving;
        // The event frames are marked once, by binary search: events are
        // few and frames many (an hour holds 108,000).
        let mut in_event = vec![false; positions.len()];
        for event in self.events.iter().filter(|e| e.face_id == face_id) {
            let from = self.frames.partition_point(|f| f.index < event.onset_frame).max(positions.start);
            let to = self.frames.partition_point(|f| f.index <= event.offset_frame).min(positions.end);
            for position in from..to {
                in_event[position - positions.start] = true;
            }
        }
        positions
            .zip(in_event)
            .map(|(position, in_event)| {
                if in_event {
                    return Some(true);
                }
                let here = flag(position)?;
                let beside = (position > 0 && flag(position - 1) == Some(true)) || flag(position + 1) == Some(true);
                Some(here && beside)
            })
            .collect()
    }

    /// Frames from `first` to `last` (inclusive) that were never analysed:
    /// dropped by a live session that fell behind, or missing from the
    /// source. Their motion is missing from an event that spans them.
    pub fn frames_missing_between(&self, first: u64, last: u64) -> u64 {
        // A session without frame records (an old or hand-made one) says nothing of gaps.
        if last < first || self.frames.is_empty() {
            return 0;
        }
        let from = self.frames.partition_point(|f| f.index < first);
        let to = self.frames.partition_point(|f| f.index <= last);
        (last - first + 1).saturating_sub((to - from) as u64)
    }

    /// The 68 points of face `face_id` in the frame at `position`: those of
    /// its latest detection at or before it while the face stayed tracked
    /// (the mesh runs with the detector; in between the face holds its
    /// place, as its box does). `None` when that detection had no mesh.
    pub fn landmarks68_at(&self, position: usize, face_id: u32) -> Option<&[[f32; 2]]> {
        for frame in self.frames.get(..=position)?.iter().rev() {
            let face = frame.faces.iter().find(|f| f.face_id == face_id)?;
            if face.detected || face.landmarks68.is_some() {
                return face.landmarks68.as_deref();
            }
        }
        None
    }

    /// The points to draw on `face` in the frame at `position`: its 68 when
    /// the mesh gave them, else its five.
    pub fn face_points<'a>(&'a self, position: usize, face: &'a FaceFrame) -> &'a [[f32; 2]] {
        self.landmarks68_at(position, face.face_id).unwrap_or(&face.landmarks)
    }

    /// The name of class `i`, or "class <i>" for an index the session has no
    /// name for (a model with more classes than names recorded).
    pub fn class_name(&self, i: usize) -> Cow<'_, str> {
        match self.class_names.get(i) {
            Some(name) => Cow::Borrowed(name.as_str()),
            None => Cow::Owned(format!("class {i}")),
        }
    }
}

/// The `format_version` of a document that does not parse as a Session,
/// read loosely (any shape, unknown fields and all).
fn probe_version(text: &str, format: StoredFormat) -> Option<u64> {
    match format {
        StoredFormat::Json => {
            let value: serde_json::Value = serde_json::from_str(text).ok()?;
            value.get("format_version")?.as_u64()
        }
        StoredFormat::Ron => {
            let value: ron::Value = ron::from_str(text).ok()?;
            let ron::Value::Map(map) = value else { return None };
            let version = map.iter().find_map(|(k, v)| match (k, v) {
                (ron::Value::String(k), ron::Value::Number(n)) if k == "format_version" => {
                    let v = n.into_f64();
                    // Only a whole, non-negative number is a version.
                    (v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64).then_some(v as u64)
                }
                _ => None,
            });
            version
        }
    }
}
