//! Synthetic micro-expression clips with known ground truth, rendered from a
//! real public-domain face photo (scikit-image's astronaut, fetched at set-up).
//!
//! Each face gets `events_per_face` micro-expressions (Gaussian-weighted
//! displacement fields at the brows, lip corners or jaw, with a raised-cosine
//! rise to apex and decay to offset), blinks, slow head motion and sensor
//! noise; the timing of all of it is written beside the clip as
//! `<clip>.truth.json`. Everything follows from `SynthSpec::seed`.
pub mod face;
pub mod layout;
pub mod plan;
mod render;
pub mod scenes;
pub mod score;

use std::path::{Path, PathBuf};

use opencv::core::{Mat, MatTraitConst, Size};
use opencv::prelude::{VideoWriterTrait, VideoWriterTraitConst};
use opencv::{imgcodecs, videoio};
use serde::{Deserialize, Serialize};

use crate::face::{FaceBox, Landmarks};
use crate::files::{write_atomic, write_atomic_with, AtomicWithError, WriteError};
pub use plan::{Plan, PlannedBlink, PlannedEvent};
pub use render::Renderer;

/// Class ids as the EPIR model's.
pub const CLASS_NAMES: [&str; 3] = ["negative", "positive", "surprise"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthSpec {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub seconds: f64,
    /// Faces side by side (1 or 2).
    pub faces: u32,
    pub events_per_face: u32,
    /// Classes to cycle through in time order (0 negative, 1 positive,
    /// 2 surprise); `None`: all three in turn.
    pub classes: Option<Vec<usize>>,
    /// Peak displacement of every event, canvas pixels; `None`: drawn per
    /// event from `amplitude_range_px`.
    pub amplitude_px: Option<f32>,
    pub amplitude_range_px: (f32, f32),
    pub blinks_per_face: u32,
    /// Largest head translation from rest, canvas pixels (0: still head).
    pub head_motion_px: f32,
    /// Per-pixel Gaussian noise, grey levels (0: none).
    pub noise_sigma: f32,
    pub seed: u64,
    /// Framing: face size, position, tight crop, grey. Left out of the JSON
    /// when default, so clips and truth files made before it are unchanged.
    #[serde(flatten)]
    pub framing: Framing,
}

/// How the face sits in the frame. The default is the framing every clip
/// had before these options: a 175-px face (shrunk to fit), centred.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Framing {
    /// Face width (cheek to cheek) as a fraction of the frame width,
    /// 0.10..=1.10; above about 0.6 the face overflows a 4:3 frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face_width: Option<f64>,
    /// Centre of the face box in frame fractions (x, y), each in 0..=1 (one
    /// face only); a face near a border is cut by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face_center: Option<(f64, f64)>,
    /// Frames are a tight crop around the face, as CASME II and SAMM ship
    /// them: the face box plus a small margin fills the frame, and the photo
    /// around the face (hair, collar) shows instead of the plain wall.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tight_crop: bool,
    /// Grey frames (written as three equal channels).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub grey: bool,
}

impl Default for SynthSpec {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 30.0,
            seconds: 20.0,
            faces: 1,
            events_per_face: 6,
            classes: None,
            amplitude_px: None,
            amplitude_range_px: (0.5, 3.0),
            blinks_per_face: 3,
            head_motion_px: 3.0,
            noise_sigma: 1.5,
            seed: 1,
            framing: Framing::default(),
        }
    }
}

impl SynthSpec {
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |m: String| Err(SynthError::BadSpec(m));
        if !(10.0..=1000.0).contains(&self.fps) {
            return bad(format!("fps must be in 10..=1000, not {}", self.fps));
        }
        if !(self.seconds > 0.0 && self.seconds <= 3600.0) {
            return bad(format!("seconds must be in (0, 3600], not {}", self.seconds));
        }
        if !(1..=2).contains(&self.faces) {
            return bad(format!("faces must be 1 or 2, not {}", self.faces));
        }
        if self.width < 64 || self.height < 64 || self.width > 4096 || self.height > 4096 {
            return bad(format!("canvas {}x{} is outside 64..=4096 per side", self.width, self.height));
        }
        if self.width % 2 == 1 || self.height % 2 == 1 {
            return bad(format!("canvas {}x{}: video codecs want even sides", self.width, self.height));
        }
        if let Some(classes) = &self.classes {
            if classes.is_empty() || classes.iter().any(|&c| c >= CLASS_NAMES.len()) {
                return bad(format!(
                    "classes must be a non-empty list of ids below {}, not {classes:?}",
                    CLASS_NAMES.len()
                ));
            }
        }
        let amplitudes = match self.amplitude_px {
            Some(a) => (a, a),
            None => self.amplitude_range_px,
        };
        if !(amplitudes.0 > 0.0 && amplitudes.0 <= amplitudes.1 && amplitudes.1 <= 20.0) {
            return bad(format!("amplitude must be in (0, 20] px, low ≤ high, not {amplitudes:?}"));
        }
        if !(0.0..=50.0).contains(&self.head_motion_px) || !(0.0..=50.0).contains(&self.noise_sigma) {
            return bad("head motion and noise must be in 0..=50".into());
        }
        let framing = &self.framing;
        if let Some(width) = framing.face_width {
            if !(0.10..=1.10).contains(&width) {
                return bad(format!("face width must be in 0.10..=1.10 of the frame width, not {width}"));
            }
        }
        if let Some((x, y)) = framing.face_center {
            if !((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y)) {
                return bad(format!("face centre must be in 0..=1 of the frame on each axis, not {x},{y}"));
            }
            if self.faces != 1 {
                return bad("a face centre places one face: use it with faces = 1".into());
            }
        }
        if framing.tight_crop {
            if self.faces != 1 {
                return bad("a tight crop frames one face: use it with faces = 1".into());
            }
            if framing.face_width.is_some() || framing.face_center.is_some() {
                return bad(
                    "a tight crop sets the face's size and place itself: leave face width and centre out".into()
                );
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// File name of the clip (no folder), e.g. `astronaut-demo.mp4`.
    pub clip: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u64,
    pub seconds: f64,
    pub faces: Vec<TruthFace>,
    /// Sorted by face, then onset.
    pub events: Vec<TruthEvent>,
    pub distractors: Vec<Distractor>,
    pub spec: SynthSpec,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthFace {
    pub face: u32,
    /// Skin box (cheek to cheek, hairline to chin) in canvas pixels at rest.
    pub bbox: FaceBox,
    /// Eyes, nose tip, mouth corners in canvas pixels at rest (MTCNN order).
    pub landmarks: Landmarks,
}

/// One micro-expression; frame i is at i / fps seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthEvent {
    pub face: u32,
    pub onset_frame: u64,
    pub apex_frame: u64,
    pub offset_frame: u64,
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    pub class: usize,
    pub class_name: String,
    /// Peak displacement at apex, canvas pixels.
    pub amplitude_px: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistractorKind {
    Blink,
    HeadMotion,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distractor {
    pub face: u32,
    pub kind: DistractorKind,
    pub start_frame: u64,
    pub end_frame: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("astronaut photo not found at {path}: run `make setup` (or set GLIMPSE_ASTRONAUT)")]
    MissingAstronaut { path: PathBuf },
    #[error("{path}: {problem}")]
    BadAstronaut { path: PathBuf, problem: String },
    #[error("synth spec: {0}")]
    BadSpec(String),
    #[error("{path}: output must end in .mp4 or .avi")]
    BadExtension { path: PathBuf },
    #[error("{path}: cannot open a video writer ({fourcc})")]
    Writer { path: PathBuf, fourcc: String },
    #[error("OpenCV")]
    OpenCv(#[from] opencv::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("ground truth JSON")]
    Json(#[from] serde_json::Error),
    #[error("ground truth {path}: cannot be read")]
    TruthRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ground truth {path}: not valid JSON")]
    TruthParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads the astronaut photo as BGR 8-bit and checks it is the 512×512 one
/// the landmarks were measured on.
pub fn load_astronaut(path: &Path) -> Result<Mat, SynthError> {
    if !path.is_file() {
        return Err(SynthError::MissingAstronaut { path: path.to_path_buf() });
    }
    let image = imgcodecs::imread(&path.to_string_lossy(), imgcodecs::IMREAD_COLOR)?;
    if image.empty() || image.cols() != 512 || image.rows() != 512 {
        return Err(SynthError::BadAstronaut {
            path: path.to_path_buf(),
            problem: format!("expected scikit-image's 512x512 astronaut.png, got {}x{}", image.cols(), image.rows()),
        });
    }
    Ok(image)
}

/// A planned clip ready to render frame by frame, in memory.
pub struct Synth {
    pub truth: GroundTruth,
    pub renderer: Renderer,
}

impl Synth {
    pub fn new(spec: &SynthSpec, photo: &Mat, clip_name: &str) -> Result<Self, SynthError> {
        let plan = plan::plan(spec)?;
        let renderer = Renderer::new(spec, plan, photo)?;
        let truth = ground_truth(spec, &renderer, clip_name);
        Ok(Self { truth, renderer })
    }

    pub fn frame(&self, index: u64) -> Result<Mat, SynthError> {
        self.renderer.render(index)
    }
}

fn ground_truth(spec: &SynthSpec, renderer: &Renderer, clip_name: &str) -> GroundTruth {
    let plan = renderer.plan();
    let at = |frame: u64| frame as f64 / spec.fps;
    let faces = (0..spec.faces)
        .map(|f| {
            let b = renderer.face_box(f as usize);
            let point = |p| {
                let c = renderer.canvas_point(f as usize, p);
                [c[0] as f32, c[1] as f32]
            };
            TruthFace {
                face: f,
                bbox: FaceBox { x: b[0] as f32, y: b[1] as f32, width: b[2] as f32, height: b[3] as f32 },
                landmarks: [
                    point(face::LEFT_EYE),
                    point(face::RIGHT_EYE),
                    point(face::NOSE_TIP),
                    point(face::LEFT_MOUTH),
                    point(face::RIGHT_MOUTH),
                ],
            }
        })
        .collect();
    let mut events: Vec<TruthEvent> = plan
        .events
        .iter()
        .map(|e| TruthEvent {
            face: e.face,
            onset_frame: e.onset_frame,
            apex_frame: e.apex_frame,
            offset_frame: e.offset_frame,
            onset_s: at(e.onset_frame),
            apex_s: at(e.apex_frame),
            offset_s: at(e.offset_frame),
            class: e.class,
            class_name: CLASS_NAMES[e.class].to_string(),
            amplitude_px: e.amplitude_px,
        })
        .collect();
    events.sort_by_key(|e| (e.face, e.onset_frame));
    let mut distractors: Vec<Distractor> = plan
        .blinks
        .iter()
        .map(|b| Distractor {
            face: b.face,
            kind: DistractorKind::Blink,
            start_frame: b.start_frame,
            end_frame: b.end_frame,
        })
        .chain(plan.head_moves.iter().map(|m| Distractor {
            face: m.face,
            kind: DistractorKind::HeadMotion,
            start_frame: m.start_frame,
            end_frame: m.end_frame,
        }))
        .collect();
    distractors.sort_by_key(|d| (d.face, d.start_frame));
    GroundTruth {
        clip: clip_name.to_string(),
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        frames: plan.frames,
        seconds: plan.frames as f64 / spec.fps,
        faces,
        events,
        distractors,
        spec: spec.clone(),
    }
}

/// `<clip>.truth.json` beside `clip`.
pub fn truth_path(clip: &Path) -> PathBuf {
    let name = clip.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    clip.with_file_name(format!("{name}.truth.json"))
}

/// Renders the clip to `out_path` (.mp4 → mp4v, .avi → MJPG) and its ground
/// truth to `<out_path>.truth.json`, both written atomically. `progress`
/// hears (frames written, total frames).
pub fn generate(
    spec: &SynthSpec,
    astronaut_path: &Path,
    out_path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<GroundTruth, SynthError> {
    let ext = out_path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let fourcc = match ext.as_str() {
        "mp4" => ['m', 'p', '4', 'v'],
        "avi" => ['M', 'J', 'P', 'G'],
        _ => return Err(SynthError::BadExtension { path: out_path.to_path_buf() }),
    };
    spec.validate()?;
    let photo = load_astronaut(astronaut_path)?;
    let clip_name = out_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let synth = Synth::new(spec, &photo, &clip_name)?;
    let frames = synth.truth.frames;
    let fourcc_name: String = fourcc.iter().collect();
    write_atomic_with(out_path, |tmp: &Path| -> Result<(), SynthError> {
        let code = videoio::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3])?;
        let size = Size::new(spec.width as i32, spec.height as i32);
        let mut writer = videoio::VideoWriter::new(&tmp.to_string_lossy(), code, spec.fps, size, true)?;
        if !writer.is_opened()? {
            return Err(SynthError::Writer { path: out_path.to_path_buf(), fourcc: fourcc_name.clone() });
        }
        for i in 0..frames {
            writer.write(&synth.frame(i)?)?;
            progress(i + 1, frames);
        }
        writer.release()?;
        Ok(())
    })
    .map_err(|e| match e {
        AtomicWithError::Io(w) => SynthError::Write(w),
        AtomicWithError::Writer(s) => s,
    })?;
    let json = serde_json::to_string_pretty(&synth.truth)?;
    write_atomic(&truth_path(out_path), json.as_bytes())?;
    Ok(synth.truth)
}

#[cfg(test)]
mod tests;
