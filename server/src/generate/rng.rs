//! A small deterministic random source (SplitMix64). Every batch seeds its own from
//! (run seed, stream, index), so a batch is the same whether made first or after a
//! resume, and batches can be made in any order.

use chrono::{DateTime, Utc};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: &str, index: u64) -> Rng {
        // FNV-1a of the stream name keeps streams apart.
        let name =
            stream.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let mut r = Rng(seed ^ name.rotate_left(17) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index in `0..n` where low indexes are far likelier (a long tail).
    pub fn skewed(&mut self, n: usize) -> usize {
        ((self.unit().powi(3) * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// A ULID for time `at`: time-ordered like the console's own ids.
    pub fn ulid(&mut self, at: DateTime<Utc>) -> String {
        let random = (u128::from(self.next_u64()) << 64 | u128::from(self.next_u64())) & ((1u128 << 80) - 1);
        ulid::Ulid::from_parts(at.timestamp_millis().max(0) as u64, random).to_string()
    }

    /// `n` random bytes as lower-case hex.
    pub fn hex(&mut self, bytes: usize) -> String {
        (0..bytes.div_ceil(8)).map(|_| format!("{:016x}", self.next_u64())).collect::<String>()[..bytes * 2].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_numbers_other_inputs_others() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, "users", 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, "users", 3).next_u64(), Rng::new(7, "users", 4).next_u64());
        assert_ne!(Rng::new(7, "users", 3).next_u64(), Rng::new(7, "audit", 3).next_u64());
        let mut r = Rng::new(1, "x", 0);
        assert!((0..1000).all(|_| r.below(10) < 10 && r.skewed(40) < 40));
        assert_eq!(r.hex(32).len(), 64);
    }
}
