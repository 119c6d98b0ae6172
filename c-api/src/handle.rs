//! Handle tables: objects handed to C as `int64_t` ids that are checked on every use.
//!
//! An id packs `kind tag (7 bits) | generation (24 bits) | slot + 1 (32 bits)`, so it is always
//! positive and never 0. Freeing a slot bumps its generation; a freed, forged or other-kind id
//! fails the lookup (`DISTARR_ERR_HANDLE`) and is never used to reach memory. The tables live
//! as long as the thread, across init/finalize cycles, so ids are not reused by a later runtime
//! until a slot's generation wraps (2^24 frees of one slot).
#![allow(non_camel_case_types)]

use crate::status::{CError, CResult, DISTARR_ERR_HANDLE, DISTARR_ERR_NOMEM};

/// A non-blocking get or put in flight (from `distarr_get_nb` / `distarr_put_nb`). `0` is the
/// null request: never issued, or already completed by `distarr_wait` / `distarr_test`.
/// Owned by the caller until completed; completing it frees it.
pub type distarr_request = i64;

/// A distributed array (array functions; 0 is never a valid array).
pub type distarr_array = i64;

const SLOT_BITS: u32 = 32;
const GEN_BITS: u32 = 24;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;
const TAG_SHIFT: u32 = SLOT_BITS + GEN_BITS;

/// Kinds of handle, each with its own tag in the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `distarr_request`.
    Request = 1,
    /// `distarr_array`.
    Array = 2,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Request => "distarr_request",
            Kind::Array => "distarr_array",
        }
    }
}

struct Slot<T> {
    gen: u32,
    value: Option<T>,
}

/// A table of live objects of one kind.
pub(crate) struct Table<T> {
    kind: Kind,
    slots: Vec<Slot<T>>,
    free: Vec<usize>,
}

impl<T> Drop for Table<T> {
    /// The tables are thread-locals: one is dropped only when its thread ends, and then without
    /// `distarr_finalize` (which empties them), e.g. a C program returning from `main` after an
    /// error. Its objects are leaked, not dropped: freeing an array is collective and waiting
    /// for a request may need another rank, while the other ranks are not in those calls — the
    /// process would hang at exit instead of ending (and the launcher ending the job).
    fn drop(&mut self) {
        for slot in self.slots.drain(..) {
            std::mem::forget(slot.value);
        }
    }
}

impl<T> Table<T> {
    pub const fn new(kind: Kind) -> Table<T> {
        Table {
            kind,
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    fn id(&self, slot: usize, gen: u32) -> i64 {
        // slot < 2^32 - 1 and gen < 2^24 (checked at insert), tag < 2^7: the value is positive.
        ((self.kind as i64) << TAG_SHIFT) | (i64::from(gen) << SLOT_BITS) | (slot as i64 + 1)
    }

    /// Stores `value` and returns its new id.
    pub fn insert(&mut self, value: T) -> CResult<i64> {
        if let Some(slot) = self.free.pop() {
            self.slots[slot].value = Some(value);
            return Ok(self.id(slot, self.slots[slot].gen));
        }
        let slot = self.slots.len();
        if slot >= u32::MAX as usize - 1 {
            return Err(CError::new(
                DISTARR_ERR_NOMEM,
                format!("too many live {} handles", self.kind.name()),
            ));
        }
        self.slots.push(Slot {
            gen: 1,
            value: Some(value),
        });
        Ok(self.id(slot, 1))
    }

    /// The slot of a live id of this table's kind.
    fn slot(&self, id: i64) -> CResult<usize> {
        let bad = |why: &str| CError::new(DISTARR_ERR_HANDLE, format!("{} {id:#x} is {why}", self.kind.name()));
        if id <= 0 {
            return Err(bad("not a valid handle"));
        }
        let raw = id as u64;
        if raw >> TAG_SHIFT != self.kind as u64 {
            return Err(bad("not a handle of this kind"));
        }
        let gen = ((raw >> SLOT_BITS) & GEN_MASK) as u32;
        let slot = ((raw & u64::from(u32::MAX)) as usize)
            .checked_sub(1)
            .ok_or_else(|| bad("not a valid handle"))?;
        match self.slots.get(slot) {
            Some(s) if s.gen == gen && s.value.is_some() => Ok(slot),
            Some(s) if s.gen != gen => Err(bad("stale (already freed or completed)")),
            _ => Err(bad("unknown (never issued)")),
        }
    }

    /// The object behind a live id.
    #[allow(dead_code)]
    pub fn get(&self, id: i64) -> CResult<&T> {
        let slot = self.slot(id)?;
        self.slots[slot]
            .value
            .as_ref()
            .ok_or_else(|| CError::new(DISTARR_ERR_HANDLE, "empty slot"))
    }

    /// The object behind a live id, mutably.
    pub fn get_mut(&mut self, id: i64) -> CResult<&mut T> {
        let slot = self.slot(id)?;
        self.slots[slot]
            .value
            .as_mut()
            .ok_or_else(|| CError::new(DISTARR_ERR_HANDLE, "empty slot"))
    }

    /// Removes a live id and returns its object; the id is stale afterwards.
    pub fn remove(&mut self, id: i64) -> CResult<T> {
        let slot = self.slot(id)?;
        Ok(self.take_slot(slot).expect("slot() checked the value is present"))
    }

    fn take_slot(&mut self, slot: usize) -> Option<T> {
        let s = &mut self.slots[slot];
        let v = s.value.take()?;
        // Generation 0 is skipped so that a wrapped generation still differs from the id
        // layout's "never issued" pattern.
        s.gen = if u64::from(s.gen) >= GEN_MASK { 1 } else { s.gen + 1 };
        self.free.push(slot);
        Some(v)
    }

    /// Removes every live object (in slot order), making every id stale.
    pub fn drain(&mut self) -> Vec<T> {
        (0..self.slots.len()).filter_map(|s| self.take_slot(s)).collect()
    }

    /// Number of live objects.
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        let mut t = Table::new(Kind::Request);
        let a = t.insert(10).unwrap();
        let b = t.insert(20).unwrap();
        assert!(a > 0 && b > 0 && a != b);
        assert_eq!(*t.get(a).unwrap(), 10);
        assert_eq!(t.remove(a).unwrap(), 10);
        assert_eq!(t.get(a).unwrap_err().code, DISTARR_ERR_HANDLE);
        assert_eq!(t.remove(a).unwrap_err().code, DISTARR_ERR_HANDLE);
        let c = t.insert(30).unwrap();
        assert_ne!(c, a, "a reused slot gets a new generation");
        assert_eq!(*t.get(c).unwrap(), 30);
        for forged in [0, -1, 1, i64::MAX, i64::MIN, c + 1, c ^ (1 << 40)] {
            assert_eq!(t.get(forged).unwrap_err().code, DISTARR_ERR_HANDLE, "{forged:#x}");
        }
        let other: Table<i32> = Table::new(Kind::Array);
        assert!(other.get(c).is_err(), "ids of another kind are refused");
        assert_eq!(t.len(), 2);
        assert_eq!(t.drain(), vec![30, 20]);
        assert!(t.get(b).is_err() && t.get(c).is_err());
    }

    #[test]
    fn generation_wraps_without_zero() {
        let mut t = Table::new(Kind::Request);
        let first = t.insert(()).unwrap();
        t.slots[0].gen = GEN_MASK as u32;
        t.slots[0].value = Some(());
        let id = t.id(0, GEN_MASK as u32);
        t.remove(id).unwrap();
        assert_eq!(t.slots[0].gen, 1);
        assert!(t.get(first).is_err(), "slot is free");
    }
}
