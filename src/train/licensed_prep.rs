//! MOL's preparation of a licensed data set's clip (`train::licensed`):
//!
//! 1. the eight frames sampled evenly over onset..=offset;
//! 2. one eye-line alignment for the clip, from the onset frame: MTCNN
//!    finds the face (the most confident one), the face mesh its 68 iBUG
//!    points; as MOL's `align_face` (box_enlarge 2.5, 144 px), the
//!    similarity rotates the eye line (centres of points 36-41 and 42-47)
//!    level and maps the box of the eye centres, nose tip and mouth
//!    corners, its longer side times 2.5, onto a 144 px square, of which
//!    the centre 128 px are kept (MOL's evaluation crop; its training adds
//!    random 128 px crops, not done here). Every sampled frame is warped
//!    by it and resized (area) to the model side. MOL aligns each frame on
//!    its own dlib landmarks; here one similarity serves the whole clip,
//!    so the face's own motion is not aligned away;
//! 3. flow targets: Dual TV-L1 (OpenCV's defaults) between consecutive
//!    aligned 128 px crops ([`FLOW_SIDE`]; the tests run it at the model
//!    side for speed), box-averaged and rescaled to the model side.
//!    Pair `t`'s target follows the rendered clips' convention
//!    (`mol_sequences`): backward-warping frame `t` by it gives frame
//!    `t + 1`, i.e. `I_{t+1}(y) = I_t(y + g_t(y))`, so TV-L1 runs from
//!    frame `t + 1` to frame `t` (MOL's `compute_TVL1` runs from `t` to
//!    `t + 1`: the opposite sign convention; one convention is kept for
//!    both kinds of clip here);
//! 4. landmark targets: the face mesh's iBUG-68 points on each sampled
//!    frame (in the onset's box), carried into the crop by the similarity
//!    and scaled to the model side.
//!
//! The result is a [`Sequence`] used as is every epoch
//! (`MolInput::Recorded`).
use std::path::{Path, PathBuf};

use opencv::{core, imgproc, prelude::*};
use tch::Device;

use super::dataset::{Dataset, Sample};
use super::licensed::{Clip, CLASSES};
use super::mol_sequences::{Sequence, FRAMES, LANDMARKS};
use super::mol_trainer::{MolInput, MolSample};
use crate::face::{FaceDetector, FaceError, FaceMesh, Mtcnn, MtcnnOptions, Similarity};
use crate::motion::{MotionError, TvL1Flow};

/// MOL's `box_enlarge`: the face's five-point box times this is the
/// aligned square.
pub const BOX_ENLARGE: f64 = 2.5;
/// The aligned square, and the centre kept of it.
pub const OUTER_SIDE: f64 = 144.0;
pub const CROP_SIDE: i32 = 128;
/// The side TV-L1 runs at: the aligned crop's.
pub const FLOW_SIDE: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum PrepError {
    #[error("{path}: {problem}")]
    Image { path: PathBuf, problem: String },
    #[error("{path}: MTCNN finds no face in the onset frame")]
    NoFace { path: PathBuf },
    #[error("{path}: the face mesh finds no face there (presence {presence:.2})")]
    NoMesh { path: PathBuf, presence: f32 },
    #[error("{path}: {source}")]
    Face { path: PathBuf, source: Box<FaceError> },
    #[error("{clip}: TV-L1 flow: {source}")]
    Flow { clip: PathBuf, source: Box<MotionError> },
    #[error("the model side {0} px must divide the {CROP_SIDE} px crop")]
    Side(usize),
    #[error("{0}")]
    Models(String),
}

/// The detector and the mesh, loaded once.
pub struct Preparer {
    detector: Mtcnn,
    mesh: FaceMesh,
    flow: TvL1Flow,
}

fn read_bgr(path: &Path) -> Result<Mat, PrepError> {
    super::mol_inputs::read_bgr(path, "frame").map_err(|problem| PrepError::Image { path: path.to_path_buf(), problem })
}

impl Preparer {
    /// MTCNN and the face mesh from their usual places
    /// (`$GLIMPSE_MTCNN`, `$GLIMPSE_FACE_MESH`, or installed), on the CPU.
    pub fn load() -> Result<Self, PrepError> {
        use crate::resources::{locate, Resource};
        let models = |e: String| PrepError::Models(e);
        let mtcnn_dir = locate(Resource::MtcnnModel).map_err(|e| models(e.to_string()))?;
        let mesh_dir = locate(Resource::FaceMeshModel).map_err(|e| models(e.to_string()))?;
        let detector = Mtcnn::load(&mtcnn_dir, MtcnnOptions::default(), Device::Cpu)
            .map_err(|e| models(format!("MTCNN: {e}")))?;
        let mesh = FaceMesh::load(&mesh_dir, Device::Cpu).map_err(|e| models(format!("the face mesh: {e}")))?;
        let flow = TvL1Flow::new().map_err(|e| models(format!("TV-L1: {e}")))?;
        Ok(Self { detector, mesh, flow })
    }

    /// The clip's alignment (image -> 128 px crop) and the onset's face box.
    fn alignment(&mut self, onset: &Path) -> Result<(Similarity, crate::face::FaceBox), PrepError> {
        let bgr = read_bgr(onset)?;
        let face = |source| PrepError::Face { path: onset.to_path_buf(), source: Box::new(source) };
        let detections = self.detector.detect(&bgr).map_err(face)?;
        let best = detections
            .into_iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
            .ok_or_else(|| PrepError::NoFace { path: onset.to_path_buf() })?;
        let mesh = self.mesh.landmarks(&bgr, &best.bbox).map_err(face)?;
        if !mesh.is_face() {
            return Err(PrepError::NoMesh { path: onset.to_path_buf(), presence: mesh.presence });
        }
        let points = mesh.ibug68();
        let centre = |range: std::ops::Range<usize>| {
            let n = range.len() as f64;
            let (x, y) = points[range].iter().fold((0.0, 0.0), |(x, y), p| (x + f64::from(p[0]), y + f64::from(p[1])));
            (x / n, y / n)
        };
        let at = |k: usize| (f64::from(points[k][0]), f64::from(points[k][1]));
        let (left, right) = (centre(36..42), centre(42..48));
        let angle = (right.1 - left.1).atan2(right.0 - left.0);
        let (cos, sin) = (angle.cos(), angle.sin());
        // MOL's `align_face`: the eye centres, nose tip (30) and mouth
        // corners (48, 54) rotated eyes-level; their bounding box's centre
        // and longer side times BOX_ENLARGE make the 144 px square.
        let rotated: Vec<(f64, f64)> =
            [left, right, at(30), at(48), at(54)].iter().map(|&(x, y)| (cos * x + sin * y, -sin * x + cos * y)).collect();
        let (min_x, max_x) = rotated.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
        let (min_y, max_y) = rotated.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
        let half = 0.5 * BOX_ENLARGE * (max_x - min_x).max(max_y - min_y);
        if !(half.is_finite() && half > 1.0) {
            return Err(PrepError::NoMesh { path: onset.to_path_buf(), presence: mesh.presence });
        }
        let scale = (OUTER_SIDE - 1.0) / 2.0 / half;
        let (cx, cy) = (0.5 * (min_x + max_x), 0.5 * (min_y + max_y));
        // The centre 128 of the 144: 8 px off each side.
        let margin = (OUTER_SIDE - f64::from(CROP_SIDE)) / 2.0;
        let similarity = Similarity {
            a: scale * cos,
            b: -scale * sin,
            tx: scale * (half - cx) - margin,
            ty: scale * (half - cy) - margin,
        };
        Ok((similarity, best.bbox))
    }

    /// One clip prepared at `side` px, its flow computed at `flow_side`
    /// ([`FLOW_SIDE`], or `side` for speed) and box-averaged to `side`.
    pub fn prepare(&mut self, clip: &Clip, side: usize, flow_side: usize) -> Result<Sequence, PrepError> {
        if side == 0 || !(CROP_SIDE as usize).is_multiple_of(side) || !flow_side.is_multiple_of(side) || flow_side > CROP_SIDE as usize {
            return Err(PrepError::Side(side));
        }
        let paths = clip.sampled();
        let (similarity, face_box) = self.alignment(paths[0])?;
        let pixels = side * side;
        let to_side = side as f32 / CROP_SIDE as f32;
        let mut frames = Vec::with_capacity(FRAMES * pixels);
        let mut crops = Vec::with_capacity(FRAMES);
        let mut landmarks = Vec::with_capacity(FRAMES);
        for path in &paths {
            let cv = |e: opencv::Error| PrepError::Image { path: path.to_path_buf(), problem: e.to_string() };
            let bgr = read_bgr(path)?;
            let face = |source| PrepError::Face { path: path.to_path_buf(), source: Box::new(source) };
            let mesh = self.mesh.landmarks(&bgr, &face_box).map_err(face)?;
            if !mesh.is_face() {
                return Err(PrepError::NoMesh { path: path.to_path_buf(), presence: mesh.presence });
            }
            let mut points = [[0.0f32; 2]; LANDMARKS];
            for (out, p) in points.iter_mut().zip(mesh.ibug68()) {
                let q = similarity.apply(p);
                *out = [(q[0] + 0.5) * to_side - 0.5, (q[1] + 0.5) * to_side - 0.5];
            }
            landmarks.push(points);
            let crop = similarity.warp(&bgr, CROP_SIDE).map_err(face)?;
            let mut grey = Mat::default();
            imgproc::cvt_color_def(&crop, &mut grey, imgproc::COLOR_BGR2GRAY).map_err(cv)?;
            let mut small = Mat::default();
            let size = core::Size::new(side as i32, side as i32);
            imgproc::resize(&grey, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA).map_err(cv)?;
            frames.extend(small.data_bytes().map_err(cv)?.iter().map(|&g| f32::from(g) / 255.0));
            crops.push(if flow_side == side {
                small
            } else if flow_side == CROP_SIDE as usize {
                grey
            } else {
                let mut resized = Mat::default();
                let size = core::Size::new(flow_side as i32, flow_side as i32);
                imgproc::resize(&grey, &mut resized, size, 0.0, 0.0, imgproc::INTER_AREA).map_err(cv)?;
                resized
            });
        }
        let mut flows = Vec::with_capacity((FRAMES - 1) * 2 * pixels);
        let mut peak_px = 0.0f32;
        for pair in crops.windows(2) {
            let field = self
                .flow
                .calc(&pair[1], &pair[0])
                .map_err(|source| PrepError::Flow { clip: clip.folder.clone(), source: Box::new(source) })?
                .downsample(side);
            peak_px = field.u.iter().zip(&field.v).map(|(u, v)| u.hypot(*v)).fold(peak_px, f32::max);
            flows.extend_from_slice(&field.u);
            flows.extend_from_slice(&field.v);
        }
        Ok(Sequence { side, frames, flows, landmarks, peak_px })
    }
}

/// Every clip prepared at `side`, as the data set LOSO splits (subject =
/// data set / subject; no flow images) and MOL's inputs in its order.
/// `progress` hears every 10th clip.
pub fn prepare_all(
    clips: &[Clip],
    side: usize,
    flow_side: usize,
    description: &str,
    progress: &dyn Fn(usize, usize),
) -> Result<(Dataset, Vec<MolSample>), PrepError> {
    let mut preparer = Preparer::load()?;
    let mut samples = Vec::with_capacity(clips.len());
    let mut inputs = Vec::with_capacity(clips.len());
    for (i, clip) in clips.iter().enumerate() {
        let sequence = preparer.prepare(clip, side, flow_side)?;
        samples.push(Sample {
            dataset: clip.corpus.name().to_string(),
            subject: clip.subject.clone(),
            sample: clip.name.clone(),
            label: clip.label,
            flow: Vec::new(),
            apex: None,
        });
        inputs.push(MolSample { label: clip.label, input: MolInput::Recorded(sequence) });
        if (i + 1) % 10 == 0 || i + 1 == clips.len() {
            progress(i + 1, clips.len());
        }
    }
    let dataset = Dataset {
        root: PathBuf::from(description),
        class_names: CLASSES.map(String::from).to_vec(),
        samples,
    };
    Ok((dataset, inputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EpirConfig;
    use crate::synth::layout::{write_layout, Layout, LayoutSpec};
    use crate::train::licensed::{load, Corpus};
    use crate::train::mol_trainer::mol_lite_options;
    use crate::train::split::Subjects;
    use crate::train::{run_loso, LosoSettings, TrainOptions};

    /// The three layouts written by the synthetic renderer (2 subjects, 2
    /// clips each in CASME II, 1 in SAMM and SMIC), read, prepared at
    /// MOL-lite's 64 px and run through a two-fold, one-epoch LOSO.
    /// Measured (2026-11-28, two busy cores): the largest per-pair mean
    /// flow of an event clip 3.0-9.5 x a still pair's (0.056-0.179 px vs
    /// 0.019 px at 64); 12 clips took 58-70 s to prepare, hence 8 here.
    #[test]
    fn synthetic_layouts_load_prepare_and_run_loso() {
        let astronaut = crate::resources::locate(crate::resources::Resource::AstronautPhoto).expect("astronaut photo");
        let root = std::env::temp_dir().join(format!("glimpse-licensed-e2e-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let spec = LayoutSpec::default();
        let mut clips = Vec::new();
        let mut truth = Vec::new();
        for (layout, corpus) in [(Layout::Casme2, Corpus::Casme2), (Layout::Samm, Corpus::Samm), (Layout::Smic, Corpus::Smic)]
        {
            let dir = root.join(corpus.name());
            // CASME II: 2 subjects x 2 clips; SAMM and SMIC 2 x 1 (time).
            let spec = LayoutSpec { clips_per_subject: if corpus == Corpus::Casme2 { 2 } else { 1 }, ..spec };
            let written = write_layout(layout, &spec, &astronaut, &dir).expect("layout written");
            let loaded = load(corpus, &dir).expect("layout read");
            assert_eq!(loaded.clips.len(), written.len(), "{corpus:?}");
            assert_eq!(loaded.clips.len(), 2 * spec.clips_per_subject, "{corpus:?}");
            let dropped: usize = loaded.dropped.values().sum();
            assert_eq!(dropped, if corpus == Corpus::Smic { 0 } else { 1 }, "{corpus:?}: {:?}", loaded.dropped);
            for clip in &loaded.clips {
                // SMIC is read class folder by class folder: match by name.
                let w = written.iter().find(|w| (&w.subject, &w.name) == (&clip.subject, &clip.name)).expect("a written clip");
                assert_eq!((clip.label, clip.subject.as_str()), (w.class, w.subject.as_str()), "{corpus:?}");
                assert_eq!((clip.frames[clip.onset].0, clip.frames[clip.offset].0), (w.onset, w.offset), "{corpus:?}");
                if corpus != Corpus::Smic {
                    assert_eq!(clip.frames[clip.apex].0, w.apex, "{corpus:?}");
                }
            }
            truth.extend(written);
            clips.extend(loaded.clips);
        }
        let side = 64;
        // TV-L1 at the model side (the command runs it at 128 px, 4 x the
        // pixels): the whole test stays near a minute on two busy cores.
        let started = std::time::Instant::now();
        let (dataset, inputs) = prepare_all(&clips, side, side, "synthetic layouts", &|_, _| {}).expect("prepared");
        eprintln!("prepared {} clips in {:.1} s", clips.len(), started.elapsed().as_secs_f64());
        assert_eq!((dataset.samples.len(), inputs.len(), dataset.folds().len()), (8, 8, 6));
        // Classes cycle negative, positive, surprise, negative in each set.
        assert_eq!(dataset.class_counts(), vec![4, 3, 1]);
        let pixels = side * side;
        for (input, clip) in inputs.iter().zip(&clips) {
            let MolInput::Recorded(sequence) = &input.input else { panic!("a recorded clip") };
            assert_eq!(sequence.frames.len(), FRAMES * pixels);
            assert_eq!(sequence.flows.len(), (FRAMES - 1) * 2 * pixels);
            assert_eq!(sequence.landmarks.len(), FRAMES);
            // Eyes level and apart by a plausible share of the crop.
            let points = &sequence.landmarks[0];
            let iod = crate::train::mol_sequences::inter_ocular(points);
            assert!(iod > 0.2 * side as f32 && iod < 0.6 * side as f32, "{}: inter-ocular {iod}", clip.name);
            // The event moves the face: the flow's mean magnitude over
            // the pairs is clearly above zero (sensor noise alone gives
            // TV-L1 little to follow), and the peak is a real displacement.
            let mean: f32 = sequence
                .flows
                .chunks_exact(2 * pixels)
                .map(|pair| {
                    pair[..pixels].iter().zip(&pair[pixels..]).map(|(u, v)| u.hypot(*v)).sum::<f32>() / pixels as f32
                })
                .sum::<f32>()
                / (FRAMES - 1) as f32;
            eprintln!("{}/{}: peak flow {:.3} px, mean {mean:.4} px, iod {iod:.1}", clip.corpus.name(), clip.name, sequence.peak_px);
            assert!(sequence.peak_px > 0.2 && sequence.peak_px < 10.0, "{}: peak {}", clip.name, sequence.peak_px);
        }
        // A still clip for contrast: CASME II's first clip, its two
        // frames before onset (the layout writes two still ones there),
        // sampled as 0,0,0,0,1,1,1,1. The largest per-pair mean flow
        // magnitude of each event clip is compared with the still one's.
        let largest_pair_mean = |sequence: &Sequence| {
            sequence
                .flows
                .chunks_exact(2 * pixels)
                .map(|pair| {
                    pair[..pixels].iter().zip(&pair[pixels..]).map(|(u, v)| u.hypot(*v)).sum::<f32>() / pixels as f32
                })
                .fold(0.0f32, f32::max)
        };
        let mut still_clip = clips[0].clone();
        assert!(still_clip.onset >= 2, "two still frames before onset");
        still_clip.offset = still_clip.onset - 1;
        still_clip.onset -= 2;
        let mut preparer = Preparer::load().expect("models");
        let still = largest_pair_mean(&preparer.prepare(&still_clip, side, side).expect("still clip"));
        for (input, clip) in inputs.iter().zip(&clips) {
            let MolInput::Recorded(sequence) = &input.input else { panic!("a recorded clip") };
            let moving = largest_pair_mean(sequence);
            eprintln!("{}/{}: largest pair-mean flow {moving:.4} px, still pair {still:.4} px", clip.corpus.name(), clip.name);
            assert!(moving > 2.0 * still, "{}: the event's flow {moving} is not above the still pair's {still}", clip.name);
        }
        let config = EpirConfig::default();
        let options = TrainOptions { epochs: 1, batch_size: 8, ..mol_lite_options(3) };
        let settings = LosoSettings {
            config: &config,
            subjects: Subjects::All,
            store: None,
            options: &options,
            device: Device::Cpu,
            jobs: 1,
            max_folds: Some(2),
            command: "test".into(),
            mol_samples: Some(&inputs),
        };
        let report = run_loso(&dataset, &settings, &|line| eprintln!("{line}")).expect("LOSO");
        assert_eq!(report.folds_run, 2);
        let folds: Vec<(&str, usize, usize)> =
            report.folds.iter().map(|f| (f.fold.as_str(), f.truth.len(), f.predicted.len())).collect();
        assert_eq!(folds, vec![("casme2/sub01", 2, 2), ("casme2/sub02", 2, 2)]);
        for fold in &report.folds {
            assert!(fold.flow_epe.is_some_and(f64::is_finite) && fold.landmark_nme.is_some_and(f64::is_finite));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
