//! Deterministic, non-cryptographic hashes: FNV-1a (64-bit) for fingerprints and stable
//! names, SplitMix64 for seeded pseudo-random streams. Unlike std's `DefaultHasher`, their
//! output is fixed across runs, processes and Rust versions, which replayable simulations and
//! content hashes need.

/// FNV-1a, 64-bit: `h = (h ^ byte) * prime` over the bytes, from the offset basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Fnv1a {
    /// The standard 64-bit offset basis.
    pub const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;

    /// A hasher starting from the standard offset basis.
    pub const fn new() -> Self {
        Fnv1a(Self::OFFSET_BASIS)
    }

    /// A hasher starting from `basis`: a second basis gives a second, independent hash of the
    /// same bytes (two together make a 128-bit fingerprint).
    pub const fn with_basis(basis: u64) -> Self {
        Fnv1a(basis)
    }

    /// Feeds `bytes`; writing `a` then `b` equals writing their concatenation.
    pub fn write(&mut self, bytes: impl IntoIterator<Item = u8>) {
        self.0 = bytes.into_iter().fold(self.0, |h, b| (h ^ u64::from(b)).wrapping_mul(Self::PRIME));
    }

    /// The hash of everything written so far.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a (64-bit, standard basis) of `bytes`.
pub fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h = Fnv1a::new();
    h.write(bytes);
    h.finish()
}

/// One step of SplitMix64 (Steele, Lea and Flood): advances `state` by the golden-ratio
/// increment and returns the mixed output. A seed's sequence is fixed forever.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_vectors() {
        assert_eq!(fnv1a64([]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64("a".bytes()), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64("foobar".bytes()), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fnv1a_streams_and_bases() {
        let mut h = Fnv1a::default();
        h.write("foo".bytes());
        h.write("bar".bytes());
        assert_eq!(h.finish(), fnv1a64("foobar".bytes()));
        let mut other = Fnv1a::with_basis(0x8422_2325_cbf2_9ce4);
        other.write("foobar".bytes());
        assert_ne!(other.finish(), h.finish());
    }

    #[test]
    fn splitmix64_reference_sequence() {
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(&mut state), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(state, 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(2));
    }
}
