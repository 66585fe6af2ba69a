//! The system allocator, counting each thread's allocations, for the no-allocation tests (DESIGN.md
//! §2.1). A test file includes it with `#[path = "support/counting_alloc.rs"] mod counting_alloc;`,
//! which installs it as that test binary's global allocator; per-thread counts keep tests running in
//! parallel from disturbing each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates, so the allocator may.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Allocations (and reallocations) made by the calling thread so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

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

/// The guard on every no-allocation test in the binary: the counter must see an allocation, or
/// "0 allocations" would prove nothing.
#[test]
fn the_counter_sees_this_threads_allocations() {
    let before = allocations();
    std::hint::black_box(vec![0u8; 16]);
    assert_eq!(allocations(), before + 1);
}
