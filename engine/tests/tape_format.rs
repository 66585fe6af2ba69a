//! Integration tests of the tape format (`kestrel_engine::tape`): round trips through `TapeWriter`
//! and `Tape`, every way a file can be damaged, the writer's refusals, and its atomic output.
//!
//! The checksums are recomputed here with a local CRC-32 so that the tests pin the format as
//! specified (CRC-32/IEEE of the record bytes; of the header and padded instrument table with
//! `header_crc32` zeroed), not merely whatever the engine computes.

use kestrel_engine::tape::header::{self, TapeHeader};
use kestrel_engine::tape::{
    BookClear, DEFAULT_INSTRUMENT_CAPACITY, LevelUpdate, Quote, RECORD_SIZE, RawRecord, RecordHeader, RecordKind, Tape,
    TapeError, TapeWriter, Trade, WrittenTape, flags,
};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, MAX_SCALE, Price, Qty, UnixNanos};
use proptest::prelude::*;
use proptest::sample::Index;
use std::fs;
use std::mem::offset_of;
use std::path::{Path, PathBuf};

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// CRC-32/IEEE (reflected, polynomial 0xEDB88320, as zlib computes it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// `data_offset` as stored in the header of a tape's bytes.
fn data_offset_of(bytes: &[u8]) -> usize {
    u64_at(bytes, offset_of!(TapeHeader, data_offset)) as usize
}

/// Byte offset of record `index` in a tape's bytes.
fn record_at(bytes: &[u8], index: usize) -> usize {
    data_offset_of(bytes) + index * RECORD_SIZE
}

/// Recomputes both checksums of a tape whose bytes a test has edited on purpose.
fn reseal(bytes: &mut [u8]) {
    let data_offset = data_offset_of(bytes);
    let count = u64_at(bytes, offset_of!(TapeHeader, record_count)) as usize;
    let data_crc = crc32(&bytes[data_offset..data_offset + count * RECORD_SIZE]);
    put_u32(bytes, offset_of!(TapeHeader, data_crc32), data_crc);
    let at = offset_of!(TapeHeader, header_crc32);
    put_u32(bytes, at, 0);
    let header_crc = crc32(&bytes[..data_offset]);
    put_u32(bytes, at, header_crc);
}

fn spec(symbol: &str, venue: &str) -> InstrumentSpec {
    InstrumentSpec {
        symbol: symbol.into(),
        venue: venue.into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(10),
        lot: Qty(1),
    }
}

fn sample_specs() -> Vec<InstrumentSpec> {
    vec![
        spec("BTCUSDT", "binance-um"),
        InstrumentSpec {
            symbol: "ETHUSDT".into(),
            venue: "binance".into(),
            price_scale: 2,
            qty_scale: 4,
            tick: Price(1),
            lot: Qty(1),
        },
    ]
}

/// Ten valid records of every kind over instruments 0 and 1.
fn sample_records() -> Vec<RawRecord> {
    let (a, b) = (InstrumentId(0), InstrumentId(1));
    let t = |n: u64| UnixNanos(1_700_000_000_000_000_000 + n * 1_000);
    let x = UnixNanos::UNKNOWN;
    let snap = flags::SNAPSHOT;
    vec![
        BookClear::new(a, t(0), t(0), 41).into(),
        LevelUpdate::new(a, t(0), t(0), BookSide::Bid, Price(6_165_960), Qty(1_500), 41, snap).into(),
        LevelUpdate::new(a, t(0), t(0), BookSide::Ask, Price(6_165_970), Qty(250), 41, snap | flags::END_OF_BATCH)
            .into(),
        Quote::new(b, t(1), x, (Price(268_370), Qty(9)), (Price(268_380), Qty(4))).into(),
        Trade::new(a, t(2), t(1), Price(6_165_970), Qty(5), Aggressor::Buy, 7).into(),
        LevelUpdate::new(
            a,
            t(3),
            t(2),
            BookSide::Ask,
            Price(6_165_970),
            Qty(0),
            42,
            flags::END_OF_BATCH | flags::GAP_BEFORE,
        )
        .into(),
        Trade::new(b, t(3), x, Price(268_380), Qty(1), Aggressor::Sell, 0).into(),
        Quote::new(a, t(4), t(3), (Price(6_165_960), Qty(1_500)), (Price(6_165_980), Qty(3))).into(),
        Trade::new(a, t(5), t(4), Price(6_165_960), Qty(2), Aggressor::Unknown, 8).into(),
        BookClear::new(b, t(6), x, 99).into(),
    ]
}

fn write_tape(path: &Path, specs: &[InstrumentSpec], records: &[RawRecord]) -> WrittenTape {
    let mut w = TapeWriter::create(path, DEFAULT_INSTRUMENT_CAPACITY).expect("create");
    for s in specs {
        w.add_instrument(s).expect("add_instrument");
    }
    for r in records {
        w.write(*r).expect("write");
    }
    w.finish().expect("finish")
}

/// A valid ten-record tape at `dir/name`.
fn sample_tape(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    write_tape(&path, &sample_specs(), &sample_records());
    path
}

/// Writes `bytes` to `dir/name` and returns the path.
fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn assert_names_path(err: &TapeError, path: &Path) {
    let msg = err.to_string();
    let shown = path.display().to_string();
    assert!(msg.contains(&shown), "message does not name {shown}: {msg}");
}

fn open_err(path: &Path) -> TapeError {
    let err = Tape::open(path).expect_err("open should fail");
    assert_names_path(&err, path);
    err
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

// ------------------------------------------------------------------------------------------------
// Round trips
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Body {
    Quote { bid_px: i64, spread: i64, bid_qty: i64, ask_qty: i64 },
    Trade { px: i64, qty: i64, aggressor: Aggressor, trade_id: u64 },
    Level { side: BookSide, px: i64, qty: i64, update_id: u64, flags: u8 },
    Clear { update_id: u64 },
}

#[derive(Clone, Debug)]
struct RecordGen {
    /// Added to the previous record's local time (0 is frequent: equal times are allowed).
    delta: u64,
    instrument: Index,
    /// 0 (unknown) or a random exchange time.
    ts_exchange: u64,
    body: Body,
}

fn name_strategy(max: usize) -> impl Strategy<Value = String> {
    // Printable ASCII without spaces or commas: what `InstrumentSpec::validate` accepts.
    let allowed: Vec<char> = ('!'..='~').filter(|&c| c != ',').collect();
    prop::collection::vec(prop::sample::select(allowed), 1..=max).prop_map(|chars| chars.into_iter().collect())
}

fn spec_strategy() -> impl Strategy<Value = InstrumentSpec> {
    (
        name_strategy(31),
        name_strategy(15),
        0..=MAX_SCALE,
        0..=MAX_SCALE,
        prop_oneof![1..=1_000i64, 1..=kestrel_engine::tape::MAX_FIXED],
        prop_oneof![1..=1_000i64, 1..=kestrel_engine::tape::MAX_FIXED],
    )
        .prop_map(|(symbol, venue, price_scale, qty_scale, tick, lot)| InstrumentSpec {
            symbol,
            venue,
            price_scale,
            qty_scale,
            tick: Price(tick),
            lot: Qty(lot),
        })
}

fn specs_strategy() -> impl Strategy<Value = Vec<InstrumentSpec>> {
    prop::collection::vec(spec_strategy(), 1..=3).prop_filter("distinct symbol@venue", |specs| {
        specs.iter().enumerate().all(|(i, a)| specs[..i].iter().all(|b| (&a.symbol, &a.venue) != (&b.symbol, &b.venue)))
    })
}

fn body_strategy() -> impl Strategy<Value = Body> {
    // Valid records stay within the 2^61-step limit (see `tape::MAX_FIXED`).
    let max = kestrel_engine::tape::MAX_FIXED;
    let half = max / 2;
    let flag_bits = (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(s, e, g)| {
        (if s { flags::SNAPSHOT } else { 0 })
            | (if e { flags::END_OF_BATCH } else { 0 })
            | (if g { flags::GAP_BEFORE } else { 0 })
    });
    prop_oneof![
        (1..=half, 1..=half, 0..=max, 0..=max).prop_map(|(bid_px, spread, bid_qty, ask_qty)| Body::Quote {
            bid_px,
            spread,
            bid_qty,
            ask_qty
        }),
        (
            1..=max,
            1..=max,
            prop::sample::select(vec![Aggressor::Unknown, Aggressor::Buy, Aggressor::Sell]),
            any::<u64>()
        )
            .prop_map(|(px, qty, aggressor, trade_id)| Body::Trade { px, qty, aggressor, trade_id }),
        (
            prop::sample::select(vec![BookSide::Bid, BookSide::Ask]),
            1..=max,
            prop_oneof![Just(0i64), 0..=max],
            any::<u64>(),
            flag_bits
        )
            .prop_map(|(side, px, qty, update_id, flags)| Body::Level { side, px, qty, update_id, flags }),
        any::<u64>().prop_map(|update_id| Body::Clear { update_id }),
    ]
}

fn record_gen_strategy() -> impl Strategy<Value = RecordGen> {
    (prop_oneof![Just(0u64), 0..1_000_000u64], any::<Index>(), prop_oneof![Just(0u64), any::<u64>()], body_strategy())
        .prop_map(|(delta, instrument, ts_exchange, body)| RecordGen { delta, instrument, ts_exchange, body })
}

fn build_records(start: u64, instruments: usize, gens: &[RecordGen]) -> Vec<RawRecord> {
    let mut ts = start;
    gens.iter()
        .map(|g| {
            ts += g.delta;
            let id = InstrumentId(g.instrument.index(instruments) as u16);
            let (local, exch) = (UnixNanos(ts), UnixNanos(g.ts_exchange));
            match g.body {
                Body::Quote { bid_px, spread, bid_qty, ask_qty } => {
                    Quote::new(id, local, exch, (Price(bid_px), Qty(bid_qty)), (Price(bid_px + spread), Qty(ask_qty)))
                        .into()
                }
                Body::Trade { px, qty, aggressor, trade_id } => {
                    Trade::new(id, local, exch, Price(px), Qty(qty), aggressor, trade_id).into()
                }
                Body::Level { side, px, qty, update_id, flags } => {
                    LevelUpdate::new(id, local, exch, side, Price(px), Qty(qty), update_id, flags).into()
                }
                Body::Clear { update_id } => BookClear::new(id, local, exch, update_id).into(),
            }
        })
        .collect()
}

proptest! {
    /// Whatever valid instruments and records go in come back out, byte for byte, with a header
    /// that summarises them correctly.
    #[test]
    fn round_trip(
        specs in specs_strategy(),
        extra_capacity in 0u32..80,
        start in 0u64..=u64::MAX / 2,
        gens in prop::collection::vec(record_gen_strategy(), 0..500),
    ) {
        let records = build_records(start, specs.len(), &gens);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("round.tape");
        let capacity = specs.len() as u32 + extra_capacity;
        let mut w = TapeWriter::create(&out, capacity).unwrap();
        for (i, s) in specs.iter().enumerate() {
            prop_assert_eq!(w.add_instrument(s).unwrap(), InstrumentId(i as u16));
        }
        for r in &records {
            w.write(*r).unwrap();
        }
        prop_assert_eq!(w.records_written(), records.len() as u64);
        let written = w.finish().unwrap();
        prop_assert_eq!(&written.path, &out);
        prop_assert_eq!(written.records, records.len() as u64);
        prop_assert_eq!(written.bytes, fs::metadata(&out).unwrap().len());
        prop_assert_eq!(dir_names(dir.path()), vec!["round.tape".to_string()]);

        let tape = Tape::open(&out).unwrap();
        prop_assert!(tape.verify().is_ok(), "verify: {:?}", tape.verify());
        prop_assert_eq!(tape.path(), out.as_path());
        prop_assert_eq!(tape.records(), records.as_slice());
        prop_assert_eq!(tape.len(), records.len());
        prop_assert_eq!(tape.is_empty(), records.is_empty());
        prop_assert_eq!(tape.iter().count(), records.len());
        for (rec, raw) in tape.iter().zip(&records) {
            prop_assert_eq!(rec.header(), &raw.header);
        }
        prop_assert_eq!(tape.instruments(), specs.as_slice());

        let h = tape.header();
        prop_assert_eq!(h.magic, header::MAGIC);
        prop_assert_eq!(h.version, header::VERSION);
        prop_assert_eq!(h.record_size as usize, RECORD_SIZE);
        prop_assert_eq!(h.instrument_count as usize, specs.len());
        prop_assert_eq!(h.instrument_capacity, capacity);
        prop_assert_eq!(h.data_offset, header::data_offset_for(capacity));
        prop_assert_eq!(h.data_offset % header::DATA_ALIGN as u64, 0);
        prop_assert!(
            h.data_offset >= (header::HEADER_SIZE + capacity as usize * header::ENTRY_SIZE) as u64
        );
        prop_assert_eq!(h.record_count, records.len() as u64);
        let first = records.first().map_or(0, |r| r.header.ts_local.0);
        let last = records.last().map_or(0, |r| r.header.ts_local.0);
        prop_assert_eq!(h.first_ts_local, first);
        prop_assert_eq!(h.last_ts_local, last);
        let known = records.iter().map(|r| r.header.ts_exchange.0).filter(|&x| x != 0);
        prop_assert_eq!(h.min_ts_exchange, known.clone().min().unwrap_or(0));
        prop_assert_eq!(h.max_ts_exchange, known.max().unwrap_or(0));
        prop_assert_eq!(h.data_crc32, crc32(tape.record_bytes()));

        let entries = tape.instrument_entries();
        prop_assert_eq!(entries.len(), specs.len());
        for (i, e) in entries.iter().enumerate() {
            let mine: Vec<&RawRecord> =
                records.iter().filter(|r| r.header.instrument.index() == i).collect();
            let count = |k: RecordKind| mine.iter().filter(|r| r.header.kind == k as u8).count() as u64;
            prop_assert_eq!(e.quotes, count(RecordKind::Quote), "quotes of instrument {}", i);
            prop_assert_eq!(e.trades, count(RecordKind::Trade), "trades of instrument {}", i);
            prop_assert_eq!(e.level_updates, count(RecordKind::LevelUpdate), "levels of {}", i);
            prop_assert_eq!(e.book_clears, count(RecordKind::BookClear), "clears of {}", i);
            prop_assert_eq!(e.first_ts_local, mine.first().map_or(0, |r| r.header.ts_local.0));
            prop_assert_eq!(e.last_ts_local, mine.last().map_or(0, |r| r.header.ts_local.0));
            prop_assert_eq!(e.flags, 0);
            prop_assert_eq!(&e.spec(), &specs[i]);
        }

        // The header checksum is CRC-32 of everything before the records with its own field zeroed.
        let bytes = fs::read(&out).unwrap();
        let mut resealed = bytes.clone();
        reseal(&mut resealed);
        prop_assert!(resealed == bytes, "the stored checksums are not the specified CRC-32s");
    }
}

#[test]
fn local_crc32_is_the_standard_one() {
    // The check value of CRC-32/IEEE; the tests' own checksums rest on this.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn empty_tape_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (name, specs) in [("none.tape", vec![]), ("one.tape", vec![spec("BTCUSDT", "binance")])] {
        let out = dir.path().join(name);
        let written = write_tape(&out, &specs, &[]);
        assert_eq!(written.records, 0);
        assert_eq!(written.bytes, fs::metadata(&out).unwrap().len());
        assert_eq!(written.bytes, header::data_offset_for(DEFAULT_INSTRUMENT_CAPACITY));

        let tape = Tape::open(&out).unwrap();
        tape.verify().unwrap();
        assert!(tape.is_empty());
        assert_eq!(tape.len(), 0);
        assert!(tape.records().is_empty());
        assert!(tape.record_bytes().is_empty());
        assert_eq!(tape.iter().count(), 0);
        assert_eq!(tape.instruments(), specs.as_slice());
        let h = tape.header();
        assert_eq!(h.record_count, 0);
        assert_eq!((h.first_ts_local, h.last_ts_local), (0, 0));
        assert_eq!((h.min_ts_exchange, h.max_ts_exchange), (0, 0));
        assert_eq!(h.data_crc32, crc32(&[]));
        for e in tape.instrument_entries() {
            assert_eq!((e.quotes, e.trades, e.level_updates, e.book_clears), (0, 0, 0, 0));
            assert_eq!((e.first_ts_local, e.last_ts_local), (0, 0));
        }
    }
}

#[test]
fn sample_tape_round_trips_with_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_tape(dir.path(), "s.tape");
    let tape = Tape::open(&path).unwrap();
    tape.verify().unwrap();
    assert_eq!(tape.records(), sample_records().as_slice());
    assert_eq!(tape.instruments(), sample_specs().as_slice());
    let h = tape.header();
    let t0 = 1_700_000_000_000_000_000;
    assert_eq!((h.first_ts_local, h.last_ts_local), (t0, t0 + 6_000));
    assert_eq!((h.min_ts_exchange, h.max_ts_exchange), (t0, t0 + 4_000));
    let e = tape.instrument_entries();
    assert_eq!((e[0].quotes, e[0].trades, e[0].level_updates, e[0].book_clears), (1, 2, 3, 1));
    assert_eq!((e[1].quotes, e[1].trades, e[1].level_updates, e[1].book_clears), (1, 1, 0, 1));
    assert_eq!((e[0].first_ts_local, e[0].last_ts_local), (t0, t0 + 5_000));
    assert_eq!((e[1].first_ts_local, e[1].last_ts_local), (t0 + 1_000, t0 + 6_000));
}

#[test]
fn set_increments_changes_tick_and_lot_seen_by_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inc.tape");
    let mut w = TapeWriter::create(&out, 4).unwrap();
    let specs = sample_specs();
    let a = w.add_instrument(&specs[0]).unwrap();
    let b = w.add_instrument(&specs[1]).unwrap();
    let c = w.add_instrument(&spec("SOLUSDT", "binance")).unwrap();
    w.set_increments(a, Price(5), Qty(1_000), true, false).unwrap();
    w.set_increments(b, Price(7), Qty(3), false, true).unwrap();
    w.set_increments(c, Price(11), Qty(13), true, true).unwrap();
    assert_eq!(w.instrument(a).unwrap().tick, Price(5));
    assert_eq!(w.instrument(a).unwrap().lot, Qty(1_000));

    // Refusals leave the increments alone.
    assert!(matches!(w.set_increments(a, Price(0), Qty(1), true, true), Err(TapeError::Write { .. })));
    assert!(matches!(w.set_increments(a, Price(1), Qty(-1), true, true), Err(TapeError::Write { .. })));
    let err = w.set_increments(InstrumentId(3), Price(1), Qty(1), false, false).unwrap_err();
    assert!(matches!(err, TapeError::Write { .. }), "{err:?}");
    assert_names_path(&err, &out);
    w.finish().unwrap();

    let tape = Tape::open(&out).unwrap();
    tape.verify().unwrap();
    let got = tape.instruments();
    assert_eq!((got[0].tick, got[0].lot), (Price(5), Qty(1_000)));
    assert_eq!((got[1].tick, got[1].lot), (Price(7), Qty(3)));
    assert_eq!((got[2].tick, got[2].lot), (Price(11), Qty(13)));
    // Everything else about the instruments is unchanged.
    assert_eq!(got[0].symbol, specs[0].symbol);
    assert_eq!(got[0].venue, specs[0].venue);
    assert_eq!((got[0].price_scale, got[0].qty_scale), (specs[0].price_scale, specs[0].qty_scale));
    assert_eq!((got[1].price_scale, got[1].qty_scale), (specs[1].price_scale, specs[1].qty_scale));
    let e = tape.instrument_entries();
    assert_eq!(e[0].flags, header::TICK_INFERRED);
    assert_eq!(e[1].flags, header::LOT_INFERRED);
    assert_eq!(e[2].flags, header::TICK_INFERRED | header::LOT_INFERRED);
}

// ------------------------------------------------------------------------------------------------
// Damaged and foreign files
// ------------------------------------------------------------------------------------------------

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such.tape");
    let err = open_err(&path);
    let TapeError::Io { path: p, source } = &err else { panic!("expected Io, got {err:?}") };
    assert_eq!(p, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn text_file_is_bad_magic() {
    let dir = tempfile::tempdir().unwrap();
    let long = "ts,symbol,bid,ask\n".repeat(1_000);
    for (name, text) in [
        ("long.csv", long.as_str()),
        ("short.csv", "ts,symbol,bid,ask\n1,2,3,4\n"),
        // Eight bytes are enough to tell that the magic is wrong.
        ("eight.txt", "KSTRTAP!"),
    ] {
        let path = file_with(dir.path(), name, text.as_bytes());
        let err = open_err(&path);
        let TapeError::BadMagic { path: p } = &err else { panic!("{name}: got {err:?}") };
        assert_eq!(p, &path);
        assert!(err.to_string().contains("KSTRTAPE"), "{err}");
    }
}

#[test]
fn other_version_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    assert_eq!(offset_of!(TapeHeader, version), 8, "the version sits right after the magic");
    assert_eq!(u32_at(&good, 8), header::VERSION);
    for found in [2u32, 0, u32::MAX] {
        let mut bytes = good.clone();
        put_u32(&mut bytes, 8, found);
        let path = file_with(dir.path(), "v.tape", &bytes);
        let err = open_err(&path);
        let TapeError::UnsupportedVersion { found: f, supported, .. } = &err else {
            panic!("version {found}: got {err:?}")
        };
        assert_eq!((*f, *supported), (found, header::VERSION));
        let msg = err.to_string();
        assert!(msg.contains(&found.to_string()) && msg.contains("version 1"), "{msg}");
    }
}

#[test]
fn cut_in_a_record_is_a_truncated_tail() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    let data = data_offset_of(&good);
    assert_eq!(good.len(), data + 10 * RECORD_SIZE);
    for (whole, rest) in [(3usize, 17usize), (0, 1), (9, 63), (0, 0), (7, 0)] {
        let cut = data + whole * RECORD_SIZE + rest;
        let path = file_with(dir.path(), "cut.tape", &good[..cut]);
        let err = open_err(&path);
        let TapeError::TruncatedTail { expected, present, partial, .. } = &err else {
            panic!("cut at {cut}: got {err:?}")
        };
        assert_eq!((*expected, *present), (10, whole as u64));
        let msg = err.to_string();
        assert!(msg.contains(&format!("record {whole} onwards")), "{msg}");
        if rest > 0 {
            assert!(partial.contains(&format!("{rest} bytes")), "partial {partial:?}");
            assert!(msg.contains(&format!("{rest} bytes")), "{msg}");
        } else {
            assert!(partial.is_empty(), "partial {partial:?}");
        }
    }
}

#[test]
fn file_shorter_than_the_header_is_a_truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    let data = data_offset_of(&good) as u64;
    let header_size = header::HEADER_SIZE as u64;
    // Inside the fixed header (magic intact, or too short to tell), then inside the instrument
    // table and its padding: the header names how far the table reaches.
    for (len, needed) in [
        (0u64, header_size),
        (5, header_size),
        (8, header_size),
        (100, header_size),
        (127, header_size),
        (128, data),
        (2_000, data),
        (data - 1, data),
    ] {
        let path = file_with(dir.path(), "short.tape", &good[..len as usize]);
        let err = open_err(&path);
        let TapeError::TruncatedHeader { len: l, needed: n, .. } = &err else { panic!("{len} bytes: got {err:?}") };
        assert_eq!((*l, *n), (len, needed), "{len} bytes");
    }
}

#[test]
fn flipped_record_byte_fails_the_data_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    let stored = u32_at(&good, offset_of!(TapeHeader, data_crc32));
    for at in [record_at(&good, 0), record_at(&good, 4) + 30, good.len() - 1] {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        let path = file_with(dir.path(), "flip.tape", &bytes);
        let tape = Tape::open(&path).expect("open checks the header only");
        let err = tape.verify().unwrap_err();
        assert_names_path(&err, &path);
        let TapeError::DataChecksum { stored: s, computed, .. } = &err else { panic!("byte {at}: got {err:?}") };
        assert_eq!(*s, stored);
        assert_eq!(*computed, crc32(&bytes[data_offset_of(&bytes)..]));
        assert_ne!(*computed, stored);
    }
}

#[test]
fn flipped_header_or_table_byte_fails_the_header_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    let entry = |i: usize| header::HEADER_SIZE + i * header::ENTRY_SIZE;
    let spots = [
        ("first symbol byte", entry(0)),
        ("second instrument's tick", entry(1) + 48),
        ("per-instrument count", entry(0) + 64),
        ("unused table entry", entry(5) + 3),
        ("padding before the records", data_offset_of(&good) - 1),
        ("first_ts_local", offset_of!(TapeHeader, first_ts_local)),
        ("data_crc32", offset_of!(TapeHeader, data_crc32)),
        ("reserved", offset_of!(TapeHeader, _reserved) + 5),
    ];
    for (what, at) in spots {
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        let path = file_with(dir.path(), "hdr.tape", &bytes);
        let err = open_err(&path);
        let TapeError::CorruptHeader { what: w, .. } = &err else { panic!("{what}: got {err:?}") };
        assert!(w.contains("checksum"), "{what}: {w}");
    }
}

#[test]
fn invalid_instrument_in_a_sealed_table_is_a_corrupt_header() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    let entry1 = header::HEADER_SIZE + header::ENTRY_SIZE;
    // A space in instrument 1's symbol, with both checksums made right again.
    let mut bytes = good.clone();
    bytes[entry1 + 2] = b' ';
    reseal(&mut bytes);
    let path = file_with(dir.path(), "spec.tape", &bytes);
    let err = open_err(&path);
    let TapeError::CorruptHeader { what, .. } = &err else { panic!("got {err:?}") };
    assert!(what.contains("instrument 1"), "{what}");
    // A zero tick on instrument 0.
    let mut bytes = good.clone();
    put_u64(&mut bytes, header::HEADER_SIZE + 48, 0);
    reseal(&mut bytes);
    let path = file_with(dir.path(), "tick.tape", &bytes);
    let err = open_err(&path);
    let TapeError::CorruptHeader { what, .. } = &err else { panic!("got {err:?}") };
    assert!(what.contains("instrument 0"), "{what}");
}

#[test]
fn appended_bytes_are_trailing_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    for extra in [1usize, 10, RECORD_SIZE, 3 * RECORD_SIZE + 5] {
        let mut bytes = good.clone();
        bytes.extend(std::iter::repeat_n(0xAB, extra));
        let path = file_with(dir.path(), "long.tape", &bytes);
        let err = open_err(&path);
        let TapeError::TrailingBytes { expected, extra: e, .. } = &err else { panic!("{extra} extra: got {err:?}") };
        assert_eq!((*expected, *e), (10, extra as u64));
    }
}

// ------------------------------------------------------------------------------------------------
// verify(): semantically bad records, reported by index
// ------------------------------------------------------------------------------------------------

/// Writes `records` (which the writer accepts) and returns the error `verify` gives.
fn verify_err(dir: &Path, records: &[RawRecord]) -> (PathBuf, TapeError) {
    let path = dir.join("bad.tape");
    write_tape(&path, &sample_specs(), records);
    let tape = Tape::open(&path).expect("a semantically bad record still opens");
    let err = tape.verify().expect_err("verify should fail");
    assert_names_path(&err, &path);
    (path, err)
}

#[test]
fn verify_reports_the_bad_record_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let base = sample_records();
    let ts = |k: usize| base[k].header.ts_local;
    let a = InstrumentId(0);
    let x = UnixNanos::UNKNOWN;
    let q = |k: usize, bid: (i64, i64), ask: (i64, i64)| -> RawRecord {
        Quote::new(a, ts(k), x, (Price(bid.0), Qty(bid.1)), (Price(ask.0), Qty(ask.1))).into()
    };
    let t = |k: usize, px: i64, qty: i64| -> RawRecord {
        Trade::new(a, ts(k), x, Price(px), Qty(qty), Aggressor::Buy, 1).into()
    };
    let l = |k: usize, px: i64, qty: i64, f: u8| -> RawRecord {
        LevelUpdate::new(a, ts(k), x, BookSide::Bid, Price(px), Qty(qty), 1, f).into()
    };
    let with_side = |mut r: RawRecord, side: u8| {
        r.header.side = side;
        r
    };
    let cases: Vec<(&str, usize, RawRecord, &str)> = vec![
        ("crossed quote", 3, q(3, (101, 1), (100, 1)), "crossed"),
        ("locked quote", 7, q(7, (100, 1), (100, 1)), "crossed"),
        ("crossed quote first", 0, q(0, (6, 1), (5, 1)), "crossed"),
        ("crossed quote last", 9, q(9, (6, 1), (5, 1)), "crossed"),
        ("zero bid", 3, q(3, (0, 1), (100, 1)), "non-positive"),
        ("negative ask size", 7, q(7, (99, 1), (100, -1)), "negative"),
        ("zero trade size", 4, t(4, 100, 0), "non-positive"),
        ("negative trade price", 8, t(8, -5, 1), "non-positive"),
        ("trade aggressor 3", 6, with_side(t(6, 100, 1), 3), "aggressor"),
        ("negative level size", 5, l(5, 100, -1, 0), "negative"),
        ("zero level price", 1, l(1, 0, 1, 0), "non-positive"),
        // Prices and sizes past 2^61 steps would overflow sums downstream (mids, half ticks).
        ("trade price past 2^61", 4, t(4, (1 << 61) + 1, 1), "2^61"),
        ("quote size past 2^61", 3, q(3, (99, (1 << 61) + 1), (100, 1)), "2^61"),
        ("level price past 2^61", 1, l(1, i64::MAX, 1, 0), "2^61"),
        ("level side 0", 2, with_side(l(2, 100, 1, 0), 0), "side"),
        ("level side 3", 2, with_side(l(2, 100, 1, 0), 3), "side"),
        ("unknown flag", 5, l(5, 100, 1, 0x08), "flag"),
    ];
    for (what, index, bad, keyword) in cases {
        let mut records = base.clone();
        records[index] = bad;
        let (_, err) = verify_err(dir.path(), &records);
        let TapeError::BadRecord { index: i, reason, .. } = &err else { panic!("{what}: got {err:?}") };
        assert_eq!(*i, index as u64, "{what}: {reason}");
        assert!(reason.contains(keyword), "{what}: {reason}");
        assert!(err.to_string().contains(&format!("record {index} ")), "{what}: {err}");
    }
}

#[test]
fn verify_reports_the_first_of_several_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = sample_records();
    for k in [6usize, 2, 8] {
        let mut r = records[k];
        r.header.flags = 0x80;
        records[k] = r;
    }
    let (_, err) = verify_err(dir.path(), &records);
    assert!(matches!(err, TapeError::BadRecord { index: 2, .. }), "{err:?}");
}

#[test]
fn verify_reports_records_the_writer_would_refuse() {
    // Records the writer refuses are forged in the bytes, with both checksums fixed up.
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(sample_tape(dir.path(), "good.tape")).unwrap();
    let mut untouched = good.clone();
    reseal(&mut untouched);
    assert!(untouched == good, "reseal must reproduce the writer's checksums");

    type Patch = fn(&mut [u8], usize);
    let cases: [(&str, usize, Patch, &str); 5] = [
        (
            "goes back in local time",
            4,
            |b, r| {
                let prev = u64_at(b, r - RECORD_SIZE + offset_of!(RecordHeader, ts_local));
                put_u64(b, r + offset_of!(RecordHeader, ts_local), prev - 1);
            },
            "goes back",
        ),
        ("kind 0", 6, |b, r| b[r + offset_of!(RecordHeader, kind)] = 0, "unknown kind"),
        ("kind 5", 9, |b, r| b[r + offset_of!(RecordHeader, kind)] = 5, "unknown kind"),
        (
            "instrument 2 of 2",
            0,
            |b, r| {
                b[r + offset_of!(RecordHeader, instrument)..][..2].copy_from_slice(&2u16.to_le_bytes());
            },
            "instrument",
        ),
        (
            "instrument 0xffff",
            5,
            |b, r| {
                b[r + offset_of!(RecordHeader, instrument)..][..2].copy_from_slice(&[0xff, 0xff]);
            },
            "instrument",
        ),
    ];
    for (what, index, patch, keyword) in cases {
        let mut bytes = good.clone();
        let at = record_at(&bytes, index);
        patch(&mut bytes, at);
        reseal(&mut bytes);
        let path = file_with(dir.path(), "forged.tape", &bytes);
        let tape = Tape::open(&path).unwrap_or_else(|e| panic!("{what}: open: {e}"));
        let err = tape.verify().expect_err(what);
        assert_names_path(&err, &path);
        let TapeError::BadRecord { index: i, reason, .. } = &err else { panic!("{what}: got {err:?}") };
        assert_eq!(*i, index as u64, "{what}: {reason}");
        assert!(reason.contains(keyword), "{what}: {reason}");
    }
}

// ------------------------------------------------------------------------------------------------
// The writer's refusals
// ------------------------------------------------------------------------------------------------

fn expect_write_err<T: std::fmt::Debug>(result: Result<T, TapeError>, out: &Path, what: &str) {
    let err = result.expect_err(what);
    assert!(matches!(err, TapeError::Write { .. }), "{what}: got {err:?}");
    assert_names_path(&err, out);
}

#[test]
fn writer_refuses_records_going_back_in_local_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("back.tape");
    let a = InstrumentId(0);
    let quote = |ts: u64| Quote::new(a, UnixNanos(ts), UnixNanos(ts), (Price(1), Qty(1)), (Price(2), Qty(1)));

    let mut w = TapeWriter::create(&out, 2).unwrap();
    w.add_instrument(&spec("BTCUSDT", "binance")).unwrap();
    w.write(quote(100)).unwrap();
    w.write(quote(100)).unwrap(); // equal times are in order
    expect_write_err(w.write(quote(99)), &out, "a record going back");
    expect_write_err(w.write(BookClear::new(a, UnixNanos(0), UnixNanos(0), 1)), &out, "ts 0");
    assert_eq!(w.records_written(), 2, "a refused record is not written");
    assert_eq!(w.last_ts_local(), Some(UnixNanos(100)));
    drop(w);
    assert!(!out.exists(), "a dropped writer leaves no tape");
    assert!(dir_names(dir.path()).is_empty(), "left behind: {:?}", dir_names(dir.path()));

    // Finishing after a refusal keeps only the accepted records.
    let mut w = TapeWriter::create(&out, 2).unwrap();
    w.add_instrument(&spec("BTCUSDT", "binance")).unwrap();
    w.write(quote(100)).unwrap();
    assert!(w.write(quote(50)).is_err());
    w.write(quote(150)).unwrap();
    w.finish().unwrap();
    let tape = Tape::open(&out).unwrap();
    tape.verify().unwrap();
    let ts: Vec<u64> = tape.records().iter().map(|r| r.header.ts_local.0).collect();
    assert_eq!(ts, [100, 150]);
    assert_eq!((tape.header().first_ts_local, tape.header().last_ts_local), (100, 150));
    assert_eq!(tape.instrument_entries()[0].quotes, 2);
}

#[test]
fn writer_refuses_records_of_unknown_instruments_or_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inst.tape");
    let clear = |id: u16| BookClear::new(InstrumentId(id), UnixNanos(5), UnixNanos(5), 1);
    let mut w = TapeWriter::create(&out, 4).unwrap();
    expect_write_err(w.write(clear(0)), &out, "no instrument added yet");
    w.add_instrument(&spec("BTCUSDT", "binance")).unwrap();
    w.write(clear(0)).unwrap();
    expect_write_err(w.write(clear(1)), &out, "instrument 1 of 1");
    expect_write_err(w.write(clear(3)), &out, "instrument 3 of 1 (within capacity)");
    expect_write_err(w.write(clear(u16::MAX)), &out, "instrument 65535");
    for kind in [0u8, 5, 255] {
        let mut raw: RawRecord = clear(0).into();
        raw.header.kind = kind;
        expect_write_err(w.write(raw), &out, "unknown kind");
    }
    assert_eq!(w.records_written(), 1);
    assert!(w.instrument(InstrumentId(1)).is_none());
    let written = w.finish().unwrap();
    assert_eq!(written.records, 1);
    let tape = Tape::open(&out).unwrap();
    tape.verify().unwrap();
    assert_eq!(tape.instrument_entries()[0].book_clears, 1);
}

#[test]
fn writer_refuses_more_instruments_than_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cap.tape");
    let mut w = TapeWriter::create(&out, 3).unwrap();
    for (i, sym) in ["A", "B", "C"].into_iter().enumerate() {
        assert_eq!(w.add_instrument(&spec(sym, "v")).unwrap(), InstrumentId(i as u16));
    }
    expect_write_err(w.add_instrument(&spec("D", "v")), &out, "a fourth instrument");
    assert!(w.instrument(InstrumentId(3)).is_none());
    w.finish().unwrap();
    let tape = Tape::open(&out).unwrap();
    assert_eq!(tape.instruments().len(), 3);
    assert_eq!(tape.header().instrument_capacity, 3);
}

#[test]
fn writer_refuses_invalid_and_duplicate_specs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spec.tape");
    let good = spec("BTCUSDT", "binance");
    let with = |f: fn(&mut InstrumentSpec)| {
        let mut s = good.clone();
        f(&mut s);
        s
    };
    let bad: Vec<(&str, InstrumentSpec)> = vec![
        ("space in symbol", with(|s| s.symbol = "BTC USDT".into())),
        ("comma in symbol", with(|s| s.symbol = "BTC,USDT".into())),
        ("empty symbol", with(|s| s.symbol = String::new())),
        ("32-byte symbol", with(|s| s.symbol = "X".repeat(32))),
        ("non-ASCII symbol", with(|s| s.symbol = "BTC€".into())),
        ("space in venue", with(|s| s.venue = "bin ance".into())),
        ("16-byte venue", with(|s| s.venue = "v".repeat(16))),
        ("price scale above MAX_SCALE", with(|s| s.price_scale = MAX_SCALE + 1)),
        ("qty scale above MAX_SCALE", with(|s| s.qty_scale = u8::MAX)),
        ("tick 0", with(|s| s.tick = Price(0))),
        ("negative tick", with(|s| s.tick = Price(-10))),
        ("lot 0", with(|s| s.lot = Qty(0))),
    ];
    let mut w = TapeWriter::create(&out, 64).unwrap();
    for (what, s) in &bad {
        expect_write_err(w.add_instrument(s), &out, what);
    }
    // The edges of what is valid.
    let edge = InstrumentSpec {
        symbol: "S".repeat(31),
        venue: "~".repeat(15),
        price_scale: MAX_SCALE,
        qty_scale: 0,
        tick: Price(i64::MAX),
        lot: Qty(1),
    };
    assert_eq!(w.add_instrument(&edge).unwrap(), InstrumentId(0));
    assert_eq!(w.add_instrument(&good).unwrap(), InstrumentId(1));
    expect_write_err(w.add_instrument(&good), &out, "the same symbol@venue twice");
    let other_venue = with(|s| s.venue = "okx".into());
    assert_eq!(w.add_instrument(&other_venue).unwrap(), InstrumentId(2));
    w.finish().unwrap();
    let tape = Tape::open(&out).unwrap();
    assert_eq!(tape.instruments(), [edge, good, other_venue].as_slice());
}

#[test]
fn writer_refuses_paths_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no-such-dir").join("x.tape");
    let err = TapeWriter::create(&missing_dir, 4).unwrap_err();
    assert!(matches!(err, TapeError::Io { .. }), "{err:?}");
    assert_names_path(&err, &missing_dir);

    let no_name = dir.path().join("..");
    let err = TapeWriter::create(&no_name, 4).unwrap_err();
    assert!(matches!(err, TapeError::Write { .. }), "{err:?}");
}

// ------------------------------------------------------------------------------------------------
// Atomic output
// ------------------------------------------------------------------------------------------------

#[test]
fn interrupted_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tape");
    let mut w = TapeWriter::create(&out, 4).unwrap();
    w.add_instrument(&spec("BTCUSDT", "binance")).unwrap();
    // More than the writer's 1 MiB buffer, so that some records have reached the disk.
    for i in 0..20_000u64 {
        let ts = UnixNanos(1_000 + i);
        w.write(Trade::new(InstrumentId(0), ts, ts, Price(10), Qty(1), Aggressor::Buy, i)).unwrap();
    }
    assert!(!out.exists(), "the tape must not appear under its name before finish");
    let partial = dir_names(dir.path());
    assert_eq!(partial.len(), 1, "{partial:?}");
    assert!(partial[0].starts_with(".out.tape.") && partial[0].ends_with(".partial"), "{partial:?}");
    drop(w);
    assert!(!out.exists());
    assert!(dir_names(dir.path()).is_empty(), "left behind: {:?}", dir_names(dir.path()));
}

#[test]
fn finishing_over_an_existing_tape_replaces_it_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = sample_tape(dir.path(), "out.tape");
    let old_bytes = fs::read(&out).unwrap();
    let old_tape = Tape::open(&out).unwrap();

    // The new tape has the same layout and more records, so that rewriting the old file in place
    // (instead of renaming a new one over it) would show as changed records below.
    let new_spec = spec("SOLUSDT", "okx");
    let mut w = TapeWriter::create(&out, DEFAULT_INSTRUMENT_CAPACITY).unwrap();
    w.add_instrument(&new_spec).unwrap();
    let new_records: Vec<RawRecord> = (0..20u64)
        .map(|i| {
            let ts = UnixNanos(10 + i);
            Quote::new(InstrumentId(0), ts, ts, (Price(100), Qty(1)), (Price(101 + i as i64), Qty(2))).into()
        })
        .collect();
    for r in &new_records {
        w.write(*r).unwrap();
    }
    // Until finish, the old tape is intact under its name.
    assert!(fs::read(&out).unwrap() == old_bytes, "the old tape changed before finish");
    let still_old = Tape::open(&out).unwrap();
    still_old.verify().unwrap();
    assert_eq!(still_old.len(), 10);
    drop(still_old);

    let written = w.finish().unwrap();
    assert_eq!(written.bytes, fs::metadata(&out).unwrap().len());
    let new_tape = Tape::open(&out).unwrap();
    new_tape.verify().unwrap();
    assert_eq!(new_tape.records(), new_records.as_slice());
    assert_eq!(new_tape.instruments(), [new_spec].as_slice());
    assert_eq!(dir_names(dir.path()), ["out.tape"]);

    // A reader that had the old tape open still sees the old tape: it was replaced, not rewritten.
    old_tape.verify().unwrap();
    assert_eq!(old_tape.records(), sample_records().as_slice());
    assert_eq!(old_tape.instruments(), sample_specs().as_slice());
}

// ------------------------------------------------------------------------------------------------
// Regressions: engine bugs found while writing these tests
// ------------------------------------------------------------------------------------------------

#[test]
fn instrument_ids_never_wrap_past_u16() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wide.tape");
    let count = u32::from(u16::MAX) + 2; // 65537: one more than a u16 id can name
    let mut w = match TapeWriter::create(&out, count) {
        Ok(w) => w,
        Err(err) => {
            // Refusing a capacity that ids cannot address is a fix.
            assert!(matches!(err, TapeError::Write { .. }), "{err:?}");
            return;
        }
    };
    for i in 0..count {
        match w.add_instrument(&spec(&format!("S{i}"), "v")) {
            Ok(id) => assert_eq!(u32::from(id.0), i, "instrument {i} got another's id"),
            Err(err) => {
                // Refusing the instrument that has no id left is a fix too.
                assert!(i > u32::from(u16::MAX), "instrument {i} refused: {err}");
                assert!(matches!(err, TapeError::Write { .. }), "{err:?}");
                return;
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn finished_tape_has_the_mode_of_an_ordinary_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let reference = file_with(dir.path(), "reference", b"x");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let out = sample_tape(dir.path(), "out.tape");
    assert_eq!(
        format!("{:o}", mode(&out)),
        format!("{:o}", mode(&reference)),
        "a finished tape should be created like any other file (mode 0666 less the umask)"
    );
}
