// TEMPORARY scratch driver (removed before hand-off).
use kestrel_offline::dataset::{self, DatasetOptions};
use kestrel_offline::publish::{self, Outputs};
use kestrel_offline::train::{self, TrainOptions};
use std::path::PathBuf;

#[test]
#[ignore]
fn scratch() {
    let tapes: Vec<PathBuf> = std::env::var("TAPES").unwrap().split(',').map(PathBuf::from).collect();
    let raw = kestrel_engine::config::RawConfig::default();
    let t = std::time::Instant::now();
    let data = dataset::build(&tapes, &raw, "defaults", &DatasetOptions::default(), &mut |_| {}).unwrap();
    eprintln!("dataset {:.1}s: {} candidates", t.elapsed().as_secs_f64(), data.candidates.len());
    for ti in &data.tapes { eprintln!("{ti:?}"); }
    let wins = data.candidates.iter().filter(|c| c.label.win).count();
    eprintln!("wins {wins}");
    let mut opts = TrainOptions::default();
    if let Ok(c) = std::env::var("CAL") { if c == "platt" { opts.calibration = train::Calibration::Platt; } }
    if let Ok(e) = std::env::var("EXCLUDE") { opts.exclude = e.split(',').map(String::from).collect(); }
    if let Ok(e) = std::env::var("SPLITS") { opts.splits = e.parse().unwrap(); }
    if let Ok(e) = std::env::var("EMBARGO_S") { opts.embargo_ns = Some(e.parse::<u64>().unwrap() * 1_000_000_000); }
    let t = std::time::Instant::now();
    let trained = train::train(&data, &opts, &mut |l| eprintln!("{l}")).unwrap();
    eprintln!("train {:.1}s", t.elapsed().as_secs_f64());
    let out = Outputs { models_dir: PathBuf::from(std::env::var("OUTDIR").unwrap()), report_dir: Some(PathBuf::from(std::env::var("OUTDIR").unwrap()).join("report")), dataset_csv: Some(PathBuf::from(std::env::var("OUTDIR").unwrap()).join("ds.csv")), force: true };
    let w = publish::publish(&trained, &data, &out).unwrap();
    eprintln!("{w:?}");
}
