//! Where Glimpse's data files are: the shipped EPIR weights, the converted
//! face models, the astronaut photo `glimpse synth` renders from and the
//! demo clip. Never the working folder: a command must behave the same
//! whichever folder it is started from.
//!
//! Search order for a resource the user did not name with a flag:
//! 1. its own variable (`$GLIMPSE_MTCNN`, `$GLIMPSE_FACE_MESH`,
//!    `$GLIMPSE_ASTRONAUT`), taken as given, no search;
//! 2. `$GLIMPSE_DATA`, a data folder;
//! 3. `$XDG_DATA_HOME/glimpse` (default `~/.local/share/glimpse`), where
//!    `make install` puts them;
//! 4. beside the executable: its folder, then `../share/glimpse` from it
//!    (a `PREFIX` install or an unpacked archive);
//! 5. `glimpse` in each of `$XDG_DATA_DIRS` (default `/usr/local/share`,
//!    `/usr/share`);
//! 6. only for a binary running from the cargo build folder it was built in
//!    (`cargo run`, the tests): the source tree and set-up's cache
//!    (`$GLIMPSE_CACHE/v1`, default `~/.cache/glimpse/v1`). An installed
//!    binary never depends on either: the cache is set-up's to rebuild,
//!    and the source tree may be gone.
//!
//! A data folder holds `weights/`, `models/<converted model>/`, `images/`
//! and `demo/`, as `make install` lays them out.
use std::fmt;
use std::path::{Path, PathBuf};

/// A data file (or folder of files) Glimpse needs at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The shipped EPIR weights, with their config RON beside them.
    EpirWeights,
    /// The shipped MOL-lite weights, with their config RON beside them.
    MolWeights,
    /// The MTCNN face detector converted from facenet-pytorch (a folder).
    MtcnnModel,
    /// MediaPipe's Face Mesh converted to safetensors (a folder).
    FaceMeshModel,
    /// scikit-image's astronaut photo, which `glimpse synth` animates.
    AstronautPhoto,
    /// The bundled demo clip (a synthetic interview with known events).
    DemoClip,
}

impl Resource {
    /// Where it sits in a data folder.
    pub fn in_data_folder(self) -> &'static str {
        match self {
            Resource::EpirWeights => "weights/epir-megc2019.safetensors",
            Resource::MolWeights => "weights/mol-lite-megc2019.safetensors",
            Resource::MtcnnModel => "models/mtcnn-facenet-pytorch-2.6.0",
            Resource::FaceMeshModel => "models/face-mesh-mediapipe-0.10.21",
            Resource::AstronautPhoto => "images/astronaut.png",
            Resource::DemoClip => "demo/astronaut-demo.mp4",
        }
    }

    /// Where it sits in the source tree, if it ships there.
    fn in_source_tree(self) -> Option<&'static str> {
        match self {
            Resource::EpirWeights => Some("weights/epir-megc2019.safetensors"),
            Resource::MolWeights => Some("weights/mol-lite-megc2019.safetensors"),
            Resource::DemoClip => Some("assets/demo/astronaut-demo.mp4"),
            Resource::MtcnnModel | Resource::FaceMeshModel | Resource::AstronautPhoto => None,
        }
    }

    /// Where `scripts/setup.sh` puts it in its cache (`$GLIMPSE_CACHE/v1`).
    fn in_setup_cache(self) -> Option<&'static str> {
        match self {
            Resource::MtcnnModel => Some("mtcnn-facenet-pytorch-2.6.0"),
            Resource::FaceMeshModel => Some("face-mesh-mediapipe-0.10.21"),
            Resource::AstronautPhoto => Some("assets-scikit-image-0.24.0/astronaut.png"),
            Resource::EpirWeights | Resource::MolWeights | Resource::DemoClip => None,
        }
    }

    /// The variable that names it directly.
    pub fn variable(self) -> Option<&'static str> {
        match self {
            Resource::MtcnnModel => Some("GLIMPSE_MTCNN"),
            Resource::FaceMeshModel => Some("GLIMPSE_FACE_MESH"),
            Resource::AstronautPhoto => Some("GLIMPSE_ASTRONAUT"),
            Resource::EpirWeights | Resource::MolWeights | Resource::DemoClip => None,
        }
    }

    /// Every file it needs is at `path`: a half-copied folder must not hide
    /// a complete one further down the search.
    fn is_complete_at(self, path: &Path) -> bool {
        let all_in = |names: &[&str]| names.iter().all(|name| path.join(name).is_file());
        match self {
            Resource::EpirWeights | Resource::MolWeights => path.is_file() && path.with_extension("ron").is_file(),
            Resource::MtcnnModel => all_in(&["pnet.safetensors", "rnet.safetensors", "onet.safetensors"]),
            Resource::FaceMeshModel => all_in(&["face_mesh.safetensors", "graph.json"]),
            Resource::AstronautPhoto | Resource::DemoClip => path.is_file(),
        }
    }

    /// How the user can name it instead.
    fn how_to_name_it(self) -> &'static str {
        match self {
            Resource::EpirWeights => "pass --weights",
            Resource::MolWeights => "pass --mol-weights",
            Resource::MtcnnModel => "pass --mtcnn or set $GLIMPSE_MTCNN",
            Resource::FaceMeshModel => "pass --mesh or set $GLIMPSE_FACE_MESH",
            Resource::AstronautPhoto => "pass --astronaut or set $GLIMPSE_ASTRONAUT",
            Resource::DemoClip => "name a clip",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::EpirWeights => "the EPIR weights (with their .ron config)",
            Resource::MolWeights => "the MOL-lite weights (with their .ron config)",
            Resource::MtcnnModel => "the converted MTCNN face detector",
            Resource::FaceMeshModel => "the converted Face Mesh model",
            Resource::AstronautPhoto => "the astronaut photo",
            Resource::DemoClip => "the demo clip",
        })
    }
}

/// A place searched, with the rule that put it on the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub why: String,
}

/// A resource found nowhere; the message lists every place looked.
#[derive(Debug, thiserror::Error)]
pub struct NotFound {
    pub resource: Resource,
    pub looked_in: Vec<Place>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} not found; looked in:", self.resource)?;
        for place in &self.looked_in {
            writeln!(f, "  {}  ({})", place.path.display(), place.why)?;
        }
        write!(
            f,
            "install it (`make install` in the source tree), set $GLIMPSE_DATA to a folder holding {}, or {}",
            self.resource.in_data_folder(),
            self.resource.how_to_name_it()
        )
    }
}

/// The places to search, read once from the environment (or built by a
/// test).
#[derive(Clone, Debug, Default)]
pub struct SearchPath {
    /// The resource-specific variables that are set, with their values.
    pub named: Vec<(Resource, PathBuf)>,
    /// Data folders, in order.
    pub data_folders: Vec<Place>,
    /// The source tree, when this binary runs from its build folder.
    pub source_tree: Option<PathBuf>,
    /// Set-up's cache (`…/v1`), likewise.
    pub setup_cache: Option<PathBuf>,
}

impl SearchPath {
    /// This process's search path (see the module's doc for the order).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let named = [Resource::MtcnnModel, Resource::FaceMeshModel, Resource::AstronautPhoto]
            .into_iter()
            .filter_map(|r| Some((r, var(r.variable()?)?)))
            .collect();
        let mut data_folders = Vec::new();
        let mut add = |path: PathBuf, why: &str| {
            if !data_folders.iter().any(|p: &Place| p.path == path) {
                data_folders.push(Place { path, why: why.to_string() });
            }
        };
        if let Some(dir) = var("GLIMPSE_DATA") {
            add(dir, "$GLIMPSE_DATA");
        }
        if let Some(dir) = crate::files::xdg_dir("XDG_DATA_HOME", ".local/share") {
            add(dir.join("glimpse"), "$XDG_DATA_HOME/glimpse");
        }
        let exe = std::env::current_exe().ok();
        if let Some(exe_dir) = exe.as_deref().and_then(Path::parent) {
            add(exe_dir.to_path_buf(), "beside the executable");
            if let Some(prefix) = exe_dir.parent() {
                add(prefix.join("share/glimpse"), "../share/glimpse from the executable");
            }
        }
        // The spec's default when unset or empty; relative entries are ignored.
        let system = var("XDG_DATA_DIRS").map_or_else(
            || vec![PathBuf::from("/usr/local/share"), PathBuf::from("/usr/share")],
            |dirs| std::env::split_paths(&dirs).filter(|d| d.is_absolute()).collect(),
        );
        for dir in system {
            add(dir.join("glimpse"), "$XDG_DATA_DIRS");
        }
        let in_build_folder = exe.as_deref().is_some_and(runs_from_its_build_folder);
        let setup_cache = in_build_folder.then(|| {
            var("GLIMPSE_CACHE")
                .or_else(|| var("HOME").map(|home| home.join(".cache/glimpse")))
                .unwrap_or_default()
                .join("v1")
        });
        Self {
            named,
            data_folders,
            source_tree: in_build_folder.then(|| PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
            setup_cache,
        }
    }

    /// The places `resource` may be, in search order.
    pub fn places(&self, resource: Resource) -> Vec<Place> {
        if let Some((_, path)) = self.named.iter().find(|(r, _)| *r == resource) {
            let why = format!("${}", resource.variable().unwrap_or_default());
            return vec![Place { path: path.clone(), why }];
        }
        let mut places: Vec<Place> = self
            .data_folders
            .iter()
            .map(|folder| Place { path: folder.path.join(resource.in_data_folder()), why: folder.why.clone() })
            .collect();
        if let (Some(root), Some(rel)) = (&self.source_tree, resource.in_source_tree()) {
            places.push(Place { path: root.join(rel), why: "the source tree this binary was built from".into() });
        }
        if let (Some(cache), Some(rel)) = (&self.setup_cache, resource.in_setup_cache()) {
            places.push(Place { path: cache.join(rel), why: "set-up's cache".into() });
        }
        places
    }

    /// The first place that holds all of `resource`.
    pub fn locate(&self, resource: Resource) -> Result<PathBuf, NotFound> {
        let places = self.places(resource);
        match places.iter().find(|place| resource.is_complete_at(&place.path)) {
            Some(place) => Ok(place.path.clone()),
            None => Err(NotFound { resource, looked_in: places }),
        }
    }
}

/// `resource`, searched for in this process's search path.
pub fn locate(resource: Resource) -> Result<PathBuf, NotFound> {
    SearchPath::from_env().locate(resource)
}

/// Whether `exe` lies in the cargo profile folder (`target/release`) this
/// crate was built into: build scripts' `OUT_DIR` is
/// `<profile>/build/<crate>-<hash>/out`, and binaries and test binaries sit
/// under `<profile>`. True for `cargo run` and tests, false once installed.
fn runs_from_its_build_folder(exe: &Path) -> bool {
    Path::new(env!("OUT_DIR")).ancestors().nth(3).is_some_and(|profile| exe.starts_with(profile))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::scratch_dir;

    fn folder(path: &Path, why: &str) -> Place {
        Place { path: path.to_path_buf(), why: why.into() }
    }

    fn put(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, b"x").expect("write");
    }

    #[test]
    fn the_first_data_folder_that_holds_the_whole_resource_wins() {
        let dir = scratch_dir("resources-order");
        let (first, second) = (dir.join("first"), dir.join("second"));
        // The first folder has the weights without their config: not enough.
        put(&first.join("weights/epir-megc2019.safetensors"));
        put(&second.join("weights/epir-megc2019.safetensors"));
        put(&second.join("weights/epir-megc2019.ron"));
        let search = SearchPath {
            data_folders: vec![folder(&first, "first"), folder(&second, "second")],
            ..SearchPath::default()
        };
        assert_eq!(
            search.locate(Resource::EpirWeights).expect("found"),
            second.join(Resource::EpirWeights.in_data_folder())
        );
        put(&first.join("weights/epir-megc2019.ron"));
        assert_eq!(
            search.locate(Resource::EpirWeights).expect("found"),
            first.join(Resource::EpirWeights.in_data_folder())
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_missing_resource_names_every_place_looked_and_how_to_fix_it() {
        let dir = scratch_dir("resources-missing");
        let search = SearchPath {
            data_folders: vec![folder(&dir.join("data"), "$GLIMPSE_DATA"), folder(&dir.join("home"), "home")],
            source_tree: Some(dir.join("src")),
            setup_cache: Some(dir.join("cache")),
            ..SearchPath::default()
        };
        let err = search.locate(Resource::MtcnnModel).expect_err("nothing there");
        let message = err.to_string();
        for expected in [
            dir.join("data/models/mtcnn-facenet-pytorch-2.6.0"),
            dir.join("home/models/mtcnn-facenet-pytorch-2.6.0"),
            dir.join("cache/mtcnn-facenet-pytorch-2.6.0"),
        ] {
            assert!(message.contains(&expected.display().to_string()), "{expected:?} missing from: {message}");
        }
        // MTCNN does not ship in the source tree, so it is not looked for there.
        assert!(!message.contains(&dir.join("src").display().to_string()), "{message}");
        assert!(message.contains("$GLIMPSE_DATA") && message.contains("--mtcnn"), "{message}");
        assert_eq!(err.looked_in.len(), 3);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_variable_naming_the_resource_is_taken_as_given() {
        let dir = scratch_dir("resources-variable");
        let data = dir.join("data");
        for name in ["pnet", "rnet", "onet"] {
            put(&data.join(format!("models/mtcnn-facenet-pytorch-2.6.0/{name}.safetensors")));
        }
        let named = dir.join("elsewhere");
        let search = SearchPath {
            named: vec![(Resource::MtcnnModel, named.clone())],
            data_folders: vec![folder(&data, "data")],
            ..SearchPath::default()
        };
        // Set but empty: an error naming the variable, not a silent fall-back.
        let err = search.locate(Resource::MtcnnModel).expect_err("the named folder is empty");
        assert_eq!(err.looked_in, vec![Place { path: named, why: "$GLIMPSE_MTCNN".into() }]);
        // Other resources still search the data folders.
        assert_eq!(search.places(Resource::FaceMeshModel)[0].path, data.join("models/face-mesh-mediapipe-0.10.21"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn the_source_tree_and_cache_are_searched_last_in_their_own_layout() {
        let search = SearchPath {
            data_folders: vec![folder(Path::new("/data"), "data")],
            source_tree: Some(PathBuf::from("/src")),
            setup_cache: Some(PathBuf::from("/cache/v1")),
            ..SearchPath::default()
        };
        let paths = |r| search.places(r).into_iter().map(|p| p.path).collect::<Vec<_>>();
        assert_eq!(
            paths(Resource::EpirWeights),
            [PathBuf::from("/data/weights/epir-megc2019.safetensors"), "/src/weights/epir-megc2019.safetensors".into()]
        );
        assert_eq!(
            paths(Resource::AstronautPhoto),
            [PathBuf::from("/data/images/astronaut.png"), "/cache/v1/assets-scikit-image-0.24.0/astronaut.png".into()]
        );
        assert_eq!(
            paths(Resource::DemoClip),
            [PathBuf::from("/data/demo/astronaut-demo.mp4"), "/src/assets/demo/astronaut-demo.mp4".into()]
        );
    }

    #[test]
    fn every_place_searched_is_absolute_so_none_depends_on_the_working_folder() {
        let search = SearchPath::from_env();
        for resource in [Resource::EpirWeights, Resource::MtcnnModel, Resource::DemoClip] {
            // What the user sets explicitly is taken as given, relative or not.
            for place in search.places(resource).into_iter().filter(|p| !p.why.starts_with("$GLIMPSE")) {
                assert!(place.path.is_absolute(), "{place:?} depends on the working folder");
            }
        }
    }

    #[test]
    fn a_test_binary_runs_from_its_build_folder_and_an_installed_one_does_not() {
        let exe = std::env::current_exe().expect("exe");
        assert!(runs_from_its_build_folder(&exe), "{exe:?}");
        assert!(!runs_from_its_build_folder(Path::new("/home/someone/.local/bin/glimpse")));
        let search = SearchPath::from_env();
        assert_eq!(search.source_tree.as_deref(), Some(Path::new(env!("CARGO_MANIFEST_DIR"))));
    }
}
