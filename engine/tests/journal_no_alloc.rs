//! `JournalWriter::append` runs on a hot thread for every record: it must not allocate
//! (DESIGN.md §2.1). A counting global allocator watches this thread while it appends.

use kestrel_engine::journal::{EntryKind, JournalMeta, JournalRecord, JournalWriter};
use kestrel_engine::types::{InstrumentSpec, Price, Qty, UnixNanos};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[test]
fn append_does_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let spec = InstrumentSpec {
        symbol: "ETHUSDT".into(),
        venue: "BINANCE".into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(1),
        lot: Qty(1),
    };
    let mut w = JournalWriter::create(dir.path().join("journal.kj"), &[spec], JournalMeta::default(), 10_000).unwrap();

    let before = counting_alloc::allocations();
    for i in 0..10_000u64 {
        let rec = JournalRecord {
            kind: EntryKind::Fill as u8,
            event_seq: i,
            ts: UnixNanos(i),
            px: Price(268_390),
            qty: Qty(500),
            ..JournalRecord::default()
        };
        w.append(rec).unwrap();
    }
    let allocations = counting_alloc::allocations() - before;
    assert_eq!(allocations, 0, "{allocations} allocations in 10,000 appends");
    assert_eq!(w.finish().unwrap().records, 10_000);
}
