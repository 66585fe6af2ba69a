//! The run journal end to end through the engine API: write, finish or crash, reopen, export.
//!
//! What a run relies on: every record that was appended whole comes back, in order, byte for byte;
//! a crashed run's tail (preallocated zeros, a half-copied last record) is truncated on open and
//! reported, never mistaken for data; damage in the middle is refused with the record's index and
//! the file left as it was; no file, however damaged, makes the reader panic.

use kestrel_engine::journal::header::{self, HEADER_SIZE};
use kestrel_engine::journal::{
    BlockReason, EntryKind, FeaturesRecord, JOURNAL_RECORD_SIZE, Journal, JournalError, JournalMeta, JournalRecord,
    JournalWriter, RejectReason, Side, TornTail, write_csv,
};
use kestrel_engine::orders::{OrderKind, Purpose, TimeInForce};
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const RECORD: u64 = JOURNAL_RECORD_SIZE as u64;
const META: JournalMeta = JournalMeta { tape_data_crc32: 0xDEAD_BEEF, config_hash: 0x0123_4567_89AB_CDEF };

fn spec(symbol: &str, price_scale: u8, qty_scale: u8) -> InstrumentSpec {
    InstrumentSpec {
        symbol: symbol.into(),
        venue: "BINANCE".into(),
        price_scale,
        qty_scale,
        tick: Price(1),
        lot: Qty(1),
    }
}

/// ETHUSDT at 2 price and 3 quantity decimals, BTCUSDT at 1 and 5.
fn instruments() -> Vec<InstrumentSpec> {
    vec![spec("ETHUSDT", 2, 3), spec("BTCUSDT", 1, 5)]
}

/// Where records start in a journal of [`instruments`].
fn data_offset() -> u64 {
    header::data_offset_for(2)
}

/// The `i`-th record of a plausible run: the five kinds in turn, on both instruments.
fn record(i: u64) -> JournalRecord {
    let kind = [EntryKind::Decision, EntryKind::Blocked, EntryKind::Order, EntryKind::Fill, EntryKind::Reject]
        [(i % 5) as usize];
    let reason = match kind {
        EntryKind::Blocked => BlockReason::SpreadTooWide as u8,
        EntryKind::Reject => RejectReason::NoLiquidity as u8,
        _ => 0,
    };
    JournalRecord {
        kind: kind as u8,
        side: if i.is_multiple_of(2) { Side::Buy as u8 } else { Side::Sell as u8 },
        reason,
        event_seq: i / 3,
        ts: UnixNanos(1_723_161_254_000_000_000 + i * 1_000),
        order_id: i,
        px: Price(268_380 + i as i64),
        qty: Qty(500),
        instrument: InstrumentId((i % 2) as u16),
        value: i as i64 * 1_000 - 7,
        ..JournalRecord::default()
    }
}

/// `rec` as the file holds it: sealed.
fn sealed(mut rec: JournalRecord) -> JournalRecord {
    rec.seal();
    rec
}

struct Dir {
    dir: TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("journal.kj")
    }

    /// A journal of `n` records from [`record`], with room for `capacity` before growing.
    fn writer(&self, n: u64, capacity: u64) -> JournalWriter {
        let mut w = JournalWriter::create(self.path(), &instruments(), META, capacity).unwrap();
        for i in 0..n {
            w.append(record(i)).unwrap();
        }
        w
    }

    /// A finished journal of `n` records.
    fn finished(&self, n: u64) -> PathBuf {
        self.writer(n, 16).finish().unwrap();
        self.path()
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Writes `bytes` over the file at `offset`.
fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    let mut data = std::fs::read(path).unwrap();
    data[offset as usize..offset as usize + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).unwrap();
}

fn record_offset(index: u64) -> u64 {
    data_offset() + index * RECORD
}

#[track_caller]
fn assert_records(journal: &Journal, n: u64) {
    let expected: Vec<JournalRecord> = (0..n).map(|i| sealed(record(i))).collect();
    assert_eq!(journal.records(), &expected[..]);
}

// ---------------------------------------------------------------------------------------------
// Writing and reading back

#[test]
fn round_trip_across_growths() {
    let dir = Dir::new();
    // Capacity 1: the mapping grows 1 → 1024 → 2048 → 4096 → 8192 records.
    let summary = dir.writer(5_000, 1).finish().unwrap();
    assert_eq!(summary.records, 5_000);
    assert_eq!(summary.grows, 4);
    let journal = Journal::open(dir.path()).unwrap();
    assert_records(&journal, 5_000);
    assert_eq!(journal.instruments(), &instruments()[..]);
    assert_eq!(journal.meta(), META);
    assert_eq!(journal.recovered_tail(), None);
}

#[test]
fn finish_leaves_exactly_header_and_records() {
    let dir = Dir::new();
    let summary = dir.writer(100, 1_000).finish().unwrap();
    assert_eq!(summary.grows, 0);
    assert_eq!(summary.bytes, data_offset() + 100 * RECORD);
    assert_eq!(file_len(&dir.path()), summary.bytes);
    assert_eq!(data_offset() % 4096, 0);
}

#[test]
fn an_empty_journal_round_trips() {
    let dir = Dir::new();
    let summary = JournalWriter::create(dir.path(), &[], JournalMeta::default(), 0).unwrap().finish().unwrap();
    assert_eq!(summary.bytes, header::data_offset_for(0));
    let journal = Journal::open(dir.path()).unwrap();
    assert!(journal.is_empty() && journal.instruments().is_empty());
    assert_eq!(journal.recovered_tail(), None);
}

#[test]
fn flush_async_mid_run_changes_nothing_readers_see() {
    let dir = Dir::new();
    let mut w = dir.writer(10, 100);
    w.flush_async().unwrap();
    w.append(record(10)).unwrap();
    assert_eq!(w.len(), 11);
    w.finish().unwrap();
    assert_records(&Journal::open(dir.path()).unwrap(), 11);
}

#[test]
fn create_refuses_an_existing_file() {
    let dir = Dir::new();
    std::fs::write(dir.path(), b"precious").unwrap();
    let err = JournalWriter::create(dir.path(), &instruments(), META, 10).unwrap_err();
    assert!(matches!(err, JournalError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("journal.kj"), "{err}");
    assert_eq!(std::fs::read(dir.path()).unwrap(), b"precious");
}

#[test]
fn create_refuses_a_bad_instrument_and_leaves_no_file() {
    let dir = Dir::new();
    let err = JournalWriter::create(dir.path(), &[spec("ETH USDT", 2, 3)], META, 10).unwrap_err();
    assert!(matches!(err, JournalError::Invalid { .. }), "{err}");
    let err = JournalWriter::create(dir.path(), &[spec("ETHUSDT", 2, 3), spec("ETHUSDT", 2, 3)], META, 10).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
    assert!(!dir.path().exists());
}

// ---------------------------------------------------------------------------------------------
// Crashed runs: torn tails

#[test]
fn a_dropped_writer_leaves_a_zero_tail_that_open_truncates() {
    let dir = Dir::new();
    drop(dir.writer(10, 100));
    assert_eq!(file_len(&dir.path()), data_offset() + 100 * RECORD);

    let journal = Journal::open(dir.path()).unwrap();
    assert_records(&journal, 10);
    assert_eq!(journal.recovered_tail(), Some(TornTail { valid_records: 10, discarded_bytes: 90 * RECORD }));
    assert_eq!(file_len(&dir.path()), record_offset(10));

    // Truncated once: the second open finds a clean journal.
    let again = Journal::open(dir.path()).unwrap();
    assert_records(&again, 10);
    assert_eq!(again.recovered_tail(), None);
}

#[test]
fn a_file_cut_mid_record_loses_only_that_record() {
    let dir = Dir::new();
    let path = dir.finished(10);
    let cut = record_offset(9) + 20;
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(cut).unwrap();

    let journal = Journal::open(&path).unwrap();
    assert_records(&journal, 9);
    assert_eq!(journal.recovered_tail(), Some(TornTail { valid_records: 9, discarded_bytes: 20 }));
    assert_eq!(file_len(&path), record_offset(9));
}

#[test]
fn a_half_overwritten_last_record_is_a_torn_tail() {
    let dir = Dir::new();
    let path = dir.finished(10);
    // The crash hit while the last record was being copied: its second half is stale bytes.
    overwrite(&path, record_offset(9) + 32, &[0xAB; 32]);

    let journal = Journal::open(&path).unwrap();
    assert_records(&journal, 9);
    assert_eq!(journal.recovered_tail(), Some(TornTail { valid_records: 9, discarded_bytes: RECORD }));
    assert_eq!(file_len(&path), record_offset(9));
}

#[test]
fn a_half_copied_record_in_the_zero_tail_is_a_torn_tail() {
    let dir = Dir::new();
    drop(dir.writer(10, 100));
    // Record 10 was being copied when the run died: its first 40 bytes made it.
    overwrite(&dir.path(), record_offset(10), &zerocopy::IntoBytes::as_bytes(&sealed(record(10)))[..40]);

    let journal = Journal::open(dir.path()).unwrap();
    assert_records(&journal, 10);
    assert_eq!(journal.recovered_tail(), Some(TornTail { valid_records: 10, discarded_bytes: 90 * RECORD }));
}

#[test]
fn open_read_only_reports_a_torn_tail_and_leaves_the_file_alone() {
    let dir = Dir::new();
    drop(dir.writer(10, 100));
    let before = std::fs::read(dir.path()).unwrap();

    let journal = Journal::open_read_only(dir.path()).unwrap();
    assert_records(&journal, 10);
    assert_eq!(journal.recovered_tail(), Some(TornTail { valid_records: 10, discarded_bytes: 90 * RECORD }));
    assert_eq!(std::fs::read(dir.path()).unwrap(), before);
}

#[test]
fn a_live_journal_can_be_read_but_not_truncated() {
    let dir = Dir::new();
    let mut w = dir.writer(10, 100);

    let live = Journal::open_read_only(dir.path()).unwrap();
    assert_records(&live, 10);

    // Truncating under the writer's mapping would crash the run: refused while the writer lives.
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::InUse { .. }), "{err}");
    assert_eq!(file_len(&dir.path()), data_offset() + 100 * RECORD);

    w.append(record(10)).unwrap();
    w.finish().unwrap();
    assert_records(&Journal::open(dir.path()).unwrap(), 11);
}

// ---------------------------------------------------------------------------------------------
// Damage: refused, named, left alone

#[test]
fn a_flipped_byte_in_a_middle_record_is_corruption_not_a_tail() {
    let dir = Dir::new();
    let path = dir.finished(10);
    let mut data = std::fs::read(&path).unwrap();
    data[record_offset(4) as usize + 20] ^= 0xFF;
    std::fs::write(&path, &data).unwrap();

    type Open = fn(&Path) -> Result<Journal, JournalError>;
    let opens: [Open; 2] = [|p| Journal::open(p), |p| Journal::open_read_only(p)];
    for open in opens {
        let err = open(&path).unwrap_err();
        assert!(matches!(err, JournalError::Corrupt { record: 4, .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("journal.kj") && msg.contains("record 4") && msg.contains("record 5"), "{msg}");
        assert_eq!(std::fs::read(&path).unwrap(), data, "the file was modified");
    }
}

#[test]
fn a_whole_record_with_an_unknown_kind_is_corruption_even_at_the_end() {
    let dir = Dir::new();
    let mut w = dir.writer(5, 100);
    // Sealed, so it was written whole: a newer or buggy build, not a torn write. Never truncated.
    w.append(JournalRecord { kind: 42, ..record(5) }).unwrap();
    drop(w);
    let before = std::fs::read(dir.path()).unwrap();
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { record: 5, .. }), "{err}");
    assert!(err.to_string().contains("unknown kind 42"), "{err}");
    assert_eq!(std::fs::read(dir.path()).unwrap(), before);
}

#[test]
fn a_record_naming_a_missing_instrument_or_a_bad_reason_is_corruption() {
    for (bad, what) in [
        (JournalRecord { instrument: InstrumentId(7), ..record(2) }, "instrument 7"),
        (JournalRecord { side: 3, ..record(2) }, "side byte 3"),
        (JournalRecord { reason: 99, ..record(1) }, "reason byte 99"),
        (JournalRecord { reason: 1, ..record(0) }, "reason byte 1 on a decision"),
        (JournalRecord { kind: EntryKind::Fill as u8, side: 0, ..record(0) }, "a fill with side byte 0"),
        (JournalRecord { kind: EntryKind::Fill as u8, side: Side::Buy as u8, qty: Qty(0), ..record(0) }, "quantity 0"),
    ] {
        let dir = Dir::new();
        let mut w = dir.writer(2, 10);
        w.append(bad).unwrap();
        w.finish().unwrap();
        let err = Journal::open(dir.path()).unwrap_err();
        assert!(matches!(err, JournalError::Corrupt { record: 2, .. }), "{err}");
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

#[test]
fn bad_magic_is_named() {
    let dir = Dir::new();
    std::fs::write(dir.path(), [b"NOTAJRNL".as_slice(), &[0; 200]].concat()).unwrap();
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("not a Kestrel journal"), "{err}");

    // A tape is not a journal either.
    std::fs::write(dir.path(), b"KSTRTAPE").unwrap();
    assert!(matches!(Journal::open(dir.path()), Err(JournalError::BadMagic { .. })));
}

#[test]
fn a_truncated_header_is_a_clear_error() {
    let dir = Dir::new();
    let path = dir.finished(3);
    let full = std::fs::read(&path).unwrap();
    for len in [0, 5, 8, 40, HEADER_SIZE + 10, 1_000, data_offset() as usize - 1] {
        std::fs::write(&path, &full[..len]).unwrap();
        let err = Journal::open_read_only(&path).unwrap_err();
        assert!(matches!(err, JournalError::CorruptHeader { .. }), "{len} bytes: {err}");
        assert!(err.to_string().contains("journal.kj"), "{err}");
    }
}

#[test]
fn a_damaged_header_fails_its_checksum() {
    let dir = Dir::new();
    let path = dir.finished(3);
    // A byte of ETHUSDT's symbol in the instrument table.
    overwrite(&path, HEADER_SIZE as u64 + 1, b"X");
    let err = Journal::open(&path).unwrap_err();
    assert!(err.to_string().contains("header checksum"), "{err}");
}

#[test]
fn a_newer_version_is_named() {
    let dir = Dir::new();
    let path = dir.finished(3);
    overwrite(&path, 8, &2u32.to_le_bytes());
    let err = Journal::open(&path).unwrap_err();
    assert!(matches!(err, JournalError::Version { found: 2, supported: 1, .. }), "{err}");
}

#[test]
fn a_directory_or_a_missing_file_is_an_io_error() {
    let dir = Dir::new();
    assert!(matches!(Journal::open(dir.dir.path()), Err(JournalError::Io { .. })));
    assert!(matches!(Journal::open_read_only(dir.path()), Err(JournalError::Io { .. })));
}

// ---------------------------------------------------------------------------------------------
// Any sequence of records

fn any_record() -> impl Strategy<Value = JournalRecord> {
    (1u8..=12, 0u8..=2, any::<u64>(), any::<u64>(), any::<u64>(), any::<i64>(), any::<i64>(), 0u16..2, any::<i64>())
        .prop_map(|(kind, side, event_seq, ts, order_id, px, qty, instrument, value)| {
            let reason = match EntryKind::from_u8(kind) {
                Some(EntryKind::Blocked) => 1 + (event_seq % 20) as u8,
                Some(EntryKind::Reject | EntryKind::CancelReject) => 1,
                _ => 0,
            };
            // A fill names its side and a positive quantity (the reader refuses one that does not).
            let (side, qty) = if EntryKind::from_u8(kind) == Some(EntryKind::Fill) {
                (1 + side % 2, (qty & i64::MAX).max(1))
            } else {
                (side, qty)
            };
            let rec = JournalRecord {
                kind,
                side,
                reason,
                event_seq,
                ts: UnixNanos(ts),
                order_id,
                px: Price(px),
                qty: Qty(qty),
                instrument: InstrumentId(instrument),
                value,
                ..JournalRecord::default()
            };
            match EntryKind::from_u8(kind) {
                // Its own layout: chunk `side % 2` of 2, any values (the bytes of the fields above).
                Some(EntryKind::Features) => {
                    let mut f = FeaturesRecord::from_record(&rec);
                    (f.chunk, f.chunks, f._pad) = (side % 2, 2, 0);
                    f.to_record()
                }
                // A model role in `aux`.
                Some(EntryKind::ModelSwap) => JournalRecord { aux: side % 2, ..rec },
                _ => rec,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Finished or crashed, with any starting capacity, a journal gives back every record appended.
    #[test]
    fn random_records_round_trip(
        records in prop::collection::vec(any_record(), 0..300),
        capacity in 0u64..200,
        crash in any::<bool>(),
    ) {
        let dir = Dir::new();
        let mut w = JournalWriter::create(dir.path(), &instruments(), META, capacity).unwrap();
        for r in &records {
            w.append(*r).unwrap();
        }
        if crash {
            drop(w);
        } else {
            w.finish().unwrap();
        }
        let journal = Journal::open(dir.path()).unwrap();
        let expected: Vec<JournalRecord> = records.iter().copied().map(sealed).collect();
        prop_assert_eq!(journal.records(), &expected[..]);
        prop_assert_eq!(file_len(&dir.path()), record_offset(records.len() as u64));
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_export_is_exact_with_empty_cells_where_nothing_applies() {
    let dir = Dir::new();
    let base = JournalRecord { event_seq: 17, ts: UnixNanos(1_723_161_254_300_000_000), ..JournalRecord::default() };
    let records = [
        // ETHUSDT: price 2 decimals, quantity 3.
        JournalRecord {
            kind: EntryKind::Decision as u8,
            side: Side::Buy as u8,
            px: Price(268_390),
            qty: Qty(500),
            value: 734_000,
            aux: Purpose::Entry.as_u8(),
            ..base
        },
        JournalRecord {
            kind: EntryKind::Blocked as u8,
            side: Side::Sell as u8,
            reason: BlockReason::SpreadTooWide as u8,
            px: Price(268_380),
            qty: Qty(1_500),
            value: -120,
            ..base
        },
        JournalRecord {
            kind: EntryKind::Order as u8,
            side: Side::Buy as u8,
            order_id: 1,
            px: Price(268_390),
            qty: Qty(500),
            aux: Purpose::StopLoss.as_u8(),
            order_type: OrderKind::Limit { px: Price(268_390) }.as_u8(),
            tif: TimeInForce::PostOnly.as_u8(),
            ..base
        },
        JournalRecord {
            kind: EntryKind::Fill as u8,
            side: Side::Buy as u8,
            order_id: 1,
            px: Price(268_390),
            qty: Qty(500),
            value: -25_000,
            ..base
        },
        // BTCUSDT: price 1 decimal, quantity 5; no side.
        JournalRecord {
            kind: EntryKind::Reject as u8,
            reason: RejectReason::NoLiquidity as u8,
            order_id: 2,
            px: Price(616_597),
            qty: Qty(1),
            instrument: InstrumentId(1),
            event_seq: 18,
            ..base
        },
        JournalRecord {
            kind: EntryKind::Fill as u8,
            side: Side::Sell as u8,
            order_id: 3,
            px: Price(-5),
            qty: Qty(100_000),
            value: 1_234_567,
            instrument: InstrumentId(1),
            ..base
        },
    ];
    let mut w = JournalWriter::create(dir.path(), &instruments(), META, 4).unwrap();
    for r in records {
        w.append(r).unwrap();
    }
    w.finish().unwrap();

    let mut out = Vec::new();
    let rows = write_csv(&Journal::open(dir.path()).unwrap(), &mut out).unwrap();
    assert_eq!(rows, 6);
    let csv = String::from_utf8(out).unwrap();
    // The fee is the record's value; realized PnL and position come from booking the fills in order.
    let expected = [
        "record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,purpose,order_type,tif,liquidity,signal,fee,realized_pnl,position",
        "0,17,1723161254300000000,decision,ETHUSDT,buy,,0,2683.90,0.500,entry,,,,0.734000,,,",
        "1,17,1723161254300000000,blocked,ETHUSDT,sell,spread_too_wide,0,2683.80,1.500,,,,,-0.000120,,,",
        "2,17,1723161254300000000,order,ETHUSDT,buy,,1,2683.90,0.500,stop_loss,limit,post_only,,,,,",
        "3,17,1723161254300000000,fill,ETHUSDT,buy,,1,2683.90,0.500,,,,,,-0.25000,0.00000,0.500",
        "4,18,1723161254300000000,reject,BTCUSDT,,no_liquidity,2,61659.7,0.00001,,,,,,,,",
        "5,17,1723161254300000000,fill,BTCUSDT,sell,,3,-0.5,1.00000,,,,,,1.234567,0.000000,-1.00000",
    ];
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines, expected);
    assert!(csv.ends_with('\n'));
    for line in &lines {
        assert_eq!(line.split(',').count(), 18, "{line}");
    }
}

#[test]
fn csv_export_of_a_torn_journal_has_only_the_valid_records() {
    let dir = Dir::new();
    drop(dir.writer(7, 100));
    let mut out = Vec::new();
    let journal = Journal::open_read_only(dir.path()).unwrap();
    assert_eq!(write_csv(&journal, &mut out).unwrap(), 7);
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 8);
}
