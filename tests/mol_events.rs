//! MOL-lite in the analysis: `glimpse analyze` on the bundled demo clip
//! with `--classifier both` gives every event MOL-lite's probabilities, its
//! 68 apex landmarks on the face and its flow arrows, decides the class from
//! the mean of the two models, and writes both models' columns to the
//! intervals CSV; a missing MOL weights file is named.
mod common;

use std::path::Path;
use std::process::Command;

use glimpse::session::Session;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn glimpse(args: &[&str], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .args(["--device", "cpu"])
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(manifest_dir())
        .output()
        .expect("run glimpse")
}

#[test]
fn demo_clip_with_both_classifiers() {
    let out = common::temp_dir("mol-both");
    let run = glimpse(
        &["analyze", "assets/demo/astronaut-demo.mp4", "--classifier", "both", "--export", "intervals,json"],
        &out,
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let session = Session::load(&out.join("astronaut-demo.session.json")).expect("the session");
    assert!(session.settings.iter().any(|(k, v)| k == "classifier" && v == "both"));
    assert!(session.settings.iter().any(|(k, v)| k == "mol_weights" && v.ends_with("mol-lite-megc2019.safetensors")));
    assert!(session.events.len() >= 3, "{} events", session.events.len());
    for event in &session.events {
        let id = event.id;
        let sum: f32 = event.mol_probabilities.iter().sum();
        assert_eq!(event.mol_probabilities.len(), 3, "event {id}");
        assert!((sum - 1.0).abs() < 1e-4, "event {id}: MOL probabilities sum to {sum}");
        // `both`: the deciding probabilities are the two models' mean.
        for ((p, e), m) in event.probabilities.iter().zip(&event.epir_probabilities).zip(&event.mol_probabilities) {
            assert!((p - 0.5 * (e + m)).abs() < 1e-5, "event {id}: {p} is not the mean of {e} and {m}");
        }
        // The apex face's box; the mesh's own points for comparison.
        let apex = session.frame_position(event.apex_frame).expect("apex frame");
        let face = session.frames[apex].faces.iter().find(|f| f.face_id == event.face_id).expect("face at apex");
        let b = face.bbox;
        assert_eq!(event.mol_landmarks.len(), 68, "event {id}");
        // MTCNN's box is tight: the jaw line's ends (and the mesh's own
        // points there) reach past its sides by up to a tenth of its
        // width, and MOL's points lie 7.8 px (a twentieth of this box) from
        // the mesh's on average (below), so the jaw line (0-26) is checked
        // against the box widened by 20 % a side (at 15 % one point of one
        // event's 8-frame span fell 0.2 px past it, 2026-12-07), and the
        // eyes, nose and mouth (27-67) against the box.
        let (mx, my) = (0.2 * b.width, 0.2 * b.height);
        for (k, p) in event.mol_landmarks.iter().enumerate() {
            let margin = if k >= 27 { (0.0, 0.0) } else { (mx, my) };
            assert!(
                p[0] >= b.x - margin.0
                    && p[0] <= b.x + b.width + margin.0
                    && p[1] >= b.y - margin.1
                    && p[1] <= b.y + b.height + margin.1,
                "event {id}: landmark {k} at {p:?} outside the face box {b:?}"
            );
        }
        assert_eq!(event.mol_flow.len(), 64, "event {id}: an 8 x 8 grid of arrows");
        assert!(event.mol_flow.iter().flatten().all(|v| v.is_finite()));
    }
    // MOL's apex landmarks lie near the face mesh's on the same face: mean
    // distance under a fifth of the eye-corner distance.
    let event = &session.events[0];
    let apex = session.frame_position(event.apex_frame).expect("apex");
    let mesh = session.landmarks68_at(apex, event.face_id).expect("mesh points at or before the apex");
    let distance = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let mean = mesh.iter().zip(&event.mol_landmarks).map(|(a, b)| distance(*a, *b)).sum::<f32>() / 68.0;
    let eyes = distance(mesh[36], mesh[45]);
    assert!(mean < 0.2 * eyes, "MOL's landmarks are {mean:.1} px from the mesh's (eye corners {eyes:.1} px apart)");

    let csv = std::fs::read_to_string(out.join("astronaut-demo.intervals.csv")).expect("intervals csv");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    for column in [
        "p_negative",
        "p_epir_negative",
        "p_epir_positive",
        "p_epir_surprise",
        "p_mol_negative",
        "p_mol_positive",
        "p_mol_surprise",
    ] {
        assert!(header.contains(&column), "no {column} in {header:?}");
    }
    let mol_column = header.iter().position(|c| *c == "p_mol_surprise").expect("column");
    for line in csv.lines().skip(1) {
        let value: f32 = line.split(',').nth(mol_column).expect("cell").parse().expect("a probability");
        assert!((0.0..=1.0).contains(&value), "{line}");
    }
}

#[test]
fn missing_mol_weights_are_named() {
    let out = common::temp_dir("mol-missing");
    let absent = out.join("no-such-mol.safetensors");
    let run = glimpse(
        &[
            "analyze",
            "assets/demo/astronaut-demo.mp4",
            "--classifier",
            "mol",
            "--mol-weights",
            absent.to_str().expect("utf-8"),
        ],
        &out,
    );
    assert!(!run.status.success());
    let message = String::from_utf8_lossy(&run.stderr);
    assert!(message.contains("no-such-mol.safetensors"), "{message}");
}
