//! Geo commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
//! GEORADIUSBYMEMBER and their `_RO` forms) over sorted sets, with Redis 7.0's replies and errors.
//!
//! A position is stored as the score of its member: a 52-bit geohash, the 26-bit cell indexes of
//! the longitude (in [-180, 180]) and of the latitude (in the Web Mercator range
//! [-85.05112878, 85.05112878]) interleaved, latitude in the even bits. Reading a position back
//! gives the centre of its cell. A search estimates the geohash precision that covers the radius
//! (or the box's half diagonal), takes the cell of the centre and its eight neighbours, drops the
//! ones outside the search's bounding box, and walks each cell's score range in the sorted set,
//! keeping the members whose distance (haversine on Redis's Earth radius) or box position fits.
//! Every step computes what Redis's `geo.c` and `geohash_helper.c` compute, in the same order, so
//! results, their unsorted order and the printed distances and coordinates agree.

use alloc::vec::Vec;

use super::{add_all, commit_add, limits, store_result, zset_of, AddFlags, KEY1};
use crate::cmd::{acl, eq_ci, err, flags as f, CmdError, CmdResult, Command, ExecCtx};
use crate::keyspace::Keyspace;
use crate::resp::{Argv, ReplyWriter};
use crate::types::zset::{parse_score, ScoreRange, ScoreText, ZSet};
use crate::types::Value;

const GROUP: &str = "geo";
const WG: u32 = acl::WRITE | acl::SLOW | acl::GEO;
const RG: u32 = acl::READ | acl::SLOW | acl::GEO;

/// GEOSEARCHSTORE: the destination is the first key, the source the second.
const DST_SRC: (i32, i32, i32) = (1, 2, 1);
/// GEORADIUS with STORE names the destination among its options ([`store_key_positions`]), so
/// the fixed key range holds the source only.
const SRC: (i32, i32, i32) = KEY1;

/// Where GEORADIUS (options from argument 6) and GEORADIUSBYMEMBER (from 5) name their STORE and
/// STOREDIST destinations, for COMMAND GETKEYS: Redis 7.0's key specs search for each keyword from
/// there and take the argument after its first occurrence.
pub fn store_key_positions(argv: Argv<'_>, from: usize) -> impl Iterator<Item = usize> + '_ {
    ["store", "storedist"]
        .into_iter()
        .filter_map(move |keyword| {
            (from..argv.len().saturating_sub(1))
                .find(|&i| eq_ci(argv.get(i), keyword))
                .map(|i| i + 1)
        })
}

pub static COMMANDS: &[Command] = &[
    cmd!("geoadd", -5, f::WRITE | f::DENYOOM, KEY1, WG, geoadd, "Add one or more geospatial items in the geospatial index represented using a sorted set", "3.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    cmd!("geodist", -4, f::READONLY, KEY1, RG, geodist, "Returns the distance between two members of a geospatial index", "3.2.0", "O(log(N))"),
    cmd!("geohash", -2, f::READONLY, KEY1, RG, geohash, "Returns members of a geospatial index as standard geohash strings", "3.2.0", "O(log(N)) for each member requested, where N is the number of elements in the sorted set."),
    cmd!("geopos", -2, f::READONLY, KEY1, RG, geopos, "Returns longitude and latitude of members of a geospatial index", "3.2.0", "O(N) where N is the number of members requested."),
    cmd!("georadius", -6, f::WRITE | f::DENYOOM | f::MOVABLE_KEYS, SRC, WG, georadius, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", "3.2.0", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    cmd!("georadius_ro", -6, f::READONLY, KEY1, RG, georadius_ro, "A read-only variant for GEORADIUS", "3.2.10", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    cmd!("georadiusbymember", -5, f::WRITE | f::DENYOOM | f::MOVABLE_KEYS, SRC, WG, georadiusbymember, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", "3.2.0", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    cmd!("georadiusbymember_ro", -5, f::READONLY, KEY1, RG, georadiusbymember_ro, "A read-only variant for GEORADIUSBYMEMBER", "3.2.10", "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."),
    cmd!("geosearch", -7, f::READONLY, KEY1, RG, geosearch, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", "6.2.0", "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"),
    cmd!("geosearchstore", -8, f::WRITE | f::DENYOOM, DST_SRC, WG, geosearchstore, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", "6.2.0", "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"),
];

// ---------------------------------------------------------------------------------------------
// Geohash arithmetic (Redis's geohash.c and geohash_helper.c)
// ---------------------------------------------------------------------------------------------

/// Bits per coordinate in a stored score.
const STEP_MAX: u8 = 26;
const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const LAT_MIN: f64 = -85.051_128_78;
const LAT_MAX: f64 = 85.051_128_78;
/// The Earth's radius Redis computes distances with, in meters.
const EARTH_RADIUS_M: f64 = 6_372_797.560_856;
/// Half the Web Mercator world's width, in meters: the widest radius a precision is chosen for.
const MERCATOR_MAX: f64 = 20_037_726.37;
const D_R: f64 = core::f64::consts::PI / 180.0;

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// A cell: `step` bits per coordinate, interleaved (latitude in the even bits).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Cell {
    bits: u64,
    step: u8,
}

/// A cell's extent: (min, max) longitude and latitude.
#[derive(Clone, Copy, Debug)]
struct Area {
    lon: (f64, f64),
    lat: (f64, f64),
}

/// Spreads the 32 bits of `v` over the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `x` into a u32.
fn squash(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// The cell of (`lon`, `lat`) at `step` over the given latitude range (longitude always spans
/// [-180, 180]); `None` outside the ranges.
fn encode(lat_range: (f64, f64), lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.0 || lat > lat_range.1 {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_range.0) / (lat_range.1 - lat_range.0) * scale;
    let lon_off = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * scale;
    // C's double -> uint32_t conversion truncates; the offsets are never negative.
    let bits = spread(lat_off as u32) | (spread(lon_off as u32) << 1);
    Some(Cell { bits, step })
}

fn decode(lat_range: (f64, f64), cell: Cell) -> Area {
    let ilat = f64::from(squash(cell.bits));
    let ilon = f64::from(squash(cell.bits >> 1));
    let scale = (1u64 << cell.step) as f64;
    let (lat_span, lon_span) = (lat_range.1 - lat_range.0, LONG_MAX - LONG_MIN);
    Area {
        lat: (
            lat_range.0 + (ilat / scale) * lat_span,
            lat_range.0 + ((ilat + 1.0) / scale) * lat_span,
        ),
        lon: (
            LONG_MIN + (ilon / scale) * lon_span,
            LONG_MIN + ((ilon + 1.0) / scale) * lon_span,
        ),
    }
}

/// The (longitude, latitude) a stored score stands for: the centre of its cell, clamped.
fn position(score: f64) -> (f64, f64) {
    let area = decode(
        (LAT_MIN, LAT_MAX),
        Cell {
            bits: score as u64,
            step: STEP_MAX,
        },
    );
    let lon = ((area.lon.0 + area.lon.1) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.0 + area.lat.1) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The score of (`lon`, `lat`), both within range.
fn score_of(lon: f64, lat: f64) -> f64 {
    encode((LAT_MIN, LAT_MAX), lon, lat, STEP_MAX).map_or(0, |c| c.bits) as f64
}

/// Moves a cell one step along the coordinate whose bits `moving` masks (the odd bits: east or
/// west; the even bits: north or south), forward when `d > 0`, wrapping around (Redis's
/// `geohash_move_x` and `geohash_move_y`).
fn shift_cell(c: Cell, d: i8, moving: u64) -> Cell {
    let shift = 64 - u32::from(c.step) * 2;
    let other = !moving;
    let v = c.bits & moving;
    let zz = other >> shift;
    let v = if d > 0 {
        v.wrapping_add(zz + 1)
    } else {
        (v | zz).wrapping_sub(zz + 1)
    } & (moving >> shift);
    Cell {
        bits: v | (c.bits & other),
        step: c.step,
    }
}

/// Moves a cell `d` columns east (+) or west (-).
fn move_x(c: Cell, d: i8) -> Cell {
    shift_cell(c, d, 0xAAAA_AAAA_AAAA_AAAA)
}

/// Moves a cell `d` rows north (+) or south (-).
fn move_y(c: Cell, d: i8) -> Cell {
    shift_cell(c, d, 0x5555_5555_5555_5555)
}

/// Haversine distance in meters (Redis 7.0's `geohashGetDistance`).
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lat1r, lon1r, lat2r, lon2r) = (deg_rad(lat1), deg_rad(lon1), deg_rad(lat2), deg_rad(lon2));
    let u = libm::sin((lat2r - lat1r) / 2.0);
    let v = libm::sin((lon2r - lon1r) / 2.0);
    2.0 * EARTH_RADIUS_M
        * libm::asin(libm::sqrt(
            u * u + libm::cos(lat1r) * libm::cos(lat2r) * v * v,
        ))
}

/// A search area: a circle or a box (sizes in the request's unit), its centre and the unit's size
/// in meters.
#[derive(Clone, Copy)]
struct Shape {
    lon: f64,
    lat: f64,
    /// Meters per unit of the request.
    unit: f64,
    kind: ShapeKind,
}

#[derive(Clone, Copy)]
enum ShapeKind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

impl Shape {
    /// The distance of (`lon`, `lat`) from the centre in meters when it is inside the shape.
    fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.unit).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let lat_d = EARTH_RADIUS_M * (deg_rad(lat) - deg_rad(self.lat)).abs();
                if lat_d > height * self.unit / 2.0 {
                    return None;
                }
                let lon_d = distance(lon, lat, self.lon, lat);
                if lon_d > width * self.unit / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// (min lon, min lat, max lon, max lat) of the shape (Redis 7.0's `geohashBoundingBox`).
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let (height, width) = match self.kind {
            ShapeKind::Radius(r) => (r * self.unit, r * self.unit),
            ShapeKind::Box { width, height } => (height * self.unit / 2.0, width * self.unit / 2.0),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let top = rad_deg(width / EARTH_RADIUS_M / libm::cos(deg_rad(self.lat + lat_delta)));
        let bottom = rad_deg(width / EARTH_RADIUS_M / libm::cos(deg_rad(self.lat - lat_delta)));
        let lon_delta = if self.lat < 0.0 { bottom } else { top };
        (
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        )
    }

    /// The radius that decides the precision: the circle's, or the box's half diagonal.
    fn radius_m(&self) -> f64 {
        match self.kind {
            ShapeKind::Radius(r) => r * self.unit,
            ShapeKind::Box { width, height } => {
                libm::sqrt((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0))
                    * self.unit
            }
        }
    }

    /// The cells to walk, in Redis's order: the centre's, then north, south, east, west,
    /// north-east, north-west, south-east, south-west (`None` for the ones dropped).
    fn cells(&self) -> [Option<Cell>; 9] {
        let (min_lon, min_lat, max_lon, max_lat) = self.bounds();
        let mut step = estimate_step(self.radius_m(), self.lat);
        let range = (LAT_MIN, LAT_MAX);
        let around = |step: u8| {
            let c = encode(range, self.lon, self.lat, step).unwrap_or(Cell { bits: 0, step });
            [
                c,
                move_y(c, 1),
                move_y(c, -1),
                move_x(c, 1),
                move_x(c, -1),
                move_y(move_x(c, 1), 1),
                move_y(move_x(c, -1), 1),
                move_y(move_x(c, 1), -1),
                move_y(move_x(c, -1), -1),
            ]
        };
        let mut n = around(step);
        // A centre near its cell's edge may need the next coarser precision for the neighbours
        // to reach the bounding box.
        let (north, south, east, west) = (
            decode(range, n[1]),
            decode(range, n[2]),
            decode(range, n[3]),
            decode(range, n[4]),
        );
        let short = north.lat.1 < max_lat
            || south.lat.0 > min_lat
            || east.lon.1 < max_lon
            || west.lon.0 > min_lon;
        if step > 1 && short {
            step -= 1;
            n = around(step);
        }
        let mut out = n.map(Some);
        if step >= 2 {
            let area = decode(range, n[0]);
            let drop = |out: &mut [Option<Cell>; 9], which: [usize; 3]| {
                for i in which {
                    out[i] = None;
                }
            };
            if area.lat.0 < min_lat {
                drop(&mut out, [2, 8, 7]);
            }
            if area.lat.1 > max_lat {
                drop(&mut out, [1, 5, 6]);
            }
            if area.lon.0 < min_lon {
                drop(&mut out, [4, 8, 6]);
            }
            if area.lon.1 > max_lon {
                drop(&mut out, [3, 7, 5]);
            }
        }
        out
    }
}

/// The precision whose cells cover a radius of `range_m` around latitude `lat`
/// (Redis's `geohashEstimateStepsByRadius`).
fn estimate_step(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// A member found by a search.
struct Found<'a> {
    member: &'a [u8],
    score: f64,
    dist_m: f64,
    lon: f64,
    lat: f64,
}

/// The members inside `shape`, walking its cells in order; with `limit`, stops once that many
/// were found (ANY).
fn search<'a>(
    z: &'a ZSet,
    shape: &Shape,
    limit: usize,
    scratch: &'a bumpalo::Bump,
) -> Vec<Found<'a>> {
    let mut found = Vec::new();
    let mut last: Option<Cell> = None;
    for cell in shape.cells().into_iter().flatten() {
        // Huge radii make neighbours coincide: a cell equal to the last one walked is skipped.
        if last == Some(cell) {
            continue;
        }
        if limit > 0 && found.len() >= limit {
            break;
        }
        let shift = 52 - u32::from(cell.step) * 2;
        let min = (cell.bits << shift) as f64;
        let max = ((cell.bits + 1) << shift) as f64;
        let range = ScoreRange {
            min,
            max,
            min_ex: false,
            max_ex: true,
        };
        let ranks = z.score_ranks(&range);
        for (member, score) in z.range(ranks, false, scratch) {
            if limit > 0 && found.len() >= limit {
                break;
            }
            let (lon, lat) = position(score);
            if let Some(dist_m) = shape.contains(lon, lat) {
                found.push(Found {
                    member,
                    score,
                    dist_m,
                    lon,
                    lat,
                });
            }
        }
        last = Some(cell);
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

/// A distance in the request's unit, as Redis prints it: `%.4f` in a bulk string.
fn reply_distance(out: &mut ReplyWriter<'_>, d: f64) {
    out.bulk(ScoreText::from_fmt(format_args!("{d:.4}")).as_bytes());
}

/// A coordinate as Redis's `addReplyHumanLongDouble`: 17 decimals, trailing zeros dropped; a
/// bulk string in RESP2, a double in RESP3.
fn reply_coordinate(out: &mut ReplyWriter<'_>, v: f64) {
    let formatted = ScoreText::from_fmt(format_args!("{v:.17}"));
    let mut text = formatted.as_bytes();
    if text.contains(&b'.') {
        while let [rest @ .., b'0'] = text {
            text = rest;
        }
        if let [rest @ .., b'.'] = text {
            text = rest;
        }
    }
    if text == b"-0" {
        text = b"0";
    }
    out.double_text(text);
}

/// Meters per unit, or Redis's error for an unknown unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    match () {
        _ if eq_ci(arg, "m") => Ok(1.0),
        _ if eq_ci(arg, "km") => Ok(1000.0),
        _ if eq_ci(arg, "ft") => Ok(0.3048),
        _ if eq_ci(arg, "mi") => Ok(1609.34),
        _ => Err(CmdError::new(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A longitude and a latitude within the indexable range.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = parse_score(lon).ok_or(err::NOT_FLOAT)?;
    let lat = parse_score(lat).ok_or(err::NOT_FLOAT)?;
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(CmdError::owned(alloc::format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// A radius and its unit's size in meters.
fn radius(arg: &[u8], unit_arg: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = parse_score(arg).ok_or(CmdError::new("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::new("ERR radius cannot be negative"));
    }
    Ok((r, unit(unit_arg)?))
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]. O(log(N)) per member.
fn geoadd(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let mut o = AddFlags::default();
    let mut i = 2;
    while i < argv.len() {
        let a = argv.get(i);
        match () {
            _ if eq_ci(a, "nx") => o.nx = true,
            _ if eq_ci(a, "xx") => o.xx = true,
            _ if eq_ci(a, "ch") => o.ch = true,
            _ => break,
        }
        i += 1;
    }
    if !(argv.len() - i).is_multiple_of(3) || i == argv.len() || (o.nx && o.xx) {
        return Err(err::SYNTAX);
    }
    let mut scores = Vec::with_capacity((argv.len() - i) / 3);
    for j in (i..argv.len()).step_by(3) {
        let (lon, lat) = lon_lat(argv.get(j), argv.get(j + 1))?;
        scores.push(score_of(lon, lat));
    }
    let lim = limits(ctx);
    let (existing, out) = zset_of(ctx, key, false)?;
    let created = existing.is_none();
    if created && o.xx {
        out.int(0);
        return Ok(());
    }
    let mut fresh = ZSet::new();
    let z = existing.unwrap_or(&mut fresh);
    let members = (i + 2..argv.len()).step_by(3).map(|j| argv.get(j));
    let c = add_all(z, &o, scores.iter().copied().zip(members), &lim)?;
    out.int((if o.ch { c.added + c.updated } else { c.added }) as i64);
    // GEOADD is a ZADD underneath, events included.
    commit_add(
        ctx,
        key,
        created.then_some(fresh),
        c.added + c.updated,
        "zadd",
    );
    Ok(())
}

/// GEODIST key member1 member2 [M|KM|FT|MI]. O(log(N)).
fn geodist(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let to_m = match argv.len() {
        4 => 1.0,
        5 => unit(argv.get(4))?,
        _ => return Err(err::SYNTAX),
    };
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    let scores = z.and_then(|z| Some((z.score(argv.get(2))?, z.score(argv.get(3))?)));
    match scores {
        Some((a, b)) => {
            let ((lon1, lat1), (lon2, lat2)) = (position(a), position(b));
            reply_distance(out, distance(lon1, lat1, lon2, lat2) / to_m);
        }
        None => out.null(),
    }
    Ok(())
}

/// GEOHASH key [member ...]. O(log(N)) per member.
fn geohash(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    out.array(argv.len() - 2);
    for j in 2..argv.len() {
        let Some(score) = z.as_ref().and_then(|z| z.score(argv.get(j))) else {
            out.null();
            continue;
        };
        // Stored cells use the Mercator latitude range; a standard geohash uses [-90, 90].
        let (lon, lat) = position(score);
        let bits = encode((-90.0, 90.0), lon, lat, STEP_MAX).map_or(0, |c| c.bits);
        let mut text = [b'0'; 11];
        for (k, ch) in text.iter_mut().enumerate().take(10) {
            *ch = ALPHABET[((bits >> (52 - (k + 1) * 5)) & 0x1f) as usize];
        }
        out.bulk(&text);
    }
    Ok(())
}

/// GEOPOS key [member ...]. O(N) in the members asked for.
fn geopos(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    out.array(argv.len() - 2);
    for j in 2..argv.len() {
        match z.as_ref().and_then(|z| z.score(argv.get(j))) {
            Some(score) => {
                let (lon, lat) = position(score);
                out.array(2);
                reply_coordinate(out, lon);
                reply_coordinate(out, lat);
            }
            None => out.null_array(),
        }
    }
    Ok(())
}

/// Which command a search runs for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS (`ro`: GEORADIUS_RO).
    Radius {
        ro: bool,
    },
    /// GEORADIUSBYMEMBER (`ro`: its _RO form).
    ByMember {
        ro: bool,
    },
    Search,
    SearchStore,
}

fn georadius(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, Form::Radius { ro: false })
}
fn georadius_ro(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, Form::Radius { ro: true })
}
fn georadiusbymember(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, Form::ByMember { ro: false })
}
fn georadiusbymember_ro(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, Form::ByMember { ro: true })
}
fn geosearch(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, Form::Search)
}
fn geosearchstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, Form::SearchStore)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// The parsed options of a search.
struct Options<'a> {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    sort: Sort,
    count: usize,
    store: Option<&'a [u8]>,
    storedist: bool,
}

/// The sorted set at `key` in database `db`, read without counting a hit or touching it.
fn peek_zset<'k>(ks: &'k Keyspace, db: usize, now_ms: u64, key: &[u8]) -> Option<&'k ZSet> {
    match ks.db(db).peek(key, now_ms)?.as_whole()? {
        Value::ZSet(z) => Some(z),
        _ => None,
    }
}

/// The search commands, parsed and checked in Redis's order (`georadiusGeneric`).
fn search_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, form: Form) -> CmdResult {
    let src_at = if form == Form::SearchStore { 2 } else { 1 };
    let src = argv.get(src_at);
    let exists = zset_of(ctx, src, true)?.0.is_some();
    // The lookup above counted the hit and touched the key; `peek_zset` reads it again silently.
    let member_score = |ctx: &ExecCtx<'_>, member: &[u8]| {
        peek_zset(ctx.ks, ctx.db, ctx.now_ms, src)
            .and_then(|z| z.score(member))
            .ok_or(CmdError::new("ERR could not decode requested zset member"))
    };
    let mut center: Option<(f64, f64)> = None;
    let mut kind: Option<(ShapeKind, f64)> = None;
    let base = match form {
        Form::Radius { .. } => {
            center = Some(lon_lat(argv.get(2), argv.get(3))?);
            let (r, u) = radius(argv.get(4), argv.get(5))?;
            kind = Some((ShapeKind::Radius(r), u));
            6
        }
        Form::ByMember { .. } if !exists => 5,
        Form::ByMember { .. } => {
            center = Some(position(member_score(ctx, argv.get(2))?));
            let (r, u) = radius(argv.get(3), argv.get(4))?;
            kind = Some((ShapeKind::Radius(r), u));
            5
        }
        Form::Search => 2,
        Form::SearchStore => 3,
    };
    let is_search = matches!(form, Form::Search | Form::SearchStore);
    let nostore = matches!(
        form,
        Form::Radius { ro: true } | Form::ByMember { ro: true }
    );
    let mut o = Options {
        withdist: false,
        withhash: false,
        withcoord: false,
        any: false,
        sort: Sort::None,
        count: 0,
        store: (form == Form::SearchStore).then(|| argv.get(1)),
        storedist: false,
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let remaining = argv.len() - base;
    let mut i = 0;
    while i < remaining {
        let a = argv.get(base + i);
        let arg = |k: usize| argv.get(base + i + k);
        if eq_ci(a, "withdist") {
            o.withdist = true;
        } else if eq_ci(a, "withhash") {
            o.withhash = true;
        } else if eq_ci(a, "withcoord") {
            o.withcoord = true;
        } else if eq_ci(a, "any") {
            o.any = true;
        } else if eq_ci(a, "asc") {
            o.sort = Sort::Asc;
        } else if eq_ci(a, "desc") {
            o.sort = Sort::Desc;
        } else if eq_ci(a, "count") && i + 1 < remaining {
            let n = crate::cmd::arg_i64(arg(1))?;
            if n <= 0 {
                return Err(CmdError::new("ERR COUNT must be > 0"));
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (eq_ci(a, "store") || eq_ci(a, "storedist"))
            && i + 1 < remaining
            && !nostore
            && !is_search
        {
            o.store = Some(arg(1));
            o.storedist = eq_ci(a, "storedist");
            i += 1;
        } else if eq_ci(a, "storedist") && form == Form::SearchStore {
            o.storedist = true;
        } else if eq_ci(a, "frommember") && i + 1 < remaining && is_search && !fromloc {
            if exists {
                center = Some(position(member_score(ctx, arg(1))?));
            }
            frommember = true;
            i += 1;
        } else if eq_ci(a, "fromlonlat") && i + 2 < remaining && is_search && !frommember {
            center = Some(lon_lat(arg(1), arg(2))?);
            fromloc = true;
            i += 2;
        } else if eq_ci(a, "byradius") && i + 2 < remaining && is_search && !bybox {
            let (r, u) = radius(arg(1), arg(2))?;
            kind = Some((ShapeKind::Radius(r), u));
            byradius = true;
            i += 2;
        } else if eq_ci(a, "bybox") && i + 3 < remaining && is_search && !byradius {
            // Both parse before either's sign is checked, as Redis's extractBoxOrReply does.
            let width = parse_score(arg(1)).ok_or(CmdError::new("ERR need numeric width"))?;
            let height = parse_score(arg(2)).ok_or(CmdError::new("ERR need numeric height"))?;
            if width < 0.0 || height < 0.0 {
                return Err(CmdError::new("ERR height or width cannot be negative"));
            }
            kind = Some((ShapeKind::Box { width, height }, unit(arg(3))?));
            bybox = true;
            i += 3;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if o.store.is_some() && (o.withdist || o.withhash || o.withcoord) {
        let who = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::owned(alloc::format!(
            "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = || alloc::string::String::from_utf8_lossy(argv.get(0)).into_owned();
    if is_search && !(frommember || fromloc) {
        return Err(CmdError::owned(alloc::format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            name()
        )));
    }
    if is_search && !(byradius || bybox) {
        return Err(CmdError::owned(alloc::format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
            name()
        )));
    }
    if o.any && o.count == 0 {
        return Err(CmdError::new(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let (Some((lon, lat)), Some((kind, unit)), true) = (center, kind, exists) else {
        match o.store {
            Some(dst) => store_result(ctx, dst, ZSet::new(), ""),
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    if o.count != 0 && o.sort == Sort::None && !o.any {
        o.sort = Sort::Asc;
    }
    let shape = Shape {
        lon,
        lat,
        unit,
        kind,
    };
    let lim = limits(ctx);
    ctx.with_scratch(|ctx, scratch| {
        let out = &mut ctx.out;
        let Some(z) = peek_zset(ctx.ks, ctx.db, ctx.now_ms, src) else {
            return Err(err::WRONGTYPE);
        };
        let mut found = search(z, &shape, if o.any { o.count } else { 0 }, scratch);
        match o.sort {
            Sort::Asc => found.sort_by(|a, b| a.dist_m.total_cmp(&b.dist_m)),
            Sort::Desc => found.sort_by(|a, b| b.dist_m.total_cmp(&a.dist_m)),
            Sort::None => {}
        }
        let n = if o.count == 0 {
            found.len()
        } else {
            found.len().min(o.count)
        };
        found.truncate(n);
        let Some(dst) = o.store else {
            let extra =
                usize::from(o.withdist) + usize::from(o.withhash) + usize::from(o.withcoord);
            out.array(n);
            for f in &found {
                if extra > 0 {
                    out.array(extra + 1);
                }
                out.bulk(f.member);
                if o.withdist {
                    reply_distance(out, f.dist_m / unit);
                }
                if o.withhash {
                    out.int(f.score as i64);
                }
                if o.withcoord {
                    out.array(2);
                    reply_coordinate(out, f.lon);
                    reply_coordinate(out, f.lat);
                }
            }
            return Ok(());
        };
        // Copied into the arena: the results borrow the source set, and the destination may be it.
        let mut items: Vec<(f64, &[u8])> = found
            .iter()
            .map(|f| {
                let score = if o.storedist {
                    f.dist_m / unit
                } else {
                    f.score
                };
                (score, &*scratch.alloc_slice_copy(f.member))
            })
            .collect();
        drop(found);
        items.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let result = ZSet::from_sorted(items.iter().map(|&(s, m)| (m, s)), &lim);
        let event = if is_search {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        store_result(ctx, dst, result, event);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_redis() {
        // From Redis's geo tests: GEOADD nyc ... then ZRANGE WITHSCORES.
        assert_eq!(score_of(-74.0131604, 40.7126674), 1_791_873_972_053_020.0);
        assert_eq!(score_of(-73.7858139, 40.6428986), 1_791_895_905_559_723.0);
        let (lon, lat) = position(score_of(13.361389, 38.115556));
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
    }

    #[test]
    fn moves_wrap_around() {
        let c = encode((LAT_MIN, LAT_MAX), 179.9, 0.0, 4).unwrap();
        let east = move_x(c, 1);
        let area = decode((LAT_MIN, LAT_MAX), east);
        assert_eq!(area.lon.0, -180.0);
        assert_eq!(move_x(east, -1), c);
        assert_eq!(move_y(move_y(c, 1), -1), c);
    }

    #[test]
    fn steps_follow_the_radius() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(MERCATOR_MAX, 0.0), 1);
        assert!(estimate_step(1000.0, 0.0) > estimate_step(100_000.0, 0.0));
        assert!(estimate_step(1000.0, 70.0) < estimate_step(1000.0, 0.0));
    }
}
