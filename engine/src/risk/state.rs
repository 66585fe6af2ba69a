//! Trading states and the switches that decide which one is in force.
//!
//! Three things set the state, from strongest to weakest:
//! 1. the kill switch ([`RiskGate::kill`](super::RiskGate::kill)): refuses every order, exits
//!    included, until a human calls `reset_kill`; it also sets the manual state to HALTED, so a
//!    reset leaves the engine HALTED (exits only) until a human sets ACTIVE;
//! 2. the daily loss latch: when today's loss passes the limit the engine is HALTED for the rest of
//!    that trading day, even if the loss recovers (no flapping on a noisy mark); at the next day
//!    boundary the latch lapses and the manual state is in force again;
//! 3. the manual state ([`RiskGate::set_state`](super::RiskGate::set_state)), which never changes
//!    by itself. Setting it also clears the day's loss latch (a human takes over); if the loss is
//!    still past the limit, the next check latches it again.

/// What kind of new order the engine accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TradingState {
    /// Every order within the limits.
    #[default]
    Active,
    /// Only orders that reduce the exposure without carrying it through zero, whatever their
    /// purpose: nothing that opens or grows a position.
    Reducing,
    /// No entries; exits (`Purpose::is_exit`) that reduce the exposure without carrying it through
    /// zero still pass.
    Halted,
}

impl TradingState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Active => "active",
            TradingState::Reducing => "reducing",
            TradingState::Halted => "halted",
        }
    }
}

/// The three switches and the latest trading day the gate has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Switches {
    pub manual: TradingState,
    pub killed: bool,
    /// The trading day in which the daily loss limit was passed, if any.
    pub loss_latched_on: Option<u64>,
    /// The latest trading day seen.
    pub day: u64,
}

impl Switches {
    /// Moves to `day` if it is later than the one seen (the loss latch of an earlier day lapses).
    pub fn advance_to(&mut self, day: u64) {
        self.day = self.day.max(day);
    }

    pub fn loss_latched(&self) -> bool {
        self.loss_latched_on == Some(self.day)
    }

    /// The state in force, the kill switch aside (a killed gate refuses everything).
    pub fn state(&self) -> TradingState {
        if self.loss_latched() { TradingState::Halted } else { self.manual }
    }
}
