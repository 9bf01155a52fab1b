//! `glimpse ensemble A.json B.json ... --out E.json`: the seed ensemble of
//! LOSO runs that differ only in their seed, scored as a report of its own
//! (compare it with `glimpse compare`).
use std::path::PathBuf;

use anyhow::{Context, Result};
use glimpse::train::ensemble::ensemble_report;
use glimpse::train::protocol::scores_table;
use glimpse::train::LosoReport;

use super::{read_json, write_json};

#[derive(clap::Args)]
pub struct EnsembleArgs {
    /// LOSO reports of the members: the same recipe and folds, other seeds.
    #[arg(required = true, num_args = 2..)]
    runs: Vec<PathBuf>,
    /// Where the ensemble's report goes.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: EnsembleArgs) -> Result<()> {
    let runs: Vec<LosoReport> =
        args.runs.iter().map(|path| read_json(path, "a LOSO report")).collect::<Result<_>>()?;
    let names: Vec<String> = args.runs.iter().map(|p| p.display().to_string()).collect();
    let command = format!("glimpse ensemble {} --out {}", names.join(" "), args.out.display());
    let report = ensemble_report(&runs, command).with_context(|| format!("cannot ensemble {}", names.join(", ")))?;
    say!("{}", scores_table(&report));
    write_json(&args.out, &report)?;
    say!("wrote {}", args.out.display());
    Ok(())
}
