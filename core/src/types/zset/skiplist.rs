//! The scalable sorted-set encoding: a skip list ordered by (score, member) whose links carry spans
//! (how many elements a link jumps over), so ranks and rank-addressed access cost O(log n). It follows
//! Redis's `zskiplist` (William Pugh's skip list with Redis's span augmentation and backward links).
//!
//! Nodes live in one arena vector and point at each other through 32-bit handles instead of pointers:
//! no unsafe code, half the link size, and a freed slot is reused by the next insert. A node is one
//! cache line holding its member (inline up to 22 bytes), score and links on levels 0 and 1, so a
//! search step costs one cache miss; the links above level 1 (one node in sixteen has any) are a run
//! in a second arena, `uppers`, so no node needs a heap block of its own; freed runs are kept by
//! length for the next node of that height. Slot 0 is the
//! header, which holds no element and has every level. When free slots come to outnumber live nodes
//! three to one (after mass deletions) the arena is rebuilt compactly, so memory follows the live size.
//! Handles are therefore only valid until the next mutation; callers never keep them.

use alloc::vec;
use alloc::vec::Vec;
use core::mem::{replace, size_of};

use crate::table::prefetch;
use crate::types::string::CompactStr;

/// No node: the end of a level, or the `prev` of the first node.
pub const NIL: u32 = u32::MAX;
/// The header's slot.
const HEAD: u32 = 0;
/// Most levels a node can have (Redis `ZSKIPLIST_MAXLEVEL`): enough for 4^32 elements.
pub const LEVEL_MAX: usize = 32;
/// The arena is compacted only once it has at least this many free slots (and 3x the live nodes).
const COMPACT_FREE_MIN: usize = 64;

/// One level of a node: the next node on that level and how many elements the link moves forward.
/// The last link of a level keeps the distance to the end of the list, as in Redis.
#[derive(Clone, Copy, Debug)]
struct Link {
    next: u32,
    span: u32,
}

const END: Link = Link { next: NIL, span: 0 };

#[derive(Clone, Debug)]
#[repr(align(64))]
struct Node {
    member: CompactStr,
    score: f64,
    /// The previous node on level 0, or [`NIL`] for the first node.
    prev: u32,
    /// Level 0, inline: three nodes in four have no other level.
    base: Link,
    /// Level 1, inline too (meaningful when `levels >= 2`).
    l1: Link,
    /// Where levels 2 and up start in [`SkipList::uppers`] (`levels - 2` links).
    upper_at: u32,
    /// The node's height (at least 1).
    levels: u8,
}

// A node is one cache line: the member (inline up to 22 bytes), the score, the links of levels 0
// and 1, the back link and where its higher links are.
const _: () = assert!(size_of::<Node>() == 64);

/// The bytes of a member (members are stored with `CompactStr::from_bytes`, never integer-encoded).
#[inline]
pub fn bytes(m: &CompactStr) -> &[u8] {
    m.raw().unwrap_or(&[])
}

/// Whether (a_score, a_member) sorts strictly before (b_score, b_member).
#[inline]
fn before(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> bool {
    a_score < b_score || (a_score == b_score && a_member < b_member)
}

#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    /// Levels in use (at least 1).
    level: usize,
    /// xorshift64* state for level draws.
    rng: u64,
    /// The links above level 0 of every node, a run per node.
    uppers: Vec<Link>,
    /// Freed runs of `uppers`, by length - 1.
    free_uppers: Vec<Vec<u32>>,
    /// Heap bytes of long (not inline) members.
    member_heap: usize,
}

impl SkipList {
    pub fn new(seed: u64) -> Self {
        let head = Node {
            member: CompactStr::EMPTY,
            score: 0.0,
            prev: NIL,
            base: END,
            l1: END,
            upper_at: 0,
            levels: LEVEL_MAX as u8,
        };
        SkipList {
            nodes: vec![head],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            rng: seed | 1,
            uppers: vec![END; LEVEL_MAX - 2],
            free_uppers: Vec::new(),
            member_heap: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes owned by the list.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * size_of::<Node>()
            + self.free.capacity() * size_of::<u32>()
            + self.uppers.capacity() * size_of::<Link>()
            + self.free_uppers.capacity() * size_of::<Vec<u32>>()
            + self
                .free_uppers
                .iter()
                .map(|f| f.capacity() * size_of::<u32>())
                .sum::<usize>()
            + self.member_heap
    }

    /// Heap bytes of the members alone (members of up to 22 bytes are inline and count 0).
    pub fn member_heap(&self) -> usize {
        self.member_heap
    }

    #[inline]
    fn link(&self, x: u32, i: usize) -> Link {
        let n = &self.nodes[x as usize];
        if i == 0 {
            n.base
        } else if i == 1 {
            n.l1
        } else {
            self.uppers[n.upper_at as usize + i - 2]
        }
    }

    #[inline]
    fn link_mut(&mut self, x: u32, i: usize) -> &mut Link {
        let n = &mut self.nodes[x as usize];
        if i == 0 {
            &mut n.base
        } else if i == 1 {
            &mut n.l1
        } else {
            &mut self.uppers[n.upper_at as usize + i - 2]
        }
    }

    /// Starts loading the node a search drops to when it stops at `x` on level `i`, while the
    /// comparison on level `i` is still waiting for its own node: the two cache misses overlap.
    #[inline(always)]
    fn prefetch_below(&self, x: u32, i: usize) {
        if i > 0 {
            if let Some(n) = self.nodes.get(self.link(x, i - 1).next as usize) {
                prefetch(n);
            }
        }
    }

    /// Whether node `x` sorts strictly before (score, member).
    #[inline]
    fn node_before(&self, x: u32, score: f64, member: &[u8]) -> bool {
        let n = &self.nodes[x as usize];
        before(n.score, bytes(&n.member), score, member)
    }

    /// The member and score of node `x`.
    #[inline]
    pub fn entry(&self, x: u32) -> (&[u8], f64) {
        let n = &self.nodes[x as usize];
        (bytes(&n.member), n.score)
    }

    #[inline]
    pub fn first(&self) -> u32 {
        self.link(HEAD, 0).next
    }

    #[inline]
    pub fn last(&self) -> u32 {
        self.tail
    }

    #[inline]
    pub fn next(&self, x: u32) -> u32 {
        self.link(x, 0).next
    }

    #[inline]
    pub fn prev(&self, x: u32) -> u32 {
        self.nodes[x as usize].prev
    }

    /// A level between 1 and [`LEVEL_MAX`], each further level with probability 1/4 (Redis's
    /// `ZSKIPLIST_P`): every pair of zero bits at the bottom of a random word adds one.
    fn random_level(&mut self) -> usize {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (1 + r.trailing_zeros() as usize / 2).min(LEVEL_MAX)
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(x) => {
                self.nodes[x as usize] = node;
                x
            }
            None => {
                // Handles are 32-bit: a list cannot outgrow u32::MAX - 1 nodes (hundreds of GiB).
                debug_assert!(self.nodes.len() < NIL as usize);
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// A run of `n` links in `uppers` for a new node (a freed run of that length when there is one).
    fn alloc_uppers(&mut self, n: usize) -> u32 {
        if n == 0 {
            return 0;
        }
        if let Some(at) = self.free_uppers.get_mut(n - 1).and_then(Vec::pop) {
            self.uppers[at as usize..at as usize + n].fill(END);
            return at;
        }
        let at = self.uppers.len();
        self.uppers.resize(at + n, END);
        // The arena holds at most LEVEL_MAX links per node: far below u32::MAX for any list whose
        // nodes fit in memory.
        at as u32
    }

    /// Frees the slot of an unlinked node and returns its member.
    fn release(&mut self, x: u32) -> CompactStr {
        let n = &mut self.nodes[x as usize];
        let member = replace(&mut n.member, CompactStr::EMPTY);
        let (at, runs) = (n.upper_at, (n.levels as usize).saturating_sub(2));
        n.levels = 1;
        if runs > 0 {
            if self.free_uppers.len() < runs {
                self.free_uppers.resize_with(runs, Vec::new);
            }
            self.free_uppers[runs - 1].push(at);
        }
        self.member_heap -= member.heap_size();
        self.free.push(x);
        member
    }

    /// Inserts an element known to be absent and returns its node.
    pub fn insert(&mut self, score: f64, member: CompactStr) -> u32 {
        let mut update = [HEAD; LEVEL_MAX];
        let mut rank = [0usize; LEVEL_MAX];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i + 1 == self.level { 0 } else { rank[i + 1] };
            loop {
                let l = self.link(x, i);
                self.prefetch_below(x, i);
                if l.next != NIL && self.node_before(l.next, score, bytes(&member)) {
                    rank[i] += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = level;
        }
        self.member_heap += member.heap_size();
        let upper_at = self.alloc_uppers(level.saturating_sub(2));
        let x = self.alloc(Node {
            member,
            score,
            prev: NIL,
            base: END,
            l1: END,
            upper_at,
            levels: level as u8,
        });
        for i in 0..level {
            let u = self.link(update[i], i);
            let jumped = (rank[0] - rank[i]) as u32;
            *self.link_mut(x, i) = Link {
                next: u.next,
                span: u.span - jumped,
            };
            *self.link_mut(update[i], i) = Link {
                next: x,
                span: jumped + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.link_mut(u, i).span += 1;
        }
        self.nodes[x as usize].prev = if update[0] == HEAD { NIL } else { update[0] };
        match self.link(x, 0).next {
            NIL => self.tail = x,
            next => self.nodes[next as usize].prev = x,
        }
        self.len += 1;
        x
    }

    /// The last node before (score, member) on each level (the header where there is none).
    fn path(&self, score: f64, member: &[u8]) -> [u32; LEVEL_MAX] {
        let mut update = [HEAD; LEVEL_MAX];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let next = self.link(x, i).next;
                self.prefetch_below(x, i);
                if next != NIL && self.node_before(next, score, member) {
                    x = next;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        update
    }

    /// Unlinks node `x`, given the path to it.
    fn unlink(&mut self, x: u32, update: &[u32; LEVEL_MAX]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if ul.next == x {
                let xl = self.link(x, i);
                *self.link_mut(u, i) = Link {
                    next: xl.next,
                    span: ul.span - 1 + xl.span,
                };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let prev = self.nodes[x as usize].prev;
        match self.link(x, 0).next {
            NIL => self.tail = prev,
            next => self.nodes[next as usize].prev = prev,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// The node holding exactly (score, member) and the path to it.
    fn find(&self, score: f64, member: &[u8]) -> Option<(u32, [u32; LEVEL_MAX])> {
        let update = self.path(score, member);
        let x = self.link(update[0], 0).next;
        if x == NIL {
            return None;
        }
        let n = &self.nodes[x as usize];
        (n.score == score && bytes(&n.member) == member).then_some((x, update))
    }

    /// Removes (score, member) and returns the stored member.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> Option<CompactStr> {
        let (x, update) = self.find(score, member)?;
        self.unlink(x, &update);
        let m = self.release(x);
        self.maybe_compact();
        Some(m)
    }

    /// Moves `member` from score `old` to `new`; in place when its position does not change.
    pub fn update_score(&mut self, old: f64, member: &[u8], new: f64) {
        let Some((x, update)) = self.find(old, member) else {
            debug_assert!(false, "update_score of a missing element");
            return;
        };
        let (prev, next) = (self.prev(x), self.next(x));
        let after_prev = prev == NIL || self.node_before(prev, new, member);
        let before_next = next == NIL || {
            let n = &self.nodes[next as usize];
            before(new, member, n.score, bytes(&n.member))
        };
        if after_prev && before_next {
            self.nodes[x as usize].score = new;
            return;
        }
        self.unlink(x, &update);
        let m = self.release(x);
        self.insert(new, m);
    }

    /// The 0-based rank of (score, member).
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                self.prefetch_below(x, i);
                let n = &self.nodes[l.next as usize];
                if n.score < score || (n.score == score && bytes(&n.member) <= member) {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            let n = &self.nodes[x as usize];
            if x != HEAD && n.score == score && bytes(&n.member) == member {
                return Some(traversed - 1);
            }
        }
        None
    }

    /// The node at 0-based `rank`, or [`NIL`].
    pub fn at_rank(&self, rank: usize) -> u32 {
        if rank >= self.len {
            return NIL;
        }
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL && traversed + l.span as usize <= target {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }

    /// How many leading elements satisfy `pred`, which must hold for a prefix of the order and not
    /// after it (a "before the range starts" or "not past the range end" test). O(log n).
    pub fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let n = &self.nodes[l.next as usize];
                if pred(n.score, bytes(&n.member)) {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
        }
        traversed
    }

    /// Removes the elements with 0-based ranks in `start..end`, handing each to `removed`.
    pub fn remove_ranks(
        &mut self,
        start: usize,
        end: usize,
        mut removed: impl FnMut(CompactStr, f64),
    ) -> usize {
        if start >= end || start >= self.len {
            return 0;
        }
        let mut update = [HEAD; LEVEL_MAX];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL && traversed + l.span as usize <= start {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        // `traversed` is now the rank of the node after `x`.
        let mut x = self.link(x, 0).next;
        let mut n = 0;
        while x != NIL && traversed < end {
            let next = self.link(x, 0).next;
            let score = self.nodes[x as usize].score;
            self.unlink(x, &update);
            removed(self.release(x), score);
            n += 1;
            traversed += 1;
            x = next;
        }
        self.maybe_compact();
        n
    }

    /// Rebuilds the arena without its free slots once they dominate it.
    fn maybe_compact(&mut self) {
        if self.len == 0 && self.nodes.len() > 1 {
            *self = SkipList::new(self.rng);
            return;
        }
        if self.free.len() < COMPACT_FREE_MIN || self.free.len() <= 3 * self.len {
            return;
        }
        let mut items = Vec::with_capacity(self.len);
        let mut x = self.first();
        while x != NIL {
            let n = &mut self.nodes[x as usize];
            items.push((n.score, replace(&mut n.member, CompactStr::EMPTY)));
            x = n.base.next;
        }
        let mut fresh = SkipList::new(self.rng);
        fresh.nodes.reserve_exact(items.len());
        for (score, member) in items {
            fresh.insert(score, member);
        }
        *self = fresh;
    }

    /// Checks every invariant (links, spans, order, backward links, counters). For tests.
    #[cfg(test)]
    pub fn check(&self) {
        // Level 0 walk: order, prev links, count.
        let mut ranks = alloc::collections::BTreeMap::new();
        let (mut x, mut prev, mut n) = (self.first(), NIL, 0usize);
        while x != NIL {
            assert_eq!(self.prev(x), prev);
            if prev != NIL {
                let (pm, ps) = self.entry(prev);
                let (m, s) = self.entry(x);
                assert!(before(ps, pm, s, m), "out of order");
            }
            n += 1;
            ranks.insert(x, n);
            prev = x;
            x = self.next(x);
        }
        assert_eq!(n, self.len);
        assert_eq!(self.tail, prev);
        // Every level: spans equal rank differences, the last span reaches the end.
        for i in 0..self.level {
            let (mut x, mut r) = (HEAD, 0usize);
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    assert_eq!(r + l.span as usize, self.len, "level {i} end span");
                    break;
                }
                let rn = ranks[&l.next];
                assert_eq!(r + l.span as usize, rn, "level {i} span");
                r = rn;
                x = l.next;
            }
        }
        assert!(self.level == 1 || self.link(HEAD, self.level - 1).next != NIL);
        // The memory counters match the live nodes.
        let live = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| ranks.contains_key(&(*i as u32)));
        let (upper, members) = live.fold((0, 0), |(u, m), (_, n)| {
            (
                u + (n.levels as usize).saturating_sub(2),
                m + n.member.heap_size(),
            )
        });
        let freed: usize = (1..=self.free_uppers.len())
            .map(|len| len * self.free_uppers[len - 1].len())
            .sum();
        assert_eq!(self.uppers.len(), upper + freed + LEVEL_MAX - 2);
        assert_eq!(self.member_heap, members);
        assert_eq!(self.nodes.len() - 1, self.len + self.free.len());
    }
}
