//! The data loader on the real shared set, and on deliberately broken copies.
mod common;

use std::collections::BTreeMap;

use glimpse::model::EpirConfig;
use glimpse::train::{DataError, Dataset};

fn classes() -> Vec<String> {
    EpirConfig::default().class_names
}

#[test]
fn loads_the_real_megc2019_composite_set() {
    let dataset = Dataset::load(&common::shared_data(), &classes()).expect("load shared data");
    assert_eq!(dataset.samples.len(), 442);
    assert_eq!(dataset.folds().len(), 68);
    assert_eq!(dataset.class_counts(), vec![250, 109, 83]);
    let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
    for sample in &dataset.samples {
        *per_source.entry(sample.dataset.as_str()).or_default() += 1;
    }
    assert_eq!(per_source, BTreeMap::from([("casme2", 145), ("samm", 133), ("smic", 164)]));
    // Every flow image is 3x28x28 in 0..1 and min-max scaled (each channel spans most of the range).
    for sample in &dataset.samples {
        assert_eq!(sample.flow.len(), 3 * 28 * 28);
        for channel in sample.flow.chunks(28 * 28) {
            let (lo, hi) = channel.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
            assert!(hi - lo > 0.5, "{}: channel range {lo}..{hi}", sample.sample);
        }
    }
}

/// A small valid data set in a temp dir: two rows, two 28x28 PNGs.
fn small_set(tag: &str, rows: &[&str]) -> std::path::PathBuf {
    let dir = common::temp_dir(tag);
    common::write_png(&dir.join("flow/a.png"), 28, 28, [10.0, 20.0, 30.0]);
    common::write_png(&dir.join("flow/big.png"), 32, 32, [10.0, 20.0, 30.0]);
    std::fs::write(dir.join("flow/not-an-image.png"), b"hello").expect("write");
    let mut csv = String::from("dataset,subject,sample,label,label_name,flow,apex\n");
    for row in rows {
        csv.push_str(row);
        csv.push('\n');
    }
    std::fs::write(dir.join("labels.csv"), csv).expect("write csv");
    dir
}

fn error_for(tag: &str, rows: &[&str]) -> String {
    let dir = small_set(tag, rows);
    let message = match Dataset::load(&dir, &classes()) {
        Ok(d) => panic!("{tag}: loaded {} samples from a broken set", d.samples.len()),
        Err(e) => e.to_string(),
    };
    std::fs::remove_dir_all(&dir).expect("cleanup");
    message
}

#[test]
fn a_good_small_set_loads_with_bgr_turned_into_u_v_strain() {
    let dir = small_set("good", &["casme2,s1,x,1,positive,flow/a.png,"]);
    let dataset = Dataset::load(&dir, &classes()).expect("load");
    let flow = &dataset.samples[0].flow;
    // BGR (10, 20, 30) -> u = R = 30, v = G = 20, strain = B = 10.
    assert!((flow[0] - 30.0 / 255.0).abs() < 1e-6);
    assert!((flow[784] - 20.0 / 255.0).abs() < 1e-6);
    assert!((flow[2 * 784] - 10.0 / 255.0).abs() < 1e-6);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn bad_rows_name_the_file_the_line_and_the_problem() {
    let cases: [(&str, &[&str], &[&str]); 7] = [
        (
            "fields",
            &["casme2,s1,x,1,positive,flow/a.png,", "casme2,s1,y,1,positive"],
            &["labels.csv, line 3", "expected 7 fields, found 5"],
        ),
        (
            "label",
            &["casme2,s1,x,one,positive,flow/a.png,"],
            &["labels.csv, line 2", "label `one` is not a class index"],
        ),
        ("range", &["casme2,s1,x,7,positive,flow/a.png,"], &["line 2", "label 7 is out of range"]),
        (
            "name",
            &["casme2,s1,x,0,positive,flow/a.png,"],
            &["line 2", "label 0 is `negative`, but the row names it `positive`"],
        ),
        (
            "missing",
            &["casme2,s1,x,1,positive,flow/nope.png,"],
            &["flow/nope.png (from", "labels.csv, line 2): file not found"],
        ),
        (
            "size",
            &["casme2,s1,x,1,positive,flow/big.png,"],
            &["flow/big.png", "line 2", "expected a 28x28 3-channel image, found 32x32"],
        ),
        ("garbage", &["casme2,s1,x,1,positive,flow/not-an-image.png,"], &["not-an-image.png", "not a readable image"]),
    ];
    for (tag, rows, needles) in cases {
        let message = error_for(tag, rows);
        for needle in needles {
            assert!(message.contains(needle), "{tag}: `{message}` lacks `{needle}`");
        }
    }
}

#[test]
fn a_wrong_header_an_empty_file_and_a_missing_file_are_reported() {
    let dir = common::temp_dir("header");
    std::fs::write(dir.join("labels.csv"), "a,b,c\n").expect("write");
    let message = Dataset::load(&dir, &classes()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains(
            "labels.csv: the header must be `dataset,subject,sample,label,label_name,flow,apex`, found `a,b,c`"
        ),
        "{message}"
    );

    std::fs::write(dir.join("labels.csv"), "dataset,subject,sample,label,label_name,flow,apex\n").expect("write");
    assert!(matches!(Dataset::load(&dir, &classes()), Err(DataError::Empty { .. })));

    std::fs::remove_file(dir.join("labels.csv")).expect("remove");
    let message = Dataset::load(&dir, &classes()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with("cannot read ") && message.contains("labels.csv"), "{message}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// The loader reads PNGs in pure Rust (so training builds without OpenCV);
/// on every real flow image it must give exactly what OpenCV's decoder gives.
#[test]
fn the_pure_rust_png_reader_matches_opencv_on_every_real_image() {
    use opencv::core::MatTraitConstManual;
    use opencv::imgcodecs;
    let root = common::shared_data();
    let dataset = Dataset::load(&root, &classes()).expect("load shared data");
    let text = std::fs::read_to_string(root.join("labels.csv")).expect("labels.csv");
    let plane = 28 * 28;
    let mut compared = 0;
    for (line, sample) in text.lines().skip(1).filter(|l| !l.trim().is_empty()).zip(&dataset.samples) {
        let flow_path = root.join(line.split(',').nth(5).expect("a flow column"));
        let bgr = imgcodecs::imread(flow_path.to_str().expect("UTF-8 path"), imgcodecs::IMREAD_COLOR).expect("imread");
        let bytes = bgr.data_bytes().expect("continuous image");
        for (pixel, px) in bytes.chunks_exact(3).enumerate() {
            let expected = [px[2], px[1], px[0]].map(|b| f32::from(b) / 255.0);
            let got = [sample.flow[pixel], sample.flow[plane + pixel], sample.flow[2 * plane + pixel]];
            assert_eq!(got, expected, "{} pixel {pixel}", flow_path.display());
        }
        compared += 1;
    }
    assert_eq!(compared, 442);
}
