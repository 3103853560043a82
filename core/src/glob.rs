//! Glob-style pattern matching with the semantics of Redis 7.0's `stringmatchlen`, the dialect shared by
//! KEYS, SCAN MATCH, CONFIG GET and friends: `*`, `?`, `[...]` classes (negation, ranges, escapes) and `\`
//! escapes, over arbitrary bytes.
//!
//! Redis matches recursively and relies on a shared `skipLongerMatches` flag (and, later, a nesting cap)
//! to stay out of exponential time. This module instead walks the pattern iteratively and, on a mismatch,
//! backtracks only to the most recent `*`. That is enough because every token other than `*` consumes
//! exactly one byte: letting an earlier star swallow more bytes can only shift the text left for the later
//! star, which already tries every shift. The matcher therefore uses constant stack, never allocates, and
//! runs in O(pattern length x string length) time at worst, whatever the pattern.
//!
//! Redis's quirks are reproduced on purpose, because clients observe them:
//! - An empty string matches only the empty pattern; even `*` does not match it. (KEYS and SCAN answer a
//!   bare `*` without calling the matcher; callers that want that shortcut must apply it themselves.)
//! - `[` with no closing `]` runs to the end of the pattern, and the bytes after it form the class.
//! - `]` straight after `[` or `[^` closes the class, so `[]` matches nothing and `[^]` matches any byte.
//! - A range is swapped when reversed (`[z-a]` is `[a-z]`), and its end may be `]` (`[a-]` is an
//!   unterminated class holding the range `]`..`a`).
//! - Under `nocase`, a range's ends are swapped first and lowercased second, so `[Z-a]` matches nothing
//!   and `[A-z]` does not match `[`; an escaped byte inside a class is always compared case-sensitively.
//! - A trailing `\`, inside a class or out, is a literal backslash.
//! - Case folding is ASCII only (the C locale's `tolower`).
//!
//! One deliberate difference: bytes compare as unsigned values in ranges. Redis compares C `char`s, which
//! are signed on x86-64 (where `[a-\xff]` means `\xff`..`a`) and unsigned on AArch64; Ember always
//! behaves like the latter, so ranges order bytes 0 to 255.

/// Reports whether `string` matches the glob `pattern`, exactly as Redis 7.0's
/// `stringmatchlen(pattern, string, nocase)` would (see the module documentation for the quirks).
///
/// `nocase` folds ASCII letters, as CONFIG GET does; KEYS and SCAN MATCH pass `false`.
///
/// Complexity: O(P * S) time for a pattern of P bytes and a string of S bytes, O(1) space, no recursion.
///
/// ```
/// use ember_core::glob::glob_match;
/// assert!(glob_match(b"user:[0-9]*", b"user:42:name", false));
/// assert!(glob_match(b"MAXMEMORY*", b"maxmemory-policy", true));
/// assert!(!glob_match(b"*", b"", false));
/// ```
/// Most non-trailing star groups a pattern may pass through while matching (Redis's nesting limit).
pub const NESTING_MAX: usize = 1000;

pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    // Redis's loop runs only while both sides are non-empty and strips trailing stars only after it has
    // consumed a byte, so the empty string never reaches that strip.
    if string.is_empty() {
        return pattern.is_empty();
    }
    let mut p = 0;
    let mut s = 0;
    // After a star: where the rest of the pattern starts, and where in the string that rest is being tried.
    let mut backtrack: Option<(usize, usize)> = None;
    let mut stars = 0usize;
    // Each pass either consumes a byte of both sides or moves `backtrack` one byte right, and the pattern
    // index only grows between moves, so the loop ends within (P + 1) * (S + 1) passes.
    loop {
        debug_assert!(p <= pattern.len() && s <= string.len());
        let Some(&byte) = string.get(s) else {
            // Once the string runs out, only stars may remain; shifting an earlier star right would leave
            // even fewer bytes for the same tokens, so there is nothing to backtrack to.
            return pattern
                .get(p..)
                .is_some_and(|rest| rest.iter().all(|&b| b == b'*'));
        };
        match pattern.get(p) {
            Some(b'*') => {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                // Redis gives up on patterns that need more than NESTING_MAX stars (its matcher recurses
                // once per star); refuse them the same way so KEYS and SCAN answer identically.
                stars += 1;
                if stars > NESTING_MAX {
                    return false;
                }
                backtrack = Some((p, s));
                continue;
            }
            Some(_) => {
                if let Some(next) = match_token(pattern, p, byte, nocase) {
                    p = next;
                    s += 1;
                    continue;
                }
            }
            None => {}
        }
        // Mismatch, or pattern exhausted with bytes left: let the last star swallow one more byte.
        let Some((star_p, star_s)) = backtrack else {
            return false;
        };
        p = star_p;
        s = star_s + 1;
        backtrack = Some((p, s));
    }
}

/// Matches the single non-star token at `pattern[p]` against the byte `c`. Returns the index just past
/// the token if it matches.
fn match_token(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<usize> {
    let (matched, next) = match pattern.get(p) {
        Some(b'?') => (true, p + 1),
        Some(b'[') => match_class(pattern, p + 1, c, nocase),
        // An escape needs a byte to escape; a trailing backslash stands for itself.
        Some(b'\\') => match pattern.get(p + 1) {
            Some(&escaped) => (eq(escaped, c, nocase), p + 2),
            None => (eq(b'\\', c, nocase), p + 1),
        },
        Some(&literal) => (eq(literal, c, nocase), p + 1),
        None => (false, p),
    };
    matched.then_some(next)
}

/// Matches the class whose body starts at `pattern[i]` (just past the `[`) against `c`. Returns whether it
/// matched and the index just past the closing `]`, or the pattern's end if the class is unterminated.
fn match_class(pattern: &[u8], mut i: usize, c: u8, nocase: bool) -> (bool, usize) {
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    // The order of these arms is the grammar: an escape beats `]`, and `]` beats the start of a range.
    while let Some(&b) = pattern.get(i) {
        match (b, pattern.get(i + 1), pattern.get(i + 2)) {
            (b'\\', Some(&escaped), _) => {
                matched |= escaped == c;
                i += 2;
            }
            (b']', _, _) => return (matched != negate, i + 1),
            (start, Some(b'-'), Some(&end)) => {
                matched |= in_range(start, end, c, nocase);
                i += 3;
            }
            (literal, _, _) => {
                matched |= eq(literal, c, nocase);
                i += 1;
            }
        }
    }
    (matched != negate, i)
}

/// Whether `c` lies in the range `a-b`: the ends are ordered first and case-folded second, as in Redis.
fn in_range(a: u8, b: u8, c: u8, nocase: bool) -> bool {
    let (mut lo, mut hi, mut c) = if a <= b { (a, b, c) } else { (b, a, c) };
    if nocase {
        lo = lo.to_ascii_lowercase();
        hi = hi.to_ascii_lowercase();
        c = c.to_ascii_lowercase();
    }
    lo <= c && c <= hi
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::{glob_match, NESTING_MAX};
    use std::vec::Vec;

    fn m(pattern: &[u8], string: &[u8]) -> bool {
        glob_match(pattern, string, false)
    }

    fn mi(pattern: &[u8], string: &[u8]) -> bool {
        glob_match(pattern, string, true)
    }

    #[test]
    fn empty_pattern_and_string() {
        assert!(m(b"", b""));
        assert!(!m(b"", b"a"));
        assert!(!m(b"a", b""));
        assert!(!m(b"?", b""));
        assert!(!m(b"[^", b""));
        // Redis quirk: no pattern but the empty one matches the empty string, not even `*`.
        assert!(!m(b"*", b""));
        assert!(!m(b"**", b""));
        assert!(!mi(b"*", b""));
    }

    #[test]
    fn literals() {
        assert!(m(b"hello", b"hello"));
        assert!(!m(b"hello", b"hell"));
        assert!(!m(b"hell", b"hello"));
        assert!(!m(b"hello", b"helLo"));
        assert!(!m(b"hello", b"hellx"));
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m(b"*", b"anything"));
        assert!(m(b"*", b"x"));
        assert!(m(b"h*o", b"ho"));
        assert!(m(b"h*o", b"hello"));
        assert!(!m(b"h*o", b"hellx"));
        assert!(m(b"*llo", b"hello"));
        assert!(m(b"he*", b"he"));
        assert!(m(b"he*", b"hello"));
        assert!(m(b"a*", b"a"));
        assert!(m(b"a**", b"a"));
        assert!(m(b"a*b*", b"ab"));
        assert!(!m(b"a*?", b"a"));
        assert!(m(b"a*?", b"ab"));
        assert!(m(b"*a", b"a"));
        assert!(m(b"***a***", b"a"));
        assert!(m(b"h?llo", b"hallo"));
        assert!(!m(b"h?llo", b"hllo"));
        assert!(m(b"???", b"abc"));
        assert!(!m(b"???", b"ab"));
        assert!(!m(b"???", b"abcd"));
        assert!(m(b"*?*", b"z"));
        assert!(m(b"*a*b*c*", b"xxaxxbxxcxx"));
        assert!(!m(b"*a*b*c*", b"xxcxxbxxaxx"));
        assert!(m(b"*ab", b"aab"));
        assert!(m(b"*aab", b"aaab"));
        assert!(m(b"a*b*c", b"abbbbcbc"));
        assert!(!m(b"a*b*c", b"abbbbcb"));
    }

    #[test]
    fn classes() {
        assert!(m(b"h[ae]llo", b"hello"));
        assert!(m(b"h[ae]llo", b"hallo"));
        assert!(!m(b"h[ae]llo", b"hillo"));
        assert!(m(b"h[^e]llo", b"hallo"));
        assert!(!m(b"h[^e]llo", b"hello"));
        assert!(m(b"h[a-b]llo", b"hbllo"));
        assert!(!m(b"h[a-b]llo", b"hcllo"));
        assert!(m(b"[0-9][0-9]", b"42"));
        assert!(!m(b"[^0-9]", b"4"));
        assert!(m(b"[a-cx-z]", b"y"));
        assert!(!m(b"[a-cx-z]", b"m"));
        // Reversed ranges are swapped.
        assert!(m(b"[z-a]", b"m"));
        assert!(m(b"[9-0]", b"0"));
        // `-` is literal where it cannot form a range; `--z` is a range from `-`.
        assert!(m(b"[-a]", b"-"));
        assert!(m(b"[--z]", b"-"));
        assert!(m(b"[--z]", b"q"));
        // `^` is special only first.
        assert!(m(b"[a^]", b"^"));
        assert!(m(b"[^^]", b"a"));
        assert!(!m(b"[^^]", b"^"));
    }

    #[test]
    fn class_edge_cases() {
        // `]` right after `[` closes an empty class.
        assert!(!m(b"[]", b"]"));
        assert!(!m(b"[]]", b"]"));
        assert!(!m(b"[]a", b"a"));
        assert!(m(b"[^]", b"x"));
        assert!(m(b"[^]]", b"x]"));
        // A range may end in `]`, which then no longer closes the class.
        assert!(m(b"[a-]", b"a"));
        assert!(m(b"[a-]", b"^"));
        assert!(!m(b"[a-]", b"b"));
        assert!(!m(b"[a-]x", b"ax"));
        assert!(m(b"[a-]x", b"x"));
        assert!(m(b"[a-]x]b", b"xb"));
        // A range's end is never an escape.
        assert!(m(b"[a-\\]", b"^"));
        assert!(!m(b"[a-\\]", b"b"));
        assert!(m(b"[a-\\]x", b"^x"));
        // Unterminated classes run to the end of the pattern.
        assert!(m(b"[abc", b"b"));
        assert!(!m(b"[abc", b"d"));
        assert!(!m(b"[abc", b"ab"));
        assert!(!m(b"[", b"["));
        assert!(!m(b"[", b"x"));
        assert!(m(b"[^", b"x"));
        assert!(m(b"[^", b"["));
        assert!(!m(b"a[", b"a"));
        assert!(!m(b"a[", b"a["));
        assert!(m(b"x*[yz", b"xaaz"));
    }

    #[test]
    fn escapes() {
        assert!(m(b"\\*", b"*"));
        assert!(!m(b"\\*", b"a"));
        assert!(m(b"\\?", b"?"));
        assert!(!m(b"\\?", b"x"));
        assert!(m(b"\\[a]", b"[a]"));
        assert!(!m(b"\\[a]", b"a"));
        assert!(m(b"\\\\", b"\\"));
        assert!(m(b"\\a", b"a"));
        assert!(m(b"a\\*b*", b"a*bcd"));
        assert!(!m(b"a\\*b*", b"axbcd"));
        // A trailing backslash is a literal backslash.
        assert!(m(b"\\", b"\\"));
        assert!(m(b"a\\", b"a\\"));
        assert!(!m(b"a\\", b"a"));
        assert!(m(b"*\\", b"xx\\"));
        // Escapes inside classes.
        assert!(m(b"[\\]]", b"]"));
        assert!(m(b"[\\]a]", b"a"));
        assert!(m(b"[\\^a]", b"^"));
        assert!(m(b"[a\\-z]", b"-"));
        assert!(!m(b"[a\\-z]", b"b"));
        assert!(m(b"[\\\\]", b"\\"));
        assert!(m(b"[^\\]]", b"a"));
        assert!(!m(b"[^\\]]", b"]"));
        // A trailing backslash inside an unterminated class is literal too.
        assert!(m(b"[a\\", b"\\"));
        assert!(m(b"[\\", b"\\"));
    }

    #[test]
    fn nocase() {
        assert!(mi(b"HELLO", b"hello"));
        assert!(!m(b"HELLO", b"hello"));
        assert!(mi(b"h*O", b"HELLo"));
        assert!(mi(b"[A-Z]", b"q"));
        assert!(mi(b"[a-z]", b"Q"));
        assert!(mi(b"[ABC]", b"b"));
        assert!(mi(b"[^ABC]", b"d"));
        assert!(!mi(b"[^ABC]", b"b"));
        assert!(mi(b"\\A", b"a"));
        // Range ends are swapped before lowercasing, as in Redis.
        assert!(m(b"[A-z]", b"["));
        assert!(!mi(b"[A-z]", b"["));
        assert!(mi(b"[A-z]", b"Q"));
        assert!(m(b"[Z-a]", b"_"));
        assert!(!mi(b"[Z-a]", b"_"));
        assert!(!mi(b"[Z-a]", b"z"));
        assert!(!mi(b"[Z-a]", b"a"));
        // An escaped byte inside a class ignores nocase.
        assert!(mi(b"[\\A]", b"A"));
        assert!(!mi(b"[\\A]", b"a"));
        // Folding is ASCII only.
        assert!(!mi(&[0xC4], &[0xE4]));
        assert!(mi(&[0xC4], &[0xC4]));
        assert!(mi(b"MAXMEMORY*", b"maxmemory-policy"));
    }

    #[test]
    fn binary_safe() {
        assert!(m(b"a\0*", b"a\0b\0"));
        assert!(!m(b"a\0", b"a"));
        assert!(m(b"?", &[0xFF]));
        assert!(m(b"?", &[0]));
        assert!(m(&[b'[', 0, b']'], &[0]));
        assert!(m(&[b'*', 0xFF], &[1, 2, 0xFF]));
        // Ranges order bytes as unsigned values.
        assert!(m(&[b'[', 1, b'-', 0xFF, b']'], &[0x80]));
        assert!(!m(&[b'[', 1, b'-', 0xFF, b']'], &[0]));
        assert!(m(&[b'[', b'a', b'-', 0xFF, b']'], &[0xF0]));
        assert!(!m(&[b'[', b'a', b'-', 0xFF, b']'], b"A"));
    }

    #[test]
    fn many_stars_do_not_recurse() {
        let stars = b"*".repeat(100_000);
        assert!(m(&stars, b"abc"));
        assert!(!m(&stars, b""));
        let mut pattern = stars.clone();
        pattern.push(b'b');
        let key = b"a".repeat(10_000);
        assert!(!m(&pattern, &key));
        let mut key_b = key.clone();
        key_b.push(b'b');
        assert!(m(&pattern, &key_b));
        // Alternating stars: each star restarts the backtracking point.
        let alternating = b"*a".repeat(NESTING_MAX);
        assert!(!m(&alternating, &key[..NESTING_MAX - 1]));
        assert!(m(&alternating, &b"a".repeat(NESTING_MAX)));
        assert!(m(&alternating, &b"ba".repeat(NESTING_MAX)));
        // Past the nesting limit Redis reports no match, and so does Ember (keyspace.tcl checks this).
        let too_deep = b"*?".repeat(50_000);
        assert!(!m(&too_deep, &b"a".repeat(50_000)));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let start = std::time::Instant::now();
        let key = b"a".repeat(10_000);
        let mut redis_regression = b"a*".repeat(52);
        redis_regression.push(b'b');
        assert!(!m(&redis_regression, &key));
        assert!(!m(b"a*a*a*a*a*a*a*a*a*a*a*a*b", &key));
        assert!(!mi(b"A*A*A*A*A*A*A*A*A*A*A*A*B", &key));
        assert!(m(b"a*a*a*a*a*a*a*a*a*a*a*a*a", &key));
        let mut stars_then_b = b"a*".repeat(5_000);
        stars_then_b.push(b'b');
        assert!(!m(&stars_then_b, &key));
        // The O(P * S) worst case: a long literal after the star that almost matches everywhere.
        let mut long_tail = b"*".to_vec();
        long_tail.extend_from_slice(&b"a".repeat(1_000));
        long_tail.push(b'b');
        assert!(!m(&long_tail, &key));
        let mut class_tail = b"*".to_vec();
        class_tail.extend_from_slice(&b"[a-c]".repeat(200));
        class_tail.push(b'b');
        assert!(!m(&class_tail, &key));
        // Not an assertion, since test machines vary; a regression shows up as a hung test.
        std::eprintln!("pathological glob patterns took {:?}", start.elapsed());
    }

    /// Redis's algorithm restated as plainly as possible, as the oracle: a cursor walk that recurses at
    /// each star, tries the rest of the pattern at every non-empty suffix, and treats the end of the
    /// pattern as a NUL byte the way the C code's string terminator does. Exponential time, so callers keep
    /// inputs short.
    fn reference(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
        // Past the end reads as NUL, as in the C code.
        let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
        let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
        let (mut p, mut s) = (0, 0);
        while p < pattern.len() && s < string.len() {
            let c = string[s];
            match pattern[p] {
                b'*' => {
                    while at(p + 1) == b'*' {
                        p += 1;
                    }
                    if p + 1 == pattern.len() {
                        return true;
                    }
                    return (s..string.len())
                        .any(|k| reference(&pattern[p + 1..], &string[k..], nocase));
                }
                b'?' => {}
                b'[' => {
                    p += 1;
                    let negate = at(p) == b'^';
                    if negate {
                        p += 1;
                    }
                    let mut hit = false;
                    loop {
                        let left = pattern.len() - p.min(pattern.len());
                        if at(p) == b'\\' && left >= 2 {
                            p += 1;
                            hit |= at(p) == c;
                        } else if at(p) == b']' && left > 0 {
                            break;
                        } else if left == 0 {
                            p -= 1;
                            break;
                        } else if left >= 3 && at(p + 1) == b'-' {
                            let (lo, hi) = (at(p).min(at(p + 2)), at(p).max(at(p + 2)));
                            hit |= fold(lo) <= fold(c) && fold(c) <= fold(hi);
                            p += 2;
                        } else {
                            hit |= fold(at(p)) == fold(c);
                        }
                        p += 1;
                    }
                    if hit == negate {
                        return false;
                    }
                }
                other => {
                    let literal = if other == b'\\' && p + 1 < pattern.len() {
                        p += 1;
                        pattern[p]
                    } else {
                        other
                    };
                    if fold(literal) != fold(c) {
                        return false;
                    }
                }
            }
            p += 1;
            s += 1;
            if s == string.len() {
                while at(p) == b'*' {
                    p += 1;
                }
                break;
            }
        }
        p == pattern.len() && s == string.len()
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick(&mut self, alphabet: &[u8]) -> u8 {
            alphabet[(self.next() % alphabet.len() as u64) as usize]
        }

        fn bytes(&mut self, alphabet: &[u8], len_max: u64) -> Vec<u8> {
            let len = self.next() % (len_max + 1);
            (0..len).map(|_| self.pick(alphabet)).collect()
        }
    }

    #[test]
    fn reference_agrees_on_hand_picked_cases() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"*", b""),
            (b"[a-]x", b"ax"),
            (b"[^", b"x"),
            (b"[a\\", b"\\"),
            (b"[Z-a]", b"_"),
            (b"a*?", b"ab"),
            (b"[\\]", b"]"),
        ];
        for &(pattern, string) in cases {
            for nocase in [false, true] {
                assert_eq!(
                    glob_match(pattern, string, nocase),
                    reference(pattern, string, nocase),
                    "pattern {pattern:?} string {string:?} nocase {nocase}"
                );
            }
        }
    }

    #[test]
    fn agrees_with_reference_on_random_inputs() {
        const PATTERN_ALPHABET: &[u8] = b"ab*?[]^-\\AZz_\0\xff";
        const STRING_ALPHABET: &[u8] = b"abAB-]^\\[z_\0\xff";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200_000 {
            let pattern = rng.bytes(PATTERN_ALPHABET, 9);
            let string = rng.bytes(STRING_ALPHABET, 8);
            let nocase = rng.next() & 1 == 1;
            assert_eq!(
                glob_match(&pattern, &string, nocase),
                reference(&pattern, &string, nocase),
                "pattern {pattern:?} string {string:?} nocase {nocase}"
            );
        }
    }

    #[test]
    fn agrees_with_reference_exhaustively_on_tiny_inputs() {
        const PATTERN_ALPHABET: &[u8] = b"a*?[]^-\\";
        const STRING_ALPHABET: &[u8] = b"a]-\\";
        let strings = all_strings(STRING_ALPHABET, 3);
        for pattern in all_strings(PATTERN_ALPHABET, 4) {
            for string in &strings {
                for nocase in [false, true] {
                    assert_eq!(
                        glob_match(&pattern, string, nocase),
                        reference(&pattern, string, nocase),
                        "pattern {pattern:?} string {string:?} nocase {nocase}"
                    );
                }
            }
        }
    }

    /// Every string over `alphabet` of length at most `len_max`.
    fn all_strings(alphabet: &[u8], len_max: usize) -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = Vec::new();
        all.push(Vec::new());
        let mut start = 0;
        for _ in 0..len_max {
            let end = all.len();
            for i in start..end {
                for &b in alphabet {
                    let mut longer = all[i].clone();
                    longer.push(b);
                    all.push(longer);
                }
            }
            start = end;
        }
        all
    }
}
