//! Embeds an rpath to libtorch (the torch wheel's `lib/` folder named by
//! `LIBTORCH`) so the binary and tests run without LD_LIBRARY_PATH.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        let lib_dir = Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    }
}
