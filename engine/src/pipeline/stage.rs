//! What a hot stage is: a plain processor that knows nothing of threads, rings or waiting.

/// A one-in, one-out stage (features, decide). Runners call `on_event` for every event, in order,
/// on whatever thread the topology puts the stage on; the stage must not allocate, lock, make
/// syscalls or format text in it (DESIGN.md §2).
pub trait Stage: Send {
    type In: Copy + Send;
    type Out: Send;

    fn on_event(&mut self, input: &Self::In) -> Self::Out;
}
