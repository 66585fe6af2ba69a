//! Allocations per scoring call (DESIGN.md §2.1), counted by a global allocator per thread:
//! `NativeLinear` makes none; tract makes a few, the same number on every call (call 10 and call 1000
//! alike), and frees all of them before the call returns (nothing accumulates on the hot thread).

mod common;

use common::*;
use kestrel_engine::decide::model::Scorer;
use kestrel_engine::features::schema::idx;
use kestrel_infer::{Backend, LoadedModel};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    allocs: u64,
    frees: u64,
    bytes_in: u64,
    bytes_out: u64,
}

thread_local! {
    static COUNTS: Cell<Counts> = const { Cell::new(Counts { allocs: 0, frees: 0, bytes_in: 0, bytes_out: 0 }) };
}

fn bump(f: impl FnOnce(&mut Counts)) {
    let _ = COUNTS.try_with(|c| {
        let mut v = c.get();
        f(&mut v);
        c.set(v);
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counting
// touches only a const-initialised thread-local `Cell` (no allocation, no reentrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(|c| {
            c.allocs += 1;
            c.bytes_in += layout.size() as u64;
        });
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(|c| {
            c.allocs += 1;
            c.bytes_in += layout.size() as u64;
        });
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        bump(|c| {
            c.frees += 1;
            c.bytes_out += layout.size() as u64;
        });
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(|c| {
            c.allocs += 1;
            c.frees += 1;
            c.bytes_in += new_size as u64;
            c.bytes_out += layout.size() as u64;
        });
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counts() -> Counts {
    COUNTS.with(|c| c.get())
}

/// Per call: (allocations, allocations not freed by the end of the call, bytes not freed).
fn per_call(scorer: &mut dyn Scorer, rows: &[Vec<f32>], calls: usize) -> Vec<(u64, i64, i64)> {
    let mut out = Vec::with_capacity(calls);
    for i in 0..calls {
        let row = &rows[i % rows.len()];
        let before = counts();
        let r = scorer.score(row);
        let after = counts();
        std::hint::black_box(r).ok();
        out.push((
            after.allocs - before.allocs,
            (after.allocs - before.allocs) as i64 - (after.frees - before.frees) as i64,
            (after.bytes_in - before.bytes_in) as i64 - (after.bytes_out - before.bytes_out) as i64,
        ));
    }
    out
}

fn rows(n: usize) -> Vec<Vec<f32>> {
    (0..16).map(|k| (0..n).map(|i| ((i * 7 + k * 13) % 17) as f32 / 8.0 - 1.0).collect()).collect()
}

#[test]
fn the_counter_counts() {
    let before = counts();
    let v = std::hint::black_box(vec![1u8; 100]);
    drop(v);
    let after = counts();
    assert_eq!(after.allocs - before.allocs, 1);
    assert_eq!(after.frees - before.frees, 1);
}

#[test]
fn tract_allocates_a_constant_number_of_times_per_call_and_frees_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let n = idx::COUNT;
    for (name, model, role) in [("pwin", pwin_model(n, 20), "pwin"), ("slippage", slippage_model(n), "slippage")] {
        let onnx = write_linear(dir.path(), name, &model, role);
        let m = LoadedModel::open(&onnx).unwrap();
        let mut s = m.scorer(Backend::Tract).unwrap();
        let rows = rows(n);
        let calls = per_call(s.as_mut(), &rows, 1000);
        let first = calls[0].0;
        println!("{name}: tract allocates {first} times per call");
        assert_eq!(calls[9], calls[999], "{name}: call 10 vs call 1000");
        assert!(calls.iter().all(|c| c.0 == first), "{name}: the count varies: {:?}", &calls[..20]);
        assert!(calls.iter().all(|c| c.1 == 0 && c.2 == 0), "{name}: a call kept memory: {:?}", &calls[..20]);
        // the failure paths do not allocate more
        let bad = per_call(s.as_mut(), &[vec![f32::INFINITY; n]], 10);
        assert!(bad.iter().all(|c| c.1 == 0 && c.2 == 0 && c.0 <= first), "{bad:?}");
        let wrong = per_call(s.as_mut(), &[vec![0.0; n - 1]], 10);
        assert!(wrong.iter().all(|c| *c == (0, 0, 0)), "{wrong:?}");
    }
}

#[test]
fn native_linear_makes_no_allocation_per_call() {
    let dir = tempfile::tempdir().unwrap();
    let n = idx::COUNT;
    for (name, model, role) in [("pwin", pwin_model(n, 20), "pwin"), ("slippage", slippage_model(n), "slippage")] {
        let onnx = write_linear(dir.path(), name, &model, role);
        let m = LoadedModel::open(&onnx).unwrap();
        let mut s = m.scorer(Backend::Native).unwrap();
        let mut rows = rows(n);
        rows.push(vec![f32::INFINITY; n]); // the BadOutput path
        rows.push(vec![0.0; 3]); // the Error path
        let calls = per_call(s.as_mut(), &rows, 1000);
        assert!(calls.iter().all(|c| *c == (0, 0, 0)), "{name}: {:?}", calls.iter().find(|c| c.0 > 0));
    }
}
