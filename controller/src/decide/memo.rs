//! A per-thread memo of a pure function of a text: the same few expressions and annotations
//! are compiled or parsed on every pass of every resource. Entries only save work, they never
//! change a result; beyond [`LIMIT`] distinct texts the memo starts over, so a synthesizer that
//! generates texts cannot grow it without bound. Keyed in a `BTreeMap` (no hash order) and
//! held per thread (no lock on the hot path).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Entries kept before the memo starts over.
pub const LIMIT: usize = 1024;

pub struct Memo<V> {
    entries: RefCell<BTreeMap<String, Rc<V>>>,
}

impl<V> Memo<V> {
    pub const fn new() -> Self {
        Memo { entries: RefCell::new(BTreeMap::new()) }
    }

    /// `make(text)`, made once per text while the entry lasts.
    pub fn get(&self, text: &str, make: impl FnOnce(&str) -> V) -> Rc<V> {
        if let Some(kept) = self.entries.borrow().get(text) {
            return kept.clone();
        }
        // Made without the borrow held: `make` may use this memo itself.
        let made = Rc::new(make(text));
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= LIMIT {
            entries.clear();
        }
        entries.insert(text.to_owned(), made.clone());
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_made_once_and_the_memo_starts_over_past_its_limit() {
        let memo = Memo::new();
        let made = std::cell::Cell::new(0);
        let make = |t: &str| {
            made.set(made.get() + 1);
            t.len()
        };
        assert_eq!(*memo.get("abc", make), 3);
        assert_eq!(*memo.get("abc", make), 3);
        assert_eq!(made.get(), 1);
        for i in 0..LIMIT {
            memo.get(&i.to_string(), make);
        }
        assert!(memo.entries.borrow().len() < LIMIT, "cleared once full");
        memo.get("abc", make);
        assert_eq!(made.get(), 2 + LIMIT, "made again after the memo started over");
    }
}
