//! Scenes for face tracking: faces that move across the frame, leave it and
//! come back, shots that cut from one to the next, and a second person.
//!
//! Each face is a clip of its own from [`Synth`] (a 128×160 tile with its
//! expressions, blinks and small head motion), cut out with the head's soft
//! ellipse and laid on a scene canvas at a position that follows keyframes,
//! so it can cross the frame or leave it. A scene is a list of shots played
//! one after another: the first frame of each shot after the first is a cut.
//!
//! The second identity is the astronaut made into someone else by a strong,
//! deterministic change of appearance applied to her rendered tile: mirrored,
//! stretched a quarter taller about the head centre (the mouth sits further
//! below the eyes, relative to their distance: other face proportions), and
//! recoloured (red and blue swapped, then a gamma of 0.6, which changes the
//! grey levels of skin, hair and lips unevenly).
use std::path::Path;

use opencv::core::{self, Mat, Scalar, Size, Vec3b, Vec3f, CV_32FC3};
use opencv::imgproc;
use opencv::prelude::*;
use opencv::videoio;
use serde::{Deserialize, Serialize};

use super::{face, Synth, SynthError, SynthSpec, TruthEvent};
use crate::face::FaceBox;

/// Size of each face's own rendered clip.
const TILE_SIZE: (u32, u32) = (128, 160);
/// The second identity's vertical stretch about the head centre.
const SECOND_STRETCH: f64 = 1.25;
/// The second identity's tone curve exponent.
const SECOND_GAMMA: f64 = 0.6;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// The astronaut as she is.
    Astronaut,
    /// The astronaut mirrored, stretched and recoloured (module comment).
    Second,
}

/// One face in a shot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub identity: Identity,
    /// Head centre in canvas pixels at times in the shot (seconds), in time
    /// order; straight lines between them, held before the first and after
    /// the last. A centre far enough outside the canvas takes the face out.
    pub path: Vec<(f64, [f64; 2])>,
    pub events: u32,
    pub blinks: u32,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    pub seconds: f64,
    /// Which backdrop (each is another colour, gradient and set of shapes).
    pub backdrop: u32,
    pub actors: Vec<Actor>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneSpec {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub noise_sigma: f32,
    /// Peak displacement of every event, tile pixels.
    pub amplitude_px: f32,
    pub seed: u64,
    pub shots: Vec<Shot>,
}

/// Where a face is in one frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActorFrame {
    pub frame: u64,
    /// Skin box in canvas pixels (may reach outside the canvas).
    pub bbox: FaceBox,
    /// Fraction of the skin box inside the canvas.
    pub visible: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActorTruth {
    pub shot: usize,
    pub actor: usize,
    pub identity: Identity,
    /// One entry per frame of the shot.
    pub frames: Vec<ActorFrame>,
    /// Micro-expressions, in scene frames (`face` is the actor's index in
    /// `SceneTruth::actors`).
    pub events: Vec<TruthEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneTruth {
    pub frames: u64,
    pub fps: f64,
    /// First frame of each shot after the first.
    pub cuts: Vec<u64>,
    pub actors: Vec<ActorTruth>,
}

/// A face's rendered clip and how to lay it on the canvas.
struct Tile {
    synth: Synth,
    identity: Identity,
    /// Head centre in the (transformed) tile.
    head_centre: [f64; 2],
    /// Soft head mask, 0..1, tile sized.
    alpha: Mat,
    /// Tile point → transformed tile point (identity's geometry change).
    transform: [[f64; 3]; 2],
}

struct ShotRender {
    first_frame: u64,
    frames: u64,
    backdrop: Mat,
    tiles: Vec<Tile>,
    paths: Vec<Vec<(f64, [f64; 2])>>,
}

/// A scene ready to render frame by frame.
pub struct Scene {
    spec: SceneSpec,
    shots: Vec<ShotRender>,
    pub truth: SceneTruth,
}

fn ocv(e: opencv::Error) -> SynthError {
    SynthError::OpenCv(e)
}

impl Scene {
    pub fn new(spec: &SceneSpec, photo: &Mat) -> Result<Self, SynthError> {
        if spec.shots.is_empty() || spec.width < 64 || spec.height < 64 || spec.width % 2 == 1 || spec.height % 2 == 1 {
            return Err(SynthError::BadSpec(format!(
                "a scene needs at least one shot and an even canvas of 64 px a side or more, not {}x{} with {} shots",
                spec.width,
                spec.height,
                spec.shots.len()
            )));
        }
        let mut shots = Vec::new();
        let mut truth = SceneTruth { frames: 0, fps: spec.fps, cuts: Vec::new(), actors: Vec::new() };
        for (s, shot) in spec.shots.iter().enumerate() {
            let frames = super::plan::frame_count(shot.seconds, spec.fps);
            let first_frame = truth.frames;
            if s > 0 {
                truth.cuts.push(first_frame);
            }
            let mut tiles = Vec::new();
            for (a, actor) in shot.actors.iter().enumerate() {
                if actor.path.is_empty() {
                    return Err(SynthError::BadSpec(format!("shot {s}, actor {a}: an empty path")));
                }
                let tile_spec = SynthSpec {
                    width: TILE_SIZE.0,
                    height: TILE_SIZE.1,
                    fps: spec.fps,
                    seconds: shot.seconds,
                    faces: 1,
                    events_per_face: actor.events,
                    amplitude_px: Some(spec.amplitude_px),
                    blinks_per_face: actor.blinks,
                    head_motion_px: 1.0,
                    noise_sigma: 0.0,
                    seed: actor.seed,
                    ..SynthSpec::default()
                };
                tile_spec.validate()?;
                let tile = Tile::new(Synth::new(&tile_spec, photo, "tile")?, actor.identity)?;
                let actor_index = truth.actors.len() as u32;
                let events = tile
                    .synth
                    .truth
                    .events
                    .iter()
                    .map(|e| {
                        let shift = |f: u64| f + first_frame;
                        TruthEvent {
                            face: actor_index,
                            onset_frame: shift(e.onset_frame),
                            apex_frame: shift(e.apex_frame),
                            offset_frame: shift(e.offset_frame),
                            onset_s: shift(e.onset_frame) as f64 / spec.fps,
                            apex_s: shift(e.apex_frame) as f64 / spec.fps,
                            offset_s: shift(e.offset_frame) as f64 / spec.fps,
                            ..e.clone()
                        }
                    })
                    .collect();
                let rest_box = tile.face_box();
                let actor_frames = (0..frames)
                    .map(|i| {
                        let at = position(&actor.path, i as f64 / spec.fps);
                        let bbox = FaceBox {
                            x: (rest_box.x as f64 - tile.head_centre[0] + at[0]) as f32,
                            y: (rest_box.y as f64 - tile.head_centre[1] + at[1]) as f32,
                            ..rest_box
                        };
                        ActorFrame { frame: first_frame + i, bbox, visible: visible_fraction(&bbox, spec) }
                    })
                    .collect();
                truth.actors.push(ActorTruth {
                    shot: s,
                    actor: a,
                    identity: actor.identity,
                    frames: actor_frames,
                    events,
                });
                tiles.push(tile);
            }
            shots.push(ShotRender {
                first_frame,
                frames,
                backdrop: backdrop(spec, shot.backdrop)?,
                tiles,
                paths: shot.actors.iter().map(|a| a.path.clone()).collect(),
            });
            truth.frames += frames;
        }
        Ok(Self { spec: spec.clone(), shots, truth })
    }

    /// Frame `index` (0-based over the whole scene) as BGR 8-bit.
    pub fn frame(&self, index: u64) -> Result<Mat, SynthError> {
        let shot =
            self.shots.iter().find(|s| index >= s.first_frame && index < s.first_frame + s.frames).ok_or_else(
                || SynthError::BadSpec(format!("frame {index} is past the scene's {}", self.truth.frames)),
            )?;
        let local = index - shot.first_frame;
        let mut canvas = shot.backdrop.clone();
        for (tile, path) in shot.tiles.iter().zip(&shot.paths) {
            let at = position(path, local as f64 / self.spec.fps);
            tile.draw(&mut canvas, local, at)?;
        }
        let seed = (self.spec.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        super::render::with_sensor_noise(canvas, self.spec.noise_sigma, seed)
    }

    /// Writes the scene as an MJPG .avi (quick to write and to decode).
    pub fn write_avi(&self, path: &Path) -> Result<(), SynthError> {
        let code = videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').map_err(ocv)?;
        let size = Size::new(self.spec.width as i32, self.spec.height as i32);
        let mut writer =
            videoio::VideoWriter::new(&path.to_string_lossy(), code, self.spec.fps, size, true).map_err(ocv)?;
        if !writer.is_opened().map_err(ocv)? {
            return Err(SynthError::Writer { path: path.to_path_buf(), fourcc: "MJPG".into() });
        }
        for i in 0..self.truth.frames {
            writer.write(&self.frame(i)?).map_err(ocv)?;
        }
        writer.release().map_err(ocv)?;
        Ok(())
    }
}

impl Tile {
    fn new(synth: Synth, identity: Identity) -> Result<Self, SynthError> {
        let head = synth.renderer.canvas_point(0, face::HEAD_CENTRE);
        let scale = synth.truth.faces[0].bbox.width as f64 / face::FACE_WIDTH;
        let (w, h) = (TILE_SIZE.0 as f64, TILE_SIZE.1 as f64);
        let (transform, stretch) = match identity {
            Identity::Astronaut => ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 1.0),
            // Mirror about the head centre's column, stretch about its row.
            Identity::Second => {
                ([[-1.0, 0.0, 2.0 * head[0]], [0.0, SECOND_STRETCH, head[1] * (1.0 - SECOND_STRETCH)]], SECOND_STRETCH)
            }
        };
        let axes = [face::HEAD_SEMI_AXES[0] * scale, face::HEAD_SEMI_AXES[1] * scale * stretch];
        let mut alpha =
            Mat::new_rows_cols_with_default(h as i32, w as i32, core::CV_32FC1, Scalar::all(0.0)).map_err(ocv)?;
        for y in 0..h as i32 {
            let row = alpha.at_row_mut::<f32>(y).map_err(ocv)?;
            for (x, a) in row.iter_mut().enumerate() {
                let r = ((x as f64 - head[0]) / axes[0]).hypot((y as f64 - head[1]) / axes[1]);
                let t = ((1.0 - r) / 0.15).clamp(0.0, 1.0);
                *a = (t * t * (3.0 - 2.0 * t)) as f32;
            }
        }
        Ok(Self { synth, identity, head_centre: head, alpha, transform })
    }

    /// The skin box at rest, in (transformed) tile pixels.
    fn face_box(&self) -> FaceBox {
        let b = self.synth.truth.faces[0].bbox;
        let corners = [[b.x, b.y], [b.x + b.width, b.y + b.height]].map(|p| self.apply([p[0] as f64, p[1] as f64]));
        let (x0, x1) = (corners[0][0].min(corners[1][0]), corners[0][0].max(corners[1][0]));
        let (y0, y1) = (corners[0][1].min(corners[1][1]), corners[0][1].max(corners[1][1]));
        FaceBox { x: x0 as f32, y: y0 as f32, width: (x1 - x0) as f32, height: (y1 - y0) as f32 }
    }

    fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let m = &self.transform;
        [m[0][0] * p[0] + m[0][1] * p[1] + m[0][2], m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]]
    }

    /// The tile's frame `index`, changed into its identity.
    fn render(&self, index: u64) -> Result<Mat, SynthError> {
        let frame = self.synth.frame(index)?;
        if self.identity == Identity::Astronaut {
            return Ok(frame);
        }
        let m = Mat::from_slice_2d(&self.transform).map_err(ocv)?;
        let mut warped = Mat::default();
        imgproc::warp_affine(
            &frame,
            &mut warped,
            &m,
            frame.size().map_err(ocv)?,
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            Scalar::all(0.0),
        )
        .map_err(ocv)?;
        let mut lut = Mat::new_rows_cols_with_default(1, 256, core::CV_8UC1, Scalar::all(0.0)).map_err(ocv)?;
        for (v, out) in lut.at_row_mut::<u8>(0).map_err(ocv)?.iter_mut().enumerate() {
            *out = (255.0 * (v as f64 / 255.0).powf(SECOND_GAMMA)).round() as u8;
        }
        let mut swapped = Mat::default();
        imgproc::cvt_color_def(&warped, &mut swapped, imgproc::COLOR_BGR2RGB).map_err(ocv)?;
        let mut out = Mat::default();
        core::lut(&swapped, &lut, &mut out).map_err(ocv)?;
        Ok(out)
    }

    /// Lays frame `index` with its head centre at canvas point `at`.
    fn draw(&self, canvas: &mut Mat, index: u64, at: [f64; 2]) -> Result<(), SynthError> {
        let tile = self.render(index)?;
        let x0 = (at[0] - self.head_centre[0]).round() as i32;
        let y0 = (at[1] - self.head_centre[1]).round() as i32;
        let (cw, ch) = (canvas.cols(), canvas.rows());
        for v in 0..tile.rows() {
            let y = y0 + v;
            if y < 0 || y >= ch {
                continue;
            }
            let a_row = self.alpha.at_row::<f32>(v).map_err(ocv)?;
            let t_row = tile.at_row::<Vec3b>(v).map_err(ocv)?;
            let c_row = canvas.at_row_mut::<Vec3f>(y).map_err(ocv)?;
            for u in 0..tile.cols() {
                let x = x0 + u;
                let a = a_row[u as usize];
                if x < 0 || x >= cw || a <= 0.0 {
                    continue;
                }
                let (c, t) = (&mut c_row[x as usize], t_row[u as usize]);
                for k in 0..3 {
                    c[k] += a * (f32::from(t[k]) - c[k]);
                }
            }
        }
        Ok(())
    }
}

/// Linear interpolation along keyframes, held at both ends.
fn position(path: &[(f64, [f64; 2])], t: f64) -> [f64; 2] {
    let Some(first) = path.first() else { return [0.0, 0.0] };
    if t <= first.0 {
        return first.1;
    }
    for pair in path.windows(2) {
        let ((t0, p0), (t1, p1)) = (pair[0], pair[1]);
        if t <= t1 {
            let w = if t1 > t0 { (t - t0) / (t1 - t0) } else { 1.0 };
            return [p0[0] + w * (p1[0] - p0[0]), p0[1] + w * (p1[1] - p0[1])];
        }
    }
    path.last().map_or(first.1, |last| last.1)
}

fn visible_fraction(b: &FaceBox, spec: &SceneSpec) -> f32 {
    let iw = ((b.x + b.width).min(spec.width as f32) - b.x.max(0.0)).max(0.0);
    let ih = ((b.y + b.height).min(spec.height as f32) - b.y.max(0.0)).max(0.0);
    let area = b.width * b.height;
    if area > 0.0 {
        iw * ih / area
    } else {
        0.0
    }
}

/// Backdrop `which`: a colour gradient and a few flat shapes (furniture,
/// a window), different for each index.
fn backdrop(spec: &SceneSpec, which: u32) -> Result<Mat, SynthError> {
    const COLOURS: [[f32; 3]; 4] =
        [[150.0, 160.0, 170.0], [80.0, 120.0, 90.0], [120.0, 80.0, 70.0], [60.0, 90.0, 140.0]];
    let colour = COLOURS[which as usize % COLOURS.len()];
    let (w, h) = (spec.width as i32, spec.height as i32);
    let mut bg = Mat::new_rows_cols_with_default(h, w, CV_32FC3, Scalar::all(0.0)).map_err(ocv)?;
    for y in 0..h {
        let row = bg.at_row_mut::<Vec3f>(y).map_err(ocv)?;
        for (x, c) in row.iter_mut().enumerate() {
            let along = match which % 3 {
                0 => y as f32 / h as f32,
                1 => x as f32 / w as f32,
                _ => 0.5 * (x as f32 / w as f32 + y as f32 / h as f32),
            };
            let shade = 1.1 - 0.3 * along;
            *c = Vec3f::from(colour.map(|k| k * shade));
        }
    }
    let mut rng = crate::train::augment::Rng::new(u64::from(which).wrapping_mul(0x2545_F491_4F6C_DD1D) ^ spec.seed);
    for _ in 0..3 {
        let (rw, rh) = ((0.1 + 0.2 * rng.unit()) * w as f64, (0.1 + 0.3 * rng.unit()) * h as f64);
        let (rx, ry) = (rng.unit() * (w as f64 - rw), rng.unit() * (h as f64 - rh));
        let level = 40.0 + 180.0 * rng.unit();
        imgproc::rectangle(
            &mut bg,
            core::Rect::new(rx as i32, ry as i32, rw as i32, rh as i32),
            Scalar::new(level, level * 0.9, level * 0.8, 0.0),
            -1,
            imgproc::LINE_8,
            0,
        )
        .map_err(ocv)?;
    }
    Ok(bg)
}

/// Ready-made scenes for the tracking tests, on a 320×240 canvas at 30 fps.
pub mod presets {
    use super::*;

    fn spec(shots: Vec<Shot>, seed: u64) -> SceneSpec {
        SceneSpec { width: 320, height: 240, fps: 30.0, noise_sigma: 1.5, amplitude_px: 2.5, seed, shots }
    }

    fn still(identity: Identity, at: [f64; 2], events: u32, seed: u64) -> Actor {
        Actor { identity, path: vec![(0.0, at)], events, blinks: 1, seed }
    }

    /// Two people walk past each other: the astronaut from left to right
    /// in the upper half, the second person from right to left lower down,
    /// their faces overlapping as they pass (`seconds` ≥ 4).
    pub fn crossing(seconds: f64) -> SceneSpec {
        let walk = |identity, from: [f64; 2], to: [f64; 2], seed| Actor {
            identity,
            path: vec![(0.5, from), (seconds - 0.5, to)],
            events: 0,
            blinks: 1,
            seed,
        };
        spec(
            vec![Shot {
                seconds,
                backdrop: 0,
                actors: vec![
                    walk(Identity::Astronaut, [60.0, 95.0], [260.0, 95.0], 11),
                    walk(Identity::Second, [260.0, 150.0], [60.0, 150.0], 12),
                ],
            }],
            1,
        )
    }

    /// A shot of the astronaut at the centre, then a cut to a shot of the
    /// second person at the same place (each `shot_s` long, ≥ 4 s), with a
    /// micro-expression in each shot.
    pub fn cut_between_two_people(shot_s: f64) -> SceneSpec {
        spec(
            vec![
                Shot { seconds: shot_s, backdrop: 0, actors: vec![still(Identity::Astronaut, [160.0, 120.0], 1, 21)] },
                Shot { seconds: shot_s, backdrop: 1, actors: vec![still(Identity::Second, [165.0, 118.0], 1, 22)] },
            ],
            2,
        )
    }

    /// The astronaut walks out of the frame to the right at `leave_s`
    /// (taking 0.5 s), stays away for `away_s` and walks back in from the
    /// left to another place, where she stays (the clip lasts `leave_s +
    /// away_s + 4` s).
    pub fn leave_and_return(leave_s: f64, away_s: f64) -> SceneSpec {
        let back_s = leave_s + 0.5 + away_s;
        let astronaut = Actor {
            identity: Identity::Astronaut,
            path: vec![
                (0.0, [170.0, 120.0]),
                (leave_s, [170.0, 120.0]),
                (leave_s + 0.5, [420.0, 120.0]),
                (back_s, [420.0, 120.0]),
                (back_s, [-100.0, 120.0]),
                (back_s + 0.6, [110.0, 125.0]),
            ],
            events: 0,
            blinks: 1,
            seed: 31,
        };
        spec(vec![Shot { seconds: back_s + 4.0, backdrop: 2, actors: vec![astronaut] }], 3)
    }
}
