//! Rendering tests: these need the astronaut photo (`make setup`).
use opencv::core::{Mat, Rect, Vec2f, Vec3b};
use opencv::imgproc;
use opencv::prelude::*;
use opencv::{video, videoio};

use super::*;

fn photo() -> Mat {
    let path = crate::face::mtcnn::test_support::astronaut_path();
    load_astronaut(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn scratch(name: &str) -> PathBuf {
    crate::files::scratch_dir(&format!("synth-{name}"))
}

fn bytes(m: &Mat) -> Vec<u8> {
    m.data_bytes().expect("continuous frame").to_vec()
}

fn grey(m: &Mat) -> Mat {
    let mut g = Mat::default();
    imgproc::cvt_color(m, &mut g, imgproc::COLOR_BGR2GRAY, 0).expect("grey");
    g
}

/// A quiet one-event clip: no noise, no head motion, fixed amplitude.
fn quiet(class: usize, amplitude: f32) -> SynthSpec {
    SynthSpec {
        seconds: 4.0,
        events_per_face: 1,
        blinks_per_face: 0,
        classes: Some(vec![class]),
        amplitude_px: Some(amplitude),
        head_motion_px: 0.0,
        noise_sigma: 0.0,
        ..SynthSpec::default()
    }
}

#[test]
fn the_same_seed_gives_the_same_truth_and_frames() {
    let photo = photo();
    let spec = SynthSpec { seconds: 8.0, events_per_face: 3, blinks_per_face: 1, ..SynthSpec::default() };
    let a = Synth::new(&spec, &photo, "a.mp4").expect("synth");
    let b = Synth::new(&spec, &photo, "a.mp4").expect("synth");
    assert_eq!(a.truth, b.truth);
    for i in [0, 1, a.truth.events[0].apex_frame] {
        assert_eq!(bytes(&a.frame(i).expect("frame")), bytes(&b.frame(i).expect("frame")), "frame {i}");
    }
    let c = Synth::new(&SynthSpec { seed: 99, ..spec }, &photo, "a.mp4").expect("synth");
    assert_ne!(a.truth.events, c.truth.events);
    assert_ne!(bytes(&a.frame(0).expect("frame")), bytes(&c.frame(0).expect("frame")), "noise should follow the seed");
}

#[test]
fn faces_sit_inside_the_canvas_with_sensible_size() {
    let photo = photo();
    for faces in [1, 2] {
        let synth = Synth::new(&SynthSpec { faces, ..SynthSpec::default() }, &photo, "x.mp4").expect("synth");
        assert_eq!(synth.truth.faces.len(), faces as usize);
        for f in &synth.truth.faces {
            let b = f.bbox;
            assert!((150.0..=200.0).contains(&b.width), "face width {}", b.width);
            assert!(b.x >= 0.0 && b.y >= 0.0 && b.x + b.width <= 640.0 && b.y + b.height <= 480.0, "{b:?}");
            for p in f.landmarks {
                assert!(p[0] > b.x && p[0] < b.x + b.width && p[1] > b.y && p[1] < b.y + b.height);
            }
        }
    }
}

/// Median of (dx, dy) of `flow` over a disc of `radius` around `p`.
fn median_flow(flow: &Mat, p: [f32; 2], radius: i32) -> (f32, f32) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for y in (p[1] as i32 - radius)..=(p[1] as i32 + radius) {
        for x in (p[0] as i32 - radius)..=(p[0] as i32 + radius) {
            if (x - p[0] as i32).pow(2) + (y - p[1] as i32).pow(2) <= radius * radius {
                let v = flow.at_2d::<Vec2f>(y, x).expect("flow pixel");
                xs.push(v[0]);
                ys.push(v[1]);
            }
        }
    }
    let median = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut xs), median(&mut ys))
}

/// DIS optical flow neutral → apex over the face box (canvas coordinates kept).
fn apex_flow(synth: &Synth) -> (Mat, Mat, Mat, Rect) {
    let b = synth.truth.faces[0].bbox;
    let rect = Rect::new(b.x as i32 - 10, b.y as i32 - 10, b.width as i32 + 20, b.height as i32 + 20);
    let neutral = synth.frame(0).expect("neutral");
    let apex = synth.frame(synth.truth.events[0].apex_frame).expect("apex");
    let (g0, g1) = (grey(&neutral), grey(&apex));
    let mut dis = video::DISOpticalFlow::create(video::DISOpticalFlow_PRESET_MEDIUM).expect("DIS");
    // Full-resolution DIS: the medium preset's default stops at half
    // resolution and smooths away part of a 1–3 px local motion.
    dis.set_finest_scale(0).expect("finest scale");
    let mut flow = Mat::default();
    // DIS wants continuous images: copy the crops out.
    let crop = |g: &Mat| Mat::roi(g, rect).expect("roi").try_clone().expect("crop");
    dis.calc(&crop(&g0), &crop(&g1), &mut flow).expect("flow");
    (flow, neutral, apex, rect)
}

#[test]
fn apex_moves_the_right_points_by_about_the_amplitude() {
    let photo = photo();
    for (class, name) in CLASS_NAMES.iter().enumerate() {
        for amplitude in [1.5f32, 3.0] {
            let synth = Synth::new(&quiet(class, amplitude), &photo, "x.mp4").expect("synth");
            let (flow, neutral, apex, rect) = apex_flow(&synth);
            for (point, direction) in face::class_probes(class) {
                let c = synth.renderer.canvas_point(0, point);
                let local = [c[0] as f32 - rect.x as f32, c[1] as f32 - rect.y as f32];
                let (dx, dy) = median_flow(&flow, local, 4);
                let along = dx * direction[0] as f32 + dy * direction[1] as f32;
                let truth = synth.renderer.displacement_at(0, synth.truth.events[0].apex_frame, point);
                eprintln!(
                    "{name} amp {amplitude}: at {point:?} flow ({dx:.2}, {dy:.2}), along {along:.2}; field ({:.2}, {:.2})",
                    truth[0], truth[1]
                );
                let (lo, hi) = (0.7, 1.3);
                assert!(
                    along >= lo * amplitude && along <= hi * amplitude,
                    "{name} at {point:?}: {along:.2} px along {direction:?}, wanted {amplitude} px"
                );
            }
            // Far from every class's warp (both cheeks) nothing moves.
            for point in [[185.0, 125.0], [262.0, 125.0]] {
                let c = synth.renderer.canvas_point(0, point);
                let (dx, dy) = median_flow(&flow, [c[0] as f32 - rect.x as f32, c[1] as f32 - rect.y as f32], 4);
                assert!(dx.hypot(dy) < 0.15 * amplitude, "{name} moved ({dx}, {dy}) at {point:?}");
            }
            // Outside the face box (±10 px) pixels stay put: the Gaussian
            // tails reaching the hair shift a few edge pixels by a level or two.
            let (mut changed_far, mut total_far, mut worst) = (0, 0, 0);
            for y in 0..neutral.rows() {
                for x in 0..neutral.cols() {
                    // The jaw drop legitimately moves the chin below the box.
                    let near = if class == 2 { Rect::new(rect.x, rect.y, rect.width, rect.height + 50) } else { rect };
                    if near.contains(opencv::core::Point::new(x, y)) {
                        continue;
                    }
                    total_far += 1;
                    let (a, b) = (neutral.at_2d::<Vec3b>(y, x).expect("px"), apex.at_2d::<Vec3b>(y, x).expect("px"));
                    let diff = (0..3).map(|k| (a[k] as i32 - b[k] as i32).abs()).max().unwrap_or(0);
                    worst = worst.max(diff);
                    changed_far += (diff > 0) as usize;
                }
            }
            assert!(
                worst <= 3 && changed_far * 200 < total_far,
                "{changed_far} of {total_far} pixels outside the face box changed, up to {worst} levels"
            );
        }
    }
}

#[test]
fn blinks_change_the_eyes_and_little_else() {
    let photo = photo();
    let spec = SynthSpec { events_per_face: 0, blinks_per_face: 1, ..quiet(0, 1.0) };
    let synth = Synth::new(&spec, &photo, "x.mp4").expect("synth");
    let blink = &synth.truth.distractors.iter().find(|d| d.kind == DistractorKind::Blink).expect("a blink");
    let peak = blink.start_frame + ((blink.end_frame - blink.start_frame) as f64 * 0.4).round() as u64;
    let (g0, g1) = (grey(&synth.frame(0).expect("frame")), grey(&synth.frame(peak).expect("frame")));
    let diff_near = |p: face::Point| {
        let c = synth.renderer.canvas_point(0, p);
        let mut total = 0.0;
        for y in (c[1] as i32 - 5)..=(c[1] as i32 + 5) {
            for x in (c[0] as i32 - 10)..=(c[0] as i32 + 10) {
                total += (*g0.at_2d::<u8>(y, x).expect("px") as f64 - *g1.at_2d::<u8>(y, x).expect("px") as f64).abs();
            }
        }
        total / (11.0 * 21.0)
    };
    let eye = diff_near(face::LEFT_EYE_OPENING);
    let mouth = diff_near(face::LEFT_MOUTH);
    assert!(eye > 8.0 && mouth < 0.5, "mean |Δ| eye {eye:.2}, mouth {mouth:.2}");
}

fn read_back(path: &Path) -> (u64, f64, i32, i32) {
    let mut cap = videoio::VideoCapture::from_file(&path.to_string_lossy(), videoio::CAP_ANY).expect("open");
    assert!(cap.is_opened().expect("opened"), "{} does not open", path.display());
    let fps = cap.get(videoio::CAP_PROP_FPS).expect("fps");
    let (mut frames, mut w, mut h) = (0, 0, 0);
    let mut m = Mat::default();
    while cap.read(&mut m).expect("read") && !m.empty() {
        frames += 1;
        (w, h) = (m.cols(), m.rows());
    }
    (frames, fps, w, h)
}

#[test]
fn written_clips_read_back_with_the_right_frames_rate_and_size() {
    let dir = scratch("write");
    let astronaut = crate::face::mtcnn::test_support::astronaut_path();
    for (name, fps) in [("clip.mp4", 30.0), ("clip.avi", 25.0)] {
        let spec = SynthSpec {
            width: 320,
            height: 240,
            fps,
            seconds: 3.0,
            events_per_face: 1,
            blinks_per_face: 0,
            ..SynthSpec::default()
        };
        let out = dir.join(name);
        let mut calls = 0;
        let truth = generate(&spec, &astronaut, &out, &mut |_, _| calls += 1).expect("generate");
        assert_eq!(calls, truth.frames);
        assert_eq!(truth.frames, (3.0 * fps) as u64);
        let (frames, read_fps, w, h) = read_back(&out);
        assert_eq!((frames, w, h), (truth.frames, 320, 240), "{name}");
        assert!((read_fps - fps).abs() < 1e-3, "{name}: {read_fps} fps");
        let json = std::fs::read_to_string(truth_path(&out)).expect("truth json");
        let back: GroundTruth = serde_json::from_str(&json).expect("parses");
        // serde_json's float parsing may be off in the last bit: compare
        // the seconds loosely and everything else exactly.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert_eq!(back.events.len(), truth.events.len());
        for (b, t) in back.events.iter().zip(&truth.events) {
            assert!(close(b.onset_s, t.onset_s) && close(b.apex_s, t.apex_s) && close(b.offset_s, t.offset_s));
            assert_eq!(
                TruthEvent { onset_s: 0.0, apex_s: 0.0, offset_s: 0.0, ..b.clone() },
                TruthEvent { onset_s: 0.0, apex_s: 0.0, offset_s: 0.0, ..t.clone() }
            );
        }
        assert_eq!(
            (&back.faces, &back.distractors, &back.spec, back.frames),
            (&truth.faces, &truth.distractors, &truth.spec, truth.frames)
        );
        assert_eq!(back.clip, name);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let bad = generate(&SynthSpec::default(), &astronaut, &dir.join("clip.mkv"), &mut |_, _| {});
    assert!(matches!(bad, Err(SynthError::BadExtension { .. })));
    let missing = generate(&SynthSpec::default(), &dir.join("nope.png"), &dir.join("c.mp4"), &mut |_, _| {});
    assert!(missing.expect_err("missing photo").to_string().contains("make setup"));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// For looking at a clip by eye: `SYNTH_DUMP_CLIP=clip.mp4 SYNTH_DUMP_FRAMES=0,57
/// cargo test --release --lib synth::tests::dump_frames -- --ignored` writes
/// `/tmp/<clip>-<frame>.png` for each listed frame.
#[test]
#[ignore = "a viewing aid, not a check"]
fn dump_frames() {
    let clip = PathBuf::from(std::env::var("SYNTH_DUMP_CLIP").expect("SYNTH_DUMP_CLIP"));
    let wanted: Vec<u64> = std::env::var("SYNTH_DUMP_FRAMES")
        .unwrap_or_else(|_| "0".into())
        .split(',')
        .map(|f| f.trim().parse().expect("frame number"))
        .collect();
    let stem = clip.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut cap = videoio::VideoCapture::from_file(&clip.to_string_lossy(), videoio::CAP_ANY).expect("open");
    let mut m = Mat::default();
    let mut index = 0u64;
    while cap.read(&mut m).expect("read") && !m.empty() {
        if wanted.contains(&index) {
            let path = format!("/tmp/{stem}-{index:04}.png");
            imgcodecs::imwrite(&path, &m, &opencv::core::Vector::new()).expect("write png");
            eprintln!("wrote {path}");
        }
        index += 1;
    }
}

#[test]
fn framing_places_and_sizes_the_face_and_its_truth() {
    let photo = photo();
    let framed = |framing: Framing, width: u32, height: u32| {
        let spec = SynthSpec { width, height, framing, ..quiet(0, 1.0) };
        Synth::new(&spec, &photo, "x.mp4").expect("synth").truth.faces.remove(0)
    };
    // Half the frame's width, centred at (0.3, 0.7): cut by the lower edge.
    let face = framed(Framing { face_width: Some(0.5), face_center: Some((0.3, 0.7)), ..Framing::default() }, 640, 480);
    let b = face.bbox;
    assert!((b.width - 320.0).abs() < 0.5, "{b:?}");
    assert!((b.x + 0.5 * b.width - 192.0).abs() < 0.5 && (b.y + 0.5 * b.height - 336.0).abs() < 0.5, "{b:?}");
    assert!(b.y + b.height > 480.0, "the chin should be below the frame: {b:?}");
    // A tight crop: the face box is the frame, up to rounding of the aspect.
    let face = framed(Framing { tight_crop: true, grey: true, ..Framing::default() }, 280, 340);
    let b = face.bbox;
    assert!((b.x + 0.5 * b.width - 140.0).abs() < 0.5 && (b.y + 0.5 * b.height - 170.0).abs() < 0.5, "{b:?}");
    assert!(b.width <= 280.5 && b.height <= 340.5 && (b.width > 275.0 || b.height > 335.0), "{b:?}");
    // Default framing writes no framing keys, so older truth files are unchanged.
    let json = serde_json::to_string(&SynthSpec::default()).expect("json");
    assert!(!json.contains("face_width") && !json.contains("tight_crop") && !json.contains("grey"), "{json}");
    let bad = SynthSpec { framing: Framing { face_width: Some(1.5), ..Framing::default() }, ..SynthSpec::default() };
    assert!(bad.validate().is_err());
}
