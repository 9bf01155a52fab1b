//! The `glimpse` binary end to end: train, save, evaluate, benchmark, and
//! clear errors for bad input.
mod common;

use std::process::Command;

fn glimpse(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glimpse"))
        .args(["--device", "cpu"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run glimpse");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn train_all_writes_weights_config_and_card_that_eval_reads() {
    let dir = common::temp_dir("cli-train");
    let data = common::shared_data();
    let weights = dir.join("tiny.safetensors");
    let (ok, _, err) = glimpse(&[
        "train",
        "--protocol",
        "all",
        "--epochs",
        "2",
        "--data",
        data.to_str().expect("utf-8"),
        "--weights-out",
        weights.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("device: cpu"), "the device is announced: {err}");
    assert!(weights.is_file() && dir.join("tiny.ron").is_file());
    let card = std::fs::read_to_string(dir.join("README.md")).expect("model card");
    assert!(card.contains("442 samples from 68 subjects") && card.contains("2 epochs"), "{card}");

    let (ok, out, err) =
        glimpse(&["eval", "--weights", weights.to_str().expect("utf-8"), "--data", data.to_str().expect("utf-8")]);
    assert!(ok, "{err}");
    let full: Vec<&str> = out.lines().find(|l| l.starts_with("full")).expect("full row").split_whitespace().collect();
    assert_eq!(full[4], "442");
    let uf1: f64 = full[1].parse().expect("UF1 number");
    assert!((0.0..=1.0).contains(&uf1));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn bench_model_reports_size_flops_and_latency_within_budget() {
    let dir = common::temp_dir("cli-bench");
    let json_path = dir.join("bench.json");
    let (ok, out, err) = glimpse(&["bench", "model", "--runs", "20", "--out", json_path.to_str().expect("utf-8")]);
    assert!(ok, "{err}");
    assert!(out.contains("stage 0 block 0") && out.contains("ms/sample"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json")).expect("parse");
    let params = json["params"].as_u64().expect("params");
    assert!(params > 100_000 && params <= 2_500_000, "{params} parameters");
    let layer_sum: u64 =
        json["layers"].as_array().expect("layers").iter().map(|l| l["params"].as_u64().unwrap_or(0)).sum();
    assert_eq!(layer_sum, params, "per-layer counts add up to the variables' size");
    let batches: Vec<u64> =
        json["latencies"].as_array().expect("latencies").iter().map(|l| l["batch"].as_u64().unwrap_or(0)).collect();
    assert_eq!(batches, vec![1, 32]);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn bad_input_gives_a_clear_error_not_a_panic() {
    let dir = common::temp_dir("cli-bad");
    let missing = dir.join("missing.safetensors");
    let (ok, _, err) = glimpse(&["eval", "--weights", missing.to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(err.contains("missing.safetensors: no such file") && !err.contains("panicked"), "{err}");
    // The reason is said once, not repeated by the error chain.
    std::fs::write(&missing, b"").expect("write");
    let (ok, _, err) = glimpse(&["eval", "--weights", missing.to_str().expect("utf-8")]);
    assert!(!ok);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("cannot read model config") && err.contains("missing.ron"), "{err}");

    let (ok, _, err) = glimpse(&["train", "--data", dir.to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(err.contains("error: cannot read") && err.contains("labels.csv") && !err.contains("panicked"), "{err}");

    std::fs::write(dir.join("broken.ron"), "(dims: [64,").expect("write");
    let (ok, _, err) = glimpse(&["bench", "model", "--config", dir.join("broken.ron").to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(err.contains("broken.ron is not valid RON"), "{err}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Numbers libtorch or the LOSO loop would take and fail on later (a C++
/// trace for NaN, an empty report with exit 0 for no folds) are refused at
/// once, naming the flag and the value.
#[test]
fn training_numbers_out_of_range_are_refused_up_front() {
    let cases: [(&[&str], &str); 4] = [
        (&["train", "--lr", "NaN"], "learning rate must be a positive number, found NaN"),
        (&["train", "--lr=-0.1"], "found -0.1"),
        (&["train", "--folds", "0"], "--folds must be at least 1"),
        (&["train", "--jobs", "0"], "--jobs must be at least 1"),
    ];
    for (args, needle) in cases {
        let (ok, _, err) = glimpse(args);
        assert!(!ok, "{args:?} was accepted");
        assert!(err.contains(needle) && !err.contains("panicked") && !err.contains("Exception"), "{args:?}: {err}");
    }
}

/// `train --protocol all` writes its model card as README.md beside the
/// weights; a README.md there that is not a Glimpse card is the user's and
/// is never overwritten (checked before training, so no time is lost).
#[test]
fn train_all_never_overwrites_a_readme_that_is_not_its_card() {
    let dir = common::temp_dir("cli-readme");
    std::fs::write(dir.join("README.md"), "# My lab notes\n").expect("write");
    let weights = dir.join("w.safetensors");
    let (ok, _, err) = glimpse(&[
        "train",
        "--protocol",
        "all",
        "--epochs",
        "1",
        "--data",
        common::shared_data().to_str().expect("utf-8"),
        "--weights-out",
        weights.to_str().expect("utf-8"),
    ]);
    assert!(!ok, "the user's README.md was overwritten");
    assert!(err.contains("README.md exists and is not a Glimpse model card"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).expect("read"), "# My lab notes\n");
    assert!(!weights.exists());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
