//! `kestrel features`: the feature matrix of a tape (being built).

use clap::Args;

/// Compute the feature matrix of a tape with the engine's own feature code
#[derive(Debug, Args)]
pub struct FeaturesArgs {}

pub fn run(_args: FeaturesArgs) -> anyhow::Result<()> {
    Err(crate::exit::UsageError("kestrel features is not built yet".into()).into())
}
