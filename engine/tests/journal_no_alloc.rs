//! `JournalWriter::append` runs on a hot thread for every record: it must not allocate
//! (DESIGN.md §2.1). A counting global allocator watches this thread while it appends.

use kestrel_engine::journal::{EntryKind, JournalMeta, JournalRecord, JournalWriter};
use kestrel_engine::types::{InstrumentSpec, Price, Qty, UnixNanos};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates, so the allocator may.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting the allocations each thread makes (other test-harness threads
/// cannot disturb the count).
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc` contract;
// the counting touches only a const thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes through it).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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

    let before = ALLOCATIONS.with(Cell::get);
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
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(allocations, 0, "{allocations} allocations in 10,000 appends");
    assert_eq!(w.finish().unwrap().records, 10_000);
}
