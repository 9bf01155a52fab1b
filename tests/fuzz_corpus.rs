//! The fuzz corpus (`fuzz/corpus/`, seeds and whatever `make fuzz` found
//! worth keeping) replayed through the fuzz targets' own checks, so the
//! ordinary test run guards what fuzzing established.
use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read corpus file")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

#[test]
fn the_session_corpus_passes_the_session_checks() {
    let files = corpus("session_ron");
    for (name, bytes) in &files {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let outcome = std::panic::catch_unwind(|| glimpse::fuzz_checks::check_session_text(text));
            assert!(outcome.is_ok(), "corpus file {name} fails the session checks");
        }
    }
    // The seed session loads (the checks pass for errors too: make sure the
    // corpus exercises the success path).
    let seed = files.iter().find(|(n, _)| n == "small.session.ron").expect("seed");
    let session = glimpse::session::Session::parse_as(
        Path::new("small.session.ron"),
        std::str::from_utf8(&seed.1).expect("utf-8"),
    )
    .expect("the seed loads");
    assert_eq!(session.events[0].review.note, "brows \"raised\"");
}

#[test]
fn the_labels_corpus_passes_the_labels_checks() {
    for (name, bytes) in corpus("labels_csv") {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let outcome = std::panic::catch_unwind(|| glimpse::fuzz_checks::check_labels_text(text));
            assert!(outcome.is_ok(), "corpus file {name} fails the labels checks");
        }
    }
}
