//! Clinical data stays on the machine: Glimpse opens no network connection.
//! The analysis runs under `strace` (installed by scripts/setup.sh), which
//! logs every network system call of the process and its threads.
use std::path::Path;
use std::process::Command;

mod common;

/// Network system calls `strace -e trace=network` logged for `program args`.
fn network_calls(tag: &str, program: &str, args: &[&str]) -> Vec<String> {
    let dir = common::temp_dir(tag);
    let log = dir.join("network.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=network", "-o"])
        .arg(&log)
        .arg(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("strace runs (scripts/setup.sh installs it)");
    assert!(status.status.success(), "{program} failed: {}", String::from_utf8_lossy(&status.stderr));
    let calls = std::fs::read_to_string(&log).expect("strace log").lines().map(str::to_string).collect();
    std::fs::remove_dir_all(&dir).expect("cleanup");
    calls
}

#[test]
fn an_analysis_with_its_exports_makes_no_network_call() {
    // The harness sees a connection attempt when there is one.
    let probe = network_calls("network-probe", "bash", &["-c", "exec 3<>/dev/tcp/127.0.0.1/9 || true"]);
    assert!(probe.iter().any(|l| l.contains("connect(")), "strace saw no network call of a probe that makes one");

    let out = common::temp_dir("network-analysis");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4");
    let calls = network_calls(
        "network-glimpse",
        env!("CARGO_BIN_EXE_glimpse"),
        &[
            "--device",
            "cpu",
            "analyze",
            demo.to_str().expect("utf-8"),
            "--export",
            "all",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(calls.is_empty(), "glimpse made network calls: {calls:?}");
    assert!(out.join("astronaut-demo.annotated.mp4").is_file());
    std::fs::remove_dir_all(&out).expect("cleanup");
}
