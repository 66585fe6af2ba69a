//! Sides of the book and of a trade, stored on the tape as one byte.

/// Which side of the book a level belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BookSide {
    Bid = 1,
    Ask = 2,
}

/// Which side crossed the spread in a trade. Binance's `m` (buyer is maker) = true means the seller
/// was the aggressor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Aggressor {
    Unknown = 0,
    Buy = 1,
    Sell = 2,
}

impl BookSide {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(BookSide::Bid),
            2 => Some(BookSide::Ask),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BookSide::Bid => "bid",
            BookSide::Ask => "ask",
        }
    }
}

impl Aggressor {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Aggressor::Unknown),
            1 => Some(Aggressor::Buy),
            2 => Some(Aggressor::Sell),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aggressor::Unknown => "unknown",
            Aggressor::Buy => "buy",
            Aggressor::Sell => "sell",
        }
    }
}
