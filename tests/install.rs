//! Installed use: `make install-files` (what `make install` runs after
//! building) into a temporary home, the installed `glimpse` run from
//! another temporary folder with nothing of the source tree, the cache or
//! the caller's environment to lean on, then `make uninstall`. HOME and the
//! XDG variables point into temporary folders: the real home is never touched.
mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DATA_FILES: [&str; 14] = [
    "weights/epir-megc2019.safetensors",
    "weights/epir-megc2019.ron",
    "weights/README.md",
    "weights/mol-lite-megc2019.safetensors",
    "weights/mol-lite-megc2019.ron",
    "weights/mol-lite-megc2019.md",
    "models/mtcnn-facenet-pytorch-2.6.0/pnet.safetensors",
    "models/mtcnn-facenet-pytorch-2.6.0/rnet.safetensors",
    "models/mtcnn-facenet-pytorch-2.6.0/onet.safetensors",
    "models/face-mesh-mediapipe-0.10.21/face_mesh.safetensors",
    "models/face-mesh-mediapipe-0.10.21/graph.json",
    "images/astronaut.png",
    "demo/astronaut-demo.mp4",
    "demo/astronaut-demo.mp4.truth.json",
];

/// Set-up's cache, where `make install` takes the converted models from.
fn setup_cache() -> PathBuf {
    std::env::var_os("GLIMPSE_CACHE")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/glimpse"))
}

/// `make <target> <vars>` in the source tree with `home` as HOME and none
/// of the caller's install variables.
fn make(target: &str, home: &Path, vars: &[String]) {
    let out = Command::new("make")
        .args(["-s", "--no-print-directory", target])
        .args(vars)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home)
        .env("GLIMPSE_CACHE", setup_cache())
        .env("PATH", "/usr/bin:/bin")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_DATA_DIRS")
        .env_remove("PREFIX")
        .env_remove("DESTDIR")
        .env_remove("BINDIR")
        .env_remove("DATAROOTDIR")
        .output()
        .expect("run make");
    assert!(out.status.success(), "make {target}: {}", String::from_utf8_lossy(&out.stderr));
}

fn bin_var() -> String {
    format!("BIN={}", env!("CARGO_BIN_EXE_glimpse"))
}

/// `glimpse` run as a user would from `work`: a bare environment (no
/// GLIMPSE_* or XDG_* variables, no LD_LIBRARY_PATH) with `home` as HOME.
fn run_glimpse(glimpse: &Path, home: &Path, work: &Path, args: &[&str]) -> Output {
    Command::new(glimpse)
        .args(args)
        .current_dir(work)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run the installed glimpse")
}

/// Every file under `dir`, with its permission bits.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, u32> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).expect("under dir").to_path_buf(),
                    meta.permissions().mode() & 0o777,
                );
            }
        }
    }
    files
}

/// `key=value` lines of a desktop entry.
fn desktop_entry(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).expect("desktop entry");
    assert_eq!(text.lines().next(), Some("[Desktop Entry]"), "{text}");
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// What `make install-files` must have put under `prefix` (as seen inside
/// the staging folder `root`), with sane modes.
fn assert_installed(root: &Path, prefix: &str) {
    let files = files_under(root);
    let prefix = prefix.trim_start_matches('/');
    let mut expected: BTreeMap<PathBuf, u32> =
        DATA_FILES.iter().map(|f| (Path::new(prefix).join("share/glimpse").join(f), 0o644)).collect();
    expected.insert(Path::new(prefix).join("bin/glimpse"), 0o755);
    expected.insert(Path::new(prefix).join("share/applications/glimpse.desktop"), 0o644);
    expected.insert(Path::new(prefix).join("share/icons/hicolor/scalable/apps/glimpse.svg"), 0o644);
    assert_eq!(files, expected, "installed files and modes");
    let icon =
        std::fs::read_to_string(root.join(prefix).join("share/icons/hicolor/scalable/apps/glimpse.svg")).expect("icon");
    let svg = roxmltree::Document::parse(&icon).expect("the icon is well-formed XML");
    assert_eq!(svg.root_element().tag_name().name(), "svg");
}

#[test]
fn make_install_gives_a_glimpse_that_analyses_from_any_folder_and_uninstall_removes_it() {
    let tmp = common::temp_dir("install-home");
    let (home, work) = (tmp.join("home"), tmp.join("work"));
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&work).expect("work");
    let installed = home.join(".local/bin/glimpse");
    let data = home.join(".local/share/glimpse");

    // Before installing, a copy of the binary outside its build folder has
    // no data to find, and says where it looked (the reported failure was
    // "cannot read weights weights/epir-megc2019.safetensors").
    let bare = tmp.join("bare/glimpse");
    std::fs::create_dir_all(bare.parent().expect("parent")).expect("bare");
    std::fs::copy(env!("CARGO_BIN_EXE_glimpse"), &bare).expect("copy binary");
    let out = run_glimpse(&bare, &home, &work, &["--device", "cpu", "analyze", "clip.mp4"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("EPIR weights") && err.contains(&data.join("weights").display().to_string()), "{err}");
    assert!(!err.contains(env!("CARGO_MANIFEST_DIR")), "an installed binary searched the source tree: {err}");

    make("install-files", &home, &[bin_var()]);
    assert_installed(&home, ".local");
    let entry = desktop_entry(&home.join(".local/share/applications/glimpse.desktop"));
    assert_eq!(entry["Exec"], format!("{} app %f", installed.display()));
    assert_eq!(entry["Terminal"], "false");
    assert_eq!(entry["Icon"], "glimpse");
    assert!(entry["MimeType"].split(';').any(|m| m == "video/mp4"), "{entry:?}");

    // From a folder holding nothing but what it is given: a short clip
    // rendered by the installed synth (the installed astronaut photo), then
    // analysed with the installed weights and face models.
    let out = run_glimpse(
        &installed,
        &home,
        &work,
        &["synth", "--out", "clip.mp4", "--seconds", "3", "--events", "1", "--blinks", "0", "--seed", "7"],
    );
    assert!(out.status.success(), "synth: {}", String::from_utf8_lossy(&out.stderr));
    let out = run_glimpse(&installed, &home, &work, &["--device", "cpu", "analyze", "clip.mp4"]);
    assert!(out.status.success(), "analyze: {}", String::from_utf8_lossy(&out.stderr));
    for output in ["clip.session.ron", "clip.frames.csv", "clip.intervals.csv", "clip.eaf"] {
        assert!(work.join(output).is_file(), "{output} not written");
    }
    let session = std::fs::read_to_string(work.join("clip.session.ron")).expect("session");
    let weights = data.join("weights/epir-megc2019.safetensors");
    assert!(session.contains(&format!("(\"weights\", \"{}\")", weights.display())), "session names other weights");
    assert!(String::from_utf8_lossy(&out.stdout).contains("events: 1"), "{}", String::from_utf8_lossy(&out.stdout));

    // A live session the user recorded stays; everything installed goes.
    let kept = data.join("live/kept.session.ron");
    std::fs::create_dir_all(kept.parent().expect("parent")).expect("live folder");
    std::fs::write(&kept, "()").expect("live session");
    make("uninstall", &home, &[]);
    let left: Vec<PathBuf> = files_under(&home).into_keys().collect();
    assert_eq!(left, [PathBuf::from(".local/share/glimpse/live/kept.session.ron")]);
    for folder in ["weights", "models", "images", "demo"] {
        assert!(!data.join(folder).exists(), "{folder}/ left behind");
    }
    std::fs::remove_dir_all(&tmp).expect("cleanup");
}

#[test]
fn a_staged_install_names_its_final_paths_finds_its_data_beside_the_binary_and_uninstalls_cleanly() {
    let tmp = common::temp_dir("install-staged");
    let (home, work, stage) = (tmp.join("home"), tmp.join("work"), tmp.join("stage"));
    for dir in [&home, &work, &stage] {
        std::fs::create_dir_all(dir).expect("folder");
    }
    let vars = |with_bin: bool| {
        let mut vars = vec![format!("DESTDIR={}", stage.display()), "PREFIX=/opt/glimpse".to_string()];
        vars.extend(with_bin.then(bin_var));
        vars
    };
    make("install-files", &home, &vars(true));
    assert_installed(&stage, "/opt/glimpse");
    let entry = desktop_entry(&stage.join("opt/glimpse/share/applications/glimpse.desktop"));
    assert_eq!(entry["Exec"], "/opt/glimpse/bin/glimpse app %f", "the entry names where the package puts it");

    // Nothing in HOME: the astronaut photo is found in ../share/glimpse
    // from the binary.
    let staged = stage.join("opt/glimpse/bin/glimpse");
    let out = run_glimpse(
        &staged,
        &home,
        &work,
        &["synth", "--out", "clip.avi", "--seconds", "2", "--events", "0", "--blinks", "0", "--fps", "10"],
    );
    assert!(out.status.success(), "synth: {}", String::from_utf8_lossy(&out.stderr));
    assert!(work.join("clip.avi").is_file());

    make("uninstall", &home, &vars(false));
    assert_eq!(files_under(&stage), BTreeMap::new(), "files left in the staging folder");
    assert!(!stage.join("opt/glimpse/share/glimpse").exists());
    std::fs::remove_dir_all(&tmp).expect("cleanup");
}
