//! The steps a simulated world can take, drawn from a seed. A step names
//! what it acts on by a number taken modulo what exists when it runs, so
//! any sub-sequence of a run is still a run (the shrinker relies on it).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A user holds a seat from the catalog.
    Hold {
        user: u8,
        session: u8,
    },
    /// The owner of a held booking asks to pay it (again).
    PayAgain {
        pick: u16,
    },
    /// A customer pays an open page, by card or by a bank debit.
    PayPage {
        pick: u16,
        debit: bool,
    },
    /// The bank answers a debit.
    BankAnswers {
        pick: u16,
        ok: bool,
    },
    /// An owner (or an admin, maybe forcing the refund) cancels.
    Cancel {
        pick: u16,
        admin: bool,
        force: bool,
    },
    Join {
        user: u8,
        session: u8,
    },
    Leave {
        pick: u16,
        admin: bool,
    },
    /// An event is delivered, maybe to be delivered again later.
    Deliver {
        pick: u16,
        again: bool,
    },
    /// Stripe gives up on an event: only reconcile finds it.
    Lose {
        pick: u16,
    },
    /// An event is applied in a transaction dropped before its commit.
    Crash {
        pick: u16,
    },
    /// An admin refunds in Stripe's Dashboard, in full or half.
    DashboardRefund {
        pick: u16,
        half: bool,
    },
    Capacity {
        session: u8,
        up: bool,
    },
    Close {
        session: u8,
        closed: bool,
    },
    Activate {
        session: u8,
        active: bool,
    },
    Decide {
        session: u8,
        runs: bool,
    },
    /// A customer pays an open subscription page.
    PaySubscription {
        pick: u16,
    },
    /// A customer who paid a page subscribes again where we do not see
    /// it: Stripe bills a second subscription.
    SubscribeElsewhere {
        pick: u16,
    },
    /// A customer opens a subscription checkout twice.
    Subscribe {
        user: u8,
        yearly: bool,
    },
    /// A person has their account erased (by themselves, or an admin for
    /// them): what they have going ends, their customer at the provider
    /// goes; their pages may still be paid before the provider hears.
    Erase {
        user: u8,
    },
    /// The provider stops answering for a number of calls.
    Outage {
        calls: u8,
    },
    Reconcile,
    Wait {
        minutes: u16,
    },
}

/// The steps of one run, and the shape of its sessions.
pub struct Plan {
    pub shape: [u8; 3],
    pub steps: Vec<Step>,
}

pub fn plan(seed: u64, len: usize) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let shape = [rng.random(), rng.random(), rng.random()];
    let steps = (0..len).map(|_| draw(&mut rng)).collect();
    Plan { shape, steps }
}

fn draw(rng: &mut ChaCha8Rng) -> Step {
    let pick = rng.random::<u16>();
    let user = rng.random::<u8>();
    let session = rng.random::<u8>();
    let flag = rng.random::<bool>();
    match rng.random_range(0..100) {
        0..16 => Step::Hold { user, session },
        16..20 => Step::PayAgain { pick },
        20..32 => Step::PayPage {
            pick,
            debit: rng.random_ratio(1, 4),
        },
        32..35 => Step::BankAnswers {
            pick,
            ok: rng.random_ratio(3, 4),
        },
        35..41 => Step::Cancel {
            pick,
            admin: rng.random_ratio(1, 4),
            force: flag,
        },
        41..47 => Step::Join { user, session },
        47..50 => Step::Leave { pick, admin: flag },
        50..62 => Step::Deliver {
            pick,
            again: rng.random_ratio(1, 6),
        },
        62..64 => Step::Lose { pick },
        64..66 => Step::Crash { pick },
        66..69 => Step::DashboardRefund { pick, half: flag },
        69..73 => Step::Capacity {
            session,
            up: rng.random_ratio(2, 3),
        },
        73..75 => Step::Close {
            session,
            closed: flag,
        },
        75..77 => Step::Activate {
            session,
            active: flag,
        },
        77..79 => Step::Decide {
            session,
            runs: flag,
        },
        // Two customers subscribe, so that one meets their own pages.
        79..83 => Step::Subscribe {
            user: user % 2,
            yearly: flag,
        },
        83..85 => Step::PaySubscription { pick },
        85..86 => Step::SubscribeElsewhere { pick },
        86..88 => Step::Outage {
            calls: rng.random_range(1..4),
        },
        88..90 => Step::Reconcile,
        90..91 => Step::Erase { user },
        // Mostly minutes (holds, offers, retries); sometimes most of a
        // day (decision dates, session starts).
        _ => Step::Wait {
            minutes: if rng.random_ratio(1, 5) {
                rng.random_range(600..1800)
            } else {
                rng.random_range(1..90)
            },
        },
    }
}
