//! MOL's per-sample inputs from the composite data: each apex crop read
//! once, its 68 iBUG points found by the face mesh (`face::mesh`, the
//! crop as the face box), and the grey crop resized to the frame side.
//! Needs OpenCV (the `app` feature); `train::mol_sequences` renders the
//! clips from what this returns.
use std::path::{Path, PathBuf};

use opencv::{core, imgcodecs, imgproc, prelude::*};
use tch::Device;

use super::dataset::Dataset;
use super::mol_sequences::{ApexFace, LANDMARKS};
use crate::face::{FaceBox, FaceError, FaceMesh};

#[derive(Debug, thiserror::Error)]
pub enum ApexError {
    #[error("{path}: {problem}")]
    Image { path: PathBuf, problem: String },
    #[error("sample {sample}: labels.csv names no apex crop ({needs} needs one)")]
    NoApex { sample: String, needs: &'static str },
    #[error("{path}: the face mesh finds no face there (presence {presence:.2})")]
    NoFace { path: PathBuf, presence: f32 },
    #[error("the face mesh: {0}")]
    Mesh(#[from] FaceError),
    #[error("the face mesh model: {0}")]
    MeshMissing(String),
}

/// The face mesh from its usual place (`$GLIMPSE_FACE_MESH` or installed).
pub fn load_mesh(device: Device) -> Result<FaceMesh, ApexError> {
    let dir = crate::resources::locate(crate::resources::Resource::FaceMeshModel)
        .map_err(|e| ApexError::MeshMissing(e.to_string()))?;
    Ok(FaceMesh::load(&dir, device)?)
}

/// The colour image at `path`, or what is wrong with it (`what` names the
/// file in the "not found" case: a frame, a crop).
pub(crate) fn read_bgr(path: &Path, what: &str) -> Result<Mat, String> {
    if !path.is_file() {
        return Err(format!("{what} not found"));
    }
    let bgr = imgcodecs::imread(&path.to_string_lossy(), imgcodecs::IMREAD_COLOR)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bgr.empty() {
        return Err("not a readable image".into());
    }
    Ok(bgr)
}

/// A colour image in grey, resized (area-averaged) to `side`×`side`, in 0..1.
fn grey_at(bgr: &Mat, side: usize) -> Result<Vec<f32>, opencv::Error> {
    let mut grey = Mat::default();
    imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    let mut small = Mat::default();
    let size = core::Size::new(side as i32, side as i32);
    imgproc::resize(&grey, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
    Ok(small.data_bytes()?.iter().map(|&g| f32::from(g) / 255.0).collect())
}

/// EPIR's apex stream (`EpirConfig::apex_stream`): every sample's apex
/// crop in grey at the flow's side, scaled per image
/// (`model::input::apex_plane`), appended to its flow as a fourth plane.
/// The crops are the flow's face crops, so the planes are pixel-aligned.
pub fn add_apex_stream(dataset: &mut Dataset) -> Result<(), ApexError> {
    use crate::model::input::{apex_plane, INPUT_LEN, INPUT_SIDE};
    for sample in &mut dataset.samples {
        let path = sample.apex.as_ref().ok_or_else(|| ApexError::NoApex {
            sample: sample.sample.clone(),
            needs: "the apex stream",
        })?;
        let image_error = |problem: String| ApexError::Image { path: path.to_path_buf(), problem };
        if sample.flow.len() != INPUT_LEN {
            return Err(image_error(format!("its sample's flow has {} values, not {INPUT_LEN}: added twice?", sample.flow.len())));
        }
        let bgr = read_bgr(path, "file").map_err(image_error)?;
        let grey = grey_at(&bgr, INPUT_SIDE).map_err(|e| image_error(e.to_string()))?;
        sample.flow.extend(apex_plane(&grey));
    }
    Ok(())
}

/// One apex crop at `side` px with its landmarks.
pub fn apex_face(mesh: &FaceMesh, path: &Path, side: usize) -> Result<ApexFace, ApexError> {
    let image_error = |problem: String| ApexError::Image { path: path.to_path_buf(), problem };
    let bgr = read_bgr(path, "file").map_err(image_error)?;
    let (width, height) = (bgr.cols() as f32, bgr.rows() as f32);
    if bgr.cols() != bgr.rows() {
        return Err(image_error(format!("a square crop was expected, found {}x{}", bgr.cols(), bgr.rows())));
    }
    let mesh_points = mesh.landmarks(&bgr, &FaceBox { x: 0.0, y: 0.0, width, height })?;
    if !mesh_points.is_face() {
        return Err(ApexError::NoFace { path: path.to_path_buf(), presence: mesh_points.presence });
    }
    let grey = grey_at(&bgr, side).map_err(|e| image_error(e.to_string()))?;
    // Pixel-centre coordinates scale about the half-pixel offset.
    let scale = side as f32 / width;
    let mut landmarks = [[0.0f32; 2]; LANDMARKS];
    for (out, p) in landmarks.iter_mut().zip(mesh_points.ibug68()) {
        *out = [(p[0] + 0.5) * scale - 0.5, (p[1] + 0.5) * scale - 0.5];
    }
    Ok(ApexFace { side, grey, landmarks })
}

/// Every sample's apex face, in the data set's order; `progress` hears
/// every 50th.
pub fn apex_faces(
    dataset: &Dataset,
    side: usize,
    mesh: &FaceMesh,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<ApexFace>, ApexError> {
    let total = dataset.samples.len();
    dataset
        .samples
        .iter()
        .enumerate()
        .map(|(i, sample)| {
            let path = sample.apex.as_ref().ok_or_else(|| ApexError::NoApex { sample: sample.sample.clone(), needs: "MOL" })?;
            let face = apex_face(mesh, path, side)?;
            if (i + 1) % 50 == 0 || i + 1 == total {
                progress(i + 1, total);
            }
            Ok(face)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::augment::Rng;
    use crate::train::mol_sequences::{inter_ocular, render, unit_flow, warp, SequenceSettings, FRAMES};

    fn composite() -> Dataset {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/megc2019-composite");
        let names: Vec<String> = ["negative", "positive", "surprise"].map(String::from).to_vec();
        Dataset::load(&root, &names).unwrap_or_else(|e| panic!("the composite data set: {e}"))
    }

    /// The apex stream on real crops, one per source set: a fourth plane
    /// spanning 0..1, the flow untouched, and the crop's own grey resized:
    /// the plane's brightest pixel is where the 224 px crop's 8×8 block is
    /// brightest.
    #[test]
    fn the_apex_stream_appends_each_crop_in_grey_at_the_flow_side() {
        use crate::model::input::{INPUT_LEN, INPUT_SIDE};
        use crate::train::Sample;
        let mut data = composite();
        let firsts: Vec<Sample> = ["casme2", "samm", "smic"]
            .iter()
            .map(|set| data.samples.iter().find(|s| s.dataset == *set).expect("a sample of each set").clone())
            .collect();
        data.samples = firsts;
        assert_eq!(data.samples.len(), 3);
        let flows: Vec<Vec<f32>> = data.samples.iter().map(|s| s.flow.clone()).collect();
        add_apex_stream(&mut data).expect("apex planes");
        let plane = INPUT_SIDE * INPUT_SIDE;
        for (sample, flow) in data.samples.iter().zip(&flows) {
            assert_eq!(sample.flow.len(), INPUT_LEN + plane, "{}", sample.sample);
            assert_eq!(&sample.flow[..INPUT_LEN], flow.as_slice());
            let apex = &sample.flow[INPUT_LEN..];
            let (lo, hi) = apex.iter().fold((1.0f32, 0.0f32), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            assert_eq!((lo, hi), (0.0, 1.0), "{}", sample.sample);
            let bgr = read_bgr(sample.apex.as_ref().expect("apex"), "file").expect("crop");
            assert_eq!((bgr.cols(), bgr.rows()), (224, 224));
            let full = grey_at(&bgr, 224).expect("grey");
            let block_mean = |i: usize| {
                let (y, x) = (i / INPUT_SIDE * 8, i % INPUT_SIDE * 8);
                (0..64).map(|k| full[(y + k / 8) * 224 + x + k % 8]).sum::<f32>() / 64.0
            };
            let brightest = (0..plane).max_by(|&a, &b| block_mean(a).total_cmp(&block_mean(b))).expect("pixels");
            assert!(apex[brightest] > 0.97, "{}: {}", sample.sample, apex[brightest]);
        }
        let again = add_apex_stream(&mut data).expect_err("a second plane is refused").to_string();
        assert!(again.contains("added twice"), "{again}");
    }

    /// Real composite samples, one per source set: faces found, landmarks
    /// plausible, clips of the right shapes, one seed one clip, targets
    /// that warp each frame into the next, landmarks inside the frame and
    /// moving with the warp.
    #[test]
    fn clips_from_real_composite_samples() {
        let data = composite();
        let mesh = load_mesh(Device::Cpu).expect("face mesh");
        let side = 64;
        let pixels = side * side;
        for set in ["casme2", "samm", "smic"] {
            let sample = data.samples.iter().find(|s| s.dataset == set).expect("a sample of each set");
            let apex_path = sample.apex.as_ref().expect("apex path");
            let apex = apex_face(&mesh, apex_path, side).expect("apex face");
            let iod = inter_ocular(&apex.landmarks);
            // Eyes of a face crop: a third to a half of its width apart.
            assert!(iod > 0.25 * side as f32 && iod < 0.6 * side as f32, "{set}: inter-ocular {iod} px");
            let unit = unit_flow(&sample.flow).expect("flow");
            let settings = SequenceSettings::new(side);
            let clip = render(&apex, &unit, &settings, &mut Rng::new(7)).expect("clip");
            assert_eq!(clip.frames.len(), FRAMES * pixels);
            assert_eq!(clip.flows.len(), (FRAMES - 1) * 2 * pixels);
            assert_eq!(clip.landmarks.len(), FRAMES);
            assert_eq!(render(&apex, &unit, &settings, &mut Rng::new(7)).expect("clip"), clip, "{set}: same seed");
            assert_ne!(render(&apex, &unit, &settings, &mut Rng::new(8)).expect("clip").frames, clip.frames);
            // Peak in 0.3..3 px at 128, i.e. 0.15..1.5 px at 64.
            assert!((0.15..=1.5).contains(&clip.peak_px), "{set}: peak {}", clip.peak_px);
            // Exactness on a real (not smooth) face, without noise: the
            // warped frame is the next one up to bilinear smoothing of a
            // sharp JPEG crop (bounded analytically on a smooth image in
            // `mol_sequences`). Measured on these three: a mean of 0.25-0.31
            // grey levels, 32-44 % of the frame-to-frame change, 17-24 % of
            // what warping by the reversed target leaves.
            let quiet = SequenceSettings { noise_grey_levels: 0.0, peak_px_at_128: [3.0, 3.0], ..settings };
            let clean = render(&apex, &unit, &quiet, &mut Rng::new(7)).expect("clip");
            let (mut error, mut change, mut reversed) = (0.0f64, 0.0f64, 0.0f64);
            for t in 0..FRAMES - 1 {
                let frame = &clean.frames[t * pixels..(t + 1) * pixels];
                let next = &clean.frames[(t + 1) * pixels..(t + 2) * pixels];
                let flow = &clean.flows[t * 2 * pixels..(t + 1) * 2 * pixels];
                let warped = warp(frame, &flow[..pixels], &flow[pixels..], side);
                error += warped.iter().zip(next).map(|(a, b)| f64::from((a - b).abs())).sum::<f64>();
                change += frame.iter().zip(next).map(|(a, b)| f64::from((a - b).abs())).sum::<f64>();
                let back: Vec<f32> = flow.iter().map(|v| -v).collect();
                let wrong = warp(frame, &back[..pixels], &back[pixels..], side);
                reversed += wrong.iter().zip(next).map(|(a, b)| f64::from((a - b).abs())).sum::<f64>();
            }
            assert!(error < 0.5 * change, "{set}: warping leaves {error:.3} of {change:.3}");
            assert!(error < 0.3 * reversed, "{set}: {error:.3}, reversed target {reversed:.3}");
            let grey_levels = error / ((FRAMES - 1) * pixels) as f64 * 255.0;
            assert!(grey_levels < 0.4, "{set}: mean error {grey_levels:.3} grey levels");
            // The crops are tight: the jaw line and the brows' outer ends
            // can fall a little outside (CASME II's first sample: 7 px of
            // 64); the eyes, nose and mouth (points 27-67) are inside.
            let side_f = side as f32;
            for frame in &clean.landmarks {
                assert!(frame[27..].iter().flatten().all(|v| (0.0..side_f).contains(v)), "{set}: inner point outside");
                let margin = 0.2 * side_f;
                assert!(frame.iter().flatten().all(|v| (-margin..side_f + margin).contains(v)), "{set}: far outside");
            }
            let moved = clean.landmarks[0]
                .iter()
                .zip(&clean.landmarks[4])
                .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
                .fold(0.0f32, f32::max);
            assert!(moved > 0.3 && moved < 1.6, "{set}: onset -> apex landmarks moved {moved} px");
        }
    }
}
