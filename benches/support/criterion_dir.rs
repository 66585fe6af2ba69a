//! Shared by the benches: where criterion writes its estimates, for the ratio tables.

use std::path::{Path, PathBuf};

/// Where criterion writes its estimates, found the way criterion finds it.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let target = PathBuf::from(target);
        let target = if target.is_relative() { Path::new(env!("CARGO_MANIFEST_DIR")).join(target) } else { target };
        return target.join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("criterion")
}
