//! The prefilter of the detector: where the literals of the table (each shape's triggers, the
//! words of secret names, the openers of structures) are in a text.
//!
//! A table indexed by a literal's first two bytes says, for every position of the text, whether
//! some literal may start there, and which ones to compare; one lookup a byte, without a branch
//! the predictor misses on ordinary text. This replaced a Teddy (SIMD) search of the same
//! literals: with about a hundred short literals, many of them lowercase words, Teddy's
//! fingerprints matched most positions of kubectl output and it spent its time verifying them
//! (`benches/redact.rs` measured it at a third of the whole pass). Every occurrence of every
//! literal is found, overlapping ones included, so what a line's literals lead to does not
//! depend on the search.
//!
//! To change the literals, change the table ([`super::kinds`]); literals must be 2 bytes or
//! longer, and at most 255 distinct pairs of first bytes are supported (the table has 255 in
//! mind: [`Literals::new`] says so when there are more).

/// The literals, by their first two bytes.
pub struct Literals {
    /// For each pair of bytes `a << 8 | b`: 0, or 1 + the index in `buckets` of the literals
    /// that start with `a`, `b`.
    pairs: Box<[u8; 1 << 16]>,
    /// Indexes in `bytes`, one list per pair of first bytes.
    buckets: Vec<Vec<usize>>,
    /// Each literal's first 8 bytes (fewer when it is shorter) as a little-endian word, and
    /// the mask of those bytes: most literals are compared in one step.
    heads: Vec<(u64, u64)>,
    bytes: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Literals")
            .field("literals", &self.bytes.len())
            .field("pairs", &self.buckets.len())
            .finish_non_exhaustive()
    }
}

fn pair(a: u8, b: u8) -> usize {
    usize::from(a) << 8 | usize::from(b)
}

impl Literals {
    /// The literals, numbered in the order given.
    pub fn new<S: AsRef<[u8]>>(literals: &[S]) -> Result<Self, String> {
        let mut pairs: Box<[u8; 1 << 16]> = vec![0u8; 1 << 16]
            .into_boxed_slice()
            .try_into()
            .map_err(|_| "the table of pairs has the wrong size".to_owned())?;
        let mut buckets: Vec<Vec<usize>> = Vec::new();
        for (id, literal) in literals.iter().enumerate() {
            let &[a, b, ..] = literal.as_ref() else {
                return Err(format!(
                    "the literal {:?} is shorter than 2 bytes",
                    String::from_utf8_lossy(literal.as_ref())
                ));
            };
            let slot = &mut pairs[pair(a, b)];
            if *slot == 0 {
                buckets.push(Vec::new());
                *slot = u8::try_from(buckets.len())
                    .map_err(|_| "more than 255 pairs of first bytes in the literals".to_owned())?;
            }
            buckets[usize::from(*slot) - 1].push(id);
        }
        let heads = literals
            .iter()
            .map(|l| {
                let l = l.as_ref();
                let mut head = [0u8; 8];
                let mut mask = [0u8; 8];
                let n = l.len().min(8);
                head[..n].copy_from_slice(&l[..n]);
                mask[..n].fill(0xff);
                (u64::from_le_bytes(head), u64::from_le_bytes(mask))
            })
            .collect();
        Ok(Self {
            pairs,
            buckets,
            heads,
            bytes: literals.iter().map(|l| l.as_ref().to_vec()).collect(),
        })
    }

    /// The literals that start at `at`, given the bucket of its two bytes.
    fn at<'a>(
        &'a self,
        haystack: &'a [u8],
        at: usize,
        slot: u8,
    ) -> impl Iterator<Item = usize> + 'a {
        let rest = &haystack[at..];
        let word = rest
            .get(..8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes);
        self.buckets[usize::from(slot) - 1]
            .iter()
            .copied()
            .filter(move |id| {
                let literal = &self.bytes[*id];
                match word {
                    Some(word) => {
                        let (head, mask) = self.heads[*id];
                        word & mask == head && (literal.len() <= 8 || rest.starts_with(literal))
                    }
                    None => rest.starts_with(literal),
                }
            })
    }

    /// Where the first literal at or after `from` starts.
    pub fn find(&self, haystack: &[u8], from: usize) -> Option<usize> {
        let hay = haystack.get(from..)?;
        hay.windows(2).enumerate().find_map(|(i, w)| {
            let slot = self.pairs[pair(w[0], w[1])];
            (slot != 0 && self.at(hay, i, slot).next().is_some()).then_some(from + i)
        })
    }

    /// Every occurrence of every literal in `haystack`, overlapping ones included, by where
    /// it starts: `(literal, start, end)`.
    pub fn each(&self, haystack: &[u8], mut found: impl FnMut(usize, usize, usize)) {
        for (i, w) in haystack.windows(2).enumerate() {
            let slot = self.pairs[pair(w[0], w[1])];
            if slot != 0 {
                for id in self.at(haystack, i, slot) {
                    found(id, i, i + self.bytes[id].len());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(l: &Literals, text: &str) -> Vec<(usize, usize, usize)> {
        let mut v = Vec::new();
        l.each(text.as_bytes(), |id, s, e| v.push((id, s, e)));
        v
    }

    #[test]
    fn finds_every_occurrence_overlapping_ones_too() {
        let l = Literals::new(&["key", "keystore", "ey", "ab"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            all(&l, "keystore key"),
            [(0, 0, 3), (1, 0, 8), (2, 1, 3), (0, 9, 12), (2, 10, 12)]
        );
        // At the very end, and a literal cut by the end is not there.
        assert_eq!(all(&l, "xab"), [(3, 1, 3)]);
        assert_eq!(all(&l, "keysto"), [(0, 0, 3), (2, 1, 3)]);
        assert_eq!(l.find(b"xxab", 0), Some(2));
        assert_eq!(l.find(b"xxab", 2), Some(2));
        assert_eq!(l.find(b"xxab", 3), None);
        assert_eq!(l.find(b"kexkeab", 0), Some(5));
        assert_eq!(l.find(b"ke", 0), None);
        assert_eq!(l.find(b"", 0), None);
        assert_eq!(l.find(b"ab", 9), None);
    }

    #[test]
    fn refuses_what_it_cannot_hold() {
        assert!(Literals::new(&["k"]).is_err());
        let many: Vec<[u8; 2]> = (0u16..300).map(u16::to_be_bytes).collect();
        assert!(Literals::new(&many).is_err());
    }
}
