//! `glimpse compare A.json B.json`: two LOSO reports, B − A on the subjects
//! both scored, with paired bootstrap intervals.
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use glimpse::train::compare::{compare_runs, difference_table};
use glimpse::train::split::development_folds;
use glimpse::train::LosoReport;

use super::{read_json, write_json};

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The LOSO report of the reference run (A).
    a: PathBuf,
    /// The LOSO report of the run compared with it (B).
    b: PathBuf,
    /// Only the held-out subjects (those never used for a recipe choice).
    #[arg(long)]
    held_out: bool,
    /// Also write the differences as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: CompareArgs) -> Result<()> {
    let a: LosoReport = read_json(&args.a, "a LOSO report")?;
    let b: LosoReport = read_json(&args.b, "a LOSO report")?;
    let all: BTreeMap<String, ()> = a.folds.iter().chain(&b.folds).map(|f| (f.fold.clone(), ())).collect();
    let development = development_folds(&all);
    let held_out = args.held_out;
    let keep = move |fold: &str| !held_out || !development.contains(fold);
    let differences = compare_runs(&a, &b, &keep, a.seed)?;
    say!("A: {}\nB: {}", args.a.display(), args.b.display());
    say!("{}", difference_table(&differences));
    if let Some(out) = &args.out {
        write_json(out, &differences)?;
    }
    Ok(())
}
